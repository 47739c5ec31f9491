"""Roster exports: requested over HTTP, built by a job (in-process on SQLite, a real RQ worker on MariaDB),
downloaded by the requester only; ID cards masked; spreadsheet formulas neutralised.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import AccountStatus, ExportStatus, Member, MemberExport, Organisation, Role, db
from services import exports
from services import members as member_service
from services.authz import SYSTEM, Actor
from services.errors import NotFound
from tasks.exports import build_member_export
from tests.factories import make_id_card, member

ROOT = Path(__file__).resolve().parents[1]
HEADERS = [
    "党员编号",
    "姓名",
    "性别",
    "出生日期",
    "手机号",
    "身份证号",
    "党员类别",
    "入党日期",
    "所属组织",
    "组织编码",
    "是否流动党员",
    "流动去向",
    "账号状态",
]
COL = {h: i for i, h in enumerate(HEADERS)}
FORMULA = '=HYPERLINK("http://example.invalid/x","点击")'
MASKED = re.compile(r"^\d{4}\*{10}[\dX]{4}$")
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- helpers


def uses_rq(app) -> bool:
    return app.config["SETTINGS"].redis_url is not None


@pytest.fixture
def run_worker(app, request):
    """Runs a real `flask worker --burst` in a subprocess against the test database, Redis and storage."""
    if uses_rq(app):
        # The suite's Redis db is flushed once per session at its first use: here, before any job is queued.
        request.getfixturevalue("redis_conn")

    def run() -> subprocess.CompletedProcess:
        db.session.commit()  # the worker must see everything; and end this session's snapshot
        s = app.config["SETTINGS"]
        env = {k: v for k, v in os.environ.items() if k not in ("DATA_KEY", "FLASK_APP", "STORAGE")}
        env.update(
            APP_ENV="testing",
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=s.redis_url,
            STORAGE_DIR=s.storage_dir,
            SECRET_KEY=s.secret_key,
        )
        done = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "worker", "--burst"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        db.session.rollback()  # MariaDB REPEATABLE READ: read what the worker committed, not an old snapshot
        return done

    return run


@pytest.fixture
def finish_jobs(app, run_worker):
    """Whatever the backend, lets queued jobs finish: nothing to do in-process, a real worker with RQ."""

    def finish() -> None:
        if uses_rq(app):
            done = run_worker()
            assert done.returncode == 0, done.stdout + done.stderr

    return finish


def request_export(client, headers, org_id):
    return client.post("/api/members/exports", json={"org_id": org_id}, headers=headers)


def download_rows(client, headers, export_id) -> list[tuple]:
    r = client.get(f"/api/members/exports/{export_id}/file", headers=headers)
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in r.headers["Content-Disposition"]
    return workbook_rows(r.data)


def workbook_rows(data: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert ws.title == "党员名册"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    return list(ws.iter_rows(values_only=True))


def active_members_below(org_id: int) -> set[str]:
    org = db.session.get(Organisation, org_id)
    stmt = (
        select(Member.member_no)
        .join(Member.org)
        .where(Organisation.path.like(org.path + "%"), Member.status == AccountStatus.ACTIVE)
    )
    return set(db.session.scalars(stmt))


@pytest.fixture
def town_a1_roster(world):
    """Extra people below township A1: a floating member whose destination reads as a formula, a disabled member,
    a name starting with '@'; and one in township A2 who must never appear."""
    floating = member(
        world.v1, "流动党员", id_card=make_id_card(date(1979, 12, 31), seq=77), birth_date=date(1979, 12, 31)
    )
    member_service.update_member(SYSTEM, floating, {"is_floating": True, "floating_to": FORMULA})
    disabled = member(world.v2, "停用党员")
    member_service.set_status(SYSTEM, disabled, AccountStatus.DISABLED)
    at_name = member(world.v2, "党员")
    at_name.name = "@SUM(1+1)"  # a name nobody should type, straight into the database
    outside = member(world.v3, "外镇党员")
    db.session.commit()
    return {
        "floating": floating.member_no,
        "disabled": disabled.member_no,
        "at_name": at_name.member_no,
        "outside": outside.member_no,
    }


# ---------------------------------------------------------------- the export file


def test_export_of_a_township(client, world, login_as, town_a1_roster, finish_jobs, app):
    headers = login_as(world.town_a1_admin)
    org_id, v1_card = world.town_a1.id, make_id_card(date(1980, 5, 17))

    r = request_export(client, headers, org_id)
    assert r.status_code == 202, r.json
    export_id = r.json["id"]
    assert r.json["org_id"] == org_id
    assert r.json["status"] == ("queued" if uses_rq(app) else "done")
    finish_jobs()

    r = client.get(f"/api/members/exports/{export_id}", headers=headers)
    assert r.status_code == 200
    assert r.json["status"] == "done" and r.json["error"] is None and r.json["finished_at"]
    assert r.json["download_url"] == f"/api/members/exports/{export_id}/file"

    rows = download_rows(client, headers, export_id)
    assert list(rows[0]) == HEADERS
    body = rows[1:]
    expected = active_members_below(org_id)
    assert len(body) == len(expected) == r.json["row_count"]
    assert {row[COL["党员编号"]] for row in body} == expected
    assert town_a1_roster["disabled"] not in expected and town_a1_roster["outside"] not in expected
    assert all(row[COL["账号状态"]] == "正常" for row in body)

    by_no = {row[COL["党员编号"]]: row for row in body}
    member_v1 = by_no[world.member_v1.member_no]
    assert member_v1[COL["身份证号"]] == "5224**********" + v1_card[-4:]
    assert member_v1[COL["所属组织"]] == "一村党支部" and member_v1[COL["组织编码"]] == world.v1.code
    assert member_v1[COL["性别"]] == "男" and member_v1[COL["出生日期"]].date() == date(1980, 5, 17)
    cards = [row[COL["身份证号"]] for row in body if row[COL["身份证号"]]]
    assert len(cards) == 2 and all(MASKED.match(c) for c in cards)
    assert not any(re.search(r"\d{17}[\dX]", str(v)) for row in body for v in row if v)  # no full number anywhere

    floating = by_no[town_a1_roster["floating"]]
    assert floating[COL["是否流动党员"]] == "是"
    assert floating[COL["流动去向"]] == "'" + FORMULA  # neutralised: text, not a formula
    assert by_no[town_a1_roster["at_name"]][COL["姓名"]] == "'@SUM(1+1)"


def test_export_waits_for_a_real_worker(client, world, login_as, app, run_worker):
    if app.config["SETTINGS"].redis_url is None:
        pytest.skip("SQLite 后端没有 Redis：导出在请求内直接执行")
    headers = login_as(world.town_a1_admin)
    r = request_export(client, headers, world.town_a1.id)
    assert r.status_code == 202, r.json
    export_id = r.json["id"]
    assert r.json["status"] == "queued" and r.json["download_url"] is None

    db.session.rollback()
    r = client.get(f"/api/members/exports/{export_id}", headers=headers)
    assert r.json["status"] == "queued"
    r = client.get(f"/api/members/exports/{export_id}/file", headers=headers)
    assert r.status_code == 409 and r.json["error"]["code"] == "export_not_ready"

    done = run_worker()
    assert done.returncode == 0, done.stdout + done.stderr

    r = client.get(f"/api/members/exports/{export_id}", headers=headers)
    assert r.json["status"] == "done", (r.json, done.stdout, done.stderr)
    rows = download_rows(client, headers, export_id)
    assert len(rows) - 1 == r.json["row_count"] == len(active_members_below(world.town_a1.id))


def test_rq_records_a_failed_export(client, world, login_as, app, run_worker):
    """The job raises when the requester's scope no longer covers the organisation; RQ keeps it as failed."""
    if app.config["SETTINGS"].redis_url is None:
        pytest.skip("SQLite 后端没有 Redis：导出在请求内直接执行")
    from rq.job import Job, JobStatus

    headers = login_as(world.town_a1_admin)
    r = request_export(client, headers, world.v1.id)
    assert r.status_code == 202, r.json
    export_id = r.json["id"]
    world.town_a1_admin.managed_org_id = world.town_a2.id  # moved to the other township before the worker ran
    db.session.commit()

    done = run_worker()
    assert done.returncode == 0, done.stdout + done.stderr

    export = db.session.get(MemberExport, export_id)
    assert export.status == ExportStatus.FAILED and CJK.search(export.error)
    job = Job.fetch(f"member-export-{export_id}", connection=app.extensions["redis"])
    assert job.get_status() == JobStatus.FAILED
    assert "NotFound" in (job.latest_result().exc_string or "")


# ---------------------------------------------------------------- the job body


def _stored_path(app, key: str) -> Path:
    return Path(app.config["SETTINGS"].storage_dir) / key


def test_build_member_export_twice_is_safe(app, world):
    export = exports.create_export(Actor(world.town_a1_admin), world.town_a1.id)
    db.session.commit()
    export_id = export.id

    build_member_export(export_id)
    db.session.expire_all()
    export = db.session.get(MemberExport, export_id)
    assert export.status == ExportStatus.DONE
    first = (export.storage_key, export.finished_at, export.row_count)
    path = _stored_path(app, export.storage_key)
    content, mtime = path.read_bytes(), path.stat().st_mtime_ns

    build_member_export(export_id)  # e.g. RQ delivering the job again
    db.session.expire_all()
    export = db.session.get(MemberExport, export_id)
    assert export.status == ExportStatus.DONE
    assert (export.storage_key, export.finished_at, export.row_count) == first
    assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime

    # A worker that died after storing the file but before marking the row: the rerun replaces the file.
    export.status = ExportStatus.RUNNING
    db.session.commit()
    build_member_export(export_id)
    db.session.expire_all()
    export = db.session.get(MemberExport, export_id)
    assert export.status == ExportStatus.DONE and export.storage_key == first[0] and export.row_count == first[2]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no second copy, no leftover part file
    rows = workbook_rows(path.read_bytes())
    assert len(rows) - 1 == first[2] == len(active_members_below(world.town_a1.id))


def test_export_of_an_organisation_gone_out_of_scope_fails(app, client, world, login_as):
    admin = world.town_a1_admin
    export = exports.create_export(Actor(admin), world.v1.id)
    db.session.commit()
    export_id = export.id
    admin.managed_org_id = world.town_a2.id  # reassigned between the request and the run
    db.session.commit()

    with pytest.raises(NotFound):
        build_member_export(export_id)

    db.session.expire_all()
    export = db.session.get(MemberExport, export_id)
    assert export.status == ExportStatus.FAILED
    assert export.error.startswith("导出失败") and CJK.search(export.error)
    assert export.finished_at is not None and export.storage_key is None and export.row_count is None
    assert not (Path(app.config["SETTINGS"].storage_dir) / "exports").exists()

    # The organisation is now outside the requester's scope, so the export itself is too.
    assert client.get(f"/api/members/exports/{export_id}", headers=login_as(admin)).status_code == 404
    assert client.get(f"/api/members/exports/{export_id}/file", headers=login_as(admin)).status_code == 404


def test_id_cards_stay_masked_for_an_admin_allowed_to_see_them(app, world):
    """A downloaded file leaves the system's access control: masked even when the requester may reveal numbers."""
    world.city_admin.can_view_id_card = True
    db.session.commit()
    export = exports.create_export(Actor(world.city_admin), world.city.id)
    db.session.commit()
    export_id = export.id
    build_member_export(export_id)
    db.session.expire_all()
    export = db.session.get(MemberExport, export_id)
    rows = workbook_rows(_stored_path(app, export.storage_key).read_bytes())
    assert len(rows) - 1 == export.row_count == len(active_members_below(world.city.id))
    by_no = {row[COL["党员编号"]]: row for row in rows[1:]}
    assert by_no[world.member_v1.member_no][COL["身份证号"]] == "5224**********" + make_id_card(date(1980, 5, 17))[-4:]


def test_build_member_export_of_a_missing_row_is_a_no_op(app):
    build_member_export(987654)  # the row was deleted with its requester: nothing to do, nothing raised


# ---------------------------------------------------------------- who may ask, who may see


def test_someone_elses_export_is_not_found(client, world, login_as, finish_jobs):
    owner = login_as(world.town_a1_admin)
    r = request_export(client, owner, world.town_a1.id)
    assert r.status_code == 202
    export_id = r.json["id"]
    finish_jobs()
    assert client.get(f"/api/members/exports/{export_id}", headers=owner).status_code == 200
    for other in (world.town_a2_admin, world.county_a_admin, world.city_admin, world.super, world.member_v1):
        headers = login_as(other)
        r = client.get(f"/api/members/exports/{export_id}", headers=headers)
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", other
        r = client.get(f"/api/members/exports/{export_id}/file", headers=headers)
        assert r.status_code == 404, other
    assert client.get("/api/members/exports/987654", headers=owner).status_code == 404


@pytest.mark.parametrize(
    "who, org, status",
    [
        ("town_a2_admin", "v1", 404),  # a sibling township: out of scope, not even its existence is told
        ("town_a2_admin", "town_a1", 404),
        ("member_v1", "v1", 403),  # a member sees their own branch but may not export it
        ("member_v1", "v3", 404),
        ("sec_v1", "v2", 404),
        ("sec_v1", "town_a1", 404),
        ("sec_v1", "v1", 202),  # a secretary exports their own branch
        ("town_a2_admin", "v3", 202),
        ("county_a_admin", "town_a1", 202),
    ],
)
def test_who_may_request_an_export(client, world, login_as, who, org, status):
    r = request_export(client, login_as(getattr(world, who)), getattr(world, org).id)
    assert r.status_code == status, r.json
    if status != 202:
        assert r.json["error"]["code"] == {403: "forbidden", 404: "not_found"}[status]
        assert db.session.scalar(select(MemberExport.id)) is None


def test_export_of_an_unknown_org(client, world, login_as):
    r = request_export(client, login_as(world.super), 987654)
    assert r.status_code == 404


def test_export_requires_login(client, world):
    assert client.post("/api/members/exports", json={"org_id": world.v1.id}).status_code == 401


# ---------------------------------------------------------------- the CLI


def test_cli_export_writes_the_same_rows(app, world, town_a1_roster, tmp_path):
    export = exports.create_export(Actor(world.town_a1_admin), world.town_a1.id)
    db.session.commit()
    export_id = export.id
    build_member_export(export_id)
    db.session.expire_all()
    stored = _stored_path(app, db.session.get(MemberExport, export_id).storage_key).read_bytes()

    out = tmp_path / "导出.xlsx"
    result = app.test_cli_runner().invoke(args=["export-members", "--org-code", world.town_a1.code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    count = len(active_members_below(world.town_a1.id))
    assert f"已导出 {count} 名党员" in result.output

    cli_rows, job_rows = workbook_rows(out.read_bytes()), workbook_rows(stored)
    assert cli_rows == job_rows
    assert len(cli_rows) == count + 1 and list(cli_rows[0]) == HEADERS
    floating = next(r for r in cli_rows if r[COL["党员编号"]] == town_a1_roster["floating"])
    assert floating[COL["流动去向"]] == "'" + FORMULA


def test_cli_export_unknown_code(app, world, tmp_path):
    out = tmp_path / "x.xlsx"
    result = app.test_cli_runner().invoke(args=["export-members", "--org-code", "NOSUCH", "--out", str(out)])
    assert result.exit_code != 0
    assert "组织编码不存在" in result.output
    assert not out.exists()


def test_finished_export_is_withdrawn_when_scope_shrinks(client, world, login_as):
    h = login_as(world.town_a1_admin)
    export_id = client.post("/api/members/exports", json={"org_id": world.v1.id}, headers=h).json["id"]
    if app_has_redis(client):
        pytest.skip("on the Redis backend the job waits for a worker; the in-process run covers the rule")
    assert client.get(f"/api/members/exports/{export_id}/file", headers=h).status_code == 200
    member_service.set_role(SYSTEM, world.town_a1_admin, Role.DEPT_ADMIN, world.town_a2.id)
    db.session.commit()
    assert client.get(f"/api/members/exports/{export_id}", headers=h).status_code == 404
    assert client.get(f"/api/members/exports/{export_id}/file", headers=h).status_code == 404


def app_has_redis(client) -> bool:
    return client.application.config["SETTINGS"].redis_url is not None

"""The demo city's resident cadres (services.seed_duty) on a migrated database: assignments, rosters, leave, fences
and a week of check-ins whose verdicts and flags are the real judging code's, and the two cadre logins."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    CheckinResult,
    CheckinTiming,
    DutyAssignment,
    DutyCheckin,
    DutyException,
    DutyExceptionKind,
    DutyRole,
    DutyRoster,
    FenceKind,
    Geofence,
    Member,
    Organisation,
    OrgLevel,
    Role,
    db,
)
from models.base import utcnow
from services.duty_checkins import _where
from services.duty_fences import fences_for_checkin
from services.duty_roster import shift_on, timing_of
from services.duty_signals import SIGNALS
from services.duty_signals import judge as judge_signals
from services.geo import check_polygon
from services.seed import DEMO_PASSWORD, seed_demo


@pytest.fixture
def seeded(app, tmp_path):
    path = tmp_path / "accounts.json"
    summary = seed_demo("small", accounts_out=str(path), progress=False)
    return {"summary": summary, "accounts": json.loads(path.read_text("utf-8"))["accounts"]}


def _today(app):
    return utcnow().astimezone(app.config["SETTINGS"].zone).date()


def test_cadres_rosters_leave_and_fences(app, seeded):
    assignments = db.session.scalars(select(DutyAssignment)).all()
    assert len(assignments) == seeded["summary"]["duty"]["cadres"] >= 12
    villages = db.session.scalars(
        select(Organisation).where(Organisation.level == OrgLevel.VILLAGE, Organisation.name.like("%村党支部"))
    ).all()
    first_secretaries = {a.org_id for a in assignments if a.role == DutyRole.FIRST_SECRETARY}
    assert first_secretaries == {v.id for v in villages}, "a first secretary in every village"
    assert {a.role for a in assignments} == set(DutyRole)
    assert len({a.member_id for a in assignments}) == len(assignments)
    today = _today(app)
    for a in assignments:
        member = db.session.get(Member, a.member_id)
        assert member.role == Role.MEMBER and member.org.level != OrgLevel.VILLAGE, "sent from an agency"
        assert a.starts_on < today - timedelta(days=7) and a.ends_on is None and a.org.kind.is_branch
        shifts = db.session.scalars(select(DutyRoster).where(DutyRoster.assignment_id == a.id)).all()
        assert len(shifts) >= 4 and all(s.starts_at < s.ends_at for s in shifts)
    leave = db.session.scalars(select(DutyException)).all()
    assert any(x.kind == DutyExceptionKind.LEAVE and x.starts_on <= today <= x.ends_on for x in leave)
    assert all(x.approved_by is not None for x in leave)

    fences = db.session.scalars(select(Geofence)).all()
    assert {f.org_id for f in fences} == {a.org_id for a in assignments}
    circles = [f for f in fences if f.kind == FenceKind.CIRCLE]
    assert circles and all(150 <= f.radius_m <= 300 for f in circles)
    for f in fences:
        assert f.active and f.created_by is not None
        if f.kind == FenceKind.POLYGON:
            assert check_polygon(f.points) == {}
    assert {f.coord_sys.value for f in fences} == {"gcj02", "wgs84"}
    assert sum(f.coord_sys.value == "gcj02" for f in fences) > len(fences) / 2


def test_a_week_of_checkins_judged_by_the_real_code(app, seeded):
    rows = db.session.scalars(select(DutyCheckin).order_by(DutyCheckin.received_at)).all()
    assert len(rows) == seeded["summary"]["duty"]["checkins"] > 100
    today, now = _today(app), utcnow()
    assert {r.duty_date for r in rows} <= {today - timedelta(days=n) for n in range(7)}
    assert all(r.read_at <= r.received_at <= now for r in rows)
    results = [r.result for r in rows]
    assert results.count(CheckinResult.INSIDE) > 0.7 * len(rows)
    outside = [r for r in rows if r.result == CheckinResult.OUTSIDE]
    assert outside and all(r.remark for r in outside if r.kind.value == "checkin")
    assert any(r.timing == CheckinTiming.LATE for r in rows)
    flagged = {flag for r in rows for flag in r.flag_list}
    assert flagged == set(SIGNALS) - {"reused_photo"}
    assert sum(r.flagged for r in rows) < 0.3 * len(rows)

    showcased = {a["org_id"] for a in seeded["accounts"] if a["role"] == "cadre"}  # judged one by one on arrival
    for row in rows:
        org = db.session.get(Organisation, row.org_id)
        data = {
            "latitude": row.latitude,
            "longitude": row.longitude,
            "accuracy": row.accuracy_m,
            "coord_sys": row.coord_sys.value,
        }
        result, distance, fence_id, reason = _where(fences_for_checkin(org), data)
        assert (row.result, row.distance_m, row.fence_id, row.reasons["result"]) == (result, distance, fence_id, reason)
        assignment = db.session.get(DutyAssignment, row.assignment_id)
        timing, timing_reason = timing_of(row.kind, row.read_at, row.duty_date, *shift_on(assignment, row.duty_date))
        assert (row.timing, row.reasons["timing"]) == (timing, timing_reason)
        # Judged again with the whole week known, a signal found on arrival is still found; bulk rows have none.
        again = _judge_again(row)
        assert set(row.flag_list) <= set(again), (row.client_id, row.flag_list, again)
        if row.org_id not in showcased:
            assert not row.flagged and again == {}, (row.client_id, again)


def _judge_again(row: DutyCheckin) -> dict:
    """The spoof signals of `row` as if it arrived now, its own stored copy hidden (it would be its own "previous
    check-in")."""
    copy = DutyCheckin(**{c.key: getattr(row, c.key) for c in DutyCheckin.__table__.columns if c.key != "id"})
    savepoint = db.session.begin_nested()
    db.session.delete(row)
    db.session.flush()
    try:
        return judge_signals(copy)
    finally:
        savepoint.rollback()


def test_two_cadres_of_sibling_villages_log_in_and_check_in_inside(app, client, seeded):
    accounts = seeded["accounts"]
    assert accounts == seeded["summary"]["accounts"]
    cadres = [a for a in accounts if a["role"] == "cadre"]
    assert len(cadres) >= 2
    assert all(set(a) == set(accounts[0]) for a in cadres)
    villages = [db.session.get(Organisation, a["org_id"]) for a in cadres[:2]]
    assert villages[0].id != villages[1].id and villages[0].parent_id == villages[1].parent_id
    assert all(v.level == OrgLevel.VILLAGE and v.kind.is_branch for v in villages)
    for account, village in zip(cadres[:2], villages, strict=True):
        assert account["password"] == DEMO_PASSWORD and account["org_name"] == village.name
        login = client.post("/api/auth/login", json={"username": account["username"], "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.json
        headers = {"Authorization": f"Bearer {login.json['access_token']}"}
        today = client.get("/api/duty/today", headers=headers).json["items"]
        assert [item["assignment"]["org"]["id"] for item in today] == [village.id]
        fence = next(f for f in today[0]["fences"] if f["kind"] == "circle")
        centre = fence["center"]
        body = {
            "client_id": f"test-centre-{village.id:06d}",
            "org_id": village.id,
            "latitude": centre["latitude"],
            "longitude": centre["longitude"],
            "accuracy": 10.0,
            "coord_sys": centre["coord_sys"],
            "read_at": (utcnow() - timedelta(seconds=30)).isoformat(),
        }
        r = client.post("/api/duty/checkins", json=body, headers=headers)
        assert r.status_code == 201, r.json
        assert (r.json["result"], r.json["distance_m"], r.json["fence_id"]) == ("inside", 0, fence["id"])
        history = client.get("/api/duty/checkins", headers=headers).json
        assert history["meta"]["total"] > 1


def test_the_board_is_alive(app, client, seeded, login_as):
    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
    admin = db.session.scalar(select(Member).where(Member.role == Role.SUPER_ADMIN))
    headers = login_as(admin)
    busiest = db.session.execute(
        select(DutyCheckin.duty_date, func.count()).group_by(DutyCheckin.duty_date).order_by(func.count().desc())
    ).first()[0]
    board = client.get(f"/api/duty/board?org_id={root.id}&date={busiest.isoformat()}", headers=headers).json
    totals = board["totals"]
    assert totals["rostered"] > 10 and totals["present"] > totals["rostered"] / 2
    assert totals["rostered"] == totals["present"] + totals["unconfirmed"] + totals["absent"]
    assert sum(child["cadres"] for child in board["children"]) == board["cadres"] > 12
    cadres = client.get(f"/api/duty/board/cadres?org_id={root.id}&date={busiest.isoformat()}", headers=headers).json
    assert cadres["meta"]["total"] == board["cadres"] and len(cadres["items"]) == min(50, board["cadres"])


def test_demo_setup_and_the_landing_page_label_the_cadres(app, tmp_path, monkeypatch):
    import blueprints.cli
    import blueprints.demo

    path = tmp_path / "demo-accounts.json"
    monkeypatch.setattr(blueprints.cli, "demo_accounts_path", lambda: path)
    monkeypatch.setattr(blueprints.demo, "demo_accounts_path", lambda: path)
    out = app.test_cli_runner().invoke(args=["demo-setup"])
    assert out.exit_code == 0, out.output
    cadres = [a for a in json.loads(path.read_text("utf-8"))["accounts"] if a["role"] == "cadre"]
    lines = [line for line in out.output.splitlines() if "驻村干部" in line]
    assert len(lines) == len(cadres) >= 2 and all(a["username"] in "".join(lines) for a in cadres)
    page = app.test_client().get("/").get_data(as_text=True)
    assert page.count("驻村干部") == len(cadres)

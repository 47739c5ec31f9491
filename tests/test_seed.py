"""The demo seed at "small" scale on SQLite: tree shape, member data, demo accounts."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import Member, Organisation, OrgKind, OrgLevel, Role, db
from services import idcard
from services.errors import Conflict
from services.passwords import verify_password
from services.seed import DEMO_PASSWORD, seed_demo
from services.settings import load_settings


def _make_app(tmp_dir) -> Flask:
    config = {
        "app_env": "testing",
        "database_url": f"sqlite:///{tmp_dir / 't.db'}",
        "storage_dir": str(tmp_dir / "storage"),
    }
    try:
        from app import create_app

        return create_app(config)
    except ImportError:  # the app factory is still being assembled: a bare app with the same settings
        app = Flask(__name__)
        app.config["SETTINGS"] = settings = load_settings(str(tmp_dir), config)
        app.config["SQLALCHEMY_DATABASE_URI"] = settings.database_url
        db.init_app(app)
        return app


@pytest.fixture(scope="module")
def seed_app(tmp_path_factory):
    tmp_dir = tmp_path_factory.mktemp("seed")
    app = _make_app(tmp_dir)
    with app.app_context():
        db.create_all()
        summary = seed_demo("small", accounts_out=str(tmp_dir / "accounts.json"), progress=False)
        app.extensions["seed_test"] = {"summary": summary, "accounts_path": tmp_dir / "accounts.json"}
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def orgs(seed_app) -> dict[int, Organisation]:
    return {o.id: o for o in db.session.scalars(select(Organisation))}


@pytest.fixture
def members(seed_app) -> list[Member]:
    return list(db.session.scalars(select(Member)))


def test_counts(seed_app, orgs, members):
    summary = seed_app.extensions["seed_test"]["summary"]
    assert summary["organisations"] == len(orgs) == 1 + 1 + 2 * (1 + 1 + 2 * (1 + 1 + 3))
    assert summary["members"] == len(members)
    by_kind_level = {}
    for o in orgs.values():
        by_kind_level[(o.kind, o.level)] = by_kind_level.get((o.kind, o.level), 0) + 1
    assert by_kind_level == {
        (OrgKind.COMMITTEE, OrgLevel.CITY): 1,
        (OrgKind.BRANCH, OrgLevel.CITY): 1,
        (OrgKind.COMMITTEE, OrgLevel.COUNTY): 2,
        (OrgKind.BRANCH, OrgLevel.COUNTY): 2,
        (OrgKind.COMMITTEE, OrgLevel.TOWNSHIP): 4,
        (OrgKind.BRANCH, OrgLevel.TOWNSHIP): 4,
        (OrgKind.BRANCH, OrgLevel.VILLAGE): 12,
    }
    per_org = dict(db.session.execute(select(Member.org_id, func.count()).group_by(Member.org_id)).all())
    for o in orgs.values():
        if o.level == OrgLevel.VILLAGE:
            assert 6 <= per_org[o.id] <= 10, o.name
    assert {o.name for o in orgs.values() if o.parent_id is None} == {"黔州市委"}
    assert "市委组织部机关党支部" in {o.name for o in orgs.values()}


def test_paths_follow_the_parent_chain(orgs):
    roots = [o for o in orgs.values() if o.parent_id is None]
    assert len(roots) == 1 and roots[0].level == OrgLevel.CITY
    for o in orgs.values():
        assert re.fullmatch(r"/(\d+/)+", o.path), o.path
        if o.parent_id is None:
            assert (o.path, o.depth) == (f"/{o.id}/", 0)
            continue
        parent = orgs[o.parent_id]
        assert o.path == f"{parent.path}{o.id}/"
        assert o.depth == parent.depth + 1 == len(o.ancestor_ids) - 1
        assert not parent.kind.is_branch, "branches are leaves"
        assert o.level.rank >= parent.level.rank
    assert len({o.code for o in orgs.values()}) == len(orgs)
    assert all(len(o.code) <= 32 and o.active for o in orgs.values())


def test_venues_are_in_guizhou(orgs):
    for o in orgs.values():
        assert 24.6 <= o.venue_lat <= 29.2 and 103.6 <= o.venue_lng <= 109.6, o.name
        assert o.venue_coord_sys is not None


def test_members_belong_to_branches_with_a_secretary(orgs, members):
    assert all(orgs[m.org_id].kind.is_branch for m in members)
    by_id = {m.id: m for m in members}
    for o in orgs.values():
        if o.kind.is_branch:
            secretary = by_id[o.secretary_id]
            assert secretary.org_id == o.id and secretary.role == Role.SECRETARY
        else:
            assert o.secretary_id is None


def test_member_fields(seed_app, members):
    key = seed_app.config["SETTINGS"].data_key
    today = datetime.now(seed_app.config["SETTINGS"].zone).date()  # the seed's "today" is a business date
    demo_usernames = {a["username"] for a in seed_app.extensions["seed_test"]["summary"]["accounts"]}
    assert len({m.mobile for m in members}) == len(members)
    assert len({m.id_card_digest for m in members}) == len(members)
    for m in members:
        assert re.fullmatch(r"1[3-9]\d{9}", m.mobile), m.mobile
        assert m.member_no == f"DY{m.id:08d}"
        assert 2 <= len(m.name) <= 3
        assert (m.password_hash is not None) == (m.mobile in demo_usernames)
        number = idcard.decrypt(m.id_card_cipher, key)
        assert idcard.validate(number) is None, number
        assert number.startswith("52")
        assert idcard.birth_date_of(number) == m.birth_date
        assert idcard.digest(number, key) == m.id_card_digest
        assert int(number[16]) % 2 == (1 if m.gender.value == "male" else 0)
        age = (today - m.birth_date).days / 365.2425
        assert 18 <= age <= 90.1
        assert _add_years(m.birth_date, 18) <= m.joined_on <= today
        assert m.is_floating == (m.floating_to is not None)
        assert m.created_at.tzinfo is not None and m.status.value == "active"


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


def test_demo_accounts(seed_app, orgs):
    path = seed_app.extensions["seed_test"]["accounts_path"]
    accounts = json.loads(path.read_text(encoding="utf-8"))["accounts"]
    assert accounts == seed_app.extensions["seed_test"]["summary"]["accounts"]
    accounts = [a for a in accounts if a["role"] != "cadre"]  # the duty cadres: tests/test_seed_duty.py
    assert [a["role"] for a in accounts] == ["super_admin"] + ["dept_admin"] * 5 + ["secretary"] * 2 + ["member"] * 2
    assert {tuple(sorted(a)) for a in accounts} == {
        ("name", "org_id", "org_level", "org_name", "password", "role", "username")
    }
    root = next(o for o in orgs.values() if o.parent_id is None)
    assert [a["org_level"] for a in accounts] == [
        "city",
        "city",
        "county",
        "county",
        "township",
        "township",
        "village",
        "village",
        "village",
        "village",
    ]
    assert accounts[0]["org_id"] == accounts[1]["org_id"] == root.id
    county_a, county_b = orgs[accounts[2]["org_id"]], orgs[accounts[3]["org_id"]]
    town_a, town_b = orgs[accounts[4]["org_id"]], orgs[accounts[5]["org_id"]]
    branch_a, branch_b = orgs[accounts[6]["org_id"]], orgs[accounts[7]["org_id"]]
    assert county_a.id != county_b.id and county_a.parent_id == county_b.parent_id == root.id
    assert town_a.id != town_b.id and town_a.parent_id == town_b.parent_id == county_a.id
    assert branch_a.id != branch_b.id and branch_a.parent_id == branch_b.parent_id == town_a.id
    assert branch_a.kind == branch_b.kind == OrgKind.BRANCH
    assert [accounts[8]["org_id"], accounts[9]["org_id"]] == [branch_a.id, branch_b.id]
    assert len({a["username"] for a in accounts}) == 10

    for account in accounts:
        member = db.session.scalar(select(Member).where(Member.mobile == account["username"]))
        assert member.name == account["name"] and account["password"] == DEMO_PASSWORD
        assert verify_password(member.password_hash, DEMO_PASSWORD, "cheap")
        assert not member.must_change_password
        assert member.role.value == account["role"]
        org = orgs[member.org_id]
        if member.role == Role.DEPT_ADMIN:
            assert member.managed_org_id == account["org_id"]
            assert org.kind.is_branch and org.parent_id == account["org_id"], "the managed committee's agency branch"
            assert member.can_view_id_card == (account["org_id"] == root.id)
        elif member.role == Role.SUPER_ADMIN:
            assert org.name == "市委组织部机关党支部"
        else:
            assert member.org_id == account["org_id"]
            assert (orgs[member.org_id].secretary_id == member.id) == (member.role == Role.SECRETARY)


def test_seeding_twice_is_refused(seed_app):
    with pytest.raises(Conflict):
        seed_demo("small", progress=False)

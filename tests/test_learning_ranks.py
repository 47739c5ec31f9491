"""Leaderboards match a brute-force computation over generated ledger rows, for every unit and period; proxy study is
left out; the rollups kept entry by entry equal a rebuild from the ledger."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import AccountStatus, ChannelKind, LearningChannel, Member, Organisation, OrgLevel, PointEntry, db
from models.learning import PointMemberDay, PointOrgDay, PointOrgMonth
from services import learning_points as points
from services import learning_ranks as ranks
from services.authz import SYSTEM


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


@pytest.fixture
def campaign(world):
    channel = LearningChannel(
        code="ztjy",
        name="主题教育",
        kind=ChannelKind.CAMPAIGN,
        org_id=world.city.id,
        starts_on=date(2026, 11, 20),
        ends_on=date(2027, 1, 3),  # a whole month (from the month rollup) and days on both sides
    )
    academy = LearningChannel(code="wlxy", name="网络学院", kind=ChannelKind.ACADEMY, org_id=world.city.id)
    db.session.add_all([channel, academy])
    db.session.commit()
    return channel


@pytest.fixture
def ledger(world):
    """800 entries over 15 November 2026 – 4 January 2027 for every member of the world, a fifth of them proxy study,
    one in ten earned in another branch (the member has moved since), some corrections below zero. Each entry goes
    into the rollups as the points service does it (`ranks.record` right after the insert)."""
    rng = random.Random(2026)
    rule_id = points.rule_by_code("article_read").id
    members = db.session.scalars(select(Member)).all()
    branches = [o for o in db.session.scalars(select(Organisation)) if o.kind.is_branch]
    rows = []
    for i in range(800):
        m = rng.choice(members)
        entry = PointEntry(
            member_id=m.id,
            org_id=m.org_id if rng.random() < 0.9 else rng.choice(branches).id,
            rule_id=rule_id,
            points=rng.randint(1, 6) if rng.random() < 0.95 else -rng.randint(1, 3),
            day=date(2026, 11, 15) + timedelta(days=rng.randint(0, 50)),
            source_type="lesson",
            unique_key=f"gen:{i}",
            proxy=rng.random() < 0.2,
        )
        db.session.add(entry)
        db.session.flush()
        ranks.record(entry)
        rows.append(entry)
    db.session.commit()
    return rows


UNIT_TEST = {
    "children": lambda o, org: o.parent_id == org.id,
    "branches": lambda o, org: o.kind.is_branch,
    "townships": lambda o, org: o.level == OrgLevel.TOWNSHIP and not o.kind.is_branch,
    "counties": lambda o, org: o.level == OrgLevel.COUNTY and not o.kind.is_branch,
}


def brute(rows, org, unit, first, last):
    """Expected {id: points}: straight from the ledger rows, by the paths of the organisations."""
    orgs = {o.id: o for o in db.session.scalars(select(Organisation))}
    kept = [e for e in rows if not e.proxy and first <= e.day <= last]
    if unit == "members":
        members = db.session.scalars(
            select(Member).where(Member.org_id == org.id, Member.status == AccountStatus.ACTIVE)
        ).all()
        return {m.id: sum(e.points for e in kept if e.member_id == m.id and e.org_id == org.id) for m in members}
    ranked = [o for o in orgs.values() if o.path.startswith(org.path) and o.active and UNIT_TEST[unit](o, org)]
    return {u.id: sum(e.points for e in kept if orgs[e.org_id].path.startswith(u.path)) for u in ranked}


def get_board(client, login_as, who, **query):
    r = client.get("/api/learning/leaderboard", query_string=query, headers=login_as(who))
    assert r.status_code == 200, r.json
    return r.json


def check_ranks(items):
    scores = [i["points"] for i in items]
    assert scores == sorted(scores, reverse=True)
    for i, item in enumerate(items):  # competition ranking: ties share the rank of the first of them
        assert item["rank"] == 1 + sum(1 for s in scores if s > item["points"]) and item["rank"] <= i + 1


@pytest.mark.parametrize("period,day", [("day", "2026-12-09"), ("week", "2026-12-09"), ("month", "2026-12-20")])
@pytest.mark.parametrize("place", ["city", "county_a", "town_a1", "v1"])
def test_default_unit_matches_brute_force(client, world, login_as, ledger, period, day, place):
    org = getattr(world, place)
    body = get_board(client, login_as, world.super, org_id=org.id, period=period, date=day)
    first, last = ranks.period_bounds(period, date.fromisoformat(day))
    assert (body["from"], body["to"]) == (first.isoformat(), last.isoformat())
    unit = "members" if place == "v1" else "children"
    assert {i["id"]: i["points"] for i in body["items"]} == brute(ledger, org, unit, first, last)
    check_ranks(body["items"])
    assert body["kind"] == ("members" if place == "v1" else "orgs") and body["unit"] == unit
    assert body["total"] == len(body["items"]) and body["channel"] is None


@pytest.mark.parametrize(
    "place,unit",
    [
        ("v2", "members"),  # members within a branch
        ("town_a1", "branches"),  # branches within a township
        ("county_a", "townships"),  # townships within a county
        ("city", "counties"),  # counties in the city
        ("city", "branches"),  # every branch of the city (the benchmark's board)
        ("county_a", "branches"),
    ],
)
@pytest.mark.parametrize("period", ["day", "week", "month", "campaign"])
def test_every_unit_and_period_matches_brute_force(client, world, login_as, ledger, campaign, place, unit, period):
    org = getattr(world, place)
    day = date(2026, 12, 2)
    body = get_board(client, login_as, world.super, org_id=org.id, period=period, date=day.isoformat(), unit=unit)
    if period == "campaign":
        first, last = campaign.starts_on, campaign.ends_on
        assert body["channel"] == {"id": campaign.id, "name": "主题教育"} and body["period_label"] == "主题教育榜"
    else:
        first, last = ranks.period_bounds(period, day)
    expected = brute(ledger, org, unit, first, last)
    assert expected and (period == "day" or any(expected.values()))  # every longer period has something to rank
    assert {i["id"]: i["points"] for i in body["items"]} == expected
    check_ranks(body["items"])
    if unit != "members":
        parents = {o.id: o.parent for o in db.session.scalars(select(Organisation))}
        assert all(i["parent_name"] == parents[i["id"]].name for i in body["items"])


def test_rollups_kept_entry_by_entry_equal_a_rebuild(app, world, ledger):
    def snapshot():
        db.session.expire_all()
        member_days = {(r.org_id, r.day, r.member_id): r.points for r in db.session.scalars(select(PointMemberDay))}
        org_days = {(r.org_id, r.day): r.points for r in db.session.scalars(select(PointOrgDay))}
        org_months = {(r.org_id, r.month): r.points for r in db.session.scalars(select(PointOrgMonth))}
        return member_days, org_days, org_months

    kept = snapshot()
    assert len(kept[0]) > 100 and len(kept[1]) > 50 and len(kept[2]) > 10
    member_rows, org_rows = ranks.rebuild()
    db.session.commit()
    assert snapshot() == kept and (member_rows, org_rows) == (len(kept[0]), len(kept[1]))
    # and both equal the ledger summed by hand, proxy study left out
    by_member: dict = {}
    for e in ledger:
        if not e.proxy:
            key = (e.org_id, e.day, e.member_id)
            by_member[key] = by_member.get(key, 0) + e.points
    assert kept[0] == by_member


def test_grants_and_corrections_reach_the_boards_and_proxy_study_does_not(client, world, login_as):
    day = date(2026, 12, 3)
    me, other = world.member_v1, world.sec_v1
    points.grant(me, "article_read", unique_key="t:1", source_type="lesson", units=3, day=day)
    points.grant(other, "article_read", unique_key="t:2", source_type="lesson", units=2, day=day)
    proxy = points.grant(other, "article_read", unique_key="t:3", source_type="lesson", units=4, day=day, proxy=True)
    db.session.commit()
    board = get_board(client, login_as, world.super, org_id=world.v1.id, period="day", date=day.isoformat())
    got = {i["id"]: i["points"] for i in board["items"]}
    assert got[me.id] == 3 and got[other.id] == 2
    points.correct(SYSTEM, proxy.entry.id, -1, "代学记录更正")  # a correction of proxy study stays out too
    first = db.session.scalar(select(PointEntry).where(PointEntry.unique_key == "t:1"))
    points.correct(SYSTEM, first.id, -2, "重复计分")
    db.session.commit()
    board = get_board(client, login_as, world.super, org_id=world.v1.id, period="day", date=day.isoformat())
    got = {i["id"]: i["points"] for i in board["items"]}
    assert got[me.id] == 1 and got[other.id] == 2
    county = get_board(client, login_as, world.super, org_id=world.city.id, period="month", date="2026-12-31")
    assert {i["id"]: i["points"] for i in county["items"]}[world.county_a.id] == 3
    assert board["items"][0]["id"] == other.id and board["items"][0]["rank"] == 1


def test_campaign_choice_and_bad_requests(client, world, login_as, campaign):
    h = login_as(world.super)
    q = {"org_id": world.city.id, "period": "campaign"}
    r = client.get("/api/learning/leaderboard", query_string=q | {"date": "2026-12-01"}, headers=h)
    assert r.status_code == 200 and r.json["channel"]["id"] == campaign.id
    assert (r.json["from"], r.json["to"]) == ("2026-11-20", "2027-01-03")
    r = client.get("/api/learning/leaderboard", query_string=q | {"date": "2027-01-05"}, headers=h)
    assert r.status_code == 422 and "channel_id" in r.json["error"]["fields"]  # no campaign running then
    academy = db.session.scalar(select(LearningChannel).where(LearningChannel.code == "wlxy"))
    r = client.get("/api/learning/leaderboard", query_string=q | {"channel_id": academy.id}, headers=h)
    assert r.status_code == 422 and "channel_id" in r.json["error"]["fields"]
    r = client.get("/api/learning/leaderboard", query_string={"org_id": world.town_a1.id, "unit": "members"}, headers=h)
    assert r.status_code == 422 and "unit" in r.json["error"]["fields"]
    r = client.get("/api/learning/leaderboard", query_string={"unit": "villages"}, headers=h)
    assert r.status_code == 422 and "unit" in r.json["error"]["fields"]


def test_limit_keeps_the_top_and_counts_all(client, world, login_as, ledger):
    full = get_board(
        client, login_as, world.super, org_id=world.city.id, unit="branches", period="month", date="2026-12-05"
    )
    top = get_board(
        client, login_as, world.super, org_id=world.city.id, unit="branches", period="month", date="2026-12-05", limit=3
    )
    assert top["items"] == full["items"][:3] and top["total"] == full["total"] == len(full["items"]) > 3


def test_period_bounds():
    assert ranks.period_bounds("week", date(2026, 12, 9)) == (date(2026, 12, 7), date(2026, 12, 13))
    assert ranks.period_bounds("month", date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))


def test_leaderboard_scope(client, world, login_as):
    h = login_as(world.member_v1)
    r = client.get("/api/learning/leaderboard", headers=h)
    assert r.status_code == 200 and r.json["org"]["id"] == world.v1.id and r.json["period_label"] == "日榜"
    assert [i["points"] for i in r.json["items"]] == [0] * len(r.json["items"])
    for who, org, unit in (
        ("member_v2", "v1", None),
        ("sec_v2", "v1", "members"),
        ("town_a2_admin", "town_a1", "branches"),
        ("county_b_admin", "county_a", "townships"),
        ("member_v1", "city", "counties"),
        ("county_a_admin", "city", "branches"),
    ):
        query = {"org_id": getattr(world, org).id} | ({"unit": unit} if unit else {})
        r = client.get("/api/learning/leaderboard", query_string=query, headers=login_as(getattr(world, who)))
        assert r.status_code == 404, who
    r = client.get("/api/learning/leaderboard", query_string={"period": "year"}, headers=h)
    assert r.status_code == 422 and "period" in r.json["error"]["fields"]
    r = client.get(
        "/api/learning/leaderboard",
        query_string={"org_id": world.town_a1.id, "unit": "branches"},
        headers=login_as(world.town_a1_admin),
    )
    assert r.status_code == 200 and {i["id"] for i in r.json["items"]} == {
        world.town_a1_agency.id,
        world.v1.id,
        world.v2.id,
    }

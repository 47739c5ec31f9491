"""Leaderboards match a brute-force computation over generated ledger rows; proxy study is left out."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import Member, Organisation, PointEntry, db
from services import learning_points as points
from services import learning_ranks as ranks


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


@pytest.fixture
def ledger(world):
    """400 entries over December 2026 for every member of the world, a fifth of them proxy study."""
    rng = random.Random(2026)
    rule_id = points.rule_by_code("article_read").id
    members = db.session.scalars(select(Member)).all()
    rows = []
    for i in range(400):
        m = rng.choice(members)
        rows.append(
            PointEntry(
                member_id=m.id,
                org_id=m.org_id,
                rule_id=rule_id,
                points=rng.randint(1, 6),
                day=date(2026, 12, 1) + timedelta(days=rng.randint(0, 30)),
                source_type="lesson",
                unique_key=f"gen:{i}",
                proxy=rng.random() < 0.2,
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return rows


def brute(rows, org, first, last):
    """Expected {id: points}: members of a childless organisation, else its children's subtrees."""
    orgs = {o.id: o for o in db.session.scalars(select(Organisation))}
    kept = [e for e in rows if not e.proxy and first <= e.day <= last]
    children = [o for o in orgs.values() if o.parent_id == org.id]
    if children:
        return {c.id: sum(e.points for e in kept if orgs[e.org_id].path.startswith(c.path)) for c in children}
    members = db.session.scalars(select(Member).where(Member.org_id == org.id)).all()
    return {m.id: sum(e.points for e in kept if e.member_id == m.id and e.org_id == org.id) for m in members}


@pytest.mark.parametrize("period,day", [("day", "2026-12-09"), ("week", "2026-12-09"), ("month", "2026-12-20")])
@pytest.mark.parametrize("place", ["city", "county_a", "town_a1", "v1"])
def test_leaderboard_matches_brute_force(client, world, login_as, ledger, period, day, place):
    org = getattr(world, place)
    r = client.get(
        "/api/learning/leaderboard",
        query_string={"org_id": org.id, "period": period, "date": day},
        headers=login_as(world.super),
    )
    assert r.status_code == 200, r.json
    first, last = ranks.period_bounds(period, date.fromisoformat(day))
    assert (r.json["from"], r.json["to"]) == (first.isoformat(), last.isoformat())
    expected = brute(ledger, org, first, last)
    assert {i["id"]: i["points"] for i in r.json["items"]} == expected
    scores = [i["points"] for i in r.json["items"]]
    assert scores == sorted(scores, reverse=True)
    for i, item in enumerate(r.json["items"]):  # competition ranking: ties share the rank of the first of them
        assert item["rank"] == 1 + sum(1 for s in scores if s > item["points"]) and item["rank"] <= i + 1
    assert r.json["kind"] == ("members" if place == "v1" else "orgs")


def test_period_bounds():
    assert ranks.period_bounds("week", date(2026, 12, 9)) == (date(2026, 12, 7), date(2026, 12, 13))
    assert ranks.period_bounds("month", date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))


def test_leaderboard_scope(client, world, login_as):
    h = login_as(world.member_v1)
    r = client.get("/api/learning/leaderboard", headers=h)
    assert r.status_code == 200 and r.json["org"]["id"] == world.v1.id and r.json["period_label"] == "日榜"
    assert [i["points"] for i in r.json["items"]] == [0] * len(r.json["items"])
    for who, org in (
        ("member_v2", "v1"),
        ("sec_v2", "v1"),
        ("town_a2_admin", "town_a1"),
        ("county_b_admin", "county_a"),
    ):
        r = client.get(
            "/api/learning/leaderboard",
            query_string={"org_id": getattr(world, org).id},
            headers=login_as(getattr(world, who)),
        )
        assert r.status_code == 404, who
    r = client.get("/api/learning/leaderboard", query_string={"period": "year"}, headers=h)
    assert r.status_code == 422 and "period" in r.json["error"]["fields"]

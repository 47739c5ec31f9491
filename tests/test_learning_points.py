"""Points: the ledger explains every point, caps hold under concurrent requests, corrections are new entries."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Member, PointDaily, PointEntry, db
from services import learning_points as points


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


def total(member) -> int:
    db.session.rollback()  # MariaDB REPEATABLE READ: read what the threads committed
    return db.session.scalar(select(func.sum(PointEntry.points)).where(PointEntry.member_id == member.id)) or 0


def test_rules_are_data_seeded_by_the_migration(client, world, login_as):
    r = client.get("/api/learning/points/rules", headers=login_as(world.member_v1))
    rules = {x["code"]: x for x in r.json["items"]}
    assert rules["login"] == {
        "code": "login",
        "name": "每日登录",
        "points": 1,
        "daily_cap": 1,
        "unit_s": None,
        "active": True,
    }
    assert (rules["article_read"]["daily_cap"], rules["media_time"]["unit_s"], rules["media_time"]["daily_cap"]) == (
        6,
        240,
        8,
    )
    assert "correction" not in rules


def test_daily_login_once_a_day(client, world, login_as):
    h = login_as(world.member_v1)
    assert client.post("/api/learning/points/daily-login", headers=h).json == {"points": 1, "outcome": "granted"}
    assert client.post("/api/learning/points/daily-login", headers=h).json == {"points": 0, "outcome": "duplicate"}
    r = client.get("/api/learning/points/me", headers=h)
    assert r.json["total"] == 1 and r.json["today"] == 1
    login = next(x for x in r.json["rules"] if x["code"] == "login")
    assert login["earned_today"] == 1
    ledger = client.get("/api/learning/points/me/ledger", headers=h).json
    assert ledger["meta"]["total"] == 1
    entry = ledger["items"][0]
    assert entry["rule"] == {"code": "login", "name": "每日登录"} and entry["source_type"] == "login"
    assert entry["points"] == 1 and entry["proxy"] is False


def test_cap_and_unique_key(app, world):
    m = world.member_v1
    outcomes = [
        points.grant(m, "article_read", unique_key=f"article:{m.id}:{i}", source_type="lesson", source_id=i).outcome
        for i in range(8)
    ]
    assert outcomes == ["granted"] * 6 + ["capped"] * 2
    again = points.grant(m, "article_read", unique_key=f"article:{m.id}:0", source_type="lesson")
    db.session.commit()
    assert again.outcome == "duplicate" and total(m) == 6
    tally = db.session.scalar(select(PointDaily.points).where(PointDaily.member_id == m.id))
    assert tally == 6


def test_units_are_cut_at_the_cap(app, world):
    m = world.member_v1
    assert points.grant(m, "media_time", unique_key="a", source_type="study_day", units=5).points == 5
    assert points.grant(m, "media_time", unique_key="b", source_type="study_day", units=5).points == 3
    db.session.commit()
    assert total(m) == 8


def _concurrently(app, n: int, work) -> list:
    """Runs `work(i)` in n threads released at once, each in its own app context and session, committing."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = work(i)
                db.session.commit()
            except Exception as exc:  # reported below: a thread's failure must fail the test
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_twenty_concurrent_grants_stop_at_the_cap(app, world):
    member_id = world.member_v1.id

    def work(i):
        member = db.session.get(Member, member_id)
        return points.grant(member, "article_read", unique_key=f"c:{i}", source_type="lesson", source_id=i).outcome

    outcomes = _concurrently(app, 20, work)
    assert sorted(outcomes).count("granted") == 6 and outcomes.count("capped") == 14
    assert total(world.member_v1) == 6
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 6
    assert db.session.scalar(select(PointDaily.points).where(PointDaily.member_id == member_id)) == 6


def test_twenty_concurrent_retries_of_one_event_grant_once(app, world):
    member_id = world.member_v1.id

    def work(i):
        member = db.session.get(Member, member_id)
        return points.grant(member, "login", unique_key="login:once", source_type="login").outcome

    outcomes = _concurrently(app, 20, work)
    assert outcomes.count("granted") == 1 and outcomes.count("duplicate") == 19
    assert total(world.member_v1) == 1


def test_correction_is_a_new_entry(client, world, login_as):
    grant = points.grant(world.member_v1, "article_read", unique_key="x", source_type="lesson", source_id=7)
    db.session.commit()
    url = f"/api/learning/points/entries/{grant.entry.id}/corrections"
    for who in ("town_a2_admin", "county_b_admin", "member_v2", "sec_v2"):
        assert (
            client.post(url, json={"points": -1, "note": "误记"}, headers=login_as(getattr(world, who))).status_code
            == 404
        )
    assert client.post(url, json={"points": -1, "note": "误记"}, headers=login_as(world.member_v1)).status_code == 403
    h = login_as(world.town_a1_admin)
    r = client.post(url, json={"points": -2, "note": "误记"}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"points": ["不能小于-1"]}
    r = client.post(url, json={"points": 0, "note": "误记"}, headers=h)
    assert r.status_code == 422 and "points" in r.json["error"]["fields"]
    r = client.post(url, json={"points": -1, "note": "系统重复计分"}, headers=h)
    assert r.status_code == 201
    assert r.json["corrects_id"] == grant.entry.id and r.json["rule"]["code"] == "correction"
    assert r.json["day"] == grant.entry.day.isoformat() and r.json["note"] == "系统重复计分"
    assert client.post(url, json={"points": -1, "note": "再扣"}, headers=h).status_code == 422
    db.session.expire_all()
    assert db.session.get(PointEntry, grant.entry.id).points == 1  # the original is untouched
    assert total(world.member_v1) == 0
    assert db.session.query(AuditEntry).filter_by(action="learning.points.correct").count() == 1
    ledger = client.get(f"/api/learning/points/members/{world.member_v1.id}/ledger", headers=h).json
    assert [e["points"] for e in ledger["items"]] == [-1, 1]
    r = client.post("/api/learning/points/entries/999999/corrections", json={"points": 1, "note": "x"}, headers=h)
    assert r.status_code == 404


def test_corrections_do_not_free_the_cap(app, world):
    m = world.member_v1
    first = points.grant(m, "login", unique_key="l1", source_type="login")
    from services.authz import Actor

    points.correct(Actor(world.town_a1_admin), first.entry.id, -1, "测试")
    assert points.grant(m, "login", unique_key="l2", source_type="login").outcome == "capped"

"""The daily login point: granted by an account login, a WeChat login or a token refresh, once per business day and
member, exactly once under concurrent logins, shown in the ledger; a login never fails because of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from models import PointEntry, PointRule, db
from models.base import utcnow
from services import learning_points as points
from tests.factories import PASSWORD
from tests.test_learning_points import _concurrently
from tests.test_wechat_login import bind, mint, wechat  # noqa: F401 - mint is a fixture


def password_login(client, member):
    r = client.post("/api/auth/login", json={"username": member.mobile, "password": PASSWORD})
    assert r.status_code == 200, r.json
    return r.json


def login_entries(member) -> list[PointEntry]:
    db.session.rollback()  # MariaDB REPEATABLE READ: read what the requests committed
    stmt = select(PointEntry).where(PointEntry.member_id == member.id).order_by(PointEntry.id)
    return [e for e in db.session.scalars(stmt) if e.rule.code == "login"]


@pytest.fixture
def clock(monkeypatch):
    """Moves the points' business day: `clock.days(n)` puts it n days from now."""

    class Clock:
        def days(self, n: int) -> None:
            monkeypatch.setattr(points, "utcnow", lambda: utcnow() + timedelta(days=n))

    return Clock()


def test_account_login_grants_once_a_day_and_shows_in_the_ledger(client, world):
    m = world.member_v1
    tokens = password_login(client, m)
    password_login(client, m)
    entries = login_entries(m)
    assert [(e.points, e.source_type, e.day) for e in entries] == [(1, "login", points.business_day())]
    h = {"Authorization": f"Bearer {tokens['access_token']}"}
    ledger = client.get("/api/learning/points/me/ledger", headers=h).json
    assert ledger["items"][0]["rule"] == {"code": "login", "name": "每日登录"} and ledger["items"][0]["points"] == 1
    assert client.get("/api/learning/points/me", headers=h).json["today"] == 1
    # the app's own call the same day finds the point already granted
    assert client.post("/api/learning/points/daily-login", headers=h).json == {"points": 0, "outcome": "duplicate"}


def test_refresh_on_a_later_day_grants_that_day(client, world, clock):
    m = world.member_v1
    tokens = password_login(client, m)
    clock.days(1)
    r = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 200, r.json
    r = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {r.json['refresh_token']}"})
    assert r.status_code == 200
    days = [e.day for e in login_entries(m)]
    assert days == [days[0], days[0] + timedelta(days=1)]


def test_a_refused_refresh_grants_nothing(client, world, clock):
    m = world.member_v1
    tokens = password_login(client, m)
    client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    clock.days(1)
    r = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})  # reused
    assert r.status_code == 401
    assert len(login_entries(m)) == 1


def test_wechat_login_grants(client, world, mint, clock):  # noqa: F811 - mint: the imported fixture
    m = world.member_v1
    bind(client, m, "o-wx-points", mint)  # logs in by password: today's point
    clock.days(1)
    r = wechat(client, mint("o-wx-points"))
    assert r.status_code == 200 and r.json["bound"] is True
    r = wechat(client, mint("o-wx-points"))
    assert len(login_entries(m)) == 2
    r = wechat(client, mint("o-wx-unknown"))  # not bound: no member, no point
    assert r.json["bound"] is False


def test_concurrent_logins_grant_once(app, client, world):
    member_id = world.member_v1.id

    def work(i):
        return points.login_point(member_id).outcome

    outcomes = _concurrently(app, 12, work)
    assert outcomes.count("granted") == 1 and outcomes.count("duplicate") == 11
    assert len(login_entries(world.member_v1)) == 1


def test_concurrent_http_logins_grant_once(app, world):
    mobile = world.member_v1.mobile

    def work(i):
        r = app.test_client().post("/api/auth/login", json={"username": mobile, "password": PASSWORD})
        return r.status_code

    assert _concurrently(app, 6, work) == [200] * 6
    assert len(login_entries(world.member_v1)) == 1


def test_login_never_fails_for_the_point(client, world, login_as):
    m = world.member_v1
    db.session.execute(PointRule.__table__.update().where(PointRule.code == "login").values(active=False))
    db.session.commit()
    password_login(client, m)
    assert login_entries(m) == []
    db.session.execute(delete(PointRule).where(PointRule.code == "login"))
    db.session.commit()
    password_login(client, m)
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 0


def test_each_person_earns_their_own(client, world):
    """A secretary studying for a member does it in the secretary's own session: the login point is the
    secretary's; the member earns one only by logging in."""
    password_login(client, world.sec_v1)
    assert len(login_entries(world.sec_v1)) == 1 and login_entries(world.member_v1) == []

"""Account login, lockout, tokens, sessions, first-login password change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import AccountStatus, AuditEntry, AuthSession, db
from models.base import utcnow
from services import members as member_service
from services.authz import SYSTEM
from tests.factories import PASSWORD


def login(client, username, password=PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_login_by_mobile_and_member_no(client, world):
    for username in (world.member_v1.mobile, world.member_v1.member_no):
        r = login(client, username)
        assert r.status_code == 200, r.json
        assert r.json["member"]["id"] == world.member_v1.id
        assert r.json["token_type"] == "Bearer" and r.json["refresh_token"]
    assert db.session.query(AuditEntry).filter_by(action="auth.login", actor_id=world.member_v1.id).count() == 2


def test_wrong_password_and_unknown_user_answer_alike(client, world):
    wrong = login(client, world.member_v1.mobile, "Wrong@Pass1")
    unknown = login(client, "13000000000", "Wrong@Pass1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["message"] == "账号或密码错误"


def test_lockout_after_repeated_failures_reveals_nothing(client, world, app):
    limit = app.config["SETTINGS"].login_max_failures
    for name in (world.member_v1.mobile, "13011112222"):  # an account, and no account
        answers = [login(client, name, "Wrong@Pass1").status_code for _ in range(limit)]
        assert answers == [401] * limit
        locked = login(client, name, "Wrong@Pass1")
        assert locked.status_code == 429
        assert locked.json["error"]["code"] == "login_locked"
    # even the right password is refused while locked
    assert login(client, world.member_v1.mobile).status_code == 429
    # other accounts are untouched
    assert login(client, world.member_v2.mobile).status_code == 200


def test_lock_expires(client, world, app):
    from models import LoginThrottle

    for _ in range(app.config["SETTINGS"].login_max_failures):
        login(client, world.member_v1.mobile, "Wrong@Pass1")
    row = db.session.get(LoginThrottle, world.member_v1.mobile)
    row.locked_until = utcnow() - timedelta(seconds=1)
    row.window_start = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert login(client, world.member_v1.mobile).status_code == 200
    assert db.session.get(LoginThrottle, world.member_v1.mobile) is None  # success clears the counter


def test_validation_errors_name_the_field(client):
    r = client.post("/api/auth/login", json={"username": "x"})
    assert r.status_code == 422
    assert "password" in r.json["error"]["fields"]
    assert r.json["error"]["fields"]["password"] == ["此项必填"]
    r = client.post("/api/auth/login", data="not json", content_type="application/json")
    assert r.status_code in (400, 422) and "error" in r.json


def test_access_requires_token(client, world):
    r = client.get("/api/me")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.get("/api/me", headers=bearer("garbage"))
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"


def test_refresh_rotates_and_reuse_ends_session(client, world):
    first = login(client, world.member_v1.mobile).json
    second = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"]))
    assert second.status_code == 200
    assert client.get("/api/me", headers=bearer(second.json["access_token"])).status_code == 200
    # the first refresh token was rotated away: presenting it again is treated as theft
    reuse = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"]))
    assert reuse.status_code == 401 and reuse.json["error"]["code"] == "session_ended"
    assert client.get("/api/me", headers=bearer(second.json["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh", headers=bearer(second.json["refresh_token"])).status_code == 401


def test_access_token_cannot_refresh(client, world):
    tokens = login(client, world.member_v1.mobile).json
    assert client.post("/api/auth/refresh", headers=bearer(tokens["access_token"])).status_code in (401, 422)


def test_logout_ends_the_session_at_once(client, world):
    tokens = login(client, world.member_v1.mobile).json
    other = login(client, world.member_v1.mobile).json
    assert client.post("/api/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    assert client.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert client.get("/api/me", headers=bearer(other["access_token"])).status_code == 200  # other device


def test_disabling_takes_effect_on_next_request(client, world):
    tokens = login(client, world.member_v1.mobile).json
    member_service.set_status(SYSTEM, world.member_v1, AccountStatus.DISABLED)
    db.session.commit()
    r = client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 401
    r = login(client, world.member_v1.mobile)
    assert r.status_code == 401 and r.json["error"]["code"] == "account_disabled"


def test_expired_session_is_refused(client, world):
    tokens = login(client, world.member_v1.mobile).json
    db.session.query(AuthSession).update({"expires_at": utcnow() - timedelta(seconds=1)})
    db.session.commit()
    assert client.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401


def _new_member_with_initial_password(world):
    m, initial = member_service.create_member(
        SYSTEM, world.v1.id, {"name": "新党员", "gender": "female", "mobile": "13712345678"}
    )
    db.session.commit()
    return m, initial


def test_initial_password_must_be_changed_first(client, world):
    m, initial = _new_member_with_initial_password(world)
    r = login(client, m.mobile, initial)
    assert r.status_code == 200 and r.json["member"]["must_change_password"] is True
    h = bearer(r.json["access_token"])
    assert client.get("/api/me", headers=h).json["must_change_password"] is True
    blocked = client.get(f"/api/members/{m.id}", headers=h)
    assert blocked.status_code == 403 and blocked.json["error"]["code"] == "password_change_required"
    r = client.post("/api/auth/password", headers=h, json={"current_password": initial, "new_password": "Hongqi@2026"})
    assert r.status_code == 204, r.json
    assert client.get(f"/api/members/{m.id}", headers=h).status_code == 200
    assert login(client, m.mobile, initial).status_code == 401  # one-time: gone
    assert login(client, m.mobile, "Hongqi@2026").status_code == 200


def test_expired_initial_password_is_refused(client, world):
    m, initial = _new_member_with_initial_password(world)
    m.initial_password_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert login(client, m.mobile, initial).status_code == 401


@pytest.mark.parametrize(
    "new, field_msg",
    [
        ("Ab1", "密码长度应为8到64个字符"),
        ("A" * 30 + "b1" * 20, "密码长度应为8到64个字符"),
        ("abcdefghij", "密码至少包含字母、数字、符号中的两类"),
        ("password123", "密码过于常见，请换一个"),
        ("Woaini1314", "密码过于常见，请换一个"),
        ("x13712345678", "密码不能包含手机号、党员编号或出生日期"),
    ],
)
def test_password_policy(client, world, new, field_msg):
    m, initial = _new_member_with_initial_password(world)
    h = bearer(login(client, m.mobile, initial).json["access_token"])
    r = client.post("/api/auth/password", headers=h, json={"current_password": initial, "new_password": new})
    assert r.status_code == 422
    assert r.json["error"]["fields"]["new_password"] == [field_msg]
    db.session.refresh(m)
    assert m.must_change_password is True and m.password_hash is None  # nothing half-written


def test_change_password_checks_current_and_ends_other_sessions(client, world):
    a = login(client, world.member_v1.mobile).json
    b = login(client, world.member_v1.mobile).json
    bad = client.post(
        "/api/auth/password",
        headers=bearer(a["access_token"]),
        json={"current_password": "nope", "new_password": "Hongqi@2026"},
    )
    assert bad.status_code == 422 and "current_password" in bad.json["error"]["fields"]
    ok = client.post(
        "/api/auth/password",
        headers=bearer(a["access_token"]),
        json={"current_password": PASSWORD, "new_password": "Hongqi@2026"},
    )
    assert ok.status_code == 204
    assert client.get("/api/me", headers=bearer(a["access_token"])).status_code == 200
    assert client.get("/api/me", headers=bearer(b["access_token"])).status_code == 401


def test_production_hasher_uses_argon2id_defaults():
    from argon2 import PasswordHasher

    from services.passwords import hash_password

    stored = hash_password("Some@Pass2026")
    assert stored.startswith("$argon2id$")
    defaults = PasswordHasher()
    assert f"m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}" in stored


def test_login_rate_limit_per_address(backend, tmp_path):
    """Flask-Limiter in front of login (on Redis when the backend has it)."""
    from tests.conftest import _empty_tables, make_app
    from tests.factories import build_world

    app = make_app(
        backend["url"],
        tmp_path,
        redis_url=backend["redis_url"],
        RATELIMIT_ENABLED=True,
        login_rate_limit="3 per minute",
    )
    with app.app_context():
        from blueprints.security import limiter

        limiter.reset()
        try:
            world = build_world()
            client = app.test_client()
            codes = [login(client, world.member_v1.mobile).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = login(client, world.member_v1.mobile)
            assert r.json["error"]["code"] == "rate_limited" and r.json["error"]["message"]
        finally:
            limiter.reset()
            db.session.remove()
            _empty_tables()

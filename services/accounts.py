"""Logging in and out: credentials, sessions, token rotation, lockout, password changes.

A session row backs every login; access tokens name it (`sid`), so logout, a disabled account or a password
reset ends every token of the session at the next request. Refresh tokens rotate; presenting an already-rotated
refresh token (a sign of theft) ends the whole session.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import bindparam, func, select

from models import AccountStatus, AuthSession, LoginThrottle, Member, db
from models.base import utcnow
from services import audit, passwords
from services.authz import Actor
from services.errors import Invalid, RateLimited, Unauthorized
from services.members import MOBILE_RE, revoke_sessions

BAD_CREDENTIALS = "账号或密码错误"


def settings():
    return current_app.config["SETTINGS"]


def _profile() -> str:
    return "cheap" if settings().app_env == "testing" else "default"


def find_account(username: str) -> Member | None:
    """A mobile number names an account by mobile, anything else by member number (which may never look like a
    mobile), so one username can never match two accounts."""
    username = username.strip()
    if MOBILE_RE.match(username):
        return db.session.scalar(select(Member).where(Member.mobile == username))
    return db.session.scalar(select(Member).where(func.lower(Member.member_no) == username.lower()))


def _throttle_key(username: str) -> str:
    return username.strip().lower()[:64]


def _check_lock(key: str) -> LoginThrottle | None:
    row = db.session.get(LoginThrottle, key)
    if row and row.locked_until and row.locked_until > utcnow():
        minutes = max(1, int((row.locked_until - utcnow()).total_seconds() // 60) + 1)
        raise RateLimited(f"登录失败次数过多，请{minutes}分钟后再试", code="login_locked")
    return row


def _record_failure(key: str, row: LoginThrottle | None) -> None:
    s, now = settings(), utcnow()
    window = timedelta(minutes=s.login_lock_minutes)
    if row is None:
        row = LoginThrottle(username_key=key, failures=0, window_start=now)
        db.session.add(row)
    if now - row.window_start > window:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= s.login_max_failures:
        row.locked_until = now + window


def verify_credentials(username: str, password: str) -> Member:
    """The member these credentials belong to. Failures are counted per username, known or not; the answer
    never tells whether the account exists. Writes the throttle row; the caller commits even on failure."""
    key = _throttle_key(username)
    row = _check_lock(key)
    member = find_account(username) if username.strip() else None
    ok = member is not None and _password_matches(member, password)
    if not ok:
        _record_failure(key, row)
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    check_active(member)
    if row is not None:
        db.session.delete(row)
    return member


def check_active(member: Member) -> None:
    if member.status != AccountStatus.ACTIVE:
        raise Unauthorized("账号已停用，请联系所在党组织", code="account_disabled")


def _password_matches(member: Member, password: str) -> bool:
    if member.password_hash:
        return passwords.verify_password(member.password_hash, password, _profile())
    passwords.burn_verify_time(_profile())
    if (
        member.initial_password_digest
        and member.initial_password_expires_at
        and member.initial_password_expires_at > utcnow()
    ):
        expected = passwords.initial_digest(password, settings().secret_key)
        return hmac.compare_digest(expected, member.initial_password_digest)
    return False


def start_session(member: Member, ip: str | None, user_agent: str | None, method: str = "password") -> dict:
    """Creates a session and returns its tokens (audited as a login, with how the member proved who they are)."""
    session = AuthSession(
        id=secrets.token_hex(16),
        member_id=member.id,
        refresh_jti="",
        expires_at=utcnow() + timedelta(days=settings().refresh_token_days),
        ip=ip,
        user_agent=(user_agent or "")[:200],
    )
    db.session.add(session)
    tokens = _mint(member, session)
    audit.record(Actor(member, ip), "auth.login", "member", member.id, {"sid": session.id, "method": method})
    return tokens


def _mint(member: Member, session: AuthSession) -> dict:
    claims = {"sid": session.id}
    access = create_access_token(identity=str(member.id), additional_claims=claims)
    refresh = create_refresh_token(
        identity=str(member.id), additional_claims=claims, expires_delta=session.expires_at - utcnow()
    )
    session.refresh_jti = decode_token(refresh)["jti"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": settings().access_token_minutes * 60,
    }


def live_session(sid: str | None) -> AuthSession | None:
    if not sid:
        return None
    session = db.session.get(AuthSession, sid)
    if session is None or session.revoked_at is not None or session.expires_at <= utcnow():
        return None
    return session


_SESSION_MEMBER = (
    select(Member, AuthSession.revoked_at, AuthSession.expires_at)
    .join(AuthSession, AuthSession.member_id == Member.id)
    .where(Member.id == bindparam("member_id"), AuthSession.id == bindparam("sid"))
)  # built once: every authenticated request runs it (its cache key is memoized)


def session_member(member_id: int, sid: str | None) -> Member | None:
    """The member of a live session `sid` that belongs to `member_id`, or None. One statement for what every
    authenticated request checks; the member then sits in the session's identity map."""
    if not sid:
        return None
    row = db.session.execute(_SESSION_MEMBER, {"member_id": member_id, "sid": sid}).first()
    if row is None:
        return None
    member, revoked_at, expires_at = row
    if revoked_at is not None or expires_at <= utcnow():
        return None
    return member


def refresh(claims: dict) -> dict:
    """Rotates the refresh token of a live session. A stale refresh token ends the session (token theft)."""
    session = live_session(claims.get("sid"))
    if session is None:
        raise Unauthorized("登录已失效，请重新登录", code="session_ended")
    if not hmac.compare_digest(session.refresh_jti, claims.get("jti", "")):
        session.revoked_at, session.revoke_reason = utcnow(), "refresh_reuse"
        raise Unauthorized("登录已失效，请重新登录", code="session_ended")
    member = db.session.get(Member, session.member_id)
    if member is None or member.status != AccountStatus.ACTIVE:
        raise Unauthorized("账号已停用，请联系所在党组织", code="account_disabled")
    return _mint(member, session)


def end_session(actor: Actor, sid: str) -> None:
    session = db.session.get(AuthSession, sid)
    if session is not None and session.revoked_at is None:
        session.revoked_at, session.revoke_reason = utcnow(), "logout"
        audit.record(actor, "auth.logout", "member", actor.id, {"sid": sid})


def change_password(actor: Actor, current: str, new: str, sid: str | None) -> None:
    """Checks the current password, applies the policy, stores argon2id; other sessions end (audited)."""
    member = actor.member
    if not _password_matches(member, current):
        raise Invalid("当前密码不正确", fields={"current_password": ["当前密码不正确"]})
    if hmac.compare_digest(current, new):
        raise Invalid("新密码不能与当前密码相同", fields={"new_password": ["新密码不能与当前密码相同"]})
    personal = (
        member.mobile,
        member.member_no or "",
        member.birth_date.strftime("%Y%m%d") if member.birth_date else "",
    )
    passwords.check_policy(new, personal=personal)
    member.password_hash = passwords.hash_password(new, _profile())
    member.initial_password_digest = None
    member.initial_password_expires_at = None
    member.must_change_password = False
    member.password_changed_at = utcnow()
    revoke_sessions(member.id, "password_changed", keep=sid)
    audit.record(actor, "auth.change_password", "member", member.id)


def set_password_directly(member: Member, plain: str) -> None:
    """For the CLI and demo seeding: a chosen password that need not be changed at first login."""
    member.password_hash = passwords.hash_password(plain, _profile())
    member.initial_password_digest = None
    member.must_change_password = False
    member.password_changed_at = utcnow()

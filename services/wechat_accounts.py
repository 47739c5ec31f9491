"""WeChat login and binding: a mini-program login code names an openid; a bound openid logs its member in.

An unbound openid gets a one-use bind ticket (the client holds a random token, the server keeps its digest with
the openid and the encrypted session key); after an account login the client presents it and the openid is bound
to that member. An openid binds to one member at a time; a member has one openid per WeChat app.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from cryptography.fernet import Fernet
from flask import current_app
from sqlalchemy import delete, select

from models import Member, WeChatApp, WeChatIdentity, WeChatLoginTicket, db
from models.base import utcnow
from services import accounts, audit
from services.authz import Action, Actor, authorize_member
from services.errors import Conflict, Invalid, Unauthorized, UpstreamError
from services.wechat import mini_program

TICKET_MINUTES = 10
CODE_REFUSED = {40029, 40163}  # unknown or already used login code


def _settings():
    return current_app.config["SETTINGS"]


def _encrypt(session_key: str) -> str:
    return Fernet(_settings().data_key.encode()).encrypt(session_key.encode()).decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity_of(member: Member, app: WeChatApp = WeChatApp.MINI_PROGRAM) -> WeChatIdentity | None:
    return db.session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.member_id == member.id, WeChatIdentity.app == app)
    )


def login(code: str, ip: str | None, user_agent: str | None) -> tuple[Member | None, dict]:
    """(member, tokens) when the code's openid is bound, else (None, a bind ticket). Writes the session or the
    ticket; the caller commits. A refused code raises Unauthorized; WeChat being down raises UpstreamError."""
    gateway = mini_program()
    wx = _code_to_session(gateway, code)
    identity = db.session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.appid == gateway.appid, WeChatIdentity.openid == wx.openid)
    )
    if identity is not None:
        accounts.check_active(identity.member)
        identity.session_key_cipher = _encrypt(wx.session_key)
        identity.unionid = wx.unionid or identity.unionid
        identity.last_login_at = utcnow()
        return identity.member, accounts.start_session(identity.member, ip, user_agent, method="wechat")
    return None, _new_ticket(gateway.appid, wx)


def _code_to_session(gateway, code: str, refusal=Unauthorized):
    """The code's WeChat user; a refused code raises `refusal` (401 at login; 422 when binding, where a 401 would
    tell the client its session had ended)."""
    try:
        return gateway.code_to_session(code)
    except UpstreamError as exc:
        if exc.upstream_code in CODE_REFUSED:
            message, fields = "微信登录凭证无效或已使用，请重新登录", {"code": ["登录凭证无效或已使用"]}
            raise refusal(message, code="wechat_code_invalid", fields=fields) from exc
        raise


def _new_ticket(appid: str, wx) -> dict:
    now = utcnow()
    db.session.execute(delete(WeChatLoginTicket).where(WeChatLoginTicket.expires_at < now - timedelta(days=1)))
    token = secrets.token_urlsafe(32)
    db.session.add(
        WeChatLoginTicket(
            token_digest=_digest(token),
            appid=appid,
            openid=wx.openid,
            unionid=wx.unionid,
            session_key_cipher=_encrypt(wx.session_key),
            expires_at=now + timedelta(minutes=TICKET_MINUTES),
        )
    )
    return {"bind_token": token, "expires_in": TICKET_MINUTES * 60}


def bind(actor: Actor, bind_token: str) -> WeChatIdentity:
    """Binds the ticket's openid to the signed-in member. Refuses a used, expired or unknown ticket."""
    ticket = db.session.scalar(
        select(WeChatLoginTicket).where(WeChatLoginTicket.token_digest == _digest(bind_token)).with_for_update()
    )
    if ticket is None or ticket.used_at is not None or ticket.expires_at <= utcnow():
        raise Invalid(
            "绑定凭证无效或已过期，请重新用微信登录", code="bind_token_invalid", fields={"bind_token": ["无效或已过期"]}
        )
    ticket.used_at = utcnow()
    return _bind_openid(actor, ticket.appid, ticket.openid, ticket.unionid, ticket.session_key_cipher)


def bind_code(actor: Actor, code: str) -> WeChatIdentity:
    """Binds the WeChat user behind a fresh `wx.login` code to the signed-in member (from the "me" page)."""
    gateway = mini_program()
    wx = _code_to_session(gateway, code, refusal=Invalid)
    return _bind_openid(actor, gateway.appid, wx.openid, wx.unionid, _encrypt(wx.session_key))


def _bind_openid(actor: Actor, appid: str, openid: str, unionid: str | None, key_cipher: str | None):
    """One openid, one member: refuses an openid bound to someone else; replaces the member's earlier openid
    (a new phone or WeChat account). Audited."""
    member = actor.member
    holder = db.session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.appid == appid, WeChatIdentity.openid == openid)
    )
    if holder is not None and holder.member_id != member.id:
        raise Conflict("该微信已绑定其他党员账号，请先在原账号解除绑定", code="wechat_bound_elsewhere")
    if holder is not None:
        return holder
    previous = identity_of(member)
    if previous is not None:
        db.session.delete(previous)
        db.session.flush()
    identity = WeChatIdentity(
        member_id=member.id,
        app=WeChatApp.MINI_PROGRAM,
        appid=appid,
        openid=openid,
        unionid=unionid,
        session_key_cipher=key_cipher,
        last_login_at=utcnow(),
    )
    db.session.add(identity)
    audit.record(actor, "wechat.bind", "member", member.id, {"replaced": previous is not None})
    return identity


def unbind(actor: Actor, member: Member) -> bool:
    """Removes the member's mini-program binding: the member itself, or its secretary or department (a lost
    phone), as for any change to the member's record. True when there was one. Audited."""
    authorize_member(actor, Action.UPDATE, member)
    identity = identity_of(member)
    if identity is None:
        return False
    db.session.delete(identity)
    audit.record(actor, "wechat.unbind", "member", member.id, {"by_self": member.id == actor.id})
    return True


def demo_openid(member: Member) -> str:
    return f"demo-{member.mobile}"


def bind_demo_openids(mobiles: list[str]) -> int:
    """Sandbox only: binds each demo account to the openid `demo-<mobile>`, so the demo can log in "through
    WeChat" (mint a code for that openid on the sandbox page). Idempotent; returns how many were added."""
    if not _settings().wechat_sandbox:
        raise RuntimeError("demo WeChat bindings exist only with the WeChat sandbox")
    added = 0
    for member in db.session.scalars(select(Member).where(Member.mobile.in_(mobiles))):
        if identity_of(member) is None:
            openid = demo_openid(member)
            db.session.add(
                WeChatIdentity(
                    member_id=member.id, app=WeChatApp.MINI_PROGRAM, appid=_settings().wechat_mini_appid, openid=openid
                )
            )
            added += 1
    return added

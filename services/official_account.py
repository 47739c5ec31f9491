"""The official-account bot: what a message or event from WeChat does, and the passive text it is answered with.

- Follow events: `subscribe` answers the welcome (with how to bind) and restores the link of a returning follower;
  `unsubscribe` ends the link (the `WeChatIdentity` that template messages go to) and keeps the history in
  `OfficialAccountFollower`.
- Linking: a member gets a six-digit code in the mini-program (`issue_bind_code`, valid
  WECHAT_OA_BIND_CODE_MINUTES) and sends "绑定 123456" to the account; the openid becomes the member's
  `WeChatIdentity(app=official_account)`. Failed codes are counted per openid (MAX_BIND_FAILURES per window).
- Commands (services.official_account_replies): 积分, 会议, 待办, 帮助, 解绑; a location message or LOCATION event
  is a duty check-in for a cadre on duty.
- Replay guard (`claim_message`): WeChat retries a message it got no answer to within 5 s, up to three times;
  each message (by MsgId, or sender + CreateTime + event) is handled once and its retries get the stored reply.
  In Redis with a TTL when configured, else in `oa_messages`.
Everything here is database work (no outside call), so the answer stays well inside WeChat's 5-second budget.
Writes are flushed; the view commits.
"""

from __future__ import annotations

import random
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from models import (
    AccountStatus,
    Member,
    OfficialAccountBindCode,
    OfficialAccountFollower,
    OfficialAccountMessage,
    WeChatApp,
    WeChatIdentity,
    db,
)
from models.base import utcnow
from services import audit
from services import official_account_replies as replies
from services.authz import Actor
from services.wechat_accounts import identity_of
from tasks import redis_client

REPLAY_TTL_S = 3600  # WeChat's retries come within ~15 s; an hour leaves room for clock skew and slow handling
MAX_BIND_FAILURES = 5  # wrong codes per openid within BIND_FAILURE_WINDOW before it must wait
BIND_FAILURE_WINDOW = timedelta(minutes=10)
BIND_COMMAND = re.compile(r"^(?:绑定|綁定|bind)\s*(\d{6})$", re.IGNORECASE)
PENDING = ""  # a claimed message whose reply is not stored yet


def _settings():
    return current_app.config["SETTINGS"]


def _appid() -> str:
    return _settings().wechat_oa_appid


# ---- replay guard ------------------------------------------------------------------------------------------


def dedupe_key(message: dict) -> str:
    """MsgId for messages; sender, CreateTime and event for events (which carry no MsgId)."""
    if message.get("MsgId"):
        return f"m:{message['MsgId']}"
    event = str(message.get("Event", "")).lower()
    return f"e:{message.get('FromUserName', '')}:{message.get('CreateTime', '')}:{event}"[:160]


def claim_message(key: str) -> str | None:
    """None when this is the first delivery of the message (now claimed); else the reply it got ("" while the
    first delivery is still being handled, or when it was answered with nothing)."""
    conn = redis_client()
    if conn is not None:
        if conn.set(f"oa:msg:{key}", PENDING, nx=True, ex=REPLAY_TTL_S):
            return None
        return (conn.get(f"oa:msg:{key}") or b"").decode()
    if random.random() < 0.01:  # keep the fallback table small without a periodic job
        cutoff = utcnow() - timedelta(seconds=REPLAY_TTL_S)
        db.session.execute(delete(OfficialAccountMessage).where(OfficialAccountMessage.received_at < cutoff))
    # The claim is the request's first write, so a refused one rolls back nothing else (and needs no savepoint,
    # which pysqlite would turn into a transaction of its own, committed on release).
    try:
        db.session.add(OfficialAccountMessage(dedupe_key=key))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        row = db.session.scalar(select(OfficialAccountMessage).where(OfficialAccountMessage.dedupe_key == key))
        return (row.reply if row is not None else None) or PENDING
    return None


def remember_reply(key: str, reply: str) -> None:
    """Stores the (plain) reply of a claimed message for its retries. Redis: at once; the table: with the commit."""
    conn = redis_client()
    if conn is not None:
        conn.set(f"oa:msg:{key}", reply, xx=True, ex=REPLAY_TTL_S)
        return
    row = db.session.scalar(select(OfficialAccountMessage).where(OfficialAccountMessage.dedupe_key == key))
    if row is not None:
        row.reply = reply


def release_message(key: str) -> None:
    """Forgets a claim whose handling failed, so that WeChat's retry is handled (the table's row goes with the
    rollback)."""
    conn = redis_client()
    if conn is not None:
        conn.delete(f"oa:msg:{key}")


# ---- followers and links -----------------------------------------------------------------------------------


def _follower(openid: str, now: datetime) -> OfficialAccountFollower:
    """The openid's follower row, created (as subscribed) on first sight; safe against a concurrent first sight."""
    stmt = select(OfficialAccountFollower).where(
        OfficialAccountFollower.appid == _appid(), OfficialAccountFollower.openid == openid
    )
    row = db.session.scalar(stmt)
    if row is not None:
        return row
    savepoint = db.session.begin_nested()
    try:
        row = OfficialAccountFollower(appid=_appid(), openid=openid, subscribed=True, subscribed_at=now)
        db.session.add(row)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return db.session.scalar(stmt)
    savepoint.commit()
    return row


def identity_of_openid(openid: str) -> WeChatIdentity | None:
    return db.session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.appid == _appid(), WeChatIdentity.openid == openid)
    )


def _link(member: Member, openid: str, follower: OfficialAccountFollower, now: datetime) -> bool:
    """Makes `openid` the member's official-account identity (replacing an earlier one); True when replaced."""
    previous = identity_of(member, WeChatApp.OFFICIAL_ACCOUNT)
    if previous is not None:
        db.session.delete(previous)
        db.session.flush()
    db.session.add(
        WeChatIdentity(
            member_id=member.id, app=WeChatApp.OFFICIAL_ACCOUNT, appid=_appid(), openid=openid, last_login_at=now
        )
    )
    follower.member_id, follower.bound_at = member.id, now
    return previous is not None


def on_subscribe(openid: str, now: datetime) -> str:
    """Marks the follower subscribed; a returning follower whose member is still active gets the link back."""
    follower = _follower(openid, now)
    follower.subscribed, follower.subscribed_at, follower.unsubscribed_at = True, now, None
    identity = identity_of_openid(openid)
    if identity is not None:
        return replies.welcome(identity.member)
    member = db.session.get(Member, follower.member_id) if follower.member_id else None
    if member is not None and member.status == AccountStatus.ACTIVE and _free(member):
        _link(member, openid, follower, now)
        audit.record(Actor(member), "wechat.oa.relink", "member", member.id, {"on": "subscribe"})
        return replies.welcome(member, returning=True)
    return replies.welcome(None)


def _free(member: Member) -> bool:
    """The member has no other official-account openid bound meanwhile."""
    return identity_of(member, WeChatApp.OFFICIAL_ACCOUNT) is None


def on_unsubscribe(openid: str, now: datetime) -> None:
    """Ends the link (no template message can reach an unsubscribed openid); the follower keeps `member_id`."""
    follower = _follower(openid, now)
    follower.subscribed, follower.unsubscribed_at = False, now
    identity = identity_of_openid(openid)
    if identity is not None:
        audit.record(Actor(identity.member), "wechat.oa.unsubscribe", "member", identity.member_id, None)
        db.session.delete(identity)


# ---- bind codes --------------------------------------------------------------------------------------------


def _live_code(code: str, now: datetime):
    return select(OfficialAccountBindCode).where(
        OfficialAccountBindCode.code == code,
        OfficialAccountBindCode.used_at.is_(None),
        OfficialAccountBindCode.expires_at > now,
    )


def issue_bind_code(actor: Actor) -> OfficialAccountBindCode:
    """A fresh six-digit code for the signed-in member (replacing any earlier one), unique among live codes."""
    now = utcnow()
    for _attempt in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        if db.session.scalar(_live_code(code, now)) is None:
            break
    row = db.session.scalar(select(OfficialAccountBindCode).where(OfficialAccountBindCode.member_id == actor.id))
    if row is None:
        row = OfficialAccountBindCode(member_id=actor.id)
        db.session.add(row)
    row.code, row.created_at, row.used_at = code, now, None
    row.expires_at = now + timedelta(minutes=_settings().wechat_oa_bind_code_minutes)
    db.session.flush()
    return row


def link_status(actor: Actor) -> dict:
    """Whether the member's official-account link is live, and since when."""
    identity = identity_of(actor.member, WeChatApp.OFFICIAL_ACCOUNT)
    return {"bound": identity is not None, "bound_at": identity.created_at if identity is not None else None}


def unbind_member(actor: Actor) -> bool:
    """The member ends its own link (from the mini-program or by sending 解绑); a re-follow will not restore it.
    True when there was one. Audited."""
    identity = identity_of(actor.member, WeChatApp.OFFICIAL_ACCOUNT)
    if identity is None:
        return False
    follower = db.session.scalar(
        select(OfficialAccountFollower).where(
            OfficialAccountFollower.appid == identity.appid, OfficialAccountFollower.openid == identity.openid
        )
    )
    if follower is not None:
        follower.member_id = None
    db.session.delete(identity)
    audit.record(actor, "wechat.oa.unbind", "member", actor.id, None)
    return True


def bind_by_code(openid: str, code: str, now: datetime) -> str:
    """Links `openid` to the member whose live code this is; counts a wrong code against the openid."""
    follower = _follower(openid, now)
    current = identity_of_openid(openid)
    if current is not None:
        return replies.already_bound(current.member)
    recent = follower.bind_failed_at is not None and follower.bind_failed_at > now - BIND_FAILURE_WINDOW
    if recent and follower.bind_failures >= MAX_BIND_FAILURES:
        return replies.too_many_attempts(int(BIND_FAILURE_WINDOW.total_seconds() // 60))
    row = db.session.scalar(_live_code(code, now).with_for_update())
    if row is None:
        follower.bind_failures = (follower.bind_failures if recent else 0) + 1
        follower.bind_failed_at = now
        return replies.bad_code()
    member = db.session.get(Member, row.member_id)
    if member.status != AccountStatus.ACTIVE:
        return replies.account_disabled()
    row.used_at = now
    replaced = _link(member, openid, follower, now)
    follower.bind_failures, follower.bind_failed_at = 0, None
    audit.record(Actor(member), "wechat.oa.bind", "member", member.id, {"replaced": replaced})
    return replies.bound(member)


# ---- dispatch ----------------------------------------------------------------------------------------------


def handle(message, now: datetime | None = None) -> str | None:
    """The passive text reply to one parsed message or event (wechatpy's objects), or None for "success"."""
    now = now or utcnow()
    openid = message.source
    if message.type == "event":
        return _handle_event(message, openid, now)
    identity = identity_of_openid(openid)
    member = identity.member if identity is not None else None
    if message.type == "text":
        return _handle_text(openid, member, (message.content or "").strip(), now)
    if message.type == "location":
        if member is None:
            return replies.not_bound()
        if member.status != AccountStatus.ACTIVE:
            return replies.account_disabled()
        return replies.location_message_checkin(member, message, now)
    return replies.help_text(member)


def _handle_event(message, openid: str, now: datetime) -> str | None:
    event = getattr(message, "event", "")
    if event in ("subscribe", "subscribe_scan"):
        return on_subscribe(openid, now)
    if event == "unsubscribe":
        on_unsubscribe(openid, now)
        return None
    if event == "location":
        identity = identity_of_openid(openid)
        if identity is not None and identity.member.status == AccountStatus.ACTIVE:
            replies.location_event_checkin(identity.member, message, now)
        return None  # WeChat allows no reply to a LOCATION event but "success"
    return None


def _handle_text(openid: str, member: Member | None, text: str, now: datetime) -> str:
    compact = re.sub(r"[\s\u3000]+", " ", text).strip()
    bind = BIND_COMMAND.match(compact)
    if bind:
        return bind_by_code(openid, bind.group(1), now)
    if compact.startswith(("绑定", "綁定")):
        return replies.bind_usage()
    _follower(openid, now)
    if member is None:
        return replies.help_text(None)
    if member.status != AccountStatus.ACTIVE:
        return replies.account_disabled()
    command = compact.replace(" ", "")
    if command == "解绑":
        unbind_member(Actor(member))
        return replies.unbound()
    handler = replies.COMMANDS.get(command)
    return handler(member, now) if handler is not None else replies.help_text(member)

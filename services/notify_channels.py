"""The outside channels of a notification and their ledgers: WeChat field limits, the subscribe-credit ledger, the SMS
daily limit and cost, and one `call` per channel that turns every answer into an `Outcome`.

Channels in order: the mini-program subscribe message (needs the member's mini-program openid and a credit), the
official-account template message (needs the official-account openid), SMS (categories marked urgent, a mobile, the
daily limit). The in-app inbox needs nothing: the notification row is the inbox entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import requests
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from models import db
from models.base import utcnow
from models.notifications import Channel, Notification, SmsUsage, SubscribeCredit
from models.wechat import WeChatApp, WeChatIdentity
from services import sms as sms_service
from services.errors import UpstreamError
from services.notifications import category_label

# WeChat's subscribe/template value kinds (the key's prefix) and their limits; a longer value is refused with 47003.
LENGTH_LIMITS = {"thing": 20, "name": 10, "phrase": 5, "character_string": 32, "number": 32}
TIME_FORMAT = "%Y年%m月%d日 %H:%M"
TIME_PATTERN = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}$")
SMS_CATEGORIES = {"meeting_overdue", "duty_missed", "urge", "photo_check"}  # urgent enough to cost money
SMS_CONTENT_LIMIT = 60
CREDIT_CAP = 50  # credits kept per template: more taps than WeChat would honour are not counted
NO_CREDIT = 43101


class FieldError(ValueError):
    """A message field that WeChat would refuse (47003), found before sending."""


def _fit(value: str, limit: int) -> str:
    value = re.sub(r"\s+", " ", value or "").strip() or "无"
    return value if len(value) <= limit else value[: limit - 1] + "…"


def check_fields(data: dict) -> dict:
    """Raises FieldError naming the first value WeChat's rules refuse (the same rules as 47003)."""
    for key, value in data.items():
        kind = key.rstrip("0123456789")
        if not isinstance(value, str) or not value:
            raise FieldError(key)
        if kind in LENGTH_LIMITS and len(value) > LENGTH_LIMITS[kind]:
            raise FieldError(key)
        if kind == "time" and not TIME_PATTERN.match(value):
            raise FieldError(key)
        if kind not in LENGTH_LIMITS and kind != "time":
            raise FieldError(key)
    return data


def wechat_fields(row: Notification) -> dict:
    """The four fields of the notification template (事项, 时间, 组织, 说明), shortened to WeChat's limits."""
    zone = current_app.config["SETTINGS"].zone
    when = row.due_at or row.created_at or utcnow()
    return check_fields(
        {
            "thing1": _fit(row.title, LENGTH_LIMITS["thing"]),
            "time2": when.astimezone(zone).strftime(TIME_FORMAT),
            "thing3": _fit(row.org_name or category_label(row.category), LENGTH_LIMITS["thing"]),
            "thing4": _fit(row.body, LENGTH_LIMITS["thing"]),
        }
    )


def sms_content(row: Notification) -> str:
    return _fit(f"{row.title}：{row.body}", SMS_CONTENT_LIMIT)


def local_day() -> date:
    return utcnow().astimezone(current_app.config["SETTINGS"].zone).date()


# ---- who can be reached how -------------------------------------------------------------------------------------


@dataclass
class Reach:
    """What the member offers: openids per app and a mobile."""

    mini_openid: str | None
    oa_openid: str | None
    mobile: str | None


def reach_of(member_id: int) -> Reach:
    from models import Member

    openids = dict(
        db.session.execute(
            select(WeChatIdentity.app, WeChatIdentity.openid).where(WeChatIdentity.member_id == member_id)
        ).all()
    )
    mobile = db.session.scalar(select(Member.mobile).where(Member.id == member_id))
    return Reach(openids.get(WeChatApp.MINI_PROGRAM), openids.get(WeChatApp.OFFICIAL_ACCOUNT), mobile)


def reach_of_many(member_ids: list[int]) -> dict[int, Reach]:
    """`reach_of` for many members in two queries."""
    from models import Member

    ids = sorted(set(member_ids))
    reach = {
        mid: Reach(None, None, mobile)
        for mid, mobile in db.session.execute(select(Member.id, Member.mobile).where(Member.id.in_(ids)))
    }
    stmt = select(WeChatIdentity.member_id, WeChatIdentity.app, WeChatIdentity.openid).where(
        WeChatIdentity.member_id.in_(ids)
    )
    for mid, app, openid in db.session.execute(stmt):
        if mid in reach and app == WeChatApp.MINI_PROGRAM:
            reach[mid].mini_openid = openid
        elif mid in reach and app == WeChatApp.OFFICIAL_ACCOUNT:
            reach[mid].oa_openid = openid
    return reach


def members_with_credit(member_ids: list[int], template_id: str) -> set[int]:
    """Those of the members whose ledger holds a credit for the template (one query)."""
    stmt = select(SubscribeCredit.member_id).where(
        SubscribeCredit.member_id.in_(sorted(set(member_ids))),
        SubscribeCredit.template_id == template_id,
        SubscribeCredit.credits > 0,
    )
    return set(db.session.scalars(stmt))


def possible_channels(row: Notification, reach: Reach) -> list[Channel]:
    """The outside channels that could carry this notification, in order (credits and limits checked later)."""
    s = current_app.config["SETTINGS"]
    channels = []
    if s.notify_subscribe_template and reach.mini_openid:
        channels.append(Channel.SUBSCRIBE)
    if s.notify_oa_template and reach.oa_openid:
        channels.append(Channel.TEMPLATE)
    if row.category in SMS_CATEGORIES and reach.mobile and s.sms_provider != "none" and s.sms_daily_limit > 0:
        channels.append(Channel.SMS)
    return channels


# ---- the subscribe-credit ledger --------------------------------------------------------------------------------


def _credit_row(member_id: int, template_id: str) -> None:
    """Makes sure the ledger row exists (a concurrent insert of the same row is fine)."""
    exists = select(SubscribeCredit.id).where(
        SubscribeCredit.member_id == member_id, SubscribeCredit.template_id == template_id
    )
    if db.session.scalar(exists) is None:
        try:
            with db.session.begin_nested():
                db.session.add(SubscribeCredit(member_id=member_id, template_id=template_id, credits=0))
        except IntegrityError:
            pass


def grant_credits(member_id: int, template_id: str, count: int = 1) -> None:
    """The member accepted `count` more messages of the template. Flushes."""
    _credit_row(member_id, template_id)
    db.session.execute(
        update(SubscribeCredit)
        .where(SubscribeCredit.member_id == member_id, SubscribeCredit.template_id == template_id)
        .values(
            credits=db.func.least(SubscribeCredit.credits + count, CREDIT_CAP)
            if db.session.get_bind().dialect.name == "mysql"
            else db.func.min(SubscribeCredit.credits + count, CREDIT_CAP),
            granted_total=SubscribeCredit.granted_total + count,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def zero_credits(member_id: int, template_id: str) -> None:
    """WeChat says the member has none left (43101, or the member switched the template off). Flushes."""
    _credit_row(member_id, template_id)
    db.session.execute(
        update(SubscribeCredit)
        .where(SubscribeCredit.member_id == member_id, SubscribeCredit.template_id == template_id)
        .values(credits=0, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def spend_credit(member_id: int, template_id: str) -> bool:
    """Takes one credit if there is one (atomically); False when there is none."""
    result = db.session.execute(
        update(SubscribeCredit)
        .where(
            SubscribeCredit.member_id == member_id,
            SubscribeCredit.template_id == template_id,
            SubscribeCredit.credits > 0,
        )
        .values(credits=SubscribeCredit.credits - 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def restore_credit(member_id: int, template_id: str) -> None:
    """Gives back a credit taken for a send that surely did not reach WeChat (or that WeChat refused unspent)."""
    db.session.execute(
        update(SubscribeCredit)
        .where(SubscribeCredit.member_id == member_id, SubscribeCredit.template_id == template_id)
        .values(credits=SubscribeCredit.credits + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# ---- the SMS daily limit ----------------------------------------------------------------------------------------


def reserve_sms(member_id: int, day: date) -> bool:
    """Counts one SMS (and its cost) for the member's day if under the daily limit; False when the limit is reached."""
    s = current_app.config["SETTINGS"]
    if db.session.scalar(select(SmsUsage.id).where(SmsUsage.member_id == member_id, SmsUsage.day == day)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(SmsUsage(member_id=member_id, day=day, count=0, cost_fen=0))
        except IntegrityError:
            pass
    result = db.session.execute(
        update(SmsUsage)
        .where(SmsUsage.member_id == member_id, SmsUsage.day == day, SmsUsage.count < s.sms_daily_limit)
        .values(count=SmsUsage.count + 1, cost_fen=SmsUsage.cost_fen + s.sms_cost_fen)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_sms(member_id: int, day: date) -> None:
    s = current_app.config["SETTINGS"]
    db.session.execute(
        update(SmsUsage)
        .where(SmsUsage.member_id == member_id, SmsUsage.day == day, SmsUsage.count > 0)
        .values(count=SmsUsage.count - 1, cost_fen=SmsUsage.cost_fen - s.sms_cost_fen)
        .execution_options(synchronize_session=False)
    )


# ---- calling out -------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    delivered: bool
    permanent: bool = False
    ambiguous: bool = False  # the call may have reached the provider: resolved later, never simply repeated
    code: int | str | None = None
    msgid: str | None = None
    detail: str | None = None


def client_msg_id(row: Notification) -> str:
    return f"notification-{row.id}"


def _from_error(exc: UpstreamError) -> Outcome:
    ambiguous = not exc.permanent and exc.upstream_code is None and sms_service.is_ambiguous(exc)
    code = exc.upstream_code
    return Outcome(False, permanent=exc.permanent, ambiguous=ambiguous, code=code, detail=str(exc)[:255])


def call(channel: Channel, row: Notification, reach: Reach) -> Outcome:
    """One call out on `channel`; every answer (including a timeout) becomes an Outcome, nothing is raised."""
    from services import wechat

    s = current_app.config["SETTINGS"]
    try:
        if channel == Channel.SUBSCRIBE:
            data = wechat_fields(row)
            answer = wechat.mini_program().send_subscribe(
                reach.mini_openid, s.notify_subscribe_template, data, row.page
            )
            return Outcome(True, msgid=str(answer.get("msgid", "")))
        if channel == Channel.TEMPLATE:
            data = wechat_fields(row)
            answer = wechat.official_account().send_template(
                reach.oa_openid, s.notify_oa_template, data, client_msg_id=client_msg_id(row), page=row.page
            )
            return Outcome(True, msgid=str(answer.get("msgid", "")))
        receipt = sms_service.provider().send(reach.mobile, sms_content(row), client_msg_id(row))
        return Outcome(True, msgid=receipt.biz_id)
    except FieldError as exc:
        return Outcome(False, permanent=True, code=47003, detail=f"field {exc} breaks WeChat's limits; not sent")
    except UpstreamError as exc:
        return _from_error(exc)
    except requests.RequestException as exc:  # defensive: an adapter should have wrapped it
        return Outcome(False, ambiguous=sms_service.is_ambiguous(exc), detail=repr(exc)[:255])


def sms_was_received(row: Notification, reach: Reach, day: date) -> bool:
    """Asks the SMS provider whether this notification's message arrived there (raises UpstreamError if it cannot
    answer now)."""
    return sms_service.provider().find(reach.mobile, client_msg_id(row), day)

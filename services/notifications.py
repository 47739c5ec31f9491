"""Notifications: recording one message per member and key, sending them after the caller's commit, cancelling
unsent ones, and the member's inbox and subscribe credits.

Callers (reminder scan, department urges, the bot) do:

    ids = [i for i in (notifications.post(member_id, key=..., category=..., title=..., body=...), ...) if i]
    db.session.commit()
    notifications.enqueue_sends(ids)

`post` is idempotent by key: a rerun creates nothing and returns None. Delivery (claiming, channels, retries,
exactly-once) is in services/notify_delivery.py, the jobs in tasks/notifications.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from models import db
from models.base import utcnow
from models.notifications import KEY_LENGTH, Notification, NotificationStatus, SubscribeCredit


@dataclass(frozen=True)
class Category:
    label: str  # Chinese, shown in the inbox and as the message's kind


CATEGORIES: dict[str, Category] = {
    "meeting_due": Category("会议提醒"),
    "meeting_overdue": Category("会议逾期"),
    "duty_missed": Category("值班缺勤"),
    "learning_due": Category("学习提醒"),
    "digest": Category("工作汇总"),
    "urge": Category("督办通知"),
    "photo_check": Category("拍照核验"),
}

TITLE_LENGTH = 100


def category_label(category: str) -> str:
    return CATEGORIES[category].label if category in CATEGORIES else category


def post(
    member_id: int,
    *,
    key: str,
    category: str,
    title: str,
    body: str,
    page: str | None = None,
    due_at: datetime | None = None,
    org_name: str | None = None,
) -> int | None:
    """Records one notification for one member, unique by `key`. Returns its id, or None when the key exists
    already (a rerun creates nothing). Flushes, never commits; the caller commits, then calls `enqueue_sends`."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown notification category {category!r}")
    if not key or len(key) > KEY_LENGTH:
        raise ValueError(f"notification key must be 1..{KEY_LENGTH} characters")
    if db.session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
        return None
    row = Notification(
        member_id=member_id,
        key=key,
        category=category,
        title=title[:TITLE_LENGTH],
        body=body,
        page=page,
        due_at=due_at,
        org_name=(org_name or None) and org_name[:100],
        status=NotificationStatus.PENDING,
    )
    try:
        with db.session.begin_nested():  # the same key raced in on another connection: it won
            db.session.add(row)
    except IntegrityError:
        return None
    return row.id


def enqueue_sends(ids: list[int]) -> None:
    """Queues send jobs for the notification ids (one job per chunk of ids). Call only after the commit that made
    the rows visible. Without Redis the sends run here, in-process, one after another."""
    from tasks.notifications import enqueue_send_jobs

    enqueue_send_jobs([i for i in ids if i is not None])


def cancel(keys: list[str], conn=None) -> int:
    """Cancels the notifications with these keys that no send job has claimed yet (a reminder closed because its
    evidence arrived). Returns how many were cancelled. Flushes, never commits; with `conn` (a flush listener's
    connection) it only runs the updates there."""
    keys = [k for k in keys if k]
    if not keys:
        return 0
    if conn is None:
        db.session.flush()
        conn = db.session.connection()
    table, cancelled = Notification.__table__, 0
    for start in range(0, len(keys), 500):
        result = conn.execute(
            update(table)
            .where(table.c.key.in_(keys[start : start + 500]), table.c.status == NotificationStatus.PENDING.value)
            .values(status=NotificationStatus.CANCELLED.value, cancelled_at=utcnow(), updated_at=utcnow())
        )
        cancelled += result.rowcount
    return cancelled


# ---- the member's inbox ----------------------------------------------------------------------------------------


def _inbox(member_id: int):
    # Cancelled messages never reached anyone and were withdrawn: the inbox does not show them.
    return select(Notification).where(
        Notification.member_id == member_id, Notification.status != NotificationStatus.CANCELLED
    )


def inbox_query(member_id: int, *, unread_only: bool = False):
    """The member's notifications, newest first (for `services.listing.paginate`)."""
    stmt = _inbox(member_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(member_id: int) -> int:
    stmt = _inbox(member_id).where(Notification.read_at.is_(None))
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def own_notification(member_id: int, notification_id: int) -> Notification | None:
    """The member's own (not cancelled) notification, or None: another member's reads as missing."""
    return db.session.scalar(_inbox(member_id).where(Notification.id == notification_id))


def mark_read(row: Notification) -> Notification:
    """Marks one notification read (once: the first read time stays). Flushes."""
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.flush()
    return row


def mark_all_read(member_id: int) -> int:
    """Marks every unread notification of the member read. Returns how many. Flushes."""
    now = utcnow()
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.member_id == member_id,
            Notification.read_at.is_(None),
            Notification.status != NotificationStatus.CANCELLED,
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# ---- subscribe credits -----------------------------------------------------------------------------------------


ACCEPTED = "accept"  # wx.requestSubscribeMessage's answer per template: accept, reject, ban or filter
REFUSED = {"reject", "ban", "filter"}


def subscribe_templates() -> list[str]:
    """The template ids the mini-program asks the member to accept (one today: the notification template)."""
    template = current_app.config["SETTINGS"].notify_subscribe_template
    return [template] if template else []


def credits_of(member_id: int) -> dict[str, int]:
    """Credits per offered template (0 when the member never accepted one)."""
    rows = dict(
        db.session.execute(
            select(SubscribeCredit.template_id, SubscribeCredit.credits).where(SubscribeCredit.member_id == member_id)
        ).all()
    )
    return {template: rows.get(template, 0) for template in subscribe_templates()}


def record_subscribe_results(member_id: int, results: dict[str, str]) -> dict[str, int]:
    """Applies the answers of one wx.requestSubscribeMessage: each "accept" of an offered template is one more
    credit; "ban" (the member switched the template off in WeChat's settings) zeroes it; "reject" and "filter"
    change nothing. Unknown template ids are ignored. Flushes; returns the credits after."""
    from services import notify_channels

    offered = set(subscribe_templates())
    for template, answer in results.items():
        if template not in offered:
            continue
        if answer == ACCEPTED:
            notify_channels.grant_credits(member_id, template, 1)
        elif answer == "ban":
            notify_channels.zero_credits(member_id, template)
    db.session.flush()
    return credits_of(member_id)

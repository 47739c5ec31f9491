"""Notifications to members: the outbox row per message, its delivery attempts, the subscribe-credit ledger and the
SMS usage per member and day. The delivery itself (claiming, channels, retries) lives in tasks/notifications.py."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import IdMixin, TimestampMixin, UTCDateTime, db, utcnow, value_enum

KEY_LENGTH = 191  # utf8mb4 unique index limit on older MariaDB/MySQL row formats


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its send job
    SENDING = "sending"  # claimed by a send job (claim_token, claimed_at)
    SENT = "sent"  # delivered by `channel` (the inbox at least)
    FAILED = "failed"  # only the inbox holds it: every outside channel refused or was impossible
    CANCELLED = "cancelled"  # withdrawn before it was sent (the reminder's evidence arrived)


class Channel(enum.StrEnum):
    SUBSCRIBE = "subscribe"  # mini-program subscribe message (spends one credit)
    TEMPLATE = "template"  # official-account template message
    SMS = "sms"
    INBOX = "inbox"  # always: the row itself is the inbox entry


class AttemptOutcome(enum.StrEnum):
    IN_FLIGHT = "in_flight"  # committed before the call; a crash leaves it so, and a retry resolves it
    DELIVERED = "delivered"
    TRANSIENT = "transient"  # not delivered; worth a retry (busy, rate limit, timeout, 5xx)
    REFUSED = "refused"  # permanent refusal (43101, 40003, 47003, ...): fall through to the next channel
    SKIPPED = "skipped"  # not possible for this member (no openid, no credit, no phone, daily limit)


class Notification(TimestampMixin, db.Model):
    """One message to one member, unique by `key` (so a rerun of whatever created it creates nothing).
    `channel` names the channel that delivered it; the inbox always shows it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_member_inbox", "member_id", "id"),
        Index("ix_notifications_member_unread", "member_id", "read_at"),
        Index("ix_notifications_status_claimed", "status", "claimed_at"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    category: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    page: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    org_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[NotificationStatus] = mapped_column(
        value_enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    channel: Mapped[Channel | None] = mapped_column(value_enum(Channel))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(IdMixin, db.Model):
    """One call (or one decision not to call) on one channel for one notification. Written and committed as
    `in_flight` before the outside call, so a crash between the call and its record is visible to the next run."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index("ix_notification_attempts_notification", "notification_id", "id"),)

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(value_enum(Channel))
    outcome: Mapped[AttemptOutcome] = mapped_column(value_enum(AttemptOutcome))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    template_id: Mapped[str | None] = mapped_column(String(64))
    credit_spent: Mapped[bool] = mapped_column(default=False)
    upstream_code: Mapped[int | None] = mapped_column(Integer)
    provider_msgid: Mapped[str | None] = mapped_column(String(64))
    cost_fen: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubscribeCredit(IdMixin, db.Model):
    """How many subscribe messages of one template a member has allowed and we have not spent yet. Granted by the
    member's taps (POST /api/me/subscriptions), spent by sends, zeroed by WeChat's 43101."""

    __tablename__ = "subscribe_credits"
    __table_args__ = (UniqueConstraint("member_id", "template_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    granted_total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SmsUsage(IdMixin, db.Model):
    """SMS sent to one member on one local day, and their cost: the per-day limit is checked against `count`."""

    __tablename__ = "sms_usage"
    __table_args__ = (UniqueConstraint("member_id", "day"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)
    cost_fen: Mapped[int] = mapped_column(Integer, default=0)

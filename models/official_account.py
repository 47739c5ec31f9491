"""The official-account bot's own rows: followers (with the history of their link to a member), one-time bind
codes, and the replay guard's fallback when there is no Redis.

The live link itself is a `WeChatIdentity` with `app=official_account` (what template messages are sent to); it
exists only while the follower is subscribed and bound. `OfficialAccountFollower` keeps who followed, when they
left, and which member the openid was last bound to, so that an unsubscribe ends the link without losing history
and a re-follow restores it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import IdMixin, TimestampMixin, UTCDateTime, db, utcnow


class OfficialAccountFollower(TimestampMixin, db.Model):
    """One openid of the official account. `member_id` is the member it is (or was last) bound to; `subscribed`
    is False after an unsubscribe. Failed bind attempts are counted per window against code guessing."""

    __tablename__ = "oa_followers"
    __table_args__ = (UniqueConstraint("appid", "openid"),)

    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    subscribed: Mapped[bool] = mapped_column(default=True)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bind_failures: Mapped[int] = mapped_column(Integer, default=0)
    bind_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OfficialAccountBindCode(IdMixin, db.Model):
    """The short-lived code a member got in the mini-program and sends to the account ("绑定 123456"). One live
    code per member (a new one replaces it); used once."""

    __tablename__ = "oa_bind_codes"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(String(6), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfficialAccountMessage(IdMixin, db.Model):
    """Replay guard without Redis: one row per message WeChat pushed (by MsgId, or sender + time + event), with
    the reply given, so that WeChat's retries get the same reply and the handler runs once."""

    __tablename__ = "oa_messages"

    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    reply: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

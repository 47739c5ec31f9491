"""WeChat identities bound to members, and the short-lived tickets of a WeChat login that found no binding."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import IdMixin, TimestampMixin, UTCDateTime, db, value_enum


class WeChatApp(enum.StrEnum):
    """Which of the project's WeChat apps an openid belongs to: openids differ per app for the same person."""

    MINI_PROGRAM = "mini_program"
    OFFICIAL_ACCOUNT = "official_account"


class WeChatIdentity(TimestampMixin, db.Model):
    """One member's openid in one WeChat app. An openid binds to one member at a time, a member has at most one
    openid per app. The mini-program's `session_key` is kept encrypted and never leaves the server."""

    __tablename__ = "wechat_identities"
    __table_args__ = (
        UniqueConstraint("appid", "openid"),
        UniqueConstraint("appid", "member_id"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    app: Mapped[WeChatApp] = mapped_column(value_enum(WeChatApp))
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    session_key_cipher: Mapped[str | None] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member = relationship("Member", lazy="joined")


class WeChatLoginTicket(IdMixin, db.Model):
    """A WeChat login whose openid is not bound yet: the client holds only a random bind token (its digest is
    kept here), presents it after an account login, and the server binds the openid it remembered. One use."""

    __tablename__ = "wechat_login_tickets"

    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64))
    session_key_cipher: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

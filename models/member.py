"""Members: the person, their party record, and their account (role, credentials, status)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TimestampMixin, UTCDateTime, db, value_enum
from models.org import Organisation


class Role(enum.StrEnum):
    MEMBER = "member"  # acts on itself
    SECRETARY = "secretary"  # acts on its own organisation's subtree (a branch: the branch)
    DEPT_ADMIN = "dept_admin"  # an organisation department: the subtree of `managed_org`
    SUPER_ADMIN = "super_admin"  # the platform operator: everything


ROLE_LABELS = {
    Role.MEMBER: "党员",
    Role.SECRETARY: "书记",
    Role.DEPT_ADMIN: "组织部管理员",
    Role.SUPER_ADMIN: "系统管理员",
}


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}


class PartyStatus(enum.StrEnum):
    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员


PARTY_STATUS_LABELS = {PartyStatus.FULL: "正式党员", PartyStatus.PROBATIONARY: "预备党员"}


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Member(TimestampMixin, db.Model):
    __tablename__ = "members"

    # Set right after insert (DY + zero-padded id) unless the roster gives one.
    member_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[Gender] = mapped_column(value_enum(Gender))
    birth_date: Mapped[date | None] = mapped_column(Date)
    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    # Encrypted ID-card number (Fernet) and a keyed digest of it, so duplicates are found without decrypting.
    id_card_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_card_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    party_status: Mapped[PartyStatus] = mapped_column(value_enum(PartyStatus), default=PartyStatus.FULL)
    joined_on: Mapped[date | None] = mapped_column(Date)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    is_floating: Mapped[bool] = mapped_column(Boolean, default=False)
    floating_to: Mapped[str | None] = mapped_column(String(100))

    role: Mapped[Role] = mapped_column(value_enum(Role), default=Role.MEMBER)
    managed_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # Grants reading ID-card numbers unmasked; every such read is audited.
    can_view_id_card: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[AccountStatus] = mapped_column(value_enum(AccountStatus), default=AccountStatus.ACTIVE)

    password_hash: Mapped[str | None] = mapped_column(String(255))
    # A one-time initial password (imported accounts): high-entropy, so a keyed digest suffices; see
    # services/passwords.py for why this is not argon2.
    initial_password_digest: Mapped[str | None] = mapped_column(String(64))
    initial_password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[Organisation] = relationship(foreign_keys=[org_id])
    managed_org: Mapped[Organisation | None] = relationship(foreign_keys=[managed_org_id])

    __table_args__ = (
        Index("ix_members_org_status", "org_id", "status"),
        Index("ix_members_managed_org_id", "managed_org_id"),
    )

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.member_no}>"

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE

"""The compliance engine's data: reminder rules (reference data a city admin edits), the reminders the scan opens,
and departments' urges (督办).

A reminder is one (subject, rule, period, stage) of one organisation or person, unique by `key`, so that a rerun of
the scan never opens a second one. It stays open until its evidence arrives (a meeting held for the period, a
check-in on the day, the course completed); closing it cancels its notification if that is still unsent.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import IdMixin, TimestampMixin, UTCDateTime, db, utcnow, value_enum

KEY_LENGTH = 191  # utf8mb4 unique index limit on older row formats (as models.notifications)


class ReminderSubject(enum.StrEnum):
    MEETING = "meeting"  # a meeting kind's cadence period not yet held by a branch (or leadership team)
    DUTY = "duty"  # a rostered cadre without a check-in by the end of the shift
    LEARNING = "learning"  # a compulsory course not completed before its deadline

    @property
    def label(self) -> str:
        return {"meeting": "组织生活", "duty": "值班签到", "learning": "必修课程"}[self.value]


class ReminderStage(enum.StrEnum):
    REMIND = "remind"  # before the deadline: the one who must act (secretary, learner)
    OVERDUE = "overdue"  # the deadline passed: the one who must act, and the department above (digest)
    ESCALATE = "escalate"  # still missing after a further delay: the department above that (digest)

    @property
    def label(self) -> str:
        return {"remind": "即将到期", "overdue": "已逾期", "escalate": "已上报上级"}[self.value]


class ReminderRule(TimestampMixin, db.Model):
    """When reminders of one subject open. Meeting rules apply per cadence to every active meeting kind of that
    cadence (a kind added later is covered at once). Seeded by the migration; a city admin edits the numbers."""

    __tablename__ = "reminder_rules"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    subject: Mapped[ReminderSubject] = mapped_column(value_enum(ReminderSubject))
    cadence: Mapped[str | None] = mapped_column(String(12))  # meeting rules: models.Cadence value
    # REMIND opens this many days before the deadline (None: no REMIND stage).
    remind_days_before: Mapped[int | None] = mapped_column(Integer)
    # OVERDUE opens this many hours after the deadline (None: no OVERDUE stage).
    overdue_after_hours: Mapped[int | None] = mapped_column(Integer)
    # ESCALATE opens this many hours after the deadline (None: no ESCALATE stage).
    escalate_after_hours: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Reminder(IdMixin, db.Model):
    """One stage of one missed (or soon missed) obligation.

    `org_id` is the organisation concerned (the branch; the village of a duty shift; the learner's branch),
    `member_id` the person concerned when it is a person (the cadre, the learner), `subject_id` the meeting kind,
    duty assignment or course. `dept_org_id` names the department alerted (OVERDUE, ESCALATE): its admins read it
    in their daily digest. `notified_at` is set once the scan has dealt with its notification (posted, carried by a
    digest, or nobody to tell); `notification_key` names the notification that carries it, if any."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_open", "closed_at", "subject", "stage"),
        Index("ix_reminders_org", "org_id", "closed_at"),
        Index("ix_reminders_member", "member_id", "closed_at"),
        Index("ix_reminders_dept", "dept_org_id", "closed_at"),
        Index("ix_reminders_pending", "notified_at", "subject", "id"),
        # What the scan asks before opening a stage: does this organisation's reminder of this kind, assignment or
        # course, period and stage exist already (so a rerun reads no rows it would only skip).
        Index("ix_reminders_identity", "org_id", "subject_id", "period", "stage"),
    )

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    subject: Mapped[ReminderSubject] = mapped_column(value_enum(ReminderSubject))
    stage: Mapped[ReminderStage] = mapped_column(value_enum(ReminderStage))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    dept_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    subject_id: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(10))  # "2026-07", "2026Q3", "2026", a duty date, a course deadline
    year: Mapped[int | None] = mapped_column(Integer)  # meetings: the kind period's tally year and slot
    slot: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[date | None] = mapped_column(Date)  # duty: the business date of the shift
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notification_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(16))  # evidence

    rule = relationship("ReminderRule", lazy="joined")
    org = relationship("Organisation", foreign_keys=[org_id], lazy="joined")


class OrgUrge(IdMixin, db.Model):
    """A department urging (督办) a subordinate organisation: who, when, why, and the notification it sent."""

    __tablename__ = "org_urges"
    __table_args__ = (Index("ix_org_urges_org", "org_id", "id"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    urged_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str] = mapped_column(String(500))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    notification_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    urger = relationship("Member", foreign_keys=[urged_by], lazy="joined")

"""Duty check-in (值班签到) of resident cadres: geofences, assignments, weekly rosters and their exceptions, and
the check-ins themselves with their verdicts.

A cadre (第一书记, 驻村干部) is an ordinary Member whose home branch may be anywhere (often a county agency); a
DutyAssignment sends them to a village branch for a span of dates. What a check-in says about presence and timing
is decided once, when it arrives, and stored with it; what can be derived cheaply (absence, per-cadre flag
counts) is derived by query, not stored.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TimestampMixin, UTCDateTime, db, utcnow, value_enum
from models.org import CoordSys


class FenceKind(enum.StrEnum):
    CIRCLE = "circle"
    POLYGON = "polygon"


class Geofence(TimestampMixin, db.Model):
    """A place where a check-in for `org` counts: a circle (centre, radius) or a polygon, in its own coordinate
    system (the mini-program map gives GCJ-02). Deactivated, never deleted: old check-ins name their fence."""

    __tablename__ = "geofences"
    __table_args__ = (Index("ix_geofences_org_active", "org_id", "active"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[FenceKind] = mapped_column(value_enum(FenceKind))
    # Double, not Float: MariaDB's FLOAT is single precision, ~1 m at these longitudes.
    center_lat: Mapped[float | None] = mapped_column(Double)
    center_lng: Mapped[float | None] = mapped_column(Double)
    radius_m: Mapped[float | None] = mapped_column(Float)
    points: Mapped[list | None] = mapped_column(JSON)  # [[lat, lng], ...] for a polygon, open ring
    coord_sys: Mapped[CoordSys] = mapped_column(value_enum(CoordSys))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class DutyRole(enum.StrEnum):
    FIRST_SECRETARY = "first_secretary"
    RESIDENT_CADRE = "resident_cadre"

    @property
    def label(self) -> str:
        return {"first_secretary": "第一书记", "resident_cadre": "驻村干部"}[self.value]


class DutyAssignment(TimestampMixin, db.Model):
    """A cadre sent to a village branch from `starts_on` to `ends_on` (inclusive; open-ended when None)."""

    __tablename__ = "duty_assignments"
    __table_args__ = (
        Index("ix_duty_assignments_member", "member_id", "starts_on"),
        Index("ix_duty_assignments_org", "org_id", "starts_on"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[DutyRole] = mapped_column(value_enum(DutyRole))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    member = relationship("Member", foreign_keys=[member_id], lazy="joined")
    org = relationship("Organisation", lazy="joined")

    def covers(self, day: date) -> bool:
        return in_force(self.starts_on, self.ends_on, day)


def in_force(starts_on: date, ends_on: date | None, day: date) -> bool:
    """Whether an assignment from `starts_on` to `ends_on` (None: open-ended) is in force on `day`; for the
    check-in, which reads the two columns without the entity."""
    return starts_on <= day and (ends_on is None or day <= ends_on)


class DutyRoster(db.Model):
    """One weekday of an assignment's weekly pattern: on duty from `starts_at` to `ends_at`, local time."""

    __tablename__ = "duty_rosters"
    __table_args__ = (UniqueConstraint("assignment_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("duty_assignments.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday … 6 = Sunday, like date.weekday()
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)


class DutyExceptionKind(enum.StrEnum):
    LEAVE = "leave"
    BUSINESS_TRIP = "business_trip"

    @property
    def label(self) -> str:
        return {"leave": "请假", "business_trip": "出差"}[self.value]


class DutyException(db.Model):
    """Days off the roster approved by a department: leave or a business trip, `starts_on`–`ends_on` inclusive."""

    __tablename__ = "duty_exceptions"
    __table_args__ = (Index("ix_duty_exceptions_assignment", "assignment_id", "starts_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("duty_assignments.id", ondelete="CASCADE"))
    kind: Mapped[DutyExceptionKind] = mapped_column(value_enum(DutyExceptionKind))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    approved_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckinKind(enum.StrEnum):
    CHECKIN = "checkin"
    CHECKOUT = "checkout"


class CheckinResult(enum.StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    UNCERTAIN = "uncertain"


class CheckinTiming(enum.StrEnum):
    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"
    OFF_ROSTER = "off_roster"


class DutyCheckin(db.Model):
    """One check-in or check-out as the phone sent it, with the server's verdict.

    `client_id` (made by the phone) is unique per member: a retry lands on this row. The position is kept as sent
    (`latitude`, `longitude`, `coord_sys`) and converted (`wgs_lat`, `wgs_lng`) for the spoof signals. `duty_date`
    is the business date of `read_at` in the settings' zone. `flags` is comma-separated (`flagged` when any), with
    a Chinese reason each in `reasons`.
    """

    __tablename__ = "duty_checkins"
    __table_args__ = (
        UniqueConstraint("member_id", "client_id"),
        Index("ix_duty_checkins_org_date", "org_id", "duty_date", "member_id"),
        Index("ix_duty_checkins_member_read", "member_id", "read_at"),
        Index("ix_duty_checkins_device", "device_id", "member_id"),
        # the repeated-position signal's box (services.duty_signals): a few entries, not the cadre's whole history
        Index("ix_duty_checkins_member_position", "member_id", "wgs_lat", "wgs_lng"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), active_history=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), active_history=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("duty_assignments.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[CheckinKind] = mapped_column(value_enum(CheckinKind), active_history=True)
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    accuracy_m: Mapped[float] = mapped_column(Float)
    coord_sys: Mapped[CoordSys] = mapped_column(value_enum(CoordSys))
    wgs_lat: Mapped[float] = mapped_column(Double)
    wgs_lng: Mapped[float] = mapped_column(Double)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duty_date: Mapped[date] = mapped_column(Date, active_history=True)
    result: Mapped[CheckinResult] = mapped_column(value_enum(CheckinResult), active_history=True)
    distance_m: Mapped[float | None] = mapped_column(Float)  # outside the nearest fence; 0 inside
    fence_id: Mapped[int | None] = mapped_column(ForeignKey("geofences.id"))
    timing: Mapped[CheckinTiming] = mapped_column(value_enum(CheckinTiming), active_history=True)
    flags: Mapped[str | None] = mapped_column(String(120))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, active_history=True)
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    remark: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(64))
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))

    member = relationship("Member", foreign_keys=[member_id], lazy="joined")

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split(",") if self.flags else []


class DutyDay(db.Model):
    """One cadre's check-ins at one village on one duty date, counted at write time (services.duty_days keeps it
    from every flush of check-ins): the board and the month report read these instead of grouping check-ins.

    checkins, inside, on_time (on time or early) and late count check-ins (kind checkin) only; outside and flagged
    count check-ins and check-outs."""

    __tablename__ = "duty_days"

    duty_date: Mapped[date] = mapped_column(Date, primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checkins: Mapped[int] = mapped_column(Integer, default=0)
    inside: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    outside: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)


class DutyInspection(db.Model):
    """A department's spot-check visit (督查) to a village: when, by whom, which cadre if one was checked, whether
    they were found present, and what was noted."""

    __tablename__ = "duty_inspections"
    __table_args__ = (Index("ix_duty_inspections_org_visited", "org_id", "visited_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cadre_present: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DutyCheckRequest(db.Model):
    """A department asks a cadre for an instant photo check-in at a village, due by `due_at`. Answered by the
    check-in (with a live photo) that names it; its status (pending, answered, late, missed) is derived."""

    __tablename__ = "duty_check_requests"
    __table_args__ = (
        Index("ix_duty_check_requests_member_due", "member_id", "due_at"),
        Index("ix_duty_check_requests_org_requested", "org_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("duty_checkins.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def status(self, now: datetime) -> str:
        if self.answered_at is not None:
            return "answered" if self.answered_at <= self.due_at else "late"
        return "pending" if now <= self.due_at else "missed"

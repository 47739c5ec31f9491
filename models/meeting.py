"""Organisational life on record: meeting kinds with their cadence (data, not code), meetings, attendance.

A meeting moves planned → held → submitted → reviewed, or returned (by the superior, with a reason) and then
submitted again. A reviewed record is frozen. `period` is the cadence period the meeting counts for ("2026-11",
"2026Q4", "2026"), stored so that statistics group by it without date arithmetic in SQL.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TimestampMixin, UTCDateTime, db, value_enum
from models.org import CoordSys


class Cadence(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def label(self) -> str:
        return {"month": "每月", "quarter": "每季度", "year": "每年"}[self.value]


class KindAudience(enum.StrEnum):
    BRANCH = "branch"  # every branch (支部, 联合支部)
    LEADERSHIP = "leadership"  # leadership teams: committees at county level and up


class MeetingKind(TimestampMixin, db.Model):
    """One kind of organisational life and how often it is due; a city admin edits these rows."""

    __tablename__ = "meeting_kinds"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    # active_history (cadence, cap, audience, active): a change loads the old value first, even on an expired
    # object, since the tallies' flush listener recounts with the kind as it was (services.meeting_tallies)
    cadence: Mapped[Cadence] = mapped_column(value_enum(Cadence), active_history=True)
    times_per_period: Mapped[int] = mapped_column(Integer, default=1, active_history=True)
    audience: Mapped[KindAudience] = mapped_column(
        value_enum(KindAudience), default=KindAudience.BRANCH, active_history=True
    )
    needs_lecturer: Mapped[bool] = mapped_column(Boolean, default=False)
    fixed_day: Mapped[int | None] = mapped_column(Integer)  # day of the month it is held on (主题党日), if fixed
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, active_history=True)


class MeetingStatus(enum.StrEnum):
    PLANNED = "planned"
    HELD = "held"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return {
            "planned": "已计划",
            "held": "已召开",
            "submitted": "待审核",
            "reviewed": "已审核",
            "returned": "已退回",
        }[self.value]


class Meeting(TimestampMixin, db.Model):
    __tablename__ = "meetings"
    __table_args__ = (
        # Statistics (services.meeting_stats): one index-only range scan per kind and period, grouped by organisation.
        Index("ix_meetings_stats", "period", "kind_id", "org_id", "status", "flagged"),
        Index("ix_meetings_org_start", "org_id", "starts_at"),
    )

    # active_history: a change loads the old value first, so that the flush knows which kind period the meeting
    # leaves (services.meeting_tallies).
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), active_history=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("meeting_kinds.id"), active_history=True)
    title: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    period: Mapped[str] = mapped_column(String(8), active_history=True)
    venue_name: Mapped[str | None] = mapped_column(String(100))
    venue_lat: Mapped[float | None] = mapped_column(Float)
    venue_lng: Mapped[float | None] = mapped_column(Float)
    venue_coord_sys: Mapped[CoordSys | None] = mapped_column(value_enum(CoordSys))
    venue_radius_m: Mapped[float] = mapped_column(Float, default=200.0)
    host_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    recorder_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    lecturer_name: Mapped[str | None] = mapped_column(String(50))  # 党课: the lecturer may come from outside
    minutes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MeetingStatus] = mapped_column(
        value_enum(MeetingStatus), default=MeetingStatus.PLANNED, active_history=True
    )
    held_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    self_score: Mapped[int | None] = mapped_column(Integer)  # the branch's own evaluation (双线三评), 0–100
    review_score: Mapped[int | None] = mapped_column(Integer)  # the superior's
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, active_history=True)  # any evidence carries a flag
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))

    org = relationship("Organisation", lazy="joined")
    kind = relationship("MeetingKind", lazy="joined")


class AttendanceStatus(enum.StrEnum):
    EXPECTED = "expected"
    PRESENT = "present"
    ABSENT = "absent"


class AbsenceReason(enum.StrEnum):
    LEAVE = "leave"
    ILLNESS = "illness"
    FLOATING = "floating"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"leave": "请假", "illness": "病假", "floating": "流动党员", "other": "其他"}[self.value]


class MeetingAttendee(db.Model):
    """One expected attendee and how they attended; a sign-in by the secretary for a member without a phone
    is marked `proxy_by`."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(value_enum(AttendanceStatus), default=AttendanceStatus.EXPECTED)
    absence_reason: Mapped[AbsenceReason | None] = mapped_column(value_enum(AbsenceReason))
    absence_note: Mapped[str | None] = mapped_column(String(100))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    coord_sys: Mapped[CoordSys | None] = mapped_column(value_enum(CoordSys))
    distance_m: Mapped[float | None] = mapped_column(Float)  # outside the venue fence (0 inside)
    flags: Mapped[str | None] = mapped_column(String(100))  # comma-separated, e.g. "outside_venue"
    proxy_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    rating: Mapped[int | None] = mapped_column(Integer)  # the attendee's rating of the meeting (双线三评), 1–5

    member = relationship("Member", foreign_keys=[member_id], lazy="joined")


# --- the statistics' read model (services.meeting_tallies keeps it) --------------------------------------------

SLOTS = 12  # periods of a kind within a year: months 1–12, quarters 1–4 or the year (slot 1)
ANCESTOR_LEVELS = 6  # a0 (the top organisation) … a5: the path's components, padded with 0
SLOT_METRICS = ("held", "reviewed", "flagged")


def slot_column(metric: str, slot: int) -> str:
    return f"{metric}_{slot:02d}"


def ancestor_column(depth: int) -> str:
    return f"a{depth}"


# What a statistics request reads from a tally row, stored at write time: for each requested unit (a month, a
# quarter, the year), the capped held and reviewed counts and the flagged count summed over the kind periods that
# count for it (services.meeting_tallies.derived_values).
UNITS = (*(f"m{m:02d}" for m in range(1, 13)), *(f"q{q}" for q in range(1, 5)), "y")


def unit_column(metric: str, unit: str) -> str:
    return f"{metric}_{unit}"


def unit_months(unit: str) -> range:
    if unit == "y":
        return range(1, 13)
    if unit[0] == "q":
        return range(3 * int(unit[1]) - 2, 3 * int(unit[1]) + 1)
    return range(int(unit[1:]), int(unit[1:]) + 1)


_MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}


def unit_slots(cadence: str, unit: str) -> list[int]:
    """The kind periods (slots) of a cadence that count for a requested unit ("m07", "q3", "y"): those inside it,
    or the one containing it (services.meeting_stats.kind_periods says the same with labels)."""
    size = _MONTHS_PER_PERIOD[cadence]
    return sorted({(m - 1) // size + 1 for m in unit_months(unit)})


def last_month(cadence: str, slot: int) -> int:
    """The last month of a kind period: a period has ended once that month has."""
    return slot * _MONTHS_PER_PERIOD[cadence]


# Which of a unit's kind periods have ended depends only on how many months of the year have ended; the values
# that change the answer for some cadence are the last months of the kind periods counting for the unit.
THRESHOLDS = {
    unit: tuple(sorted({last_month(c, s) for c in _MONTHS_PER_PERIOD for s in unit_slots(c, unit)})) for unit in UNITS
}


def threshold_column(prefix: str, unit: str, threshold: int) -> str:
    return f"{prefix}_{unit}_{threshold:02d}"


def ended_mask(cadence: str, unit: str, threshold: int) -> int:
    """Bits (slot s → bit s-1) of the cadence's kind periods counting for the unit that have ended once
    `threshold` months of the year have."""
    return sum(1 << (s - 1) for s in unit_slots(cadence, unit) if last_month(cadence, s) <= threshold)


THRESHOLD_KEYS = tuple((unit, t) for unit in UNITS for t in THRESHOLDS[unit])


class MeetingRollup(db.Model):
    """The counted tallies summed per ancestor: for each organisation A on a counted tally row's path (the row's
    organisation included), one row per (year, A, the child of A the organisation lies under or 0 for A itself,
    kind) holding the sums of the rows' unit columns and `done_<unit>_<T>`, how many organisations have met every
    kind period counting for the unit that has ended once T months of the year have. A statistics request for A
    reads its few rows instead of grouping the subtree's tallies (services.meeting_rollups keeps them)."""

    __table__ = db.Table(
        "meeting_rollups",
        db.metadata,
        db.Column("year", Integer, primary_key=True, autoincrement=False),
        db.Column("ancestor_id", Integer, primary_key=True, autoincrement=False),
        db.Column("bucket_id", Integer, primary_key=True, autoincrement=False),
        db.Column("kind_id", Integer, primary_key=True, autoincrement=False),
        *(
            db.Column(unit_column(metric, unit), Integer, nullable=False, default=0, server_default="0")
            for metric in SLOT_METRICS
            for unit in UNITS
        ),
        *(
            db.Column(threshold_column("done", unit, t), Integer, nullable=False, default=0, server_default="0")
            for unit, t in THRESHOLD_KEYS
        ),
    )


class MeetingOrgYear(db.Model):
    """Per organisation and year, over its counted tallies of active kinds: `met_<unit>_<T>`, how many kind
    periods counting for the unit and ended once T months of the year have it has met. Who is behind, and by how
    much, is then one column per organisation (services.meeting_rollups keeps them)."""

    __table__ = db.Table(
        "meeting_org_years",
        db.metadata,
        db.Column("year", Integer, primary_key=True, autoincrement=False),
        db.Column("org_id", Integer, primary_key=True, autoincrement=False),
        *(db.Column(ancestor_column(d), Integer, nullable=False) for d in range(ANCESTOR_LEVELS)),
        db.Column("path", String(255), nullable=False),
        *(
            db.Column(threshold_column("met", unit, t), Integer, nullable=False, default=0, server_default="0")
            for unit, t in THRESHOLD_KEYS
        ),
        db.Index("ix_meeting_org_years_subtree", "year", *(ancestor_column(d) for d in range(ANCESTOR_LEVELS))),
    )


class MeetingTally(db.Model):
    """One organisation's meetings of one kind in one year, counted per kind period (slot): held (any status but
    planned), reviewed and flagged (held and flagged), uncapped. Denormalised for speed: the organisation's path,
    its ancestors by depth (a0 the top, then each level down to the organisation itself; 0 below it), whether it is
    active and which kinds it holds (`audience`), so that statistics group a subtree's rows by child without a
    join. Rows are keyed by the ancestors first: a subtree is one contiguous range of the table. Beside the
    counters, each row stores what a statistics request reads (unit columns and `met_mask`)."""

    __table__ = db.Table(
        "meeting_tallies",
        db.metadata,
        db.Column("year", Integer, primary_key=True, autoincrement=False),
        *(
            db.Column(ancestor_column(d), Integer, primary_key=True, autoincrement=False)
            for d in range(ANCESTOR_LEVELS)
        ),
        db.Column("org_id", Integer, ForeignKey("organisations.id"), primary_key=True, autoincrement=False),
        db.Column("kind_id", Integer, ForeignKey("meeting_kinds.id"), primary_key=True, autoincrement=False),
        db.Column("path", String(255), nullable=False),
        db.Column("active", Boolean, nullable=False),
        db.Column("audience", String(12)),  # KindAudience value of the kinds the organisation holds, or NULL
        *(
            db.Column(slot_column(metric, slot), Integer, nullable=False, default=0, server_default="0")
            for metric in SLOT_METRICS
            for slot in range(1, SLOTS + 1)
        ),
        *(
            db.Column(unit_column(metric, unit), Integer, nullable=False, default=0, server_default="0")
            for metric in SLOT_METRICS
            for unit in UNITS
        ),
        # Bit s-1 set when kind period s has at least `times_per_period` held meetings.
        db.Column("met_mask", Integer, nullable=False, default=0, server_default="0"),
        UniqueConstraint("org_id", "kind_id", "year"),
        # The compliance scan asks, per organisation, whether a kind period was met: answered from the index alone.
        db.Index("ix_meeting_tallies_met", "org_id", "kind_id", "year", "met_mask"),
    )


def met(slot) -> ColumnElement:
    """A tally row's `met_mask` bit of kind period `slot` (an int, or a SQL expression such as a reminder's slot
    column): nonzero when the period had its `times_per_period` held meetings."""
    bit = 1 << (slot - 1) if isinstance(slot, int) else literal(1).op("<<")(slot - 1)
    return MeetingTally.__table__.c.met_mask.op("&")(bit)

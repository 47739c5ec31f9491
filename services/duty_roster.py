"""Duty assignments, weekly rosters and their exceptions, and the timing of a check-in against them.

A department (组织部) assigns a cadre — any active member it can see, whose home branch may be a county agency —
to a village branch in its subtree as 第一书记 or 驻村干部, for a span of dates; gives the assignment a weekly
pattern (weekday, local start and end time); and approves exceptions (leave, business trips) for date spans.
Secretaries and members may read what concerns them, never write it. A cadre reads their own assignments.

Timing (`timing_of`), in the business time zone, against the shift of the check-in's duty date:
- no shift that weekday, or an approved exception that day: off_roster;
- check-in: earlier than start − DUTY_EARLY_CHECKIN_MINUTES early; up to start + DUTY_LATE_GRACE_MINUTES on_time;
  until the end late; after the end off_roster;
- check-out: before end − DUTY_EARLY_GRACE_MINUTES early (leaving early, or before the shift began); else on_time.
Absence is not stored: the board derives it from rostered days without a check-in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import or_, select

from models import (
    AccountStatus,
    CheckinKind,
    CheckinTiming,
    DutyAssignment,
    DutyException,
    DutyRoster,
    Organisation,
    OrgLevel,
    Role,
    db,
)
from models.base import utcnow
from services import audit
from services.authz import Actor, covers, get_member_for, get_org_for, subtree_clause
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.listing import Page, paginate


def _settings():
    return current_app.config["SETTINGS"]


def local_today() -> date:
    return utcnow().astimezone(_settings().zone).date()


# ---------------------------------------------------------------------------------------------------------------
# Access


def require_department(actor: Actor) -> None:
    if not actor.is_super and actor.role != Role.DEPT_ADMIN:
        raise Forbidden("只有组织部门可以安排驻村值班")


def can_see_assignment(actor: Actor, assignment: DutyAssignment) -> bool:
    return (actor.member is not None and actor.member.id == assignment.member_id) or covers(actor, assignment.org)


def get_assignment_for(actor: Actor, assignment_id: int, write: bool = False) -> DutyAssignment:
    """The assignment if the actor sees it (the cadre, or whoever administers its village), else NotFound; with
    `write`, Forbidden unless the actor is a department over the village."""
    assignment = db.session.get(DutyAssignment, assignment_id)
    if assignment is None or not can_see_assignment(actor, assignment):
        raise NotFound("值班安排不存在")
    if write:
        require_department(actor)
        if not covers(actor, assignment.org):
            raise Forbidden()
    return assignment


def active_assignment(member_id: int, org_id: int, day: date) -> DutyAssignment | None:
    stmt = (
        select(DutyAssignment)
        .where(DutyAssignment.member_id == member_id, DutyAssignment.org_id == org_id, DutyAssignment.starts_on <= day)
        .where(or_(DutyAssignment.ends_on.is_(None), DutyAssignment.ends_on >= day))
        .order_by(DutyAssignment.starts_on.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def is_assigned(member_id: int, org_id: int) -> bool:
    return active_assignment(member_id, org_id, local_today()) is not None


# ---------------------------------------------------------------------------------------------------------------
# Writes (departments only)


def create_assignment(actor: Actor, data: dict) -> DutyAssignment:
    """Assigns a cadre to a village branch; with `roster`, sets its weekly pattern at once. Audited.

    NotFound for a village or member outside the actor's sight; Forbidden for anyone but a department over the
    village; Invalid for a non-village, an inactive member or dates in the wrong order; Conflict when the cadre is
    already assigned to this village for overlapping dates."""
    org = get_org_for(actor, data["org_id"])
    require_department(actor)
    if not covers(actor, org):
        raise Forbidden()
    if org.level != OrgLevel.VILLAGE or not org.kind.is_branch:
        raise Invalid("只能派驻到村（社区）党支部", fields={"org_id": ["应为村（社区）党支部"]})
    member = get_member_for(actor, data["member_id"])
    if member.status != AccountStatus.ACTIVE:
        raise Invalid("该党员账号已停用", fields={"member_id": ["账号已停用"]})
    starts_on, ends_on = data["starts_on"], data.get("ends_on")
    _check_span(starts_on, ends_on)
    check_roster(data.get("roster") or [])
    overlapping = select(DutyAssignment.id).where(
        DutyAssignment.member_id == member.id,
        DutyAssignment.org_id == org.id,
        or_(DutyAssignment.ends_on.is_(None), DutyAssignment.ends_on >= starts_on),
    )
    if ends_on is not None:
        overlapping = overlapping.where(DutyAssignment.starts_on <= ends_on)
    if db.session.scalar(overlapping.limit(1)) is not None:
        raise Conflict("该干部在这段时间已派驻到该村", code="already_assigned")
    assignment = DutyAssignment(
        member_id=member.id, org_id=org.id, role=data["role"], starts_on=starts_on, ends_on=ends_on, created_by=actor.id
    )
    db.session.add(assignment)
    db.session.flush()
    audit.record(actor, "duty.assign", "duty_assignment", assignment.id, {"member_id": member.id, "org_id": org.id})
    if data.get("roster"):
        set_roster(actor, assignment, data["roster"])
    return assignment


def _check_span(starts_on: date, ends_on: date | None, field: str = "ends_on") -> None:
    if ends_on is not None and ends_on < starts_on:
        raise Invalid("结束日期不能早于开始日期", fields={field: ["不能早于开始日期"]})


def update_assignment(actor: Actor, assignment: DutyAssignment, data: dict) -> DutyAssignment:
    """Changes the role or the end date (ending an assignment sets `ends_on`). Audited."""
    if "role" in data:
        assignment.role = data["role"]
    if "ends_on" in data:
        _check_span(assignment.starts_on, data["ends_on"])
        assignment.ends_on = data["ends_on"]
    audit.record(actor, "duty.assignment.update", "duty_assignment", assignment.id, {"fields": sorted(data)})
    return assignment


def check_roster(shifts: list[dict]) -> None:
    """At most one shift per weekday, start before end (no overnight shifts); Invalid naming the entry otherwise."""
    seen = set()
    for index, shift in enumerate(shifts):
        if shift["weekday"] in seen:
            raise Invalid("同一天只能有一个班次", fields={f"roster.{index}.weekday": ["与前面的班次重复"]})
        seen.add(shift["weekday"])
        if shift["starts_at"] >= shift["ends_at"]:
            raise Invalid("下班时间应晚于上班时间", fields={f"roster.{index}.ends_at": ["应晚于上班时间"]})


def set_roster(actor: Actor, assignment: DutyAssignment, shifts: list[dict]) -> list[DutyRoster]:
    """Replaces the weekly pattern (checked by `check_roster`). Audited."""
    check_roster(shifts)
    seen = {s["weekday"] for s in shifts}
    for row in roster_of(assignment):
        db.session.delete(row)
    db.session.flush()
    rows = [
        DutyRoster(assignment_id=assignment.id, weekday=s["weekday"], starts_at=s["starts_at"], ends_at=s["ends_at"])
        for s in sorted(shifts, key=lambda s: s["weekday"])
    ]
    db.session.add_all(rows)
    audit.record(actor, "duty.roster.set", "duty_assignment", assignment.id, {"weekdays": sorted(seen)})
    return rows


def add_exception(actor: Actor, assignment: DutyAssignment, data: dict) -> DutyException:
    """Records leave or a business trip, approved by the acting department. Audited."""
    _check_span(data["starts_on"], data["ends_on"])
    after_end = assignment.ends_on is not None and data["starts_on"] > assignment.ends_on
    if after_end or data["ends_on"] < assignment.starts_on:
        raise Invalid("日期不在派驻期内", fields={"starts_on": ["不在派驻期内"]})
    row = DutyException(
        assignment_id=assignment.id,
        kind=data["kind"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        reason=data.get("reason"),
        approved_by=actor.id,
        approved_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "duty.exception.approve", "duty_assignment", assignment.id, {"exception_id": row.id})
    return row


# ---------------------------------------------------------------------------------------------------------------
# Reads


def roster_of(assignment: DutyAssignment) -> list[DutyRoster]:
    stmt = select(DutyRoster).where(DutyRoster.assignment_id == assignment.id).order_by(DutyRoster.weekday)
    return list(db.session.scalars(stmt))


def exceptions_of(assignment: DutyAssignment) -> list[DutyException]:
    stmt = select(DutyException).where(DutyException.assignment_id == assignment.id).order_by(DutyException.starts_on)
    return list(db.session.scalars(stmt))


def list_assignments(actor: Actor, filters: dict, page: int, per_page: int) -> Page:
    """Assignments the actor may see: with `org_id`, of that village (or its subtree with `descendants`), which the
    actor must administer (else NotFound); without, the actor's own and those in its scope."""
    stmt = select(DutyAssignment).join(Organisation, DutyAssignment.org_id == Organisation.id)
    if filters.get("org_id") is not None:
        org = get_org_for(actor, filters["org_id"])
        if not covers(actor, org):
            raise NotFound("组织不存在")
        stmt = stmt.where(subtree_clause(org) if filters.get("descendants") else Organisation.id == org.id)
    elif not actor.is_super:
        own = DutyAssignment.member_id == actor.id
        root = actor.scope_root()
        stmt = stmt.where(or_(own, subtree_clause(root)) if root is not None else own)
    if filters.get("member_id") is not None:
        stmt = stmt.where(DutyAssignment.member_id == filters["member_id"])
    if filters.get("active_on") is not None:
        day = filters["active_on"]
        stmt = stmt.where(DutyAssignment.starts_on <= day)
        stmt = stmt.where(or_(DutyAssignment.ends_on.is_(None), DutyAssignment.ends_on >= day))
    return paginate(stmt.order_by(DutyAssignment.starts_on.desc(), DutyAssignment.id), page, per_page)


def shift_on(assignment: DutyAssignment, day: date) -> tuple[DutyRoster | None, DutyException | None]:
    """The weekly shift of that day (None: not a duty day) and an approved exception covering it, if any."""
    shift = db.session.scalar(
        select(DutyRoster).where(DutyRoster.assignment_id == assignment.id, DutyRoster.weekday == day.weekday())
    )
    exception = db.session.scalar(
        select(DutyException)
        .where(DutyException.assignment_id == assignment.id)
        .where(DutyException.starts_on <= day, DutyException.ends_on >= day)
        .limit(1)
    )
    return shift, exception


def _at(day: date, t: time, zone) -> datetime:
    return datetime.combine(day, t, tzinfo=zone)


def timing_of(kind: CheckinKind, read_at: datetime, day: date, shift, exception) -> tuple[CheckinTiming, str]:
    """(timing, Chinese reason) of a check-in or check-out read at `read_at` on duty date `day` (module docstring)."""
    s = _settings()
    if exception is not None:
        return CheckinTiming.OFF_ROSTER, f"当天{exception.kind.label}（已批准），不在值班安排内"
    if shift is None:
        return CheckinTiming.OFF_ROSTER, "当天没有值班安排"
    start, end = _at(day, shift.starts_at, s.zone), _at(day, shift.ends_at, s.zone)
    hours = f"{shift.starts_at:%H:%M}–{shift.ends_at:%H:%M}"
    local = read_at.astimezone(s.zone)
    if kind == CheckinKind.CHECKOUT:
        if local < end - timedelta(minutes=s.duty_early_grace_minutes):
            return CheckinTiming.EARLY, f"早退：值班时间{hours}，{local:%H:%M}签退"
        return CheckinTiming.ON_TIME, f"值班时间{hours}"
    if local < start - timedelta(minutes=s.duty_early_checkin_minutes):
        return CheckinTiming.EARLY, f"过早签到：值班时间{hours}，{local:%H:%M}签到"
    if local <= start + timedelta(minutes=s.duty_late_grace_minutes):
        return CheckinTiming.ON_TIME, f"值班时间{hours}"
    if local < end:
        late = int((local - start).total_seconds() // 60)
        return CheckinTiming.LATE, f"迟到{late}分钟：值班时间{hours}"
    return CheckinTiming.OFF_ROSTER, f"值班时间{hours}已结束"

"""Meetings: planning, recording as held, submitting, and the superior's review.

Rules that make a record trustworthy:
- a meeting cannot be recorded as held before its scheduled start;
- a record created long after the meeting (more than `MEETING_LATE_ENTRY_DAYS`) is marked as a late entry;
- a submitted record waits for its reviewer; a reviewed one is frozen; a returned one can be changed and
  submitted again. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from models import (
    AccountStatus,
    Cadence,
    KindAudience,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    MeetingStatus,
    Member,
    OrgLevel,
    Review,
    ReviewDecision,
    Role,
    db,
)
from models.base import utcnow
from services import audit
from services.authz import Action, Actor, authorize_org, get_org_for
from services.errors import Conflict, Forbidden, Invalid

LATE_ENTRY_DAYS = 7  # default of the MEETING_LATE_ENTRY_DAYS setting
EDITABLE = (MeetingStatus.PLANNED, MeetingStatus.HELD, MeetingStatus.RETURNED)


def _settings():
    return current_app.config["SETTINGS"]


def period_of(cadence: Cadence, starts_at: datetime) -> str:
    """The cadence period a meeting counts for, in the business time zone: "2026-11", "2026Q4" or "2026"."""
    local = starts_at.astimezone(_settings().zone)
    if cadence == Cadence.MONTH:
        return f"{local.year}-{local.month:02d}"
    if cadence == Cadence.QUARTER:
        return f"{local.year}Q{(local.month - 1) // 3 + 1}"
    return str(local.year)


def _kind(kind_id: int) -> MeetingKind:
    kind = db.session.get(MeetingKind, kind_id)
    if kind is None or not kind.active:
        raise Invalid("会议类型不存在或已停用", fields={"kind_id": ["会议类型不存在或已停用"]})
    return kind


def _check_audience(kind: MeetingKind, org) -> None:
    if kind.audience == KindAudience.BRANCH and not org.kind.is_branch:
        raise Invalid(f"{kind.name}由党支部召开", fields={"kind_id": ["该组织不召开此类会议"]})
    if kind.audience == KindAudience.LEADERSHIP and (org.kind.is_branch or org.level == OrgLevel.TOWNSHIP):
        raise Invalid(f"{kind.name}由县级以上领导班子召开", fields={"kind_id": ["该组织不召开此类会议"]})


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("结束时间应晚于开始时间", fields={"ends_at": ["应晚于开始时间"]})
    if ends_at - starts_at > timedelta(hours=24):
        raise Invalid("一次会议不应超过24小时", fields={"ends_at": ["会议时长不应超过24小时"]})


def _org_member(org_id: int, member_id: int | None, field: str) -> int | None:
    if member_id is None:
        return None
    member = db.session.get(Member, member_id)
    if member is None or member.org_id != org_id or member.status != AccountStatus.ACTIVE:
        raise Invalid("应为本组织的党员", fields={field: ["应为本组织的党员"]})
    return member.id


def create_meeting(actor: Actor, data: dict) -> Meeting:
    """Plans (or records after the fact) a meeting of an organisation the actor may write for. Expected
    attendees default to the organisation's active members. Writes the meeting and its attendees; audited."""
    org = get_org_for(actor, data["org_id"])
    authorize_org(actor, Action.UPDATE, org)
    kind = _kind(data["kind_id"])
    _check_audience(kind, org)
    _check_times(data["starts_at"], data["ends_at"])
    if kind.needs_lecturer and not data.get("lecturer_name"):
        raise Invalid(f"{kind.name}须填写主讲人", fields={"lecturer_name": ["请填写主讲人"]})
    late_days = _settings().extra.get("MEETING_LATE_ENTRY_DAYS", LATE_ENTRY_DAYS)
    meeting = Meeting(
        org_id=org.id,
        kind_id=kind.id,
        title=data["title"],
        topic=data.get("topic"),
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        period=period_of(kind.cadence, data["starts_at"]),
        venue_name=data.get("venue_name"),
        host_id=_org_member(org.id, data.get("host_id"), "host_id"),
        recorder_id=_org_member(org.id, data.get("recorder_id"), "recorder_id"),
        lecturer_name=data.get("lecturer_name"),
        late_entry=data["starts_at"] < utcnow() - timedelta(days=late_days),
        created_by=actor.id,
    )
    venue = data.get("venue")
    if venue:
        meeting.venue_lat, meeting.venue_lng = venue["latitude"], venue["longitude"]
        meeting.venue_coord_sys = venue["coord_sys"]
    else:
        meeting.venue_lat, meeting.venue_lng, meeting.venue_coord_sys = (
            org.venue_lat,
            org.venue_lng,
            org.venue_coord_sys,
        )
    db.session.add(meeting)
    db.session.flush()
    _expect_attendees(meeting, data.get("attendee_ids"))
    audit.record(actor, "meeting.create", "meeting", meeting.id, {"late_entry": meeting.late_entry})
    return meeting


def _expect_attendees(meeting: Meeting, member_ids: list[int] | None) -> None:
    stmt = select(Member.id).where(Member.org_id == meeting.org_id, Member.status == AccountStatus.ACTIVE)
    members = set(db.session.scalars(stmt))
    wanted = members if member_ids is None else set(member_ids)
    strangers = wanted - members
    if strangers:
        raise Invalid("参会人员应为本组织的党员", fields={"attendee_ids": [f"不属于本组织：{sorted(strangers)}"]})
    db.session.add_all(MeetingAttendee(meeting_id=meeting.id, member_id=mid) for mid in sorted(wanted))


def authorize_meeting(actor: Actor, meeting: Meeting, action: Action) -> Meeting:
    """The meeting's organisation decides: out of scope reads as 404, like the organisation itself."""
    authorize_org(actor, action, meeting.org)
    return meeting


def record_held(actor: Actor, meeting: Meeting, minutes: str | None = None) -> Meeting:
    """Marks a planned meeting as held; never before its scheduled start. Audited."""
    authorize_meeting(actor, meeting, Action.UPDATE)
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict(f"会议当前状态为“{meeting.status.label}”，不能再记录为已召开", code="bad_status")
    now = utcnow()
    if now < meeting.starts_at:
        raise Invalid("会议尚未开始，不能记录为已召开", fields={"status": ["会议尚未开始"]})
    meeting.status, meeting.held_recorded_at = MeetingStatus.HELD, now
    if minutes is not None:
        meeting.minutes = minutes
    audit.record(actor, "meeting.held", "meeting", meeting.id)
    return meeting


def submit(actor: Actor, meeting: Meeting) -> Meeting:
    """Sends a held (or returned) record to the superior for review. Audited."""
    authorize_meeting(actor, meeting, Action.UPDATE)
    if meeting.status not in (MeetingStatus.HELD, MeetingStatus.RETURNED):
        raise Conflict(f"会议当前状态为“{meeting.status.label}”，不能提交审核", code="bad_status")
    meeting.status, meeting.submitted_at = MeetingStatus.SUBMITTED, utcnow()
    audit.record(actor, "meeting.submit", "meeting", meeting.id)
    return meeting


def review(actor: Actor, meeting: Meeting, decision: ReviewDecision, comment: str | None, score: int | None):
    """The superior department passes, returns (a reason is required) or comments on a submitted record.
    A department never reviews its own organisation's records, nor a secretary anyone's. Audited."""
    authorize_meeting(actor, meeting, Action.READ)
    root = actor.scope_root()
    superior = actor.is_super or (actor.role == Role.DEPT_ADMIN and root is not None and root.id != meeting.org_id)
    if not superior:
        raise Forbidden("只有上级组织部门可以审核")
    if decision != ReviewDecision.COMMENT and meeting.status != MeetingStatus.SUBMITTED:
        raise Conflict(f"会议当前状态为“{meeting.status.label}”，不在待审核状态", code="bad_status")
    if decision == ReviewDecision.RETURN and not (comment or "").strip():
        raise Invalid("退回须说明原因", fields={"comment": ["请填写退回原因"]})
    if decision == ReviewDecision.PASS:
        meeting.status, meeting.reviewed_at, meeting.review_score = MeetingStatus.REVIEWED, utcnow(), score
    elif decision == ReviewDecision.RETURN:
        meeting.status = MeetingStatus.RETURNED
    row = Review(
        subject_type="meeting",
        subject_id=meeting.id,
        reviewer_id=actor.id,
        decision=decision,
        comment=comment,
        score=score,
    )
    db.session.add(row)
    audit.record(actor, f"meeting.review.{decision.value}", "meeting", meeting.id)
    return row


def check_editable(meeting: Meeting) -> None:
    """Submitted records wait for review and reviewed ones are frozen: changes need a return first."""
    if meeting.status not in EDITABLE:
        raise Conflict(f"会议记录“{meeting.status.label}”，不能修改；如需修改请由上级退回", code="frozen")

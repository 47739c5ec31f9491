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
from sqlalchemy import String, cast, exists, func, select

from models import (
    AccountStatus,
    Cadence,
    Evidence,
    EvidenceSubject,
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
from services import audit, evidence
from services.authz import Action, Actor, authorize_org, get_org_for, org_scope_clause, subtree_clause
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import CircleFence
from services.listing import Page, paginate

LEADERSHIP_LEVELS = (OrgLevel.CITY, OrgLevel.COUNTY)  # 民主生活会: committees of county level and up
DEFAULT_VENUE_RADIUS_M = 200.0  # a village's activity venue with its yard; the secretary may set another radius
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


def _kind(kind_id: int, field: str = "kind") -> MeetingKind:
    kind = db.session.get(MeetingKind, kind_id)
    if kind is None or not kind.active:
        raise Invalid("会议类型不存在或已停用", fields={field: ["会议类型不存在或已停用"]})
    return kind


def kind_by_code(code: str, field: str = "kind") -> MeetingKind:
    kind = db.session.scalar(select(MeetingKind).where(MeetingKind.code == code))
    if kind is None or not kind.active:
        raise Invalid("会议类型不存在或已停用", fields={field: ["会议类型不存在或已停用"]})
    return kind


def _check_audience(kind: MeetingKind, org) -> None:
    if kind.audience == KindAudience.BRANCH and not org.kind.is_branch:
        raise Invalid(f"{kind.name}由党支部召开", fields={"kind": ["该组织不召开此类会议"]})
    if kind.audience == KindAudience.LEADERSHIP and (org.kind.is_branch or org.level not in LEADERSHIP_LEVELS):
        raise Invalid(f"{kind.name}由县级以上领导班子召开", fields={"kind": ["该组织不召开此类会议"]})


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
    late_days = _settings().meeting_late_entry_days
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
        meeting.venue_name = venue.get("name") or meeting.venue_name
        meeting.venue_radius_m = venue.get("radius_m") or DEFAULT_VENUE_RADIUS_M
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


def submit(actor: Actor, meeting: Meeting, self_score: int | None = None) -> Meeting:
    """Sends a held (or returned) record to the superior for review, with the branch's own score. Audited."""
    authorize_meeting(actor, meeting, Action.UPDATE)
    if meeting.status not in (MeetingStatus.HELD, MeetingStatus.RETURNED):
        raise Conflict(f"会议当前状态为“{meeting.status.label}”，不能提交审核", code="bad_status")
    meeting.status, meeting.submitted_at = MeetingStatus.SUBMITTED, utcnow()
    if self_score is not None:
        meeting.self_score = self_score
    audit.record(actor, "meeting.submit", "meeting", meeting.id)
    return meeting


def review(actor: Actor, meeting: Meeting, decision: ReviewDecision, comment: str | None, score: int | None):
    """The superior department passes, returns (a reason is required) or comments on a submitted record.
    A department never reviews its own organisation's records, nor a secretary anyone's. Audited."""
    authorize_meeting(actor, meeting, Action.READ)
    if not is_superior(actor, meeting):
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


def is_superior(actor: Actor, meeting: Meeting) -> bool:
    """A department above the meeting's organisation (never its own node), or the super admin."""
    root = actor.scope_root()
    return actor.is_super or (actor.role == Role.DEPT_ADMIN and root is not None and root.id != meeting.org_id)


def abilities(actor: Actor, meeting: Meeting, my_row) -> dict:
    """What the actor may do with a meeting it can see, for the client to show the right buttons."""
    writer = _may_write(actor, meeting)
    editable = meeting.status in EDITABLE
    now = utcnow()
    start, end = window_of(meeting)
    in_branch = my_row is not None or (actor.member is not None and actor.member.org_id == meeting.org_id)
    present = my_row is not None and my_row.status.value == "present"
    return {
        "edit": writer and editable,
        "record_held": writer and meeting.status == MeetingStatus.PLANNED and now >= meeting.starts_at,
        "submit": writer and meeting.status in (MeetingStatus.HELD, MeetingStatus.RETURNED),
        "review": meeting.status == MeetingStatus.SUBMITTED and is_superior(actor, meeting),
        "sign_in": in_branch
        and not present
        and meeting.status in (MeetingStatus.PLANNED, MeetingStatus.HELD)
        and start <= now <= end,
        "rate": present and meeting.status != MeetingStatus.PLANNED,
        "mark_attendance": writer and editable,
        "upload": editable and may_upload(actor, meeting),
    }


def check_editable(meeting: Meeting) -> None:
    """Submitted records wait for review and reviewed ones are frozen: changes need a return first."""
    if meeting.status not in EDITABLE:
        raise Conflict(f"会议记录“{meeting.status.label}”，不能修改；如需修改请由上级退回", code="frozen")


# ---------------------------------------------------------------------------------------------------------------
# Reading and changing a record


def get_meeting_for(actor: Actor, meeting_id: int, action: Action = Action.READ) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("会议不存在")
    try:
        return authorize_meeting(actor, meeting, action)
    except NotFound:
        raise NotFound("会议不存在") from None


def list_meetings(actor: Actor, org_id: int | None, filters: dict, page: int, per_page: int) -> Page:
    """Meetings of one organisation (or its subtree) the actor may see, newest first.

    filters: kind (code), from/to (dates on the start, business time zone), descendants, status, flagged, flag
    (meetings with at least one photo carrying that verdict flag)."""
    org = get_org_for(actor, org_id if org_id is not None else actor.member.org_id)
    stmt = select(Meeting).join(Meeting.org).where(org_scope_clause(actor))
    stmt = stmt.where(subtree_clause(org) if filters.get("descendants") else Meeting.org_id == org.id)
    if filters.get("kind"):
        stmt = stmt.where(Meeting.kind_id == kind_by_code(filters["kind"]).id)
    zone = _settings().zone
    if filters.get("from"):
        stmt = stmt.where(Meeting.starts_at >= datetime.combine(filters["from"], datetime.min.time(), zone))
    if filters.get("to"):
        day_after = datetime.combine(filters["to"], datetime.min.time(), zone) + timedelta(days=1)
        stmt = stmt.where(Meeting.starts_at < day_after)
    if filters.get("status"):
        stmt = stmt.where(Meeting.status == filters["status"])
    if filters.get("flagged"):
        stmt = stmt.where(Meeting.flagged.is_(True))
    if filters.get("flag"):
        stmt = stmt.where(
            exists().where(
                Evidence.subject_type.in_((EvidenceSubject.MEETING, EvidenceSubject.MEETING_MINUTES)),
                Evidence.subject_id == Meeting.id,
                cast(Evidence.flags, String).like(f'%"{filters["flag"]}"%'),
            )
        )
    return paginate(stmt.order_by(Meeting.starts_at.desc(), Meeting.id.desc()), page, per_page)


UPDATABLE = ("title", "topic", "venue_name", "lecturer_name", "minutes", "self_score")


def update_meeting(actor: Actor, meeting: Meeting, data: dict) -> Meeting:
    """Changes a record that is not waiting for review nor frozen; times keep the held-after-start rule. Audited."""
    authorize_meeting(actor, meeting, Action.UPDATE)
    check_editable(meeting)
    starts_at, ends_at = data.get("starts_at", meeting.starts_at), data.get("ends_at", meeting.ends_at)
    if "starts_at" in data or "ends_at" in data:
        _check_times(starts_at, ends_at)
        if meeting.status != MeetingStatus.PLANNED and starts_at > (meeting.held_recorded_at or utcnow()):
            message = "会议已记录为召开，开始时间不能晚于记录召开的时间"
            raise Invalid(message, fields={"starts_at": [message]})
        meeting.starts_at, meeting.ends_at = starts_at, ends_at
        meeting.period = period_of(meeting.kind.cadence, starts_at)
    if meeting.kind.needs_lecturer and "lecturer_name" in data and not data["lecturer_name"]:
        raise Invalid(f"{meeting.kind.name}须填写主讲人", fields={"lecturer_name": ["请填写主讲人"]})
    for name in UPDATABLE:
        if name in data:
            setattr(meeting, name, data[name])
    for name in ("host_id", "recorder_id"):
        if name in data:
            setattr(meeting, name, _org_member(meeting.org_id, data[name], name))
    if "venue" in data:
        venue = data["venue"] or {}
        meeting.venue_lat, meeting.venue_lng = venue.get("latitude"), venue.get("longitude")
        meeting.venue_coord_sys = venue.get("coord_sys")
        meeting.venue_radius_m = venue.get("radius_m") or meeting.venue_radius_m
        meeting.venue_name = venue.get("name", meeting.venue_name)
    audit.record(actor, "meeting.update", "meeting", meeting.id, {"fields": sorted(data)})
    return meeting


# ---------------------------------------------------------------------------------------------------------------
# Photos


def window_of(meeting: Meeting) -> tuple[datetime, datetime]:
    """The meeting's time with the margin members get for signing in and photos for their capture time."""
    margin = timedelta(minutes=_settings().meeting_window_minutes)
    return meeting.starts_at - margin, meeting.ends_at + margin


def venue_fences(meeting: Meeting) -> tuple:
    if meeting.venue_lat is None:
        return ()
    coord_sys = meeting.venue_coord_sys.value if meeting.venue_coord_sys else "wgs84"
    return (CircleFence(meeting.venue_lat, meeting.venue_lng, meeting.venue_radius_m, coord_sys),)


def may_upload(actor: Actor, meeting: Meeting) -> bool:
    """The branch's administrators and the meeting's host and recorder (who may be plain members)."""
    return (actor.id is not None and actor.id in (meeting.host_id, meeting.recorder_id)) or _may_write(actor, meeting)


def _may_write(actor: Actor, meeting: Meeting) -> bool:
    """True when the actor may change the meeting's organisation's records (its secretary, a department above)."""
    try:
        authorize_org(actor, Action.UPDATE, meeting.org)
    except (Forbidden, NotFound):
        return False
    return True


def add_photo(
    actor: Actor, meeting: Meeting, *, purpose: str, client_id: str, upload, declared_type, capture, received_at=None
):
    """Stores a scene photo or a page of the minutes with its verdict; a retry returns the stored photo.
    Returns (evidence, created). A serious flag marks the meeting for its reviewer. Audited."""
    authorize_meeting(actor, meeting, Action.READ)
    if not may_upload(actor, meeting):
        raise Forbidden("只有本支部书记、会议主持人或记录人可以上传会议照片")
    subject = EvidenceSubject.MEETING_MINUTES if purpose == "minutes" else EvidenceSubject.MEETING
    stored = evidence.find_existing(actor.id, client_id)
    if stored is None:
        check_editable(meeting)  # a retry of a stored photo is answered even after submission
    taken = capture.taken_at or utcnow()
    place = meeting.venue_name or (f"{meeting.venue_lat:.5f},{meeting.venue_lng:.5f}" if meeting.venue_lat else "")
    expect = evidence.Expectation(
        fences=venue_fences(meeting),
        window=window_of(meeting),
        watermark_lines=(
            meeting.org.name,
            f"{meeting.kind.name}：{meeting.title}",
            taken.astimezone(_settings().zone).strftime("%Y-%m-%d %H:%M"),
            place,
        ),
    )
    photo, created = evidence.store_photo(
        actor.member,
        subject_type=subject,
        subject_id=meeting.id,
        org_id=meeting.org_id,
        client_id=client_id,
        upload=upload,
        declared_type=declared_type,
        capture=capture,
        expect=expect,
        received_at=received_at,
    )
    if created:
        if evidence.SERIOUS_FLAGS & set(photo.flags):
            meeting.flagged = True
        audit.record(actor, "meeting.photo", "meeting", meeting.id, {"evidence_id": photo.id, "flags": photo.flags})
    return photo, created


def photos_of(meeting: Meeting) -> list[Evidence]:
    stmt = select(Evidence).where(
        Evidence.subject_type.in_((EvidenceSubject.MEETING, EvidenceSubject.MEETING_MINUTES)),
        Evidence.subject_id == meeting.id,
    )
    return list(db.session.scalars(stmt.order_by(Evidence.id)))


def reviews_of(meeting: Meeting) -> list[Review]:
    stmt = select(Review).where(Review.subject_type == "meeting", Review.subject_id == meeting.id)
    return list(db.session.scalars(stmt.order_by(Review.id)))


def photo_counts(meeting_ids: list[int]) -> dict[int, int]:
    """Photos (scene and minutes) per meeting for a page of meetings, in one grouped query."""
    if not meeting_ids:
        return {}
    stmt = (
        select(Evidence.subject_id, func.count())
        .where(
            Evidence.subject_type.in_((EvidenceSubject.MEETING, EvidenceSubject.MEETING_MINUTES)),
            Evidence.subject_id.in_(meeting_ids),
        )
        .group_by(Evidence.subject_id)
    )
    return dict(db.session.execute(stmt).all())


def names_of(member_ids) -> dict[int, str]:
    ids = {i for i in member_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all())

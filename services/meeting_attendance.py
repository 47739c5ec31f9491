"""Attendance at a meeting: members sign in with their position, the secretary records absences and signs in
for members without a phone (marked as proxy), and attendees rate the meeting (one of the 双线三评)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from models import AbsenceReason, AccountStatus, AttendanceStatus, Meeting, MeetingAttendee, MeetingStatus, Member, db
from models.base import utcnow
from services import audit
from services.authz import Action, Actor, authorize_org
from services.errors import Conflict, Forbidden, Invalid
from services.geo import presence
from services.meetings import check_editable, venue_fences, window_of


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    accuracy_m: float
    coord_sys: str


def _row(meeting: Meeting, member: Member, create: bool) -> MeetingAttendee | None:
    """The member's attendance row; members of the branch not on the list (joined since) get one when asked."""
    row = db.session.scalar(
        select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.member_id == member.id)
    )
    if row is None and create and member.org_id == meeting.org_id and member.status == AccountStatus.ACTIVE:
        row = MeetingAttendee(meeting_id=meeting.id, member_id=member.id, status=AttendanceStatus.EXPECTED)
        db.session.add(row)
    return row


def sign_in(actor: Actor, meeting: Meeting, position: Position) -> tuple[MeetingAttendee, str]:
    """The member signs in for self during the meeting window; the position is checked against the venue and kept
    whatever it says (outside is flagged, never refused). Signing in twice answers with the first sign-in.
    Returns (row, result) with result inside / outside / uncertain / unchecked (no venue). Audited."""
    authorize_org(actor, Action.READ, meeting.org)
    row = _row(meeting, actor.member, create=True)
    if row is None:
        raise Forbidden("你不是本次会议的参会人员")
    if row.status == AttendanceStatus.PRESENT:
        return row, _result_of(row)
    if meeting.status not in (MeetingStatus.PLANNED, MeetingStatus.HELD):
        raise Conflict(f"会议记录“{meeting.status.label}”，不能再签到", code="bad_status")
    start, end = window_of(meeting)
    now = utcnow()
    if not start <= now <= end:
        raise Conflict("不在会议签到时间内（会议开始前30分钟至结束后30分钟）", code="not_in_window")
    row.status, row.signed_at, row.proxy_by = AttendanceStatus.PRESENT, now, None
    row.absence_reason = row.absence_note = None
    row.latitude, row.longitude = position.latitude, position.longitude
    row.accuracy_m, row.coord_sys = position.accuracy_m, position.coord_sys
    fences = venue_fences(meeting)
    result, flags = "unchecked", []
    if fences:
        point = (position.latitude, position.longitude)
        result, where = presence(
            point,
            position.accuracy_m,
            fences,
            coord_sys=position.coord_sys,
            max_accuracy_m=current_app.config["SETTINGS"].position_max_accuracy_m,
        )
        row.distance_m = round(where.distance_m, 1)
        flags = {"outside": ["outside_venue"], "uncertain": ["uncertain_position"]}.get(result, [])
    row.flags = ",".join(flags) or None
    audit.record(actor, "meeting.sign_in", "meeting", meeting.id, {"result": result, "distance_m": row.distance_m})
    return row, result


def _result_of(row: MeetingAttendee) -> str:
    flags = (row.flags or "").split(",")
    if "outside_venue" in flags:
        return "outside"
    if "uncertain_position" in flags:
        return "uncertain"
    return "inside" if row.distance_m is not None else "unchecked"


def mark(actor: Actor, meeting: Meeting, member: Member, status: AttendanceStatus, reason, note) -> MeetingAttendee:
    """The secretary (or a department above) records an attendee as absent with a reason, signs in on behalf of
    a member without a phone (marked proxy), or resets the row to expected. Audited."""
    authorize_org(actor, Action.UPDATE, meeting.org)
    check_editable(meeting)
    row = _row(meeting, member, create=True)
    if row is None:
        raise Invalid("该党员不是本组织的参会人员", fields={"member_id": ["不是本组织的党员"]})
    if status == AttendanceStatus.ABSENT and reason is None:
        raise Invalid("请选择缺席原因", fields={"absence_reason": ["请选择缺席原因"]})
    if status == AttendanceStatus.PRESENT and row.status == AttendanceStatus.PRESENT:
        return row  # already signed in, by self or by proxy: nothing to overwrite
    if status == AttendanceStatus.PRESENT and utcnow() < window_of(meeting)[0]:
        raise Conflict("会议尚未开始，不能代签到", code="not_in_window")
    row.status = status
    row.absence_reason = AbsenceReason(reason) if status == AttendanceStatus.ABSENT else None
    row.absence_note = note if status == AttendanceStatus.ABSENT else None
    row.signed_at = utcnow() if status == AttendanceStatus.PRESENT else None
    row.proxy_by = actor.id if status == AttendanceStatus.PRESENT else None
    row.latitude = row.longitude = row.accuracy_m = row.coord_sys = row.distance_m = None
    row.flags = "proxy" if status == AttendanceStatus.PRESENT else None
    audit.record(actor, f"meeting.attendance.{status.value}", "meeting", meeting.id, {"member_id": member.id})
    return row


def rate(actor: Actor, meeting: Meeting, rating: int) -> MeetingAttendee:
    """A member who attended rates the meeting 1–5 once it was held; rating again replaces the rating. Audited."""
    authorize_org(actor, Action.READ, meeting.org)
    row = _row(meeting, actor.member, create=False)
    if row is None or row.status != AttendanceStatus.PRESENT:
        raise Forbidden("只有出席会议的党员可以评价")
    if meeting.status == MeetingStatus.PLANNED:
        raise Conflict("会议尚未召开，不能评价", code="bad_status")
    row.rating = rating
    audit.record(actor, "meeting.rate", "meeting", meeting.id, {"rating": rating})
    return row


def attendees_of(meeting: Meeting) -> list[MeetingAttendee]:
    stmt = select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id).order_by(MeetingAttendee.id)
    return list(db.session.scalars(stmt))


def figures(rows: list[MeetingAttendee]) -> dict:
    """Attendance figures of one meeting from its loaded rows (the same shape as `counts`)."""
    present = [r for r in rows if r.status == AttendanceStatus.PRESENT]
    return {
        "expected": len(rows),
        "present": len(present),
        "absent": sum(r.status == AttendanceStatus.ABSENT for r in rows),
        "proxy": sum(r.proxy_by is not None for r in present),
    }


def counts(meeting_ids: list[int]) -> dict[int, dict]:
    """Attendance figures per meeting for a page of meetings, in one grouped query."""
    out = {mid: {"expected": 0, "present": 0, "absent": 0, "proxy": 0} for mid in meeting_ids}
    if not meeting_ids:
        return out
    stmt = (
        select(MeetingAttendee.meeting_id, MeetingAttendee.status, func.count(), func.count(MeetingAttendee.proxy_by))
        .where(MeetingAttendee.meeting_id.in_(meeting_ids))
        .group_by(MeetingAttendee.meeting_id, MeetingAttendee.status)
    )
    for meeting_id, status, n, proxies in db.session.execute(stmt):
        figures = out[meeting_id]
        figures["expected"] += n
        if status == AttendanceStatus.PRESENT:
            figures["present"], figures["proxy"] = n, proxies
        elif status == AttendanceStatus.ABSENT:
            figures["absent"] = n
    return out

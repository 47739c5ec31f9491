"""What the home page shows about meetings: the entries by role and the items due (registered with services.home).

- everyone: a meeting of their branch open for sign-in now;
- the secretary: records held but not yet submitted, and records the superior returned;
- a department: records of its subtree waiting for its review.
Each is one small query; the compliance reminders (what is overdue) come with the reminders feature.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select

from models import AttendanceStatus, Meeting, MeetingAttendee, MeetingStatus, Organisation, Role, db
from models.base import utcnow
from services.authz import Actor, subtree_clause
from services.home import DueItem, due_provider, entry_provider


@entry_provider
def _meeting_entries(actor: Actor, root: Organisation | None) -> list[dict]:
    """The branch's meetings, or a department's review queue and statistics."""
    if actor.role in (Role.MEMBER, Role.SECRETARY):
        page = f"/pages/meetings/meetings?org_id={actor.member.org_id}"
        return [{"key": "meetings", "title": "组织生活", "page": page}]
    if root is None:
        return []
    queue = f"/pages/meetings/meetings?org_id={root.id}&descendants=1&status=submitted"
    stats = f"/pages/meeting-stats/meeting-stats?org_id={root.id}"
    return [
        {"key": "meeting_reviews", "title": "会议审核", "page": queue},
        {"key": "meeting_stats", "title": "组织生活统计", "page": stats},
    ]


@due_provider
def _meeting_items(actor: Actor) -> Iterable[DueItem]:
    if actor.member is None:
        return
    now = utcnow()
    margin = timedelta(minutes=30)
    open_now = db.session.scalar(
        select(Meeting)
        .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
        .where(
            MeetingAttendee.member_id == actor.member.id,
            MeetingAttendee.status != AttendanceStatus.PRESENT,
            Meeting.status.in_((MeetingStatus.PLANNED, MeetingStatus.HELD)),
            Meeting.starts_at <= now + margin,
            Meeting.ends_at >= now - margin,
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )
    if open_now is not None:
        yield DueItem(
            key="meeting_sign_in",
            title=f"会议签到：{open_now.title}",
            detail="会议正在进行，请到会场后签到",
            level="warning",
            due_at=open_now.ends_at + margin,
            page=f"/pages/meeting/meeting?id={open_now.id}",
        )
    root = actor.scope_root()
    if actor.role == Role.SECRETARY and root is not None:
        yield from _secretary_items(root)
    elif actor.role == Role.DEPT_ADMIN and root is not None:
        waiting = db.session.scalar(
            select(func.count(Meeting.id))
            .join(Meeting.org)
            .where(subtree_clause(root), Meeting.org_id != root.id, Meeting.status == MeetingStatus.SUBMITTED)
        )
        if waiting:
            yield DueItem(
                key="meeting_reviews",
                title=f"{waiting}条会议记录待审核",
                detail="下级组织提交的组织生活记录",
                level="info",
                page=f"/pages/meetings/meetings?org_id={root.id}&descendants=1&status=submitted",
            )


def _secretary_items(branch: Organisation) -> Iterable[DueItem]:
    counts = dict(
        db.session.execute(
            select(Meeting.status, func.count(Meeting.id))
            .where(Meeting.org_id == branch.id, Meeting.status.in_((MeetingStatus.HELD, MeetingStatus.RETURNED)))
            .group_by(Meeting.status)
        ).all()
    )
    page = f"/pages/meetings/meetings?org_id={branch.id}"
    if counts.get(MeetingStatus.RETURNED):
        yield DueItem(
            key="meetings_returned",
            title=f"{counts[MeetingStatus.RETURNED]}条会议记录被退回",
            detail="请按上级意见修改后重新提交",
            level="danger",
            page=f"{page}&status=returned",
        )
    if counts.get(MeetingStatus.HELD):
        yield DueItem(
            key="meetings_to_submit",
            title=f"{counts[MeetingStatus.HELD]}条会议记录待提交",
            detail="会议已召开，请上传照片和记录后提交上级审核",
            level="warning",
            page=f"{page}&status=held",
        )

"""What the home page shows about duty check-in (registered with services.home; blueprints/duty.py imports this
module so the providers are in place whenever the duty API is).

- a cadre on duty today who has not checked in yet: a due item, and the check-in entry while assigned anywhere;
- a department: the presence board of its subtree;
- a cadre with an unanswered photo-check request still due: a due item.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import exists, select

from models import CheckinKind, DutyCheckin, DutyCheckRequest, Organisation, Role, db
from models.base import utcnow
from services.authz import Actor
from services.duty_checkins import today_for
from services.home import DueItem, due_provider, entry_provider

CHECKIN_PAGE = "/pages/duty/checkin"


@entry_provider
def _duty_entries(actor: Actor, root: Organisation | None) -> list[dict]:
    out = []
    if actor.member is not None and today_for(actor):
        out.append({"key": "duty_checkin", "title": "值班签到", "page": CHECKIN_PAGE})
    if actor.role in (Role.DEPT_ADMIN, Role.SUPER_ADMIN) and root is not None:  # the department's board
        out.append({"key": "duty_board", "title": "在岗看板", "page": f"/pages/duty/board?org_id={root.id}"})
    return out


@due_provider
def _duty_items(actor: Actor) -> Iterable[DueItem]:
    if actor.member is None:
        return
    zone = current_app.config["SETTINGS"].zone
    for entry in today_for(actor):
        shift, assignment = entry["shift"], entry["assignment"]
        if shift is None or entry["exception"] is not None:
            continue
        checked_in = db.session.scalar(
            select(
                exists().where(
                    DutyCheckin.member_id == actor.id,
                    DutyCheckin.org_id == assignment.org_id,
                    DutyCheckin.duty_date == entry["date"],
                    DutyCheckin.kind == CheckinKind.CHECKIN,
                )
            )
        )
        if not checked_in:
            yield DueItem(
                key=f"duty_checkin_{assignment.org_id}",
                title=f"{assignment.org.name}值班签到",
                detail=f"今天值班时间{shift.starts_at:%H:%M}–{shift.ends_at:%H:%M}，请到村后签到",
                level="warning",
                due_at=datetime.combine(entry["date"], shift.starts_at, tzinfo=zone),
                page=f"{CHECKIN_PAGE}?org_id={assignment.org_id}",
            )


@due_provider
def _photo_check_items(actor: Actor) -> Iterable[DueItem]:
    if actor.member is None:
        return
    now = utcnow()
    pending = select(DutyCheckRequest).where(
        DutyCheckRequest.member_id == actor.id, DutyCheckRequest.answered_at.is_(None), DutyCheckRequest.due_at >= now
    )
    for request in db.session.scalars(pending):
        yield DueItem(
            key=f"duty_photo_check_{request.id}",
            title="拍照抽查",
            detail="组织部门要求你在限定时间内带现场照片签到",
            level="danger",
            due_at=request.due_at,
            page=f"{CHECKIN_PAGE}?org_id={request.org_id}&request_id={request.id}",
        )

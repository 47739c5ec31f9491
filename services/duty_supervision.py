"""Supervision beyond the check-ins: a department's inspection visits (督查) to villages, and its requests for an
instant photo check-in, which the cadre must answer within a time limit.

Both are written by department admins over the village (Forbidden for secretaries and members, NotFound out of
scope) and read by whoever administers the village and by the cadre concerned. A request is answered by a check-in
with a live photo that names it (`request_id`, services.duty_checkins); its status is derived: pending, answered,
late (answered after `due_at`) or missed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from models import DutyCheckRequest, DutyInspection, Organisation, db
from models.base import utcnow
from services import audit
from services.authz import Actor, covers, get_org_for, subtree_clause
from services.duty_roster import active_assignment, require_department
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.listing import Page, paginate

FUTURE_SKEW = timedelta(minutes=5)


def _village_for_department(actor: Actor, org_id: int) -> Organisation:
    org = get_org_for(actor, org_id)
    require_department(actor)
    if not covers(actor, org):
        raise Forbidden()
    return org


def _assigned_cadre(member_id: int, org: Organisation, when: datetime) -> None:
    day = when.astimezone(current_app.config["SETTINGS"].zone).date()
    if active_assignment(member_id, org.id, day) is None:
        message = f"该干部{day.month}月{day.day}日未派驻到{org.name}"
        raise Invalid(message, fields={"member_id": [message]})


def record_inspection(actor: Actor, data: dict) -> DutyInspection:
    """Records a spot-check visit; `member_id`, when given, must be assigned to the village that day. Audited."""
    org = _village_for_department(actor, data["org_id"])
    visited_at = data["visited_at"]
    if visited_at > utcnow() + FUTURE_SKEW:
        raise Invalid("督查时间不能晚于当前时间", fields={"visited_at": ["不能晚于当前时间"]})
    if data.get("member_id") is not None:
        _assigned_cadre(data["member_id"], org, visited_at)
    row = DutyInspection(
        org_id=org.id,
        inspector_id=actor.id,
        member_id=data.get("member_id"),
        visited_at=visited_at,
        cadre_present=data.get("cadre_present"),
        notes=data.get("notes"),
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "duty.inspection", "duty_inspection", row.id, {"org_id": org.id})
    return row


def _scoped(actor: Actor, model, org_id: int | None, descendants: bool):
    stmt = select(model).join(Organisation, model.org_id == Organisation.id)
    if org_id is not None:
        org = db.session.get(Organisation, org_id)
        if org is None or not covers(actor, org):
            raise NotFound("组织不存在")
        return stmt.where(subtree_clause(org) if descendants else model.org_id == org.id)
    if actor.is_super:
        return stmt
    root = actor.scope_root()
    own = model.member_id == actor.id
    return stmt.where(or_(own, subtree_clause(root)) if root is not None else own)


def list_inspections(actor: Actor, org_id: int | None, descendants: bool, page: int, per_page: int) -> Page:
    stmt = _scoped(actor, DutyInspection, org_id, descendants)
    return paginate(stmt.order_by(DutyInspection.visited_at.desc(), DutyInspection.id.desc()), page, per_page)


def request_photo_check(actor: Actor, data: dict) -> DutyCheckRequest:
    """Asks a cadre assigned to the village today for a photo check-in within `minutes` (default
    DUTY_PHOTO_CHECK_MINUTES). Audited. The cadre sees it on the home page and in their list."""
    org = _village_for_department(actor, data["org_id"])
    now = utcnow()
    _assigned_cadre(data["member_id"], org, now)
    minutes = data.get("minutes") or current_app.config["SETTINGS"].duty_photo_check_minutes
    row = DutyCheckRequest(
        org_id=org.id,
        member_id=data["member_id"],
        requested_by=actor.id,
        requested_at=now,
        due_at=now + timedelta(minutes=minutes),
        note=data.get("note"),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "duty.photo_check.request", "duty_check_request", row.id, {"member_id": row.member_id})
    return row


def list_requests(actor: Actor, org_id: int | None, descendants: bool, page: int, per_page: int) -> Page:
    stmt = _scoped(actor, DutyCheckRequest, org_id, descendants)
    return paginate(stmt.order_by(DutyCheckRequest.requested_at.desc(), DutyCheckRequest.id.desc()), page, per_page)


def open_request_for(actor: Actor, request_id: int, org_id: int) -> DutyCheckRequest:
    """The caller's unanswered request `request_id` at `org_id`; Invalid (field request_id) otherwise."""
    row = db.session.get(DutyCheckRequest, request_id)
    if row is None or row.member_id != actor.id or row.org_id != org_id:
        raise Invalid("抽查请求不存在", fields={"request_id": ["不是你在该村的抽查请求"]})
    if row.answered_at is not None:
        raise Invalid("该抽查请求已回复", fields={"request_id": ["已回复"]})
    return row


def answer_request(request: DutyCheckRequest, checkin) -> None:
    """Links the check-in to the request, once: a guarded UPDATE, so two answers racing cannot both win."""
    result = db.session.execute(
        update(DutyCheckRequest)
        .where(DutyCheckRequest.id == request.id, DutyCheckRequest.checkin_id.is_(None))
        .values(checkin_id=checkin.id, answered_at=checkin.received_at)
    )
    if result.rowcount != 1:
        raise Conflict("该抽查请求已回复", code="already_answered", fields={"request_id": ["已回复"]})
    db.session.refresh(request)

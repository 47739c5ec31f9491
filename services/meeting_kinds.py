"""Meeting kinds are reference data a city administrator maintains: name, cadence, how many per period, who holds
them. A kind in use keeps its cadence (stored periods depend on it): retire it and create another instead."""

from __future__ import annotations

from sqlalchemy import exists, select

from models import Meeting, MeetingKind, Role, db
from services import audit
from services.authz import Actor
from services.errors import Conflict, Forbidden, NotFound

FIELDS = ("name", "cadence", "times_per_period", "audience", "needs_lecturer", "fixed_day", "sort_order", "active")


def list_kinds(include_inactive: bool = False) -> list[MeetingKind]:
    stmt = select(MeetingKind).order_by(MeetingKind.sort_order, MeetingKind.id)
    if not include_inactive:
        stmt = stmt.where(MeetingKind.active.is_(True))
    return list(db.session.scalars(stmt))


def require_city_admin(actor: Actor) -> None:
    """Kinds apply to the whole city: the super admin or a department administering the root organisation."""
    if actor.is_super:
        return
    root = actor.scope_root()
    if actor.role != Role.DEPT_ADMIN or root is None or root.parent_id is not None:
        raise Forbidden("只有市级组织部门可以维护会议类型")


def get_kind(kind_id: int) -> MeetingKind:
    kind = db.session.get(MeetingKind, kind_id)
    if kind is None:
        raise NotFound("会议类型不存在")
    return kind


def create_kind(actor: Actor, data: dict) -> MeetingKind:
    require_city_admin(actor)
    if db.session.scalar(select(MeetingKind.id).where(MeetingKind.code == data["code"])) is not None:
        raise Conflict("会议类型代码已存在", code="duplicate", fields={"code": ["已存在"]})
    kind = MeetingKind(code=data["code"], **{k: data[k] for k in FIELDS if k in data})
    db.session.add(kind)
    db.session.flush()
    audit.record(actor, "meeting_kind.create", "meeting_kind", kind.id, {"code": kind.code})
    return kind


def update_kind(actor: Actor, kind: MeetingKind, data: dict) -> MeetingKind:
    require_city_admin(actor)
    if "cadence" in data and data["cadence"] != kind.cadence:
        in_use = db.session.scalar(select(exists().where(Meeting.kind_id == kind.id)))
        if in_use:
            raise Conflict(
                "已有会议使用该类型，不能修改周期；请停用后新建类型",
                code="kind_in_use",
                fields={"cadence": ["已有会议使用该类型"]},
            )
    changed = {k: str(data[k]) for k in FIELDS if k in data and data[k] != getattr(kind, k)}
    for name in FIELDS:
        if name in data:
            setattr(kind, name, data[name])
    audit.record(actor, "meeting_kind.update", "meeting_kind", kind.id, {"changed": changed})
    return kind

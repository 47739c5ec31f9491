"""The organisation tree: create, change, move and deactivate organisations; subtree queries.

All functions flush, none commits: the view, CLI command or job commits once.
"""

from __future__ import annotations

from sqlalchemy import case, func, literal, select, update

from models import AccountStatus, CoordSys, Member, Organisation, OrgKind, OrgLevel, Role, db
from services import audit, meeting_tallies
from services.authz import (
    Action,
    Actor,
    authorize_member,
    authorize_org,
    get_org_for,
    org_scope_clause,
    subtree_clause,
)
from services.errors import Conflict, Forbidden, Invalid
from services.geo import check_position

# Fields and who may set them on an existing organisation (department admins may set all).
SECRETARY_FIELDS = {"contact_phone", "venue_lat", "venue_lng", "venue_coord_sys", "secretary_id"}
ALL_FIELDS = SECRETARY_FIELDS | {"name", "code", "kind", "level"}


def adjust_member_count(org_id: int, delta: int) -> None:
    """Adds `delta` to an organisation's active-member counter, atomically in SQL (no lost updates)."""
    if delta:
        db.session.execute(
            update(Organisation)
            .where(Organisation.id == org_id)
            .values(member_count=Organisation.member_count + delta)
            .execution_options(synchronize_session=False)
        )


def recount_members() -> int:
    """Recomputes every organisation's counter from the member rows (after bulk loads, or as a repair).
    Returns how many organisations were wrong."""
    live = (
        select(func.count(Member.id))
        .where(Member.org_id == Organisation.id, Member.status == AccountStatus.ACTIVE)
        .scalar_subquery()
    )
    wrong = db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.member_count != live))
    db.session.execute(update(Organisation).values(member_count=live).execution_options(synchronize_session=False))
    db.session.expire_all()
    return wrong or 0


def check_placement(kind: OrgKind, level: OrgLevel, parent: Organisation | None) -> None:
    """Raises Invalid when an organisation of this kind and level cannot stand under `parent`."""
    if parent is None:
        if level != OrgLevel.CITY:
            raise Invalid("只有市级组织可以没有上级", fields={"parent_id": ["请选择上级组织"]})
        return
    if parent.kind.is_branch:
        raise Invalid("党支部下不能再设组织", fields={"parent_id": ["上级组织不能是党支部"]})
    if not parent.active:
        raise Invalid("上级组织已撤销", fields={"parent_id": ["上级组织已撤销"]})
    if level.rank < parent.level.rank:
        raise Invalid(
            "下级组织的层级不能高于上级", fields={"level": [f"不能高于上级组织的层级（{parent.level.label}）"]}
        )


def check_unique_code(code: str, exclude_id: int | None = None) -> None:
    # Case-insensitive on every backend: MariaDB's collation already treats AB12 and ab12 as one code.
    stmt = select(Organisation.id).where(func.lower(Organisation.code) == code.lower())
    found = db.session.scalar(stmt)
    if found is not None and found != exclude_id:
        raise Conflict("组织编码已存在", fields={"code": ["组织编码已存在"]})


def create_org(actor: Actor, *, parent_id: int | None, **fields) -> Organisation:
    """Creates an organisation below `parent_id` (audited). Only a super admin may create a root."""
    parent = None
    if parent_id is None:
        if not actor.is_super:
            raise Forbidden("只有系统管理员可以创建顶级组织")
    else:
        parent = get_org_for(actor, parent_id, Action.CREATE_CHILD)
    kind, level = OrgKind(fields["kind"]), OrgLevel(fields["level"])
    fields.update(kind=kind, level=level)
    if fields.get("venue_coord_sys") is not None:
        fields["venue_coord_sys"] = CoordSys(fields["venue_coord_sys"])
    check_placement(kind, level, parent)
    check_unique_code(fields["code"])
    _check_venue(fields)
    org = Organisation(parent=parent, **{k: v for k, v in fields.items() if k in ALL_FIELDS - {"secretary_id"}})
    db.session.add(org)
    db.session.flush()  # the id is part of the path
    org.path = (parent.path if parent else "/") + f"{org.id}/"
    org.depth = parent.depth + 1 if parent else 0
    audit.record(actor, "org.create", "organisation", org.id, {"code": org.code, "parent_id": parent_id})
    return org


def update_org(actor: Actor, org: Organisation, changes: dict) -> Organisation:
    """Applies `changes` to `org` after checking the actor may set each field (audited)."""
    authorize_org(actor, Action.UPDATE, org)
    allowed = ALL_FIELDS if actor.role in (Role.DEPT_ADMIN, Role.SUPER_ADMIN) else SECRETARY_FIELDS
    refused = sorted(set(changes) - allowed)
    if refused:
        raise Forbidden("无权修改这些字段", fields={f: ["无权修改"] for f in refused})
    if "code" in changes:
        check_unique_code(changes["code"], exclude_id=org.id)
    if {"kind", "level"} & set(changes):
        kind = OrgKind(changes.get("kind", org.kind))
        level = OrgLevel(changes.get("level", org.level))
        check_placement(kind, level, org.parent)
        _check_children_fit(org, kind, level)
    merged = {k: changes.get(k, getattr(org, k)) for k in ("venue_lat", "venue_lng", "venue_coord_sys")}
    _check_venue(merged)
    if changes.get("secretary_id") is not None:
        _appoint_secretary(actor, org, changes["secretary_id"])
    for key, value in changes.items():
        if key != "secretary_id" or value is None:
            setattr(org, key, value)
    audit.record(actor, "org.update", "organisation", org.id, {"fields": sorted(changes)})
    db.session.flush()
    return org


def _check_children_fit(org: Organisation, kind: OrgKind, level: OrgLevel) -> None:
    children = db.session.scalars(select(Organisation).where(Organisation.parent_id == org.id)).all()
    if children and kind.is_branch:
        raise Invalid("该组织下还有下级组织，不能改为党支部", fields={"kind": ["该组织下还有下级组织"]})
    if any(c.level.rank < level.rank for c in children):
        raise Invalid("下级组织的层级会高于本组织", fields={"level": ["与下级组织的层级冲突"]})


def _check_venue(fields: dict) -> None:
    lat, lng, sys_ = fields.get("venue_lat"), fields.get("venue_lng"), fields.get("venue_coord_sys")
    if lat is None and lng is None:
        return
    if lat is None or lng is None or sys_ is None:
        raise Invalid(
            "驻地位置需要同时提供纬度、经度和坐标系",
            fields={k: ["需要同时提供"] for k in ("venue_lat", "venue_lng", "venue_coord_sys")},
        )
    problems = check_position(lat, lng, prefix="venue_")
    if problems:
        raise Invalid("驻地位置无效", fields=problems)
    CoordSys(sys_)


def _appoint_secretary(actor: Actor, org: Organisation, member_id: int) -> None:
    member = db.session.get(Member, member_id)
    if member is None or member.org_id != org.id or member.status != AccountStatus.ACTIVE:
        raise Invalid("书记必须是本组织的在册党员", fields={"secretary_id": ["书记必须是本组织的在册党员"]})
    if member.role == Role.MEMBER:
        authorize_member(actor, Action.MANAGE if actor.role != Role.SECRETARY else Action.UPDATE, member)
        member.role = Role.SECRETARY
    org.secretary_id = member.id


def move_org(actor: Actor, org: Organisation, new_parent_id: int) -> Organisation:
    """Re-parents `org` with its whole subtree: one UPDATE rewrites every path below it (audited)."""
    authorize_org(actor, Action.MANAGE, org)
    new_parent = get_org_for(actor, new_parent_id, Action.CREATE_CHILD)
    if new_parent.path.startswith(org.path):
        raise Invalid("不能把组织移到它自己的下级", fields={"parent_id": ["不能移到自己的下级"]})
    check_placement(org.kind, org.level, new_parent)
    old_path, new_path = org.path, new_parent.path + f"{org.id}/"
    depth_delta = new_parent.depth + 1 - org.depth
    old_parent_id = org.parent_id
    db.session.flush()
    db.session.execute(
        update(Organisation)
        .where(Organisation.path.like(old_path + "%"))
        .values(
            path=literal(new_path) + func.substr(Organisation.path, len(old_path) + 1),
            depth=Organisation.depth + depth_delta,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Organisation)
        .where(Organisation.id == org.id)
        .values(parent_id=new_parent.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    meeting_tallies.sync_subtree(new_path)  # the statistics' copies of the subtree's paths
    audit.record(
        actor, "org.move", "organisation", org.id, {"from_parent_id": old_parent_id, "to_parent_id": new_parent.id}
    )
    db.session.flush()
    return db.session.get(Organisation, org.id)


def deactivate_org(actor: Actor, org: Organisation) -> Organisation:
    """Marks `org` as revoked; refused while it still has active children or members (audited)."""
    authorize_org(actor, Action.MANAGE, org)
    child = db.session.scalar(
        select(Organisation.id).where(Organisation.parent_id == org.id, Organisation.active.is_(True)).limit(1)
    )
    if child is not None:
        raise Conflict("该组织下还有未撤销的下级组织")
    member = db.session.scalar(
        select(Member.id).where(Member.org_id == org.id, Member.status == AccountStatus.ACTIVE).limit(1)
    )
    if member is not None:
        raise Conflict("该组织还有在册党员，请先转出")
    org.active = False
    audit.record(actor, "org.deactivate", "organisation", org.id)
    db.session.flush()
    return org


def children_query(actor: Actor, org: Organisation, include_inactive: bool = False):
    stmt = select(Organisation).where(Organisation.parent_id == org.id, org_scope_clause(actor))
    if not include_inactive:
        stmt = stmt.where(Organisation.active.is_(True))
    return stmt.order_by(Organisation.code)


def breadcrumb(org: Organisation) -> list[dict]:
    """Names from the root down to `org`, for display (one query)."""
    ids = org.ancestor_ids
    rows = db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all()
    names = dict(rows)
    return [{"id": i, "name": names.get(i, "")} for i in ids]


def subtree_stats(org: Organisation) -> dict:
    """Counts below `org` (itself included): organisations, branches and active members; one covering-index scan."""
    is_branch = case((Organisation.kind.in_([OrgKind.BRANCH, OrgKind.JOINT_BRANCH]), 1), else_=0)
    row = db.session.execute(
        select(func.count(), func.sum(is_branch), func.sum(Organisation.member_count)).where(
            subtree_clause(org), Organisation.active.is_(True)
        )
    ).one()
    return {"organisations": row[0], "branches": int(row[1] or 0), "members": int(row[2] or 0)}

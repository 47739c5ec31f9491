"""Members and their accounts: create, change, move, roles, status, ID-card handling.

All functions flush, none commits. Every write is audited; ID-card numbers never enter the audit log.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from models import AccountStatus, AuthSession, Member, Organisation, OrgKind, OrgLevel, Role, db
from models.base import utcnow
from services import audit, idcard, passwords
from services.authz import Action, Actor, authorize_member, covers, get_org_for, member_scope_clause
from services.errors import Conflict, Forbidden, Invalid
from services.listing import Page, page_size, paginate
from services.orgs import adjust_member_count, subtree_clause

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
AUTO_MEMBER_NO = re.compile(r"^DY\d{8}$", re.IGNORECASE)  # numbers the system assigns from the id
PERSONAL_FIELDS = {
    "name",
    "gender",
    "birth_date",
    "mobile",
    "id_card",
    "party_status",
    "joined_on",
    "is_floating",
    "floating_to",
}
SELF_FIELDS = {"is_floating", "floating_to"}  # a member reports where they are; the rest is the branch's record


def settings():
    return current_app.config["SETTINGS"]


def check_personal(data: dict) -> dict:
    """Field errors (Chinese) in personal data; an empty dict when all is well. Shared with the roster import."""
    errors: dict[str, list[str]] = {}
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = ["姓名不能为空"]
    if "mobile" in data and not MOBILE_RE.match(data["mobile"] or ""):
        errors["mobile"] = ["手机号应为11位中国大陆手机号"]
    if data.get("id_card"):
        problem = idcard.validate(data["id_card"])
        if problem:
            errors["id_card"] = [problem]
        elif data.get("birth_date") and idcard.birth_date_of(idcard.normalise(data["id_card"])) != data["birth_date"]:
            errors["birth_date"] = ["出生日期与身份证号不一致"]
    today = date.today()
    if data.get("birth_date") and not (date(1900, 1, 1) <= data["birth_date"] <= today):
        errors["birth_date"] = ["出生日期不合理"]
    if data.get("joined_on"):
        if data["joined_on"] > today:
            errors["joined_on"] = ["入党日期不能晚于今天"]
        elif data.get("birth_date") and data["joined_on"] < data["birth_date"] + timedelta(days=18 * 365):
            errors["joined_on"] = ["入党时应年满18周岁"]
    if data.get("floating_to") and data.get("is_floating") is not True:
        errors["floating_to"] = ["只有流动党员才填写流动去向"]
    if data.get("member_no") and (AUTO_MEMBER_NO.match(data["member_no"]) or MOBILE_RE.match(data["member_no"])):
        errors["member_no"] = ["党员编号不能是手机号，也不能是系统自动编号（DY+8位数字）"]
    return errors


def check_unique(
    mobile: str | None, id_card: str | None, exclude_id: int | None = None, member_no: str | None = None
) -> None:
    if member_no:
        # Case-insensitive on every backend (MariaDB's collation is; SQLite's is not).
        found = db.session.scalar(select(Member.id).where(func.lower(Member.member_no) == member_no.lower()))
        if found is not None and found != exclude_id:
            raise Conflict("党员编号已存在", fields={"member_no": ["党员编号已存在"]})
    if mobile:
        found = db.session.scalar(select(Member.id).where(Member.mobile == mobile))
        if found is not None and found != exclude_id:
            raise Conflict("手机号已被其他党员使用", fields={"mobile": ["手机号已被其他党员使用"]})
    if id_card:
        digest = idcard.digest(id_card, settings().data_key)
        found = db.session.scalar(select(Member.id).where(Member.id_card_digest == digest))
        if found is not None and found != exclude_id:
            raise Conflict("身份证号已登记", fields={"id_card": ["该身份证号已登记"]})


def check_home_org(org: Organisation, field: str = "org_id") -> None:
    if not org.kind.is_branch or not org.active:
        raise Invalid("党员只能编入在册的党支部", fields={field: ["请选择党支部或联合党支部"]})


def _apply_personal(member: Member, data: dict) -> None:
    for key, value in data.items():
        if key == "id_card":
            key_ = settings().data_key
            member.id_card_cipher = idcard.encrypt(value, key_) if value else None
            member.id_card_digest = idcard.digest(value, key_) if value else None
        elif key == "name":
            member.name = value.strip()
        else:
            setattr(member, key, value)
    if data.get("is_floating") is False:
        member.floating_to = None


def create_member(actor: Actor, org_id: int, data: dict) -> tuple[Member, str]:
    """Creates a member in branch `org_id` with a one-time initial password, returned once in plain (audited)."""
    org = get_org_for(actor, org_id, Action.CREATE_CHILD)
    check_home_org(org)
    errors = check_personal(data)
    if errors:
        raise Invalid(fields=errors)
    check_unique(data.get("mobile"), data.get("id_card"), member_no=data.get("member_no"))
    member = Member(org=org, role=Role.MEMBER, status=AccountStatus.ACTIVE)
    _apply_personal(member, data)
    db.session.add(member)
    db.session.flush()
    member.member_no = data.get("member_no") or f"DY{member.id:08d}"
    adjust_member_count(org.id, +1)
    initial = set_initial_password(member)
    audit.record(actor, "member.create", "member", member.id, {"org_id": org.id})
    return member, initial


def set_initial_password(member: Member) -> str:
    """Gives `member` a fresh one-time initial password (must be changed at first login); returns it in plain."""
    plain = passwords.new_initial_password()
    member.password_hash = None
    member.initial_password_digest = passwords.initial_digest(plain, settings().secret_key)
    member.initial_password_expires_at = utcnow() + timedelta(days=settings().initial_password_days)
    member.must_change_password = True
    return plain


def reset_password(actor: Actor, member: Member) -> str:
    """An administrator issues a new initial password; every session of the member ends (audited)."""
    authorize_member(actor, Action.MANAGE, member)
    plain = set_initial_password(member)
    revoke_sessions(member.id, "password_reset")
    audit.record(actor, "member.reset_password", "member", member.id)
    return plain


def update_member(actor: Actor, member: Member, changes: dict) -> Member:
    """Changes personal fields; which ones depends on the actor (audited, ID card by name only)."""
    authorize_member(actor, Action.UPDATE, member)
    allowed = SELF_FIELDS if actor.role == Role.MEMBER else PERSONAL_FIELDS
    refused = sorted(set(changes) - allowed)
    if refused:
        raise Forbidden("无权修改这些字段", fields={f: ["无权修改"] for f in refused})
    merged = {"birth_date": member.birth_date, "joined_on": member.joined_on, "is_floating": member.is_floating}
    merged.update(changes)
    errors = check_personal(merged)
    if errors:
        raise Invalid(fields=errors)
    check_unique(changes.get("mobile"), changes.get("id_card"), exclude_id=member.id)
    _apply_personal(member, changes)
    audit.record(actor, "member.update", "member", member.id, {"fields": sorted(changes)})
    db.session.flush()
    return member


def move_member(actor: Actor, member: Member, org_id: int) -> Member:
    """Transfers a member to another branch in the actor's scope. A moved secretary becomes a plain member."""
    authorize_member(actor, Action.MANAGE, member)
    target = get_org_for(actor, org_id, Action.CREATE_CHILD)
    check_home_org(target)
    old_org_id = member.org_id
    if old_org_id == target.id:
        return member
    if member.role == Role.SECRETARY:
        member.role = Role.MEMBER
    db.session.execute(
        update(Organisation)
        .where(Organisation.secretary_id == member.id)
        .values(secretary_id=None)
        .execution_options(synchronize_session="fetch")
    )
    member.org = target
    if member.status == AccountStatus.ACTIVE:
        adjust_member_count(old_org_id, -1)
        adjust_member_count(target.id, +1)
    audit.record(actor, "member.move", "member", member.id, {"from_org_id": old_org_id, "to_org_id": target.id})
    db.session.flush()
    return member


ADMIN_LEVELS = (OrgLevel.CITY, OrgLevel.COUNTY, OrgLevel.TOWNSHIP)
ADMIN_KINDS = (OrgKind.COMMITTEE, OrgKind.WORKING_COMMITTEE)


def set_role(
    actor: Actor, member: Member, role: Role, managed_org_id: int | None = None, can_view_id_card: bool | None = None
) -> Member:
    """Grants a role. Department admins are appointed strictly below the actor's own department (audited)."""
    authorize_member(actor, Action.MANAGE, member)
    if actor.member is not None and actor.member.id == member.id:
        raise Forbidden("不能修改自己的角色")
    managed = None
    if role == Role.SUPER_ADMIN and not actor.is_super:
        raise Forbidden("只有系统管理员可以任命系统管理员")
    if role == Role.DEPT_ADMIN:
        if managed_org_id is None:
            raise Invalid("请指定所管理的组织", fields={"managed_org_id": ["组织部管理员必须指定所管理的组织"]})
        managed = get_org_for(actor, managed_org_id, Action.MANAGE)
        if managed.level not in ADMIN_LEVELS or managed.kind not in ADMIN_KINDS:
            raise Invalid(
                "组织部管理员只能管理市、县区、乡镇街道的党委或党工委",
                fields={"managed_org_id": ["应为市、县区或乡镇街道的党委、党工委"]},
            )
    elif managed_org_id is not None:
        raise Invalid("只有组织部管理员需要指定所管理的组织", fields={"managed_org_id": ["此角色不需要"]})
    if can_view_id_card and not actor.is_super:
        raise Forbidden("只有系统管理员可以授予查看身份证号的权限", fields={"can_view_id_card": ["无权授予"]})
    member.role, member.managed_org = role, managed
    if can_view_id_card is not None:
        member.can_view_id_card = can_view_id_card
    audit.record(
        actor,
        "member.set_role",
        "member",
        member.id,
        {"role": role.value, "managed_org_id": managed_org_id, "can_view_id_card": can_view_id_card},
    )
    db.session.flush()
    return member


def set_status(actor: Actor, member: Member, status: AccountStatus) -> Member:
    """Enables or disables an account; disabling ends every session at once (audited)."""
    authorize_member(actor, Action.MANAGE, member)
    status = AccountStatus(status)
    if member.status != status:
        adjust_member_count(member.org_id, +1 if status == AccountStatus.ACTIVE else -1)
    member.status = status
    if status == AccountStatus.DISABLED:
        revoke_sessions(member.id, "account_disabled")
    audit.record(actor, "member.set_status", "member", member.id, {"status": status.value})
    db.session.flush()
    return member


def revoke_sessions(member_id: int, reason: str, keep: str | None = None) -> None:
    stmt = update(AuthSession).where(AuthSession.member_id == member_id, AuthSession.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(AuthSession.id != keep)
    db.session.execute(
        stmt.values(revoked_at=utcnow(), revoke_reason=reason).execution_options(synchronize_session=False)
    )


def id_card_of(actor: Actor, member: Member, reveal: bool = False) -> str | None:
    """The ID-card number, masked; in full only when asked for and allowed (then audited)."""
    if member.id_card_cipher is None:
        return None
    number = idcard.decrypt(member.id_card_cipher, settings().data_key)
    if number is None:
        return None
    if not reveal:
        return idcard.mask(number)
    authorize_member(actor, Action.REVEAL_ID_CARD, member)
    audit.record(actor, "member.reveal_id_card", "member", member.id)
    return number


def list_members(
    actor: Actor,
    org_id: int | None,
    descendants: bool,
    q: str | None,
    include_disabled: bool,
    page: int,
    per_page: int,
) -> Page:
    """One page of the members the actor may see. A plain roster of an organisation the actor covers whole is
    paged by the counters (`roster_page`); searches and other views run the scoped query."""
    org = get_org_for(actor, org_id) if org_id is not None else None
    if org is not None and covers(actor, org) and not q and not include_disabled:
        return roster_page(org, descendants, page, per_page)
    return paginate(members_query(actor, org, descendants, q, include_disabled), page, per_page)


def members_query(
    actor: Actor, org: Organisation | None, descendants: bool, q: str | None = None, include_disabled: bool = False
):
    """The members the actor may see, optionally limited to `org` (already authorized) or its subtree."""
    stmt = select(Member).join(Member.org).where(member_scope_clause(actor))
    if org is not None:
        stmt = stmt.where(subtree_clause(org) if descendants else Member.org_id == org.id)
    if not include_disabled:
        stmt = stmt.where(Member.status == AccountStatus.ACTIVE)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where((Member.name.like(like)) | (Member.mobile == q.strip()) | (Member.member_no == q.strip()))
    # Ordered as the tree is (branch by branch), which the path index delivers without a sort: ordering a whole
    # city by member id alone made MariaDB sort 142k rows for the first page (0.4 s).
    return stmt.order_by(Organisation.path, Member.id)


def roster_page(org: Organisation, descendants: bool, page: int, per_page: int) -> Page:
    """One page of the active members of `org` (and its subtree) in tree order, without sorting the subtree.

    The organisations' counters say which branches hold rows offset…offset+per_page: a running SUM over the
    subtree in path order, computed by the database (a window function over the covering index), returns just
    those branches; then only their members are sorted. The caller must have checked that the actor covers
    `org` (the page is not filtered by scope).
    """
    per_page, page = page_size(per_page), max(1, page)
    offset = (page - 1) * per_page
    total = count_active(org, descendants)
    if descendants:
        running = func.sum(Organisation.member_count).over(order_by=Organisation.path, rows=(None, 0))
        walk = (
            select(Organisation.id.label("id"), Organisation.member_count.label("n"), running.label("running"))
            .where(subtree_clause(org), Organisation.active.is_(True), Organisation.member_count > 0)
            .subquery()
        )
        chosen = [
            tuple(row)
            for row in db.session.execute(
                select(walk.c.id, walk.c.n, walk.c.running)
                .where(walk.c.running > offset, walk.c.running - walk.c.n < offset + per_page)
                .order_by(walk.c.running)
            )
        ]
    else:
        chosen = [(org.id, org.member_count, org.member_count)] if org.member_count > offset else []
    items = []
    if chosen:
        _first_id, first_n, first_running = chosen[0]
        before = first_running - first_n  # members in the branches ahead of the first chosen one
        stmt = (
            select(Member)
            .join(Member.org)
            .where(
                Member.org_id.in_([org_id for org_id, _n, _running in chosen]), Member.status == AccountStatus.ACTIVE
            )
            .order_by(Organisation.path, Member.id)
            .offset(offset - before)
            .limit(per_page)
        )
        items = list(db.session.scalars(stmt))
    return Page(items=items, total=total, page=page, per_page=per_page)


def count_active(org: Organisation, descendants: bool) -> int:
    """Active members of `org` (and its subtree), from the organisations' counters."""
    if not descendants:
        return org.member_count
    total = db.session.scalar(
        select(func.sum(Organisation.member_count)).where(subtree_clause(org), Organisation.active.is_(True))
    )
    return int(total or 0)

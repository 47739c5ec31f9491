"""Who may do what, decided in one place from the actor's role and place in the organisation tree.

Visibility first: an object outside the actor's scope is reported as NotFound, so nobody learns that it exists.
Then permission: an object the actor may see but not change raises Forbidden.
Every list query takes its filter from `org_scope_clause` / `member_scope_clause`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import or_, true

from models import Member, Organisation, Role, db
from services.errors import Forbidden, NotFound


class Action(enum.StrEnum):
    READ = "read"
    UPDATE = "update"  # ordinary fields
    MANAGE = "manage"  # structure: move, deactivate, roles, account status
    CREATE_CHILD = "create_child"  # an organisation below this one / a member in this branch
    REVEAL_ID_CARD = "reveal_id_card"
    IMPORT = "import"
    EXPORT = "export"


@dataclass
class Actor:
    """The person acting and where from; `member` is None only for the system (CLI, jobs)."""

    member: Member | None
    ip: str | None = None

    @property
    def id(self) -> int | None:
        return self.member.id if self.member else None

    @property
    def role(self) -> Role:
        return Role.SUPER_ADMIN if self.member is None else self.member.role

    @property
    def is_super(self) -> bool:
        return self.role == Role.SUPER_ADMIN

    def scope_root(self) -> Organisation | None:
        """The organisation whose subtree this actor administers; None for members (self only) and super."""
        if self.member is None or self.role in (Role.MEMBER, Role.SUPER_ADMIN):
            return None
        if self.role == Role.DEPT_ADMIN:
            return self.member.managed_org
        return self.member.org  # a secretary administers its own organisation


SYSTEM = Actor(member=None)


def subtree_clause(root: Organisation):
    """`root` and everything below it, as one indexed range condition on the materialized path."""
    if not root.path.startswith("/"):
        raise RuntimeError(f"organisation {root.id} has no path")  # an empty path would match the whole tree
    return Organisation.path.like(root.path + "%")


def _in_subtree(org: Organisation, root: Organisation | None) -> bool:
    return root is not None and root.path.startswith("/") and org.path.startswith(root.path)


def covers(actor: Actor, org: Organisation) -> bool:
    """True when the actor administers `org` with everything in it (so aggregates of it may be shown)."""
    return actor.is_super or _in_subtree(org, actor.scope_root())


def can_see_org(actor: Actor, org: Organisation) -> bool:
    if actor.is_super:
        return True
    if actor.member and org.id == actor.member.org_id:
        return True  # everyone may read their own organisation
    return _in_subtree(org, actor.scope_root())


def can_see_member(actor: Actor, member: Member) -> bool:
    if actor.is_super or (actor.member and actor.member.id == member.id):
        return True
    return _in_subtree(member.org, actor.scope_root())


def authorize_org(actor: Actor, action: Action, org: Organisation) -> Organisation:
    """Raise NotFound if `org` is invisible to the actor, Forbidden if `action` is not allowed on it."""
    if not can_see_org(actor, org):
        raise NotFound("组织不存在")
    if action == Action.READ or actor.is_super:
        return org
    root = actor.scope_root()
    if not _in_subtree(org, root):
        raise Forbidden()
    if actor.role == Role.DEPT_ADMIN:
        # A department shapes what is below it, never its own node (that is its superior's business).
        if action == Action.MANAGE and org.id == root.id:
            raise Forbidden("不能调整本级组织，请联系上级组织部门")
        if action == Action.REVEAL_ID_CARD:
            raise Forbidden()
        return org
    if actor.role == Role.SECRETARY and action in (Action.UPDATE, Action.EXPORT, Action.CREATE_CHILD):
        if action == Action.CREATE_CHILD and not org.kind.is_branch:
            raise Forbidden("书记只能在本支部内添加党员")
        return org
    raise Forbidden()


def authorize_member(actor: Actor, action: Action, member: Member) -> Member:
    """Same contract as `authorize_org`, for a member record."""
    if not can_see_member(actor, member):
        raise NotFound("党员不存在")
    if action == Action.READ or actor.is_super:
        return member
    is_self = actor.member is not None and actor.member.id == member.id
    if actor.role in (Role.SECRETARY, Role.DEPT_ADMIN) and not is_self and not outranks(actor, member):
        raise Forbidden("不能修改同级或上级管理员的账号")
    if action == Action.REVEAL_ID_CARD:
        if actor.role == Role.DEPT_ADMIN and actor.member.can_view_id_card and not is_self:
            return member
        raise Forbidden("无权查看完整身份证号")
    if action == Action.UPDATE and (is_self or actor.role in (Role.SECRETARY, Role.DEPT_ADMIN)):
        return member
    if action == Action.MANAGE and actor.role == Role.DEPT_ADMIN and not is_self:
        return member
    raise Forbidden()


def outranks(actor: Actor, target: Member) -> bool:
    """True when the actor's administrative reach strictly contains the target's."""
    if actor.is_super:
        return True
    if target.role == Role.SUPER_ADMIN:
        return False
    root = actor.scope_root()
    if target.role == Role.MEMBER:
        return _in_subtree(target.org, root)
    target_root = target.managed_org if target.role == Role.DEPT_ADMIN else target.org
    if target_root is None or root is None:
        return False
    if actor.role == Role.SECRETARY:
        return False  # a secretary never edits another administrator
    return target_root.path.startswith(root.path) and target_root.id != root.id


def require_role(actor: Actor, *roles: Role) -> None:
    if not actor.is_super and actor.role not in roles:
        raise Forbidden()


def org_scope_clause(actor: Actor):
    """WHERE clause limiting `Organisation` rows to what the actor may see."""
    if actor.is_super:
        return true()
    own = Organisation.id == actor.member.org_id
    root = actor.scope_root()
    if root is None:
        return own
    return or_(subtree_clause(root), own)


def member_scope_clause(actor: Actor):
    """WHERE clause on `Member` joined to its `Organisation` (as `Member.org`)."""
    if actor.is_super:
        return true()
    root = actor.scope_root()
    if root is None:
        return Member.id == actor.member.id
    return or_(subtree_clause(root), Member.id == actor.member.id)


def get_org_for(actor: Actor, org_id: int, action: Action = Action.READ) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound("组织不存在")
    return authorize_org(actor, action, org)


def get_member_for(actor: Actor, member_id: int, action: Action = Action.READ) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound("党员不存在")
    return authorize_member(actor, action, member)


__all__ = [
    "Action",
    "Actor",
    "SYSTEM",
    "authorize_member",
    "authorize_org",
    "can_see_member",
    "can_see_org",
    "covers",
    "get_member_for",
    "get_org_for",
    "member_scope_clause",
    "org_scope_clause",
    "outranks",
    "require_role",
    "subtree_clause",
]

"""What the mini-program's home page shows a member: what is due, and the entries its role opens.

Each capability contributes its due items through `due_provider` and its entries through `entry_provider`
(meetings in services.meeting_due, duty check-ins in services.duty_home, learning's due items in
services.learning_due; the study entry, which every member has, is here), so the home page never learns about them
one by one; the capability's blueprint (or blueprints/home.py) imports the providing module. The server decides
which entries a role sees; the client only draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from models import Organisation, Role, db
from services.authz import Actor

LEVEL_ORDER = {"danger": 0, "warning": 1, "info": 2}
LEARNING_PAGE = "/pages/learning/home"


@dataclass
class DueItem:
    key: str  # stable per kind of item (the client keys list rows on it)
    title: str
    detail: str = ""
    level: str = "info"  # danger | warning | info
    due_at: datetime | None = None
    page: str | None = None  # mini-program page that settles it


DUE_PROVIDERS: list[Callable[[Actor], Iterable[DueItem]]] = []
ENTRY_PROVIDERS: list[Callable] = []


def due_provider(fn: Callable[[Actor], Iterable[DueItem]]):
    """Registers a function that lists an actor's due items (read-only; no writes)."""
    DUE_PROVIDERS.append(fn)
    return fn


def due_items(actor: Actor, wechat_bound: bool) -> list[DueItem]:
    items = [*_account_items(actor, wechat_bound), *(item for provider in DUE_PROVIDERS for item in provider(actor))]
    return sorted(items, key=lambda i: (LEVEL_ORDER.get(i.level, 9), i.due_at or datetime.max.replace(tzinfo=UTC)))


def due_json(item: DueItem, iso) -> dict:
    return {**asdict(item), "due_at": iso(item.due_at)}


def _account_items(actor: Actor, wechat_bound: bool) -> Iterable[DueItem]:
    member = actor.member
    if member.must_change_password:
        yield DueItem(
            key="change_password",
            title="修改初始密码",
            detail="首次登录须先修改初始密码，修改后才能使用其他功能",
            level="danger",
            due_at=member.initial_password_expires_at,
            page="/pages/password/password",
        )
    if not wechat_bound:
        yield DueItem(
            key="bind_wechat",
            title="绑定微信",
            detail="绑定后可用微信一键登录，并及时收到会议和学习提醒",
            page="/pages/me/me",
        )


@due_provider
def _venue_items(actor: Actor) -> Iterable[DueItem]:
    root = actor.scope_root()
    if actor.role == Role.SECRETARY and root is not None and root.venue_lat is None:
        yield DueItem(
            key="set_venue",
            title="设置组织活动场所位置",
            detail="会议签到、照片核验和值班打卡都以活动场所位置为准，请尽快设置",
            level="warning",
            page=f"/pages/org/org?id={root.id}",
        )


def entry_provider(fn: Callable[[Actor, Organisation | None], list[dict]]):
    """Registers a function that lists a feature's home entries for an actor and its scope root."""
    ENTRY_PROVIDERS.append(fn)
    return fn


def entries(actor: Actor) -> list[dict]:
    """The entries of the actor's role on the home page: the account's own, then each feature's."""
    root = actor.scope_root() or (_tree_root() if actor.is_super else None)
    return [entry for provider in ENTRY_PROVIDERS for entry in provider(actor, root)]


@entry_provider
def _account_entries(actor: Actor, root: Organisation | None) -> list[dict]:
    if actor.role == Role.SECRETARY:
        org_id = actor.member.org_id
        return [
            {"key": "branch_members", "title": "党员名册", "page": f"/pages/members/members?org_id={org_id}"},
            {"key": "branch_info", "title": "支部信息", "page": f"/pages/org/org?id={org_id}"},
        ]
    if actor.role in (Role.DEPT_ADMIN, Role.SUPER_ADMIN):
        if root is None:
            return []
        return [
            {"key": "sub_orgs", "title": "下级组织", "page": f"/pages/org/org?id={root.id}"},
            {
                "key": "member_search",
                "title": "党员查询",
                "page": f"/pages/members/members?org_id={root.id}&descendants=1",
            },
        ]
    return []


@entry_provider
def _learning_entries(actor: Actor, root: Organisation | None) -> list[dict]:
    """Study home: everyone with a member account studies, whatever the role (departments' staff are members too).
    Here rather than in a learning module so it stands right after the account's own entries."""
    if actor.member is None:
        return []
    return [{"key": "learning", "title": "学习", "page": LEARNING_PAGE}]


def _tree_root() -> Organisation | None:
    return db.session.scalar(
        select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id).limit(1)
    )

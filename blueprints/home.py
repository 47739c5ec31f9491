"""The mini-program's home page in one call: /api/home."""

from __future__ import annotations

from apiflask import APIBlueprint

from blueprints.schemas import iso_local
from blueprints.security import current_actor, login_required
from models.member import ROLE_LABELS
from services import home, meeting_due  # noqa: F401 - meeting_due registers its home entries and due items
from services.orgs import breadcrumb
from services.wechat_accounts import identity_of

bp = APIBlueprint("home", __name__, url_prefix="/api/home", tag="我的")


@bp.get("")
@login_required(allow_pending_password=True)
@bp.doc(summary="首页", description="本人所在组织、待办事项和按角色开放的功能入口。")
def get_home():
    actor = current_actor()
    m, root = actor.member, actor.scope_root()
    wechat_bound = identity_of(m) is not None
    return {
        "member": {
            "id": m.id,
            "name": m.name,
            "role": m.role.value,
            "role_label": ROLE_LABELS[m.role],
            "must_change_password": m.must_change_password,
        },
        "org": {
            "id": m.org.id,
            "name": m.org.name,
            "kind_label": m.org.kind.label,
            "level_label": m.org.level.label,
            "breadcrumb": breadcrumb(m.org),
        },
        "scope_org": {"id": root.id, "name": root.name} if root else None,
        "wechat_bound": wechat_bound,
        "due": [home.due_json(item, iso_local) for item in home.due_items(actor, wechat_bound)],
        "entries": home.entries(actor),
    }

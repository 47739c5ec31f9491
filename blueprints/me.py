"""The signed-in member: /api/me."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.presenters import member_json, org_json
from blueprints.schemas import BaseSchema
from blueprints.security import current_actor, login_required
from models import db
from services import members as member_service
from services.orgs import breadcrumb
from services.wechat_accounts import identity_of

bp = APIBlueprint("me", __name__, url_prefix="/api/me", tag="我的")


class MeUpdateIn(BaseSchema):
    is_floating = fields.Boolean()
    floating_to = fields.String(allow_none=True, validate=validators.Length(max=100))


def _me() -> dict:
    actor = current_actor()
    m = actor.member
    root = actor.scope_root()
    return {
        "member": member_json(actor, m),
        "org": {**org_json(m.org), "breadcrumb": breadcrumb(m.org)},
        "scope_org": org_json(root) if root else None,
        "must_change_password": m.must_change_password,
        "wechat_bound": identity_of(m) is not None,
    }


@bp.get("")
@login_required(allow_pending_password=True)
@bp.doc(summary="当前登录的党员", description="含所在组织、管理范围，以及是否须先修改初始密码。")
def me():
    return _me()


@bp.patch("")
@login_required
@bp.input(MeUpdateIn)
@bp.doc(summary="更新本人流动情况")
def update_me(json_data):
    actor = current_actor()
    member_service.update_member(actor, actor.member, json_data)
    db.session.commit()
    return _me()

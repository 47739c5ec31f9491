"""The signed-in member's link to the official account: /api/me/official-account.

A member links the account by getting a bind code here and sending "绑定 <code>" to the account (the bot at
/wechat/callback); it can read whether the link is live and end it.
"""

from __future__ import annotations

from apiflask import APIBlueprint

from blueprints.schemas import iso_local
from blueprints.security import current_actor, login_required
from models import db
from services import official_account

bp = APIBlueprint("me_official_account", __name__, url_prefix="/api/me/official-account", tag="我的")


@bp.get("")
@login_required
@bp.doc(summary="公众号绑定状态", description="bound：本人账号是否已绑定公众号（取消关注后为 false）。")
def status():
    result = official_account.link_status(current_actor())
    return {"bound": result["bound"], "bound_at": iso_local(result["bound_at"])}


@bp.post("/bind-code")
@login_required
@bp.doc(
    summary="获取公众号绑定码",
    description="返回6位绑定码（有效期见 expires_in 秒，重新获取则旧码作废）。关注公众号后发送“绑定 绑定码”完成绑定。",
)
def bind_code():
    row = official_account.issue_bind_code(current_actor())
    db.session.commit()
    expires_in = max(0, int((row.expires_at - row.created_at).total_seconds()))
    return {
        "code": row.code,
        "expires_at": iso_local(row.expires_at),
        "expires_in": expires_in,
        "instruction": f"请关注本单位党建公众号，并发送：绑定 {row.code}",
    }, 201


@bp.delete("")
@login_required
@bp.output({}, status_code=204)
@bp.doc(summary="解除公众号绑定", description="解除后不再通过公众号接收提醒；重新关注也不会自动恢复。")
def unbind():
    official_account.unbind_member(current_actor())
    db.session.commit()
    return ""

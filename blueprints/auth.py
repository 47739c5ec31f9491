"""Account login, token refresh, logout and password change: /api/auth."""

from __future__ import annotations

import logging

from apiflask import APIBlueprint, fields, validators
from flask import g, request
from flask_jwt_extended import get_jwt, jwt_required
from marshmallow import ValidationError, validates_schema
from sqlalchemy.exc import SQLAlchemyError

from blueprints.presenters import member_json
from blueprints.schemas import BaseSchema
from blueprints.security import current_actor, limiter, login_rate_limit, login_required
from models import db
from services import accounts, wechat_accounts
from services import learning_points as points
from services.authz import Actor
from services.errors import AppError

bp = APIBlueprint("auth", __name__, url_prefix="/api/auth", tag="登录与账号")
log = logging.getLogger(__name__)


def _login_point(member_id: int) -> None:
    """The day's login point, in a transaction of its own after the login's commit: taking the member's lock first,
    it cannot deadlock with the login's own rows (MariaDB locks a member shared for every row that references it).
    A failure here is logged and never fails the login."""
    try:
        points.login_point(member_id)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("login point for member %s not granted", member_id)


class LoginIn(BaseSchema):
    username = fields.String(
        required=True, validate=validators.Length(min=1, max=64), metadata={"description": "手机号或党员编号"}
    )
    password = fields.String(required=True, validate=validators.Length(min=1, max=128))


class PasswordIn(BaseSchema):
    current_password = fields.String(required=True, validate=validators.Length(min=1, max=128))
    new_password = fields.String(required=True, validate=validators.Length(min=1, max=128))


class WeChatLoginIn(BaseSchema):
    code = fields.String(
        required=True, validate=validators.Length(min=1, max=128), metadata={"description": "wx.login 得到的登录凭证"}
    )


class BindIn(BaseSchema):
    bind_token = fields.String(
        validate=validators.Length(min=1, max=128), metadata={"description": "微信登录未绑定时得到的凭证"}
    )
    code = fields.String(
        validate=validators.Length(min=1, max=128), metadata={"description": "或：已登录时 wx.login 得到的新凭证"}
    )

    @validates_schema
    def one_of(self, data, **_kw):
        if ("bind_token" in data) == ("code" in data):
            raise ValidationError("bind_token 和 code 须提供其一", field_name="bind_token")


class TokensOut(BaseSchema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    member = fields.Dict()


@bp.post("/login")
@limiter.limit(login_rate_limit)
@bp.input(LoginIn)
@bp.output(TokensOut)
@bp.doc(summary="账号密码登录", description="用手机号或党员编号登录。连续失败会被暂时锁定。")
def login(json_data):
    try:
        member = accounts.verify_credentials(json_data["username"], json_data["password"])
    except AppError:
        db.session.commit()  # keep the failure count even though the request fails
        raise
    tokens = accounts.start_session(member, request.remote_addr, request.user_agent.string)
    db.session.commit()
    _login_point(member.id)
    return {**tokens, "member": member_json(Actor(member), member)}


@bp.post("/refresh")
@jwt_required(refresh=True)
@bp.output(TokensOut)
@bp.doc(summary="用刷新令牌换取新令牌", description="刷新令牌每次使用后作废；重复使用旧令牌会结束整个登录。")
def refresh():
    claims = get_jwt()
    try:
        tokens = accounts.refresh(claims)
    finally:
        db.session.commit()  # a detected reuse revokes the session even though the request fails
    _login_point(int(claims["sub"]))  # the app reopened on a later day logs in by refreshing
    return tokens


@bp.post("/logout")
@login_required(allow_pending_password=True)
@bp.output({}, status_code=204)
@bp.doc(summary="退出登录")
def logout():
    accounts.end_session(current_actor(), g.sid)
    db.session.commit()
    return ""


@bp.post("/password")
@login_required(allow_pending_password=True)
@bp.input(PasswordIn)
@bp.output({}, status_code=204)
@bp.doc(summary="修改密码", description="首次登录必须先修改初始密码。其他设备上的登录随之失效。")
def change_password(json_data):
    accounts.change_password(current_actor(), json_data["current_password"], json_data["new_password"], g.sid)
    db.session.commit()
    return ""


@bp.post("/wechat")
@limiter.limit(login_rate_limit)
@bp.input(WeChatLoginIn)
@bp.doc(
    summary="微信登录",
    description="已绑定微信的党员直接登录（返回与账号登录相同的令牌，bound=true）；"
    "未绑定时返回 bound=false 和 bind_token：先用账号密码登录，再调用 /api/auth/wechat/bind 完成绑定。",
)
def wechat_login(json_data):
    member, result = wechat_accounts.login(json_data["code"], request.remote_addr, request.user_agent.string)
    db.session.commit()
    if member is not None:
        _login_point(member.id)
    if member is None:
        return {"bound": False, **result}
    return {"bound": True, **result, "member": member_json(Actor(member), member)}


@bp.post("/wechat/bind")
@login_required(allow_pending_password=True)
@bp.input(BindIn)
@bp.doc(
    summary="绑定微信",
    description="把微信绑定到当前登录的账号：提交微信登录时得到的 bind_token，或已登录时 wx.login 得到的 code。",
)
def wechat_bind(json_data):
    if "code" in json_data:
        wechat_accounts.bind_code(current_actor(), json_data["code"])
    else:
        wechat_accounts.bind(current_actor(), json_data["bind_token"])
    db.session.commit()
    return {"bound": True}


@bp.delete("/wechat/bind")
@login_required(allow_pending_password=True)
@bp.output({}, status_code=204)
@bp.doc(summary="解除微信绑定")
def wechat_unbind():
    actor = current_actor()
    wechat_accounts.unbind(actor, actor.member)
    db.session.commit()
    return ""

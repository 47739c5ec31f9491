"""Authentication for views: the JWT manager, the rate limiter and the `login_required` decorator.

`login_required` loads the member and the session on every request, so that disabling an account, moving a
member or logging out takes effect at the next request, whatever tokens are still in circulation.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_jwt_extended import JWTManager, get_jwt, verify_jwt_in_request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from models import AccountStatus
from services import accounts
from services.authz import Actor
from services.errors import Forbidden, Unauthorized

jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address)


def current_actor() -> Actor:
    return g.actor


def login_required(fn=None, *, allow_pending_password: bool = False):
    """Requires a valid access token of a live session and an active account.

    With a one-time initial password still in force, only views marked `allow_pending_password` answer.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request()
            claims = get_jwt()
            member = accounts.session_member(int(claims["sub"]), claims.get("sid"))
            if member is None:
                raise Unauthorized("登录已失效，请重新登录", code="session_ended")
            if member.status != AccountStatus.ACTIVE:
                raise Unauthorized("账号已停用，请联系所在党组织", code="account_disabled")
            if member.must_change_password and not allow_pending_password:
                raise Forbidden("首次登录请先修改初始密码", code="password_change_required")
            g.actor = Actor(member, ip=request.remote_addr)
            g.sid = claims.get("sid")
            return view(*args, **kwargs)

        return wrapper

    return decorate(fn) if fn is not None else decorate


def _token_error(code: str, message: str):
    def handler(*_args):
        return {"error": {"code": code, "message": message, "fields": {}}}, 401

    return handler


def init_security(app) -> None:
    s = app.config["SETTINGS"]
    app.config.update(
        JWT_SECRET_KEY=s.secret_key,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=s.access_token_minutes),
        RATELIMIT_STORAGE_URI=s.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX="party-limits",
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.config.setdefault("RATELIMIT_ENABLED", True)
    jwt.init_app(app)
    jwt.unauthorized_loader(_token_error("unauthorized", "请先登录"))
    jwt.invalid_token_loader(_token_error("invalid_token", "登录凭证无效，请重新登录"))
    jwt.expired_token_loader(_token_error("token_expired", "登录已过期，请刷新或重新登录"))
    jwt.revoked_token_loader(_token_error("session_ended", "登录已失效，请重新登录"))
    jwt.needs_fresh_token_loader(_token_error("fresh_login_required", "请重新登录后再操作"))
    limiter.init_app(app)


def login_rate_limit() -> str:
    return current_app.config["SETTINGS"].login_rate_limit

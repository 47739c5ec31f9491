"""The project's exceptions. Services raise these; the app factory maps each class to the JSON envelope once.

Messages are Chinese because they reach members; `code` is a stable English token for clients.
"""

from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict | None = None,
        code: str | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields or {}
        self.extra = extra or {}  # more keys of the error body, e.g. the row report of a rejected import
        if code:
            self.code = code


class Invalid(AppError):
    status = 422
    code = "invalid"
    message = "提交的数据有误"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "没有权限执行此操作"


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "对象不存在"


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "数据冲突"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = "操作过于频繁，请稍后再试"


class UpstreamError(AppError):
    """An outside system (WeChat, storage, SMS) failed. `permanent` tells jobs not to retry."""

    status = 502
    code = "upstream_error"
    message = "外部服务暂时不可用，请稍后再试"

    def __init__(self, message=None, *, upstream_code=None, permanent=False, **kw):
        super().__init__(message, **kw)
        self.upstream_code = upstream_code
        self.permanent = permanent

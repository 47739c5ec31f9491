"""Assembles the application. Imported by nothing else: `flask --app app ...`, gunicorn `app:create_app()`."""

from __future__ import annotations

import logging
from pathlib import Path

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

from models import db
from services.errors import AppError
from services.settings import load_settings

migrate = Migrate()
log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}
HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限执行此操作",
    404: "对象不存在",
    405: "不支持该请求方法",
    409: "数据冲突",
    413: "上传的文件过大",
    415: "不支持的内容类型",
    422: "提交的数据有误",
    429: "操作过于频繁，请稍后再试",
    500: "服务器内部错误，请稍后再试",
}


def create_app(config: dict | None = None) -> APIFlask:
    app = APIFlask(
        __name__,
        title="智慧党建云 API",
        version="1.0",
        spec_path="/api/openapi.json",
        docs_path="/api/docs",
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings = load_settings(app.instance_path, config)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_AS_ASCII=False,
        TESTING=settings.app_env == "testing",
        VALIDATION_ERROR_STATUS_CODE=422,
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    )
    app.json.ensure_ascii = False
    app.config.update({k: v for k, v in settings.extra.items() if k.isupper()})
    if settings.extra.get("PROXY_FIX_HOPS"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(settings.extra["PROXY_FIX_HOPS"]))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)

    from blueprints import register_blueprints
    from blueprints.cli import register_cli
    from blueprints.security import init_security
    from services import duty_days, meeting_tallies
    from tasks import init_tasks

    meeting_tallies.install()  # every flush keeps the statistics' tallies
    duty_days.install()  # and the board's check-ins per cadre and day
    init_security(app)
    init_tasks(app)
    register_blueprints(app)
    register_cli(app)
    _register_errors(app)
    return app


def _engine_options(url: str) -> dict:
    if url.startswith("mysql"):
        # pre_ping survives MySQL's idle disconnects; recycle stays under wait_timeout behind proxies.
        return {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10, "max_overflow": 20}
    return {}


def envelope(status: int, code: str, message: str, fields: dict | None = None, headers=None, extra=None):
    body = {"code": code, "message": message, "fields": fields or {}, **(extra or {})}
    return {"error": body}, status, headers or {}


def _flatten(detail: dict) -> dict:
    """APIFlask validation detail {location: {field: [msgs] | {nested}}} → {"field" or "a.0.b": [msgs]}."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        else:
            out[prefix or "_schema"] = [str(m) for m in (value if isinstance(value, list) else [value])]

    for location_errors in (detail or {}).values():
        walk("", location_errors)
    return out


def _register_errors(app: APIFlask) -> None:
    @app.error_processor
    def http_error(error: HTTPError):
        status = error.status_code
        if status == 422 or (status == 400 and error.detail):
            fields = _flatten(error.detail)
            first = next(iter(fields.items()), None)
            message = f"{first[0]}：{first[1][0]}" if first else HTTP_MESSAGES[422]
            return envelope(status, "invalid", message, fields, error.headers)
        code = HTTP_CODES.get(status, "error")
        return envelope(status, code, HTTP_MESSAGES.get(status, error.message or "请求有误"), None, error.headers)

    @app.errorhandler(AppError)
    def app_error(error: AppError):
        return envelope(error.status, error.code, error.message, error.fields, extra=error.extra)

    # Werkzeug's HTTP errors (404, 405, 413, 429 …) reach `http_error` through APIFlask; this is the rest.
    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error")
        db.session.rollback()
        return envelope(500, "internal_error", HTTP_MESSAGES[500])

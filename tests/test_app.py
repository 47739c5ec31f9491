"""App-wide behaviour: configuration, the error envelope, the OpenAPI document, migrations, audit log."""

from __future__ import annotations

from datetime import date

import pytest

from models import AuditEntry, db
from services.settings import ConfigError, load_settings, normalise_database_url


def test_production_requires_secrets(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "DATA_KEY", "APP_ENV", "FLASK_DEBUG", "WECHAT_SANDBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WECHAT_MINI_APPID", "wx0123456789abcdef")
    monkeypatch.setenv("WECHAT_MINI_SECRET", "s" * 32)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigError, match="DATA_KEY"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("DATA_KEY", "k" * 43 + "=")
    s = load_settings(str(tmp_path))
    assert s.is_production and s.database_url.startswith("sqlite:///") and s.redis_url is None


def test_settings_parse_and_refuse(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("ACCESS_TOKEN_MINUTES", "ten")
    with pytest.raises(ConfigError, match="ACCESS_TOKEN_MINUTES"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("ACCESS_TOKEN_MINUTES", "10")
    monkeypatch.setenv("TZ", "Mars/Olympus")
    with pytest.raises(ConfigError, match="TZ"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    monkeypatch.setenv("REMINDERS_SINCE", "2026-13-01")
    with pytest.raises(ConfigError, match="REMINDERS_SINCE"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("REMINDERS_SINCE", "2026-03-01")
    assert load_settings(str(tmp_path)).reminders_since == date(2026, 3, 1)
    monkeypatch.setenv("STORAGE", "s3")
    with pytest.raises(ConfigError, match="STORAGE"):
        load_settings(str(tmp_path))


def test_mysql_urls_get_utf8mb4():
    assert normalise_database_url("mysql+pymysql://u:p@h/db") == "mysql+pymysql://u:p@h/db?charset=utf8mb4"
    assert normalise_database_url("mysql+pymysql://u@h/db?ssl=1") == "mysql+pymysql://u@h/db?ssl=1&charset=utf8mb4"
    assert normalise_database_url("mysql+pymysql://u@h/db?charset=utf8mb4") == "mysql+pymysql://u@h/db?charset=utf8mb4"


def test_mysql_engine_options():
    from app import _engine_options

    opts = _engine_options("mysql+pymysql://u@h/db")
    assert opts["pool_pre_ping"] is True and opts["pool_recycle"] < 3600


def test_unknown_route_and_method_are_json(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = client.delete("/api/auth/login")
    assert r.status_code == 405 and r.json["error"]["message"] == "不支持该请求方法"


def test_unexpected_error_is_a_json_500_without_traceback(app, client):
    @app.get("/api/_boom")
    def boom():
        raise RuntimeError("secret internals")

    r = client.get("/api/_boom")
    assert r.status_code == 500
    assert r.json == {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后再试", "fields": {}}}


def test_oversized_upload_is_413(app, client, world, login_as):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    r = client.post(
        "/api/members/import",
        data={"file": (__import__("io").BytesIO(b"x" * 5000), "a.csv")},
        headers=login_as(world.city_admin),
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_openapi_document_and_docs(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for path in ("/api/auth/login", "/api/me", "/api/orgs/{org_id}", "/api/orgs/{org_id}/children", "/api/members"):
        assert path in paths, path
    assert paths["/api/me"]["get"]["security"] == [{"BearerAuth": []}]
    assert "security" not in paths["/api/auth/login"]["post"]
    assert client.get("/api/docs").status_code == 200


def test_migrations_match_the_models(app):
    """The migration history produces exactly the schema the models describe, on this backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_audit_log_is_append_only(app, world):
    entry = db.session.query(AuditEntry).first()
    entry.action = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.delete(db.session.query(AuditEntry).first())
        db.session.flush()
    db.session.rollback()


def test_every_write_is_audited_with_actor_and_ip(client, world, login_as):
    h = login_as(world.town_a1_admin)
    client.patch(
        f"/api/orgs/{world.v1.id}",
        json={"contact_phone": "0851-7654321"},
        headers=h,
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    e = db.session.query(AuditEntry).filter_by(action="org.update").one()
    assert (e.actor_id, e.object_type, e.object_id, e.ip) == (
        world.town_a1_admin.id,
        "organisation",
        str(world.v1.id),
        "10.1.2.3",
    )
    assert e.detail == {"fields": ["contact_phone"]} and e.created_at is not None


def test_timestamps_are_local_with_offset(client, world, login_as):
    r = client.get(f"/api/orgs/{world.v1.id}", headers=login_as(world.sec_v1))
    assert r.json["created_at"].endswith("+08:00")

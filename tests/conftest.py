"""Fixtures: the app on every available backend, a client, a standard organisation world, and auth helpers.

Backends: SQLite always; MariaDB (with Redis) when TEST_MYSQL_URL / TEST_REDIS_URL are set. Each run migrates
a throwaway database of its own once; each test then starts from empty tables. Under CI=true a configured
service that does not answer fails the run instead of being skipped.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from models import db

MYSQL_URL = os.environ.get("TEST_MYSQL_URL")  # server URL without database, e.g. mysql+pymysql://root@127.0.0.1
REDIS_URL = os.environ.get("TEST_REDIS_URL")  # e.g. redis://127.0.0.1:6379 (the suite uses one db: 9, or TEST_REDIS_DB)
IN_CI = os.environ.get("CI") == "true"
REDIS_TEST_DB = int(os.environ.get("TEST_REDIS_DB", "9"))  # parallel local runs pick another

BACKENDS = ["sqlite"] + (["mysql"] if MYSQL_URL else [])
# Tables whose rows the migrations write (reference data): restored, not left empty, between tests.
REFERENCE_TABLES = ("meeting_kinds", "reminder_rules", "point_rules")
_reference_rows: dict[str, list[dict]] = {}


def pytest_report_header(config):
    redis_note = f"db {REDIS_TEST_DB} of {REDIS_URL}" if REDIS_URL else "none"
    return [f"backends: {', '.join(BACKENDS)}; redis: {redis_note}"]


def pytest_sessionstart(session):
    if IN_CI and not (MYSQL_URL and REDIS_URL):
        raise pytest.UsageError(
            "CI=true but TEST_MYSQL_URL/TEST_REDIS_URL are not set: MariaDB and Redis tests must run"
        )


def redis_test_url() -> str | None:
    if not REDIS_URL:
        return None
    return REDIS_URL.rstrip("/") + f"/{REDIS_TEST_DB}"


@pytest.fixture(scope="session")
def redis_conn():
    """The suite's own Redis database, flushed before and after; skipped (or failed in CI) when absent."""
    url = redis_test_url()
    if url is None:
        if IN_CI:
            pytest.fail("TEST_REDIS_URL is not set under CI=true")
        pytest.skip("Redis 未配置（设置 TEST_REDIS_URL 以运行）")
    conn = redis.Redis.from_url(url)
    try:
        conn.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} does not answer: {exc}") if IN_CI else pytest.skip(f"Redis 不可用：{exc}")
    conn.flushdb()
    yield conn
    conn.flushdb()


def _make_database(backend: str, tmp: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'test.db'}", lambda: None
    name = f"party_test_{secrets.token_hex(4)}"
    server = create_engine(MYSQL_URL.rstrip("/") + "/?charset=utf8mb4")
    try:
        with server.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    except Exception as exc:
        pytest.fail(f"MariaDB at {MYSQL_URL} does not answer: {exc}") if IN_CI else pytest.skip(str(exc))

    def drop():
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()

    return MYSQL_URL.rstrip("/") + f"/{name}?charset=utf8mb4", drop


def make_app(database_url: str, tmp: Path, **overrides):
    from app import create_app

    config = {
        "app_env": "testing",
        "database_url": database_url,
        "storage_dir": str(tmp / "storage"),
        "RATELIMIT_ENABLED": False,
        **overrides,
    }
    return create_app(config)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    """(name, database URL, redis URL) with the schema migrated; the database is dropped at the end."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    url, drop = _make_database(name, tmp)
    redis_url = None
    if name == "mysql":
        redis_url = redis_test_url()
        if redis_url is None and IN_CI:
            pytest.fail("TEST_REDIS_URL is not set under CI=true")
    app = make_app(url, tmp)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()  # the real migrations, not create_all: they are what production runs
        with db.engine.connect() as conn:
            for name in REFERENCE_TABLES:
                _reference_rows[name] = [dict(r._mapping) for r in conn.execute(db.metadata.tables[name].select())]
    yield {"name": name, "url": url, "redis_url": redis_url, "tmp": tmp}
    with app.app_context():
        db.engine.dispose()
    drop()


@pytest.fixture
def app(backend, tmp_path):
    app = make_app(backend["url"], tmp_path, redis_url=backend["redis_url"])
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        else:
            conn.execute(text("UPDATE organisations SET parent_id = NULL, secretary_id = NULL"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        for name in REFERENCE_TABLES:
            if _reference_rows.get(name):
                conn.execute(db.metadata.tables[name].insert(), _reference_rows[name])
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture
def live_server(app):
    """The test's app also served over real HTTP on a loopback port; its WeChat adapter points at the sandbox
    there. Cached WeChat tokens of earlier tests are dropped from Redis."""
    from tasks import redis_client
    from tests.live import LiveServer

    conn = redis_client()
    if conn is not None:
        for key in conn.scan_iter("wechat:*"):
            conn.delete(key)
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    from tests.factories import build_world

    return build_world()


@pytest.fixture
def login_as(app):
    """login_as(member) → headers with a bearer token of a fresh session (no HTTP round trip)."""
    from services import accounts

    def headers(member):
        tokens = accounts.start_session(member, "127.0.0.1", "pytest")
        db.session.commit()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    return headers


@pytest.fixture
def tmp_file():
    fd, path = tempfile.mkstemp()
    os.close(fd)
    yield path
    os.unlink(path)

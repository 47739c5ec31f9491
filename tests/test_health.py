"""GET /api/health: a bare JSON answer without a login and without a database round trip."""

from __future__ import annotations

from sqlalchemy import event

from models import db
from tests.conftest import make_app


def test_answers_without_a_login_and_without_a_statement(app, client):
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        r = client.get("/api/health")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert r.status_code == 200 and r.json == {"status": "ok"}
    assert statements == []


def test_answers_while_the_database_is_unreachable(tmp_path):
    broken = make_app(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}", tmp_path)
    r = broken.test_client().get("/api/health")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_is_public_in_the_api_description(client):
    spec = client.get("/api/openapi.json").json
    assert "security" not in spec["paths"]["/api/health"]["get"]
    assert "security" in spec["paths"]["/api/duty/checkins"]["post"]

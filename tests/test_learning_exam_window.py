"""A test's window (`opens_at`/`closes_at`) holds for a start by id too, not only for the listing; its closing time
caps the attempt's deadline, and a submission after it (plus the grace) is late like one past the time limit.
GET /api/learning/exams/<id> carries the member's standing (attempts used/allowed, the latest attempt) and the
window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import Exam, ExamAttempt, PointEntry, Question, db
from models.base import utcnow
from services import learning_points as points
from services import learning_quiz as quiz

DRAW = [{"kind": "judge", "count": 2, "points": 5}]  # full score 10


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


@pytest.fixture
def exam_id(client, world, login_as):
    """A test of the first township for its members: two true/false questions, 10 minutes, pass mark 10."""
    h = login_as(world.town_a1_admin)
    for i in range(3):
        body = {"kind": "judge", "topic": "党史", "stem": f"判断{i}", "answer": ["T" if i % 2 else "F"]}
        assert client.post("/api/learning/questions", json=body, headers=h).status_code == 201
    body = {"title": "限时开放的测试", "draw": DRAW, "time_limit_s": 600, "pass_score": 10, "max_attempts": 2}
    r = client.post("/api/learning/exams", json=body, headers=h)
    assert r.status_code == 201, r.json
    return r.json["id"]


def set_window(exam_id: int, **window) -> None:
    exam = db.session.get(Exam, exam_id)
    for field, at in window.items():
        setattr(exam, field, at)
    db.session.commit()


def right_answers(sheet: dict) -> dict:
    return {str(q["id"]): db.session.get(Question, q["id"]).answer for q in sheet["questions"]}


def attempts_written() -> int:
    return db.session.scalar(select(func.count()).select_from(ExamAttempt))


def test_a_test_not_open_yet_cannot_be_started_by_id(client, world, login_as, exam_id):
    opens = utcnow().replace(microsecond=0) + timedelta(hours=2)
    set_window(exam_id, opens_at=opens)
    h = login_as(world.member_v1)
    r = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "exam_not_open"
    local = opens.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+08:00").tzinfo)
    assert r.json["error"]["message"] == f"测试尚未开始，{local:%Y年%m月%d日 %H:%M}开放"
    assert attempts_written() == 0
    detail = client.get(f"/api/learning/exams/{exam_id}", headers=h).json
    assert (detail["window"], detail["can_start"]) == ("not_open", False)
    assert datetime.fromisoformat(detail["opens_at"]) == opens


def test_a_closed_test_cannot_be_started_by_id(client, world, login_as, exam_id):
    set_window(exam_id, closes_at=utcnow() - timedelta(seconds=1))
    h = login_as(world.member_v1)
    r = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert r.status_code == 409 and r.json["error"] == {"code": "exam_closed", "message": "测试已截止", "fields": {}}
    assert attempts_written() == 0
    detail = client.get(f"/api/learning/exams/{exam_id}", headers=h).json
    assert (detail["window"], detail["can_start"]) == ("closed", False)


def test_inside_the_window_the_closing_time_caps_the_deadline(client, world, login_as, exam_id, monkeypatch):
    closes = utcnow().replace(microsecond=0) + timedelta(minutes=2)  # before start + 10 minutes
    set_window(exam_id, opens_at=utcnow() - timedelta(hours=1), closes_at=closes)
    h = login_as(world.member_v1)
    assert client.get(f"/api/learning/exams/{exam_id}", headers=h).json["window"] == "open"
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    assert datetime.fromisoformat(sheet["deadline_at"]) == closes
    # Within the grace after the closing time: graded as usual …
    monkeypatch.setattr(quiz, "utcnow", lambda: closes + timedelta(seconds=quiz.GRACE_S))
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": right_answers(sheet)}, headers=h)
    assert r.status_code == 200 and (r.json["late"], r.json["score"]) == (False, 10)
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 1


def test_a_submission_after_the_closing_time_earns_nothing(client, world, login_as, exam_id, monkeypatch):
    h = login_as(world.member_v1)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    started = datetime.fromisoformat(sheet["started_at"])
    # The window is shortened after the start: the closing time still counts for this attempt.
    closes = started + timedelta(minutes=1)
    set_window(exam_id, closes_at=closes)
    monkeypatch.setattr(quiz, "utcnow", lambda: closes + timedelta(seconds=quiz.GRACE_S + 1))
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": right_answers(sheet)}, headers=h)
    assert r.status_code == 200 and (r.json["late"], r.json["score"], r.json["correct_count"]) == (True, 0, 0)
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 0


def test_the_detail_carries_the_members_standing(client, world, login_as, exam_id):
    h = login_as(world.member_v1)
    detail = client.get(f"/api/learning/exams/{exam_id}", headers=h).json
    assert detail | {"id": 0} == {
        "id": 0,
        "title": "限时开放的测试",
        "question_count": 2,
        "full_score": 10,
        "time_limit_s": 600,
        "max_attempts": 2,
        "pass_score": 10,
        "daily_quiz": False,
        "deadline_at": None,
        "opens_at": None,
        "window": "open",
        "attempts_allowed": 2,
        "attempts_used": 0,
        "can_start": True,
        "last_attempt": None,
    }
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    detail = client.get(f"/api/learning/exams/{exam_id}", headers=h).json
    assert detail["attempts_used"] == 1 and detail["can_start"] is True
    assert detail["last_attempt"] | {"started_at": None} == {
        "id": sheet["id"],
        "attempt_no": 1,
        "started_at": None,
        "submitted_at": None,
        "open": True,
        "score": None,
        "passed": None,
        "late": False,
    }
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": right_answers(sheet)}, headers=h)
    assert r.status_code == 200
    last = client.get(f"/api/learning/exams/{exam_id}", headers=h).json["last_attempt"]
    assert (last["id"], last["open"], last["score"], last["passed"]) == (sheet["id"], False, 10, True)
    # Another member of the audience has a standing of their own; the managing department sees the test unattempted.
    for who in ("sec_v1", "member_v2", "town_a1_admin"):
        other = client.get(f"/api/learning/exams/{exam_id}", headers=login_as(getattr(world, who)))
        assert other.status_code == 200, who
        assert (other.json["attempts_used"], other.json["last_attempt"]) == (0, None), who


def test_the_detail_out_of_scope_is_not_found(client, world, login_as, exam_id):
    body = {"title": "一村测试", "draw": DRAW, "time_limit_s": 600, "audience_org_id": world.v1.id}
    village_exam = client.post("/api/learning/exams", json=body, headers=login_as(world.town_a1_admin)).json["id"]
    for who in ("member_v3", "member_v4", "town_a2_admin", "county_b_admin"):
        r = client.get(f"/api/learning/exams/{exam_id}", headers=login_as(getattr(world, who)))
        assert r.status_code == 404, who
    assert client.get(f"/api/learning/exams/{village_exam}", headers=login_as(world.member_v2)).status_code == 404
    assert client.get(f"/api/learning/exams/{village_exam}", headers=login_as(world.member_v1)).status_code == 200

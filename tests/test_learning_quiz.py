"""Question bank and tests: drawn by rule, graded on the server, answers never sent before the submit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import ExamAttempt, PointEntry, Question, db
from models.base import utcnow
from services import learning_points as points
from services import learning_quiz as quiz
from services.authz import Actor
from tests.test_learning_points import _concurrently


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


OPTIONS = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]


@pytest.fixture
def bank(client, world, login_as):
    h = login_as(world.town_a1_admin)
    made = []
    for i in range(5):
        body = {"kind": "single", "topic": "党章", "stem": f"单选{i}", "options": OPTIONS, "answer": ["ABCD"[i % 4]]}
        made.append(client.post("/api/learning/questions", json=body, headers=h))
    for i in range(3):
        body = {
            "kind": "multiple",
            "topic": "党章",
            "stem": f"多选{i}",
            "options": OPTIONS,
            "answer": ["A", "C"],
            "explanation": "见党章第一章",
        }
        made.append(client.post("/api/learning/questions", json=body, headers=h))
    for i in range(4):
        body = {"kind": "judge", "topic": "党史", "stem": f"判断{i}", "answer": ["T" if i % 2 else "F"]}
        made.append(client.post("/api/learning/questions", json=body, headers=h))
    assert all(r.status_code == 201 for r in made), [r.json for r in made]
    return h


DRAW = [
    {"kind": "single", "count": 3, "points": 2},
    {"kind": "multiple", "count": 2, "points": 5},
    {"kind": "judge", "topic": "党史", "count": 2, "points": 1},
]


def make_exam(client, h, **extra):
    body = {"title": "党章知识测试", "draw": DRAW, "time_limit_s": 600, "pass_score": 10, **extra}
    r = client.post("/api/learning/exams", json=body, headers=h)
    assert r.status_code == 201, r.json
    return r.json["id"]


def right_answers(attempt_json) -> dict:
    answers = {}
    for q in attempt_json["questions"]:
        answers[str(q["id"])] = db.session.get(Question, q["id"]).answer
    return answers


def test_question_validation(client, world, login_as):
    h = login_as(world.town_a1_admin)
    base = {"kind": "single", "topic": "党章", "stem": "题", "options": OPTIONS}
    r = client.post("/api/learning/questions", json=base | {"answer": ["A", "B"]}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"answer": ["单选题只有一个答案"]}
    r = client.post("/api/learning/questions", json=base | {"answer": ["E"]}, headers=h)
    assert r.status_code == 422 and "answer" in r.json["error"]["fields"]
    r = client.post("/api/learning/questions", json=base | {"kind": "multiple", "answer": ["A"]}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"answer": ["多选题至少两个答案"]}
    r = client.post("/api/learning/questions", json={**base, "kind": "judge", "answer": ["T"]}, headers=h)
    assert r.status_code == 201 and [o["key"] for o in r.json["options"]] == ["T", "F"]
    r = client.post("/api/learning/questions", json=base | {"answer": ["A"]}, headers=login_as(world.member_v1))
    assert r.status_code == 403


def test_exam_needs_enough_questions(client, world, bank):
    r = client.post(
        "/api/learning/exams",
        json={"title": "太多", "draw": [{"kind": "judge", "count": 9, "points": 1}], "time_limit_s": 600},
        headers=bank,
    )
    assert r.status_code == 422 and r.json["error"]["fields"] == {"draw.0.count": ["最多4"]}


def test_answers_never_leave_before_the_submit_and_grading_is_right(client, world, login_as, bank):
    exam_id = make_exam(client, bank)
    h = login_as(world.member_v1)
    r = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert r.status_code == 201
    sheet = r.json
    assert len(sheet["questions"]) == 7 and len({q["id"] for q in sheet["questions"]}) == 7
    text = json.dumps(sheet, ensure_ascii=False)
    assert '"answer"' not in text and "explanation" not in text and "见党章" not in text
    again = client.get(f"/api/learning/attempts/{sheet['id']}", headers=h).json
    assert '"answer"' not in json.dumps(again) and again["questions"] == sheet["questions"]
    retry = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    assert retry["id"] == sheet["id"]  # a retried start returns the open attempt
    answers = right_answers(sheet)
    wrong_multi = next(q["id"] for q in sheet["questions"] if q["kind"] == "multiple")
    answers[str(wrong_multi)] = ["A"]  # half right is wrong
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": answers}, headers=h)
    assert r.status_code == 200 and r.json["score"] == 3 * 2 + 5 + 2 * 1 and r.json["correct_count"] == 6
    graded = {q["id"]: q for q in r.json["questions"]}
    assert graded[wrong_multi]["correct"] is False and graded[wrong_multi]["answer"] == ["A", "C"]
    assert graded[wrong_multi]["explanation"] == "见党章第一章" and graded[wrong_multi]["given"] == ["A"]
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": answers}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "already_submitted"
    r = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "attempts_used"
    entry = db.session.scalar(select(PointEntry).where(PointEntry.member_id == world.member_v1.id))
    assert (entry.rule.code, entry.points, entry.source_id) == ("exam_pass", 5, sheet["id"])


def test_a_late_submission_scores_zero(client, world, login_as, bank, monkeypatch):
    exam_id = make_exam(client, bank)
    h = login_as(world.member_v1)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    later = utcnow() + timedelta(seconds=600 + quiz.GRACE_S + 1)
    monkeypatch.setattr(quiz, "utcnow", lambda: later)
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": right_answers(sheet)}, headers=h)
    assert r.status_code == 200 and r.json["late"] is True and r.json["score"] == 0
    assert db.session.scalar(select(PointEntry.id)) is None


def test_concurrent_submissions_grade_once(app, client, world, login_as, bank):
    exam_id = make_exam(client, bank, max_attempts=3)
    h = login_as(world.member_v1)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    answers, member_id = right_answers(sheet), world.member_v1.id
    db.session.commit()

    def work(i):
        from models import Member

        actor = Actor(db.session.get(Member, member_id))
        try:
            quiz.submit(actor, quiz.get_attempt_for(actor, sheet["id"]), answers)
            return "graded"
        except quiz.Conflict:
            return "refused"

    outcomes = _concurrently(app, 5, work)
    assert sorted(outcomes) == ["graded"] + ["refused"] * 4
    db.session.rollback()
    assert db.session.get(ExamAttempt, sheet["id"]).score == 18
    assert len(db.session.scalars(select(PointEntry)).all()) == 1


def test_daily_quiz_points_per_correct_answer(client, world, login_as, bank):
    exam_id = make_exam(client, bank, daily_quiz=True)
    h = login_as(world.member_v1)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": right_answers(sheet)}, headers=h)
    assert r.json["correct_count"] == 7
    assert points.summary(world.member_v1)["total"] == 6  # capped at 6 a day
    r = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "attempts_used"


def test_tests_and_attempts_out_of_scope(client, world, login_as, bank):
    exam_id = make_exam(client, bank)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=login_as(world.member_v1)).json
    for who in ("member_v3", "member_v4", "town_a2_admin", "county_b_admin"):
        h = login_as(getattr(world, who))
        assert client.get(f"/api/learning/exams/{exam_id}", headers=h).status_code == 404, who
        assert client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).status_code == 404, who
    for who in ("member_v2", "sec_v1", "town_a1_admin"):
        h = login_as(getattr(world, who))
        assert client.get(f"/api/learning/attempts/{sheet['id']}", headers=h).status_code == 404, who
        r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": {}}, headers=h)
        assert r.status_code == 404, who

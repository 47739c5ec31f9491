"""GET /api/learning/exams: the tests a member may take, with attempts allowed and used, the latest attempt's grade,
and the daily quiz's state for today; scoped like taking a test (audience on the member's path, published, open)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from models import Exam, ExamAttempt, Question, db
from models.base import utcnow
from services import learning_points as points

OPTIONS = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]
DRAW = [{"kind": "single", "count": 2, "points": 5}, {"kind": "judge", "count": 2, "points": 5}]  # full score 20


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


@pytest.fixture
def city_bank(client, world, login_as):
    """A bank owned by the city, so every department below can draw from it."""
    h = login_as(world.city_admin)
    for i in range(4):
        body = {"kind": "single", "topic": "党章", "stem": f"单选{i}", "options": OPTIONS, "answer": ["ABCD"[i]]}
        assert client.post("/api/learning/questions", json=body, headers=h).status_code == 201
        body = {"kind": "judge", "topic": "党史", "stem": f"判断{i}", "answer": ["T" if i % 2 else "F"]}
        assert client.post("/api/learning/questions", json=body, headers=h).status_code == 201


def publish(client, login_as, admin, title, **extra) -> int:
    body = {"title": title, "draw": DRAW, "time_limit_s": 600, "pass_score": 15, **extra}
    r = client.post("/api/learning/exams", json=body, headers=login_as(admin))
    assert r.status_code == 201, r.json
    return r.json["id"]


def my_exams(client, h, **query) -> dict:
    r = client.get("/api/learning/exams", query_string=query, headers=h)
    assert r.status_code == 200, r.json
    return r.json


def by_title(listing) -> dict[str, dict]:
    return {e["title"]: e for e in listing["items"]}


def answers(sheet: dict, right: int) -> dict:
    """The first `right` questions answered right, the rest wrong."""
    out = {}
    for i, q in enumerate(sheet["questions"]):
        answer = db.session.get(Question, q["id"]).answer
        out[str(q["id"])] = answer if i < right else [next(o["key"] for o in q["options"] if [o["key"]] != answer)]
    return out


def submit(client, h, sheet: dict, right: int) -> dict:
    r = client.post(f"/api/learning/attempts/{sheet['id']}/submit", json={"answers": answers(sheet, right)}, headers=h)
    assert r.status_code == 200, r.json
    return r.json


def sit(client, h, exam_id, right: int) -> dict:
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert sheet.status_code == 201, sheet.json
    return submit(client, h, sheet.json, right)


def test_a_member_sees_the_tests_meant_for_them_and_no_other_branch_township_or_county(
    client, world, login_as, city_bank
):
    publish(client, login_as, world.town_a1_admin, "甲一镇测试")
    publish(client, login_as, world.town_a1_admin, "一村测试", audience_org_id=world.v1.id)
    publish(client, login_as, world.county_a_admin, "甲县测试")
    publish(client, login_as, world.county_b_admin, "乙县测试")
    withdrawn = publish(client, login_as, world.town_a1_admin, "已撤回的测试")
    r = client.post(f"/api/learning/exams/{withdrawn}/withdraw", headers=login_as(world.town_a1_admin))
    assert r.status_code == 200, r.json

    def titles(member) -> set[str]:
        return set(by_title(my_exams(client, login_as(member))))

    assert titles(world.member_v1) == {"甲一镇测试", "一村测试", "甲县测试"}
    assert titles(world.sec_v1) == {"甲一镇测试", "一村测试", "甲县测试"}
    assert titles(world.member_v2) == {"甲一镇测试", "甲县测试"}  # a foreign branch of the same township
    assert titles(world.member_v3) == {"甲县测试"}  # a sibling township
    assert titles(world.member_v4) == {"乙县测试"}  # a sibling county
    # A department sees the tests it may take as a member, not the ones it manages (those are /manage/exams).
    assert titles(world.town_a1_admin) == {"甲一镇测试", "甲县测试"}
    assert titles(world.county_b_admin) == {"乙县测试"}
    assert client.get("/api/learning/exams").status_code == 401


def test_the_window_and_the_order(client, world, login_as, city_bank):
    now = utcnow()
    later = publish(client, login_as, world.town_a1_admin, "下周截止")
    sooner = publish(client, login_as, world.town_a1_admin, "明天截止")
    publish(client, login_as, world.town_a1_admin, "长期有效")
    closed = publish(client, login_as, world.town_a1_admin, "已截止")
    not_yet = publish(client, login_as, world.town_a1_admin, "尚未开始")
    publish(client, login_as, world.town_a1_admin, "每日答题", daily_quiz=True)
    for exam_id, field, at in (
        (later, "closes_at", now + timedelta(days=7)),
        (sooner, "closes_at", now + timedelta(days=1)),
        (closed, "closes_at", now - timedelta(minutes=1)),
        (not_yet, "opens_at", now + timedelta(hours=1)),
    ):
        setattr(db.session.get(Exam, exam_id), field, at)
    db.session.commit()
    listing = my_exams(client, login_as(world.member_v1))
    assert [e["title"] for e in listing["items"]] == ["每日答题", "明天截止", "下周截止", "长期有效"]
    assert listing["meta"] == {"total": 4, "page": 1, "per_page": 20}
    exams = by_title(listing)
    assert exams["明天截止"]["deadline_at"].endswith("+08:00") and exams["长期有效"]["deadline_at"] is None
    assert exams["长期有效"] | {"id": 0} == {
        "id": 0,
        "title": "长期有效",
        "question_count": 4,
        "full_score": 20,
        "time_limit_s": 600,
        "max_attempts": 1,
        "pass_score": 15,
        "daily_quiz": False,
        "deadline_at": None,
        "attempts_allowed": 1,
        "attempts_used": 0,
        "can_start": True,
        "last_attempt": None,
    }
    second = my_exams(client, login_as(world.member_v1), page=2, per_page=3)
    assert [e["title"] for e in second["items"]] == ["长期有效"] and second["meta"]["total"] == 4


def test_attempts_are_counted_and_the_latest_one_graded(client, world, login_as, city_bank):
    exam_id = publish(client, login_as, world.town_a1_admin, "两次机会", max_attempts=2)
    h = login_as(world.member_v1)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    exam = by_title(my_exams(client, h))["两次机会"]
    assert (exam["attempts_allowed"], exam["attempts_used"], exam["can_start"]) == (2, 1, True)
    assert exam["last_attempt"] | {"started_at": None} == {
        "id": sheet["id"],
        "attempt_no": 1,
        "started_at": None,
        "submitted_at": None,
        "open": True,
        "score": None,
        "passed": None,
        "late": False,
    }

    failed = submit(client, h, sheet, right=0)
    exam = by_title(my_exams(client, h))["两次机会"]
    assert exam["attempts_used"] == 1 and exam["can_start"] is True
    last = exam["last_attempt"]
    assert (last["id"], last["open"], last["score"], last["passed"]) == (sheet["id"], False, 0, False)
    assert last["submitted_at"] is not None and failed["score"] == 0

    passed = sit(client, h, exam_id, right=4)
    exam = by_title(my_exams(client, h))["两次机会"]
    assert (exam["attempts_used"], exam["can_start"]) == (2, False)
    assert exam["last_attempt"]["id"] == passed["id"] and exam["last_attempt"]["attempt_no"] == 2
    assert (exam["last_attempt"]["score"], exam["last_attempt"]["passed"]) == (20, True)
    # The list says what the server will do: a third start is refused.
    r = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "attempts_used"
    # Another member's attempts are not this member's.
    other = by_title(my_exams(client, login_as(world.sec_v1)))["两次机会"]
    assert (other["attempts_used"], other["last_attempt"], other["can_start"]) == (0, None, True)


def test_a_failed_and_an_abandoned_attempt(client, world, login_as, city_bank):
    exam_id = publish(client, login_as, world.town_a1_admin, "一次机会")
    h = login_as(world.member_v1)
    sheet = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=h).json
    db.session.get(ExamAttempt, sheet["id"]).deadline_at = utcnow() - timedelta(minutes=1)  # never submitted
    db.session.commit()
    exam = by_title(my_exams(client, h))["一次机会"]
    assert (exam["attempts_used"], exam["can_start"]) == (1, False)
    last = exam["last_attempt"]
    assert (last["open"], last["submitted_at"], last["score"], last["passed"]) == (False, None, None, None)

    other = publish(client, login_as, world.town_a1_admin, "不及格")
    graded = sit(client, login_as(world.member_v2), other, right=2)
    exam = by_title(my_exams(client, login_as(world.member_v2)))["不及格"]
    assert graded["score"] == 10 and exam["last_attempt"]["score"] == 10 and exam["last_attempt"]["passed"] is False


def test_the_daily_quiz_once_a_day(client, world, login_as, city_bank):
    quiz_id = publish(client, login_as, world.town_a1_admin, "每日答题", daily_quiz=True)
    h = login_as(world.member_v1)
    daily = by_title(my_exams(client, h))["每日答题"]
    assert daily["daily_quiz"] is True and (daily["attempts_allowed"], daily["attempts_used"]) == (1, 0)
    assert daily["can_start"] is True and daily["last_attempt"] is None

    today = sit(client, h, quiz_id, right=4)
    daily = by_title(my_exams(client, h))["每日答题"]
    assert (daily["attempts_used"], daily["can_start"]) == (1, False)
    assert daily["last_attempt"]["id"] == today["id"] and daily["last_attempt"]["passed"] is True
    assert client.post(f"/api/learning/exams/{quiz_id}/attempts", headers=h).status_code == 409

    # The next business day: today's count starts again, yesterday's grade is still the latest.
    db.session.get(ExamAttempt, today["id"]).day = points.business_day() - timedelta(days=1)
    db.session.commit()
    daily = by_title(my_exams(client, h))["每日答题"]
    assert (daily["attempts_used"], daily["can_start"]) == (0, True) and daily["last_attempt"]["id"] == today["id"]
    tomorrow = sit(client, h, quiz_id, right=1)
    daily = by_title(my_exams(client, h))["每日答题"]
    assert (daily["attempts_used"], daily["can_start"]) == (1, False)
    assert daily["last_attempt"]["id"] == tomorrow["id"] and daily["last_attempt"]["attempt_no"] == 2


def test_attempts_are_read_per_page_not_per_test(client, world, login_as, city_bank):
    h = login_as(world.member_v1)

    def attempt_statements() -> int:
        seen = []

        def on_execute(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", on_execute)
        try:
            listing = my_exams(client, h)
        finally:
            event.remove(db.engine, "before_cursor_execute", on_execute)
        assert all(e["last_attempt"] is not None for e in listing["items"])
        return sum("learning_exam_attempts" in s for s in seen)

    sit(client, h, publish(client, login_as, world.town_a1_admin, "第一个"), right=1)
    one = attempt_statements()
    for i in range(4):
        sit(client, h, publish(client, login_as, world.town_a1_admin, f"又一个{i}"), right=1)
    assert attempt_statements() == one == 2

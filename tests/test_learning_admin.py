"""Editing the question bank, tests and point rules: field-named validation, versions that keep past attempts'
grading, audit entries, and scope (outsiders 404, members of the audience 403, rules for the city only)."""

# ruff: noqa: F811 - the `bank` fixture is imported from the quiz tests and named as a parameter

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEntry, PointEntry, PointRule, Question, db
from services import learning_points as points
from services.authz import Actor
from tests.test_learning_quiz import DRAW, OPTIONS, bank, make_exam, right_answers  # noqa: F401 - fixtures

Q = "/api/learning/questions"


def audit_actions(since: int = 0) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.id > since).order_by(AuditEntry.id)))


def last_audit_id() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.max(AuditEntry.id))) or 0


def question_ids(client, h, **query) -> list[int]:
    r = client.get(Q, query_string=query, headers=h)
    assert r.status_code == 200, r.json
    return [q["id"] for q in r.json["items"]]


# ---------------------------------------------------------------- questions


def test_bank_lists_the_subtree_only(client, world, login_as, bank):
    mine = question_ids(client, bank, per_page=100)
    assert len(mine) == 12
    assert question_ids(client, login_as(world.county_a_admin), per_page=100) == mine
    assert question_ids(client, login_as(world.town_a2_admin)) == []
    assert len(question_ids(client, bank, kind="judge")) == 4
    assert len(question_ids(client, bank, q="多选")) == 3
    r = client.get(Q, headers=login_as(world.member_v1))
    assert r.status_code == 403
    r = client.get(f"{Q}/pool", headers=bank)
    counts = {(x["kind"], x["topic"]): x["count"] for x in r.json["items"]}
    assert counts == {("single", "党章"): 5, ("multiple", "党章"): 3, ("judge", "党史"): 4}
    # the pool of a test owned above the department's own organisation is not the department's to ask about
    r = client.get(f"{Q}/pool?owner_org_id={world.city.id}", headers=bank)
    assert r.status_code == 422 and "owner_org_id" in r.json["error"]["fields"]
    r = client.get(f"{Q}/pool?owner_org_id={world.v1.id}", headers=bank)  # a branch's test draws from the banks above
    assert sum(x["count"] for x in r.json["items"]) == 12


def test_edit_validation_names_fields(client, world, login_as, bank):
    qid = question_ids(client, bank, kind="single")[0]
    r = client.patch(f"{Q}/{qid}", json={"answer": ["A", "B"]}, headers=bank)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"answer": ["单选题只有一个答案"]}
    r = client.patch(f"{Q}/{qid}", json={"kind": "multiple"}, headers=bank)  # one answer left: not a multiple
    assert r.status_code == 422 and "answer" in r.json["error"]["fields"]
    r = client.patch(
        f"{Q}/{qid}", json={"options": [{"key": "A", "text": "x"}, {"key": "A", "text": "y"}]}, headers=bank
    )
    assert r.status_code == 422 and "options" in r.json["error"]["fields"]
    r = client.patch(f"{Q}/{qid}", json={"topic": ""}, headers=bank)
    assert r.status_code == 422 and "topic" in r.json["error"]["fields"]
    assert db.session.get(Question, qid).replaced_by_id is None


def test_in_place_edit_and_new_version(client, world, login_as, bank):
    qid = question_ids(client, bank, kind="single")[0]
    since = last_audit_id()
    r = client.patch(f"{Q}/{qid}", json={"stem": "改过的题干", "explanation": "解析"}, headers=bank)
    assert r.status_code == 200 and r.json["id"] == qid and r.json["stem"] == "改过的题干"
    r = client.patch(f"{Q}/{qid}", json={"stem": "改过的题干"}, headers=bank)  # nothing changed: no audit
    old_answer = db.session.get(Question, qid).answer
    new_answer = ["B"] if old_answer != ["B"] else ["C"]
    r = client.patch(f"{Q}/{qid}", json={"answer": new_answer}, headers=bank)
    new_id = r.json["id"]
    assert r.status_code == 200 and new_id != qid and r.json["answer"] == new_answer
    assert r.json["stem"] == "改过的题干" and r.json["explanation"] == "解析" and r.json["active"] is True
    db.session.rollback()
    old = db.session.get(Question, qid)
    assert (old.active, old.replaced_by_id, old.answer) == (False, new_id, old_answer)
    assert qid not in question_ids(client, bank, per_page=100) and new_id in question_ids(client, bank, per_page=100)
    r = client.patch(f"{Q}/{qid}", json={"stem": "再改旧版"}, headers=bank)
    assert r.status_code == 409 and r.json["error"]["code"] == "question_replaced"
    assert audit_actions(since) == ["learning.question.update", "learning.question.update"]


def test_retire_and_restore(client, world, login_as, bank):
    exam_id = make_exam(client, bank)
    judges = question_ids(client, bank, kind="judge")
    for qid in judges[:3]:
        r = client.post(f"{Q}/{qid}/retire", headers=bank)
        assert r.status_code == 200 and r.json["active"] is False
    # a draw rule asking for more than the bank now holds
    r = client.patch(f"/api/learning/exams/{exam_id}", json={"draw": DRAW}, headers=bank)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"draw.2.count": ["最多1"]}
    assert client.post(f"{Q}/{judges[0]}/restore", headers=bank).json["active"] is True
    r = client.patch(f"/api/learning/exams/{exam_id}", json={"draw": DRAW}, headers=bank)
    assert r.status_code == 200, r.json


# ---------------------------------------------------------------- tests (exams)


def test_draw_rule_validation(client, world, login_as, bank):
    exam_id = make_exam(client, bank)
    url = f"/api/learning/exams/{exam_id}"
    single = {"kind": "single", "count": 4, "points": 2}
    cases = [
        ([{"kind": "single", "count": 6, "points": 2}], {"draw.0.count": ["最多5"]}),
        ([single, {"kind": "single", "topic": "党章", "count": 2, "points": 2}], {"draw.1.count": ["单选题合计最多5"]}),
        (
            [single, {"kind": "single", "topic": "党章", "count": 1, "points": 3}],
            {"draw.1.points": ["应与同题型其他规则相同"]},
        ),
        ([single, {"kind": "single", "count": 1, "points": 2}], {"draw.1.topic": ["与前面的规则重复"]}),
        ([{"kind": "judge", "topic": "经济", "count": 1, "points": 1}], {"draw.0.count": ["最多0"]}),
    ]
    for draw, fields in cases:
        r = client.patch(url, json={"draw": draw}, headers=bank)
        assert r.status_code == 422 and r.json["error"]["fields"] == fields, (draw, r.json)
    r = client.patch(url, json={"pass_score": 1000}, headers=bank)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"pass_score": ["不能高于18"]}
    r = client.patch(url, json={"draw": [{"kind": "single", "count": 2}]}, headers=bank)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"draw.0.points": ["此项必填"]}


def test_editing_keeps_past_grading(client, world, login_as, bank):
    exam_id = make_exam(client, bank)
    hm = login_as(world.member_v1)
    attempt = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=hm).json
    # open attempt: the draw rules and pass mark cannot change, the title can
    url = f"/api/learning/exams/{exam_id}"
    r = client.patch(url, json={"pass_score": 5}, headers=bank)
    assert r.status_code == 409 and r.json["error"]["code"] == "attempts_open"
    assert client.patch(url, json={"title": "新标题"}, headers=bank).status_code == 200
    answers = right_answers(attempt)
    done = client.post(f"/api/learning/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=hm).json
    assert done["score"] == 18
    before = client.get(f"/api/learning/attempts/{attempt['id']}", headers=hm).json
    # now change every graded question's answer and the points of every rule
    for q in attempt["questions"]:
        question = db.session.get(Question, q["id"])
        kind, answer = question.kind.value, question.answer
        new = {"single": ["D"] if answer != ["D"] else ["A"], "judge": ["T"] if answer == ["F"] else ["F"]}.get(
            kind, ["A", "B"] if answer != ["A", "B"] else ["B", "C"]
        )
        r = client.patch(f"{Q}/{q['id']}", json={"answer": new}, headers=bank)
        assert r.status_code == 200 and r.json["id"] != q["id"]
    new_draw = [{**rule, "points": rule["points"] + 1} for rule in DRAW]
    r = client.patch(url, json={"draw": new_draw, "pass_score": 20, "max_attempts": 2}, headers=bank)
    assert r.status_code == 200, r.json
    assert r.json["full_score"] == 25 and r.json["attempts"] == 1 and r.json["submitted"] == 1
    after = client.get(f"/api/learning/attempts/{attempt['id']}", headers=hm).json
    assert after == before  # score, answers, correct flags and explanations as graded
    # a new attempt draws only current versions, and is graded by the new rules
    second = client.post(f"/api/learning/exams/{exam_id}/attempts", headers=hm).json
    drawn = [db.session.get(Question, q["id"]) for q in second["questions"]]
    assert all(q.replaced_by_id is None and q.active for q in drawn)
    graded = client.post(
        f"/api/learning/attempts/{second['id']}/submit", json={"answers": right_answers(second)}, headers=hm
    ).json
    assert graded["score"] == 25


def test_withdraw_and_publish(client, world, login_as, bank):
    exam_id = make_exam(client, bank)
    hm = login_as(world.member_v1)
    since = last_audit_id()
    r = client.post(f"/api/learning/exams/{exam_id}/withdraw", headers=bank)
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    assert client.get(f"/api/learning/exams/{exam_id}", headers=hm).status_code == 404
    assert client.post(f"/api/learning/exams/{exam_id}/withdraw", headers=bank).status_code == 409
    r = client.get("/api/learning/manage/exams?status=withdrawn", headers=bank)
    assert [e["id"] for e in r.json["items"]] == [exam_id]
    assert client.post(f"/api/learning/exams/{exam_id}/publish", headers=bank).json["status"] == "published"
    assert client.get(f"/api/learning/exams/{exam_id}", headers=hm).status_code == 200
    assert audit_actions(since) == ["learning.exam.withdraw", "learning.exam.publish"]


# ---------------------------------------------------------------- point rules


def test_point_rules_edited_by_the_city(client, world, login_as):
    member = world.member_v1
    assert points.grant(member, "article_read", unique_key="a1", source_type="lesson").points == 1
    db.session.commit()
    h = login_as(world.city_admin)
    since = last_audit_id()
    r = client.patch("/api/learning/points/rules/article_read", json={"points": 2, "daily_cap": 3}, headers=h)
    assert r.status_code == 200 and (r.json["points"], r.json["daily_cap"]) == (2, 3)
    assert audit_actions(since) == ["learning.point_rule.update"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.id > since))
    assert entry.detail == {"code": "article_read", "changes": {"points": [1, 2], "daily_cap": [6, 3]}}
    # the ledger keeps what was granted; the cap counts it: 1 + 2 = 3
    assert points.grant(member, "article_read", unique_key="a2", source_type="lesson").points == 2
    assert points.grant(member, "article_read", unique_key="a3", source_type="lesson").outcome == "capped"
    db.session.commit()
    assert [e.points for e in db.session.scalars(select(PointEntry).order_by(PointEntry.id))] == [1, 2]
    r = client.patch("/api/learning/points/rules/login", json={"active": False}, headers=h)
    assert r.json["active"] is False
    assert points.daily_login(Actor(member)).outcome == "inactive"
    r = client.patch("/api/learning/points/rules/media_time", json={"daily_cap": None, "unit_s": 300}, headers=h)
    assert r.status_code == 200 and (r.json["daily_cap"], r.json["unit_s"]) == (None, 300)


def test_point_rule_validation(client, world, login_as):
    h = login_as(world.super)
    url = "/api/learning/points/rules"
    for code, body, field in [
        ("article_read", {"daily_cap": 0}, "daily_cap"),
        ("exam_pass", {"daily_cap": 3}, "daily_cap"),  # 5 points a pass, cap 3
        ("login", {"unit_s": 60}, "unit_s"),
        ("media_time", {"unit_s": None}, "unit_s"),
        ("login", {"points": 0}, "points"),
        ("login", {"code": "x"}, "code"),
    ]:
        r = client.patch(f"{url}/{code}", json=body, headers=h)
        assert r.status_code == 422 and field in r.json["error"]["fields"], (code, body, r.json)
    assert client.patch(f"{url}/correction", json={"points": 1}, headers=h).status_code == 404
    assert client.patch(f"{url}/nothing", json={"points": 1}, headers=h).status_code == 404
    rule = db.session.scalar(select(PointRule).where(PointRule.code == "exam_pass"))
    assert (rule.points, rule.daily_cap) == (5, 10)


@pytest.mark.parametrize("actor_name", ["county_a_admin", "town_a1_admin", "sec_v1", "member_v1"])
def test_point_rules_are_the_citys(client, world, login_as, actor_name):
    since = last_audit_id()
    r = client.patch(
        "/api/learning/points/rules/login", json={"points": 5}, headers=login_as(getattr(world, actor_name))
    )
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert audit_actions(since) == ["auth.login"]
    assert db.session.scalar(select(PointRule.points).where(PointRule.code == "login")) == 1


# ---------------------------------------------------------------- scope


@pytest.fixture
def owned(client, world, login_as, bank):
    """A question and a test of township A1's department; the test is for branch v1 only."""
    exam_id = make_exam(client, bank, audience_org_id=world.v1.id)
    return {"question": question_ids(client, bank)[0], "exam": exam_id}


OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"]
ENDPOINTS = [
    ("question", "get", lambda s: f"{Q}/{s['question']}", None),
    ("question edit", "patch", lambda s: f"{Q}/{s['question']}", {"stem": "x"}),
    ("question retire", "post", lambda s: f"{Q}/{s['question']}/retire", None),
    ("question restore", "post", lambda s: f"{Q}/{s['question']}/restore", None),
    ("exam settings", "get", lambda s: f"/api/learning/manage/exams/{s['exam']}", None),
    ("exam edit", "patch", lambda s: f"/api/learning/exams/{s['exam']}", {"title": "x"}),
    ("exam withdraw", "post", lambda s: f"/api/learning/exams/{s['exam']}/withdraw", None),
    ("exam publish", "post", lambda s: f"/api/learning/exams/{s['exam']}/publish", None),
]


@pytest.mark.parametrize("actor_name", OUTSIDERS)
@pytest.mark.parametrize("name, method, url, body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_outsiders_get_404(client, world, login_as, owned, actor_name, name, method, url, body):
    h = login_as(getattr(world, actor_name))
    since = last_audit_id()
    r = getattr(client, method)(url(owned), json=body, headers=h)
    assert r.status_code == 404, (name, actor_name, r.status_code, r.json)
    assert r.json["error"]["code"] == "not_found"
    assert audit_actions(since) == []


@pytest.mark.parametrize("name, method, url, body", ENDPOINTS[4:], ids=[e[0] for e in ENDPOINTS[4:]])
def test_the_audience_may_not_manage(client, world, login_as, owned, name, method, url, body):
    r = getattr(client, method)(url(owned), json=body, headers=login_as(world.member_v1))
    assert r.status_code == 403, (name, r.status_code, r.json)


@pytest.mark.parametrize("actor_name", ["town_a1_admin", "county_a_admin", "city_admin", "super"])
@pytest.mark.parametrize("name, method, url, body", ENDPOINTS[:2] + ENDPOINTS[4:6], ids=["q", "q edit", "e", "e edit"])
def test_insiders_get_through(client, world, login_as, owned, actor_name, name, method, url, body):
    r = getattr(client, method)(url(owned), json=body, headers=login_as(getattr(world, actor_name)))
    assert r.status_code == 200, (name, actor_name, r.status_code, r.json)


# Lists and the pool: departments elsewhere get 404 for the organisation (422 for a test owner out of reach, as
# creating a test does); people who are no department get 403, as for every publishing endpoint.
LIST_REFUSALS = {"sec_v2": (403, 403, 403), "member_v2": (403, 403, 403)}


@pytest.mark.parametrize("actor_name", OUTSIDERS)
def test_outsiders_see_no_bank(client, world, login_as, owned, actor_name):
    h = login_as(getattr(world, actor_name))
    got = (
        client.get(f"{Q}?org_id={world.town_a1.id}", headers=h).status_code,
        client.get(f"/api/learning/manage/exams?org_id={world.town_a1.id}", headers=h).status_code,
        client.get(f"{Q}/pool?owner_org_id={world.town_a1.id}", headers=h).status_code,
    )
    assert got == LIST_REFUSALS.get(actor_name, (404, 404, 422))

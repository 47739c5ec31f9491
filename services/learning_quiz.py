"""Question bank and tests, graded on the server.

A test draws its questions at random by rule (count per kind and topic) from the bank of its owner organisation and
the organisations above it. The client receives stems and options only; the answers and explanations come back
after the attempt is submitted. An attempt has a deadline (start + time limit, plus a small grace for the network);
a submission after it scores 0 and is marked late. A test with a window (`opens_at`/`closes_at`) is started only
inside it, and its closing time caps the deadline (a submission after closes_at + grace is late, as above). A
submission is accepted once: the closing UPDATE only matches an open attempt, so a second (or concurrent) one gets
409. Passing a test earns `exam_pass`; a daily quiz earns `daily_quiz` per correct answer (caps apply).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from models import CourseStatus, Exam, ExamAttempt, Organisation, Question, QuestionKind, Role, db
from models.base import utcnow
from services import audit
from services import learning_points as points
from services.authz import Actor
from services.errors import Conflict, Invalid, NotFound
from services.learning_content import ancestor_ids, manages_org, require_publisher

GRACE_S = 15
JUDGE_OPTIONS = [{"key": "T", "text": "正确"}, {"key": "F", "text": "错误"}]


def _owner(actor: Actor, org_id: int | None, field: str) -> Organisation:
    require_publisher(actor)
    root = actor.scope_root()
    org = db.session.get(Organisation, org_id or (root.id if root else 0))
    if org is None or not manages_org(actor, org):
        raise Invalid("只能选择本级及下级组织", fields={field: ["只能选择本级及下级组织"]})
    return org


def _check_question(kind: QuestionKind, options: list[dict], answer: list[str]) -> list[dict]:
    if kind == QuestionKind.JUDGE:
        options = JUDGE_OPTIONS
    keys = [o["key"] for o in options]
    if len(keys) < 2 or len(set(keys)) != len(keys):
        raise Invalid("选项至少两个且不能重复", fields={"options": ["选项至少两个且不能重复"]})
    if not answer or not set(answer) <= set(keys) or len(set(answer)) != len(answer):
        raise Invalid("答案应为选项中的字母", fields={"answer": ["答案应为选项中的字母"]})
    if kind != QuestionKind.MULTIPLE and len(answer) != 1:
        raise Invalid(f"{kind.label}只有一个答案", fields={"answer": [f"{kind.label}只有一个答案"]})
    if kind == QuestionKind.MULTIPLE and len(answer) < 2:
        raise Invalid("多选题至少两个答案", fields={"answer": ["多选题至少两个答案"]})
    return options


def create_question(actor: Actor, data: dict) -> Question:
    """Adds a question to the bank of the actor's department (or one below). Writes the question; audited."""
    org = _owner(actor, data.get("owner_org_id"), "owner_org_id")
    options = _check_question(data["kind"], data.get("options") or [], data["answer"])
    q = Question(
        owner_org_id=org.id,
        kind=data["kind"],
        topic=data["topic"],
        stem=data["stem"],
        options=options,
        answer=sorted(data["answer"]),
        explanation=data.get("explanation"),
        created_by=actor.id,
    )
    db.session.add(q)
    db.session.flush()
    audit.record(actor, "learning.question.create", "learning_question", q.id)
    return q


def _pool(exam_owner: Organisation, kind: QuestionKind, topic: str | None):
    stmt = select(Question.id).where(
        Question.owner_org_id.in_(ancestor_ids(exam_owner)), Question.kind == kind, Question.active.is_(True)
    )
    return stmt.where(Question.topic == topic) if topic else stmt


def create_exam(actor: Actor, data: dict) -> Exam:
    """A published test for the members of `audience_org_id`'s subtree; every draw rule must be satisfiable by the
    bank now. Writes the test; audited."""
    owner = _owner(actor, data.get("owner_org_id"), "owner_org_id")
    audience = _owner(actor, data.get("audience_org_id") or owner.id, "audience_org_id")
    if not audience.path.startswith(owner.path):
        raise Invalid("参考对象应在发布组织范围内", fields={"audience_org_id": ["应在发布组织范围内"]})
    for i, rule in enumerate(data["draw"]):
        have = db.session.scalar(
            select(func.count()).select_from(_pool(owner, rule["kind"], rule.get("topic")).subquery())
        )
        if have < rule["count"]:
            raise Invalid(
                f"题库中符合第{i + 1}条抽题规则的题目只有{have}道", fields={f"draw.{i}.count": [f"最多{have}"]}
            )
    exam = Exam(
        title=data["title"],
        owner_org_id=owner.id,
        audience_org_id=audience.id,
        draw=[{**r, "kind": r["kind"].value, "topic": r.get("topic")} for r in data["draw"]],
        time_limit_s=data["time_limit_s"],
        max_attempts=data.get("max_attempts", 1),
        pass_score=data.get("pass_score", 60),
        daily_quiz=data.get("daily_quiz", False),
        status=CourseStatus.PUBLISHED,
        created_by=actor.id,
    )
    db.session.add(exam)
    db.session.flush()
    audit.record(actor, "learning.exam.create", "learning_exam", exam.id)
    return exam


def get_exam_for(actor: Actor, exam_id: int) -> Exam:
    """A published test meant for the actor (or one the actor manages); anything else is NotFound."""
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        raise NotFound("测试不存在")
    owner = db.session.get(Organisation, exam.owner_org_id)
    mine = exam.status == CourseStatus.PUBLISHED and exam.audience_org_id in ancestor_ids(actor.member.org)
    if not (mine or (actor.role in (Role.DEPT_ADMIN, Role.SUPER_ADMIN) and manages_org(actor, owner))):
        raise NotFound("测试不存在")
    return exam


def window_state(exam: Exam, now: datetime) -> str:
    """ "not_open" before `opens_at`, "closed" from `closes_at` on, else "open" (either may be unset)."""
    if exam.opens_at is not None and now < exam.opens_at:
        return "not_open"
    if exam.closes_at is not None and now >= exam.closes_at:
        return "closed"
    return "open"


def check_window(exam: Exam, now: datetime) -> None:
    """Conflict unless the test's window is open at `now`."""
    state = window_state(exam, now)
    if state == "not_open":
        local = exam.opens_at.astimezone(current_app.config["SETTINGS"].zone).strftime("%Y年%m月%d日 %H:%M")
        raise Conflict(f"测试尚未开始，{local}开放", code="exam_not_open")
    if state == "closed":
        raise Conflict("测试已截止", code="exam_closed")


def _deadline(exam: Exam, started_at: datetime) -> datetime:
    """Start + time limit, or the test's closing time if that comes first."""
    deadline = started_at + timedelta(seconds=exam.time_limit_s)
    return min(deadline, exam.closes_at) if exam.closes_at is not None else deadline


def start_attempt(actor: Actor, exam: Exam) -> ExamAttempt:
    """Returns the open attempt if there is one (a retried start), else draws a new one; a daily quiz once a day;
    only while the test's window is open (409 otherwise). Writes the attempt."""
    now, member = utcnow(), actor.member
    check_window(exam, now)
    mine = select(ExamAttempt).where(ExamAttempt.exam_id == exam.id, ExamAttempt.member_id == member.id)
    attempts = list(db.session.scalars(mine.order_by(ExamAttempt.attempt_no)))
    open_ = [a for a in attempts if a.submitted_at is None and a.deadline_at > now]
    if open_:
        return open_[0]
    day = points.business_day(now)
    if exam.daily_quiz and any(a.day == day for a in attempts):
        raise Conflict("今天已经答过题了，明天再来", code="attempts_used")
    if not exam.daily_quiz and len(attempts) >= exam.max_attempts:
        raise Conflict(f"本测试最多可参加{exam.max_attempts}次", code="attempts_used")
    owner = db.session.get(Organisation, exam.owner_org_id)
    rng, ids = random.SystemRandom(), []
    for rule in exam.draw:
        pool = list(db.session.scalars(_pool(owner, QuestionKind(rule["kind"]), rule.get("topic"))))
        left = sorted(set(pool) - set(ids))  # two rules may share questions: never the same one twice
        ids += rng.sample(left, min(rule["count"], len(left)))
    attempt = ExamAttempt(
        exam_id=exam.id,
        member_id=member.id,
        attempt_no=len(attempts) + 1,
        day=day,
        question_ids=ids,
        started_at=now,
        deadline_at=_deadline(exam, now),
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        raise Conflict("测试已在另一台设备上开始，请刷新", code="attempt_started") from None
    return attempt


def get_attempt_for(actor: Actor, attempt_id: int) -> ExamAttempt:
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None or attempt.member_id != actor.id:
        raise NotFound("答题记录不存在")
    return attempt


def questions_of(attempt: ExamAttempt) -> list[Question]:
    by_id = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(attempt.question_ids)))}
    return [by_id[i] for i in attempt.question_ids if i in by_id]


def _points_per_question(exam: Exam, question: Question) -> int:
    for rule in exam.draw:
        if rule["kind"] == question.kind.value and rule.get("topic") in (None, question.topic):
            return rule["points"]
    return 0


def submit(actor: Actor, attempt: ExamAttempt, answers: dict[str, list[str]]) -> ExamAttempt:
    """Grades an open attempt once (a second submission: 409). Late: scored 0 and marked. Writes the grade and the
    points earned (flush only)."""
    now = utcnow()
    exam = db.session.get(Exam, attempt.exam_id)
    # The closing time counts even for an attempt started before the test's window was shortened.
    deadline = min(attempt.deadline_at, exam.closes_at) if exam.closes_at is not None else attempt.deadline_at
    late = now > deadline + timedelta(seconds=GRACE_S)
    qs = questions_of(attempt)
    given = {str(q.id): sorted(set(answers.get(str(q.id)) or [])) for q in qs}
    correct = [q for q in qs if given[str(q.id)] == sorted(q.answer)]
    score = 0 if late else sum(_points_per_question(exam, q) for q in correct)
    closed = db.session.execute(
        update(ExamAttempt)
        .where(ExamAttempt.id == attempt.id, ExamAttempt.submitted_at.is_(None))
        .values(submitted_at=now, answers=given, score=score, correct_count=0 if late else len(correct), late=late)
    )
    if closed.rowcount != 1:
        raise Conflict("本次测试已经交卷", code="already_submitted")
    db.session.refresh(attempt)
    if not late and exam.daily_quiz and correct:
        points.grant(
            actor.member,
            "daily_quiz",
            unique_key=f"quiz:{attempt.id}",
            source_type="exam_attempt",
            source_id=attempt.id,
            units=len(correct),
        )
    elif not late and not exam.daily_quiz and score >= exam.pass_score:
        points.grant(
            actor.member,
            "exam_pass",
            unique_key=f"exam:{exam.id}:{actor.id}",
            source_type="exam_attempt",
            source_id=attempt.id,
        )
    return attempt

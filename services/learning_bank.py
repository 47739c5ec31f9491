"""Editing the question bank and the tests drawn from it, for organisation departments within their subtree.

Questions: a department manages the questions owned in its subtree (a test draws from the bank of its owner
organisation and every organisation above it). An edit that changes what grading reads (kind, options, answer)
never rewrites a question that attempts may have drawn: the edit becomes a new row, and the old one is retired with
`replaced_by_id` pointing at it, so every past attempt is still reviewed against the answer it was graded with.
Stem, topic and explanation are edited in place. Retiring takes a question out of future draws only.

Tests: the draw rules, pass mark and attempt settings may change after attempts were made. A submitted attempt
keeps its stored score and its own questions; a test with an attempt still open refuses a change of its draw rules
or pass mark (409 `attempts_open`), since that attempt would be graded by rules it was not started under. Every
draw rule must be satisfiable by the bank when saved, the rules of one kind together too.

Every change is audited; services flush, views commit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import CourseStatus, Exam, ExamAttempt, Organisation, Question, QuestionKind, db
from models.base import utcnow
from services import audit
from services.authz import Actor, get_org_for, subtree_clause
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.learning_content import ancestor_ids, manage_clause, manages_org, require_publisher
from services.learning_quiz import GRACE_S, JUDGE_OPTIONS, get_exam_for
from services.listing import Page, paginate

GRADED = ("kind", "options", "answer")
IN_PLACE = ("topic", "stem", "explanation")


# ------------------------------------------------------------------ questions


def _check_question(kind: QuestionKind, options: list[dict], answer: list[str]) -> list[dict]:
    """The options to store; Invalid naming `options` or `answer` when the question cannot be graded."""
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


def get_question_for(actor: Actor, question_id: int) -> Question:
    """A question owned in the actor's department's subtree; anything else (members included) is NotFound."""
    q = db.session.get(Question, question_id)
    if q is None or not manages_org(actor, db.session.get(Organisation, q.owner_org_id)):
        raise NotFound("试题不存在")
    return q


def list_questions(actor: Actor, filters: dict, page: int, per_page: int) -> Page:
    """Current versions of the questions owned in the actor's subtree (or under `org_id` in it), newest first."""
    require_publisher(actor)
    stmt = (
        select(Question)
        .join(Organisation, Question.owner_org_id == Organisation.id)
        .where(manage_clause(actor), Question.replaced_by_id.is_(None))
    )
    if filters.get("org_id"):
        stmt = stmt.where(subtree_clause(get_org_for(actor, filters["org_id"])))
    for name in ("kind", "topic", "active"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Question, name) == filters[name])
    if filters.get("q"):
        stmt = stmt.where(Question.stem.contains(filters["q"], autoescape=True))
    return paginate(stmt.order_by(Question.id.desc()), page, per_page)


def _replaced(q: Question) -> None:
    if q.replaced_by_id is not None:
        raise Conflict("该题已被修改为新版本，请编辑新版本", code="question_replaced")


def update_question(actor: Actor, q: Question, data: dict) -> Question:
    """Edits a question; returns the current version, which is a new row when kind, options or answer changed (the
    old one retired and linked to it). Writes the question(s); audited."""
    _replaced(q)
    kind = data.get("kind", q.kind)
    answer = sorted(data.get("answer", q.answer))
    options = _check_question(kind, data.get("options", q.options), answer)
    graded = {"kind": kind, "options": options, "answer": answer}
    changed = sorted(name for name in GRADED if graded[name] != getattr(q, name))
    changed += sorted(name for name in IN_PLACE if name in data and data[name] != getattr(q, name))
    if not changed:
        return q
    if any(name in GRADED for name in changed):
        new = Question(
            owner_org_id=q.owner_org_id,
            active=q.active,
            created_by=actor.id,
            **graded,
            **{name: data.get(name, getattr(q, name)) for name in IN_PLACE},
        )
        db.session.add(new)
        db.session.flush()
        q.active, q.replaced_by_id = False, new.id
        audit.record(
            actor, "learning.question.update", "learning_question", q.id, {"fields": changed, "new_id": new.id}
        )
        return new
    for name in IN_PLACE:
        if name in data:
            setattr(q, name, data[name])
    db.session.flush()
    audit.record(actor, "learning.question.update", "learning_question", q.id, {"fields": changed})
    return q


def set_question_active(actor: Actor, q: Question, active: bool) -> Question:
    """Retires a question (out of future draws; attempts that drew it keep it) or restores it. Audited."""
    _replaced(q)
    if q.active != active:
        q.active = active
        db.session.flush()
        action = "learning.question.restore" if active else "learning.question.retire"
        audit.record(actor, action, "learning_question", q.id)
    return q


def _pool(owner: Organisation, kind: QuestionKind, topics: list[str | None]):
    """The ids a rule (or rules) of `kind` may draw for a test of `owner`: a None topic means any topic."""
    stmt = select(Question.id).where(
        Question.owner_org_id.in_(ancestor_ids(owner)), Question.kind == kind, Question.active.is_(True)
    )
    return stmt if None in topics else stmt.where(Question.topic.in_(topics))


def pool_counts(actor: Actor, owner_org_id: int | None) -> list[dict]:
    """What a test of `owner_org_id` (default: the actor's department) can draw: active questions per kind and
    topic, from the bank of that organisation and those above it."""
    owner = _manageable(actor, owner_org_id, "owner_org_id")
    stmt = (
        select(Question.kind, Question.topic, func.count())
        .where(Question.owner_org_id.in_(ancestor_ids(owner)), Question.active.is_(True))
        .group_by(Question.kind, Question.topic)
        .order_by(Question.kind, Question.topic)
    )
    return [{"kind": k, "topic": t, "count": n} for k, t, n in db.session.execute(stmt)]


# ------------------------------------------------------------------ tests


def _manageable(actor: Actor, org_id: int | None, field: str) -> Organisation:
    require_publisher(actor)
    root = actor.scope_root()
    org = db.session.get(Organisation, org_id or (root.id if root else 0))
    if org is None or not manages_org(actor, org):
        raise Invalid("只能选择本级及下级组织", fields={field: ["只能选择本级及下级组织"]})
    return org


def check_draw(owner: Organisation, draw: list[dict]) -> None:
    """Invalid, naming the rule's field, unless the bank can satisfy every rule and every kind's rules together,
    no rule repeats another, and a question's points are unambiguous (grading takes the first rule of its kind that
    matches its topic, so rules of a kind with an any-topic rule must award the same points)."""
    seen: set[tuple] = set()
    by_kind: dict[QuestionKind, list[int]] = {}
    for i, rule in enumerate(draw):
        kind, topic = QuestionKind(rule["kind"]), rule.get("topic") or None
        if (kind, topic) in seen:
            raise Invalid("抽题规则重复", fields={f"draw.{i}.topic": ["与前面的规则重复"]})
        seen.add((kind, topic))
        by_kind.setdefault(kind, []).append(i)
        have = db.session.scalar(select(func.count()).select_from(_pool(owner, kind, [topic]).subquery()))
        if have < rule["count"]:
            raise Invalid(
                f"题库中符合第{i + 1}条抽题规则的题目只有{have}道", fields={f"draw.{i}.count": [f"最多{have}"]}
            )
    for kind, idx in by_kind.items():
        rules = [draw[i] for i in idx]
        if len(rules) < 2:
            continue
        topics = [r.get("topic") or None for r in rules]
        if None in topics and len({r["points"] for r in rules}) > 1:
            raise Invalid(
                f"{kind.label}有不限专题的规则时，各条规则每题分值须相同",
                fields={f"draw.{idx[-1]}.points": ["应与同题型其他规则相同"]},
            )
        pooled = select(func.count()).select_from(_pool(owner, kind, topics).subquery())
        have, wanted = db.session.scalar(pooled), sum(r["count"] for r in rules)
        if have < wanted:
            raise Invalid(
                f"题库中的{kind.label}共{have}道，不够各条规则合计抽取{wanted}道",
                fields={f"draw.{idx[-1]}.count": [f"{kind.label}合计最多{have}"]},
            )


def _draw_json(draw: list[dict]) -> list[dict]:
    return [
        {
            "kind": QuestionKind(r["kind"]).value,
            "topic": r.get("topic") or None,
            "count": r["count"],
            "points": r["points"],
        }
        for r in draw
    ]


def full_score(draw: list[dict]) -> int:
    return sum(r["count"] * r["points"] for r in draw)


def get_exam_managed(actor: Actor, exam_id: int) -> Exam:
    """A test the actor manages: out of scope NotFound, visible (as a member of its audience) but not managed 403."""
    exam = get_exam_for(actor, exam_id)
    if not manages_org(actor, db.session.get(Organisation, exam.owner_org_id)):
        raise Forbidden("只能管理本级及下级组织发布的测试")
    return exam


def list_exams(actor: Actor, filters: dict, page: int, per_page: int) -> Page:
    """Tests owned in the actor's subtree (or under `org_id` in it), newest first."""
    require_publisher(actor)
    stmt = select(Exam).join(Organisation, Exam.owner_org_id == Organisation.id).where(manage_clause(actor))
    if filters.get("org_id"):
        stmt = stmt.where(subtree_clause(get_org_for(actor, filters["org_id"])))
    if filters.get("status"):
        stmt = stmt.where(Exam.status == filters["status"])
    return paginate(stmt.order_by(Exam.id.desc()), page, per_page)


def attempt_counts(exam_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per test: attempts started, attempts submitted."""
    if not exam_ids:
        return {}
    stmt = (
        select(ExamAttempt.exam_id, func.count(), func.count(ExamAttempt.submitted_at))
        .where(ExamAttempt.exam_id.in_(exam_ids))
        .group_by(ExamAttempt.exam_id)
    )
    return {e: (int(n), int(s)) for e, n, s in db.session.execute(stmt)}


def _open_attempts(exam: Exam) -> int:
    cutoff = utcnow() - timedelta(seconds=GRACE_S)
    return db.session.scalar(
        select(func.count()).where(
            ExamAttempt.exam_id == exam.id, ExamAttempt.submitted_at.is_(None), ExamAttempt.deadline_at > cutoff
        )
    )


def update_exam(actor: Actor, exam: Exam, data: dict) -> Exam:
    """Edits a test the actor manages (title, audience, draw rules, time limit, attempts allowed, pass mark).
    Submitted attempts keep their scores; changing draw rules or pass mark while an attempt is open is refused.
    A new time limit applies to attempts started afterwards. Writes the test; audited."""
    owner = db.session.get(Organisation, exam.owner_org_id)
    draw = _draw_json(data["draw"]) if "draw" in data else exam.draw
    pass_score = data.get("pass_score", exam.pass_score)
    changed = sorted(
        name
        for name, value in (("draw", draw), ("pass_score", pass_score))
        if name in data and value != getattr(exam, name)
    )
    if "draw" in data:  # saved rules are checked against the bank as it is now, changed or not
        check_draw(owner, draw)
    if pass_score > full_score(draw):
        raise Invalid(f"及格分不能高于满分{full_score(draw)}", fields={"pass_score": [f"不能高于{full_score(draw)}"]})
    if changed and _open_attempts(exam):
        raise Conflict("有人正在答题，暂不能修改抽题规则或及格分，请稍后再试", code="attempts_open")
    if "audience_org_id" in data:
        audience = _manageable(actor, data["audience_org_id"], "audience_org_id")
        if not audience.path.startswith(owner.path):
            raise Invalid("参考对象应在发布组织范围内", fields={"audience_org_id": ["应在发布组织范围内"]})
    fields = [n for n in ("title", "audience_org_id", "time_limit_s", "max_attempts") if n in data]
    fields = sorted({n for n in fields if data[n] != getattr(exam, n)} | set(changed))
    exam.draw, exam.pass_score = draw, pass_score
    for name in ("title", "audience_org_id", "time_limit_s", "max_attempts"):
        if name in data:
            setattr(exam, name, data[name])
    if fields:
        db.session.flush()
        audit.record(actor, "learning.exam.update", "learning_exam", exam.id, {"fields": fields})
    return exam


def set_exam_status(actor: Actor, exam: Exam, status: CourseStatus) -> Exam:
    """Withdraws a published test (members can no longer see or start it; their attempts stay theirs) or publishes
    it again (its rules must still be satisfiable). Audited."""
    if exam.status == status:
        raise Conflict(f"测试已是{status.label}状态", code="bad_status")
    if status == CourseStatus.PUBLISHED:
        check_draw(db.session.get(Organisation, exam.owner_org_id), exam.draw)
    exam.status = status
    db.session.flush()
    audit.record(
        actor,
        f"learning.exam.{'publish' if status == CourseStatus.PUBLISHED else 'withdraw'}",
        "learning_exam",
        exam.id,
    )
    return exam

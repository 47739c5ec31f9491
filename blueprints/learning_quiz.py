"""Question bank and tests under /api/learning (contract: docs/api-learning.md). Answers leave only after a submit."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.schemas import BaseSchema, PageQuery, iso_local, page_out
from blueprints.security import current_actor, login_required
from models import QuestionKind, db
from models.base import utcnow
from services import learning_exams as exams
from services import learning_quiz as quiz
from services.learning_bank import full_score

bp = APIBlueprint("learning_quiz", __name__, url_prefix="/api/learning", tag="学习")


class OptionIn(BaseSchema):
    key = fields.String(required=True, validate=validators.Regexp(r"^[A-H]$", error="应为A到H"))
    text = fields.String(required=True, validate=validators.Length(min=1, max=200))


class QuestionIn(BaseSchema):
    kind = fields.Enum(QuestionKind, by_value=True, required=True)
    topic = fields.String(required=True, validate=validators.Length(min=1, max=30))
    stem = fields.String(required=True, validate=validators.Length(min=1, max=1000))
    options = fields.List(fields.Nested(OptionIn), validate=validators.Length(max=8))
    answer = fields.List(fields.String(validate=validators.Length(equal=1)), required=True)
    explanation = fields.String(allow_none=True, validate=validators.Length(max=2000))
    owner_org_id = fields.Integer()


class DrawIn(BaseSchema):
    kind = fields.Enum(QuestionKind, by_value=True, required=True)
    topic = fields.String(allow_none=True, validate=validators.Length(max=30))
    count = fields.Integer(required=True, validate=validators.Range(min=1, max=100))
    points = fields.Integer(required=True, validate=validators.Range(min=0, max=100))


class ExamIn(BaseSchema):
    title = fields.String(required=True, validate=validators.Length(min=1, max=100))
    owner_org_id = fields.Integer()
    audience_org_id = fields.Integer()
    draw = fields.List(fields.Nested(DrawIn), required=True, validate=validators.Length(min=1, max=10))
    time_limit_s = fields.Integer(required=True, validate=validators.Range(min=30, max=4 * 3600))
    max_attempts = fields.Integer(validate=validators.Range(min=1, max=10))
    pass_score = fields.Integer(validate=validators.Range(min=0, max=1000))
    daily_quiz = fields.Boolean()


class SubmitIn(BaseSchema):
    answers = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


def _question(q, *, review: bool = False, given=None) -> dict:
    out = {"id": q.id, "kind": q.kind.value, "kind_label": q.kind.label, "stem": q.stem, "options": q.options}
    if review:
        out.update(answer=q.answer, explanation=q.explanation, given=given or [], correct=(given or []) == q.answer)
    return out


def _exam(e) -> dict:
    return {
        "id": e.id,
        "title": e.title,
        "question_count": sum(r["count"] for r in e.draw),
        "time_limit_s": e.time_limit_s,
        "max_attempts": e.max_attempts,
        "pass_score": e.pass_score,
        "daily_quiz": e.daily_quiz,
    }


def _attempt(a) -> dict:
    done = a.submitted_at is not None
    given = a.answers or {}
    out = {
        "id": a.id,
        "exam_id": a.exam_id,
        "attempt_no": a.attempt_no,
        "started_at": iso_local(a.started_at),
        "deadline_at": iso_local(a.deadline_at),
        "submitted_at": iso_local(a.submitted_at),
        "questions": [_question(q, review=done, given=given.get(str(q.id))) for q in quiz.questions_of(a)],
    }
    if done:
        out.update(score=a.score, correct_count=a.correct_count, late=a.late)
    return out


@bp.post("/questions")
@login_required
@bp.input(QuestionIn)
@bp.doc(summary="添加试题", description="组织部门；判断题的选项固定为 T（正确）/F（错误）。")
def create_question(json_data):
    q = quiz.create_question(current_actor(), json_data)
    db.session.commit()
    return {**_question(q), "topic": q.topic, "answer": q.answer, "explanation": q.explanation}, 201


@bp.post("/exams")
@login_required
@bp.input(ExamIn)
@bp.doc(summary="发布测试", description="按题型和专题随机抽题；题库不足时拒绝。")
def create_exam(json_data):
    exam = quiz.create_exam(current_actor(), json_data)
    db.session.commit()
    return _exam(exam), 201


def _standing(s: exams.ExamStanding) -> dict:
    last = s.last_attempt
    return {
        **_exam(s.exam),
        "full_score": full_score(s.exam.draw),
        "deadline_at": iso_local(s.exam.closes_at),
        "attempts_allowed": s.attempts_allowed,
        "attempts_used": s.attempts_used,
        "can_start": s.can_start,
        "last_attempt": None
        if last is None
        else {
            "id": last.id,
            "attempt_no": last.attempt_no,
            "started_at": iso_local(last.started_at),
            "submitted_at": iso_local(last.submitted_at),
            "open": s.open_attempt is not None,
            "score": last.score,
            "passed": s.passed(last),
            "late": last.late,
        },
    }


@bp.get("/exams")
@login_required
@bp.input(PageQuery, location="query")
@bp.doc(
    summary="我的测试",
    description="本人可参加的测试（含每日答题）：已用/可用次数（每日答题按当天计）、最近一次答题的成绩和是否及格、"
    "限时与截止时间。每日答题排在最前。",
)
def list_my_exams(query_data):
    page = exams.list_for_member(current_actor(), query_data["page"], query_data["per_page"])
    return page_out(page, _standing)


@bp.get("/exams/<int:exam_id>")
@login_required
@bp.doc(
    summary="测试详情",
    description="同“我的测试”中的一项（本人已用/可用次数、最近一次答题），另含开放时间 opens_at 和"
    " window：open（可参加）/not_open（尚未开始）/closed（已截止）；不在开放时间内 can_start 为 false。",
)
def get_exam(exam_id):
    actor, now = current_actor(), utcnow()
    exam = quiz.get_exam_for(actor, exam_id)
    (standing,) = exams.standings(actor.member, [exam], now)
    window = quiz.window_state(exam, now)
    out = _standing(standing)
    return {
        **out,
        "opens_at": iso_local(exam.opens_at),
        "window": window,
        "can_start": out["can_start"] and window == "open",
    }


@bp.post("/exams/<int:exam_id>/attempts")
@login_required
@bp.doc(summary="开始答题", description="返回题目（不含答案）与截止时间；未交卷时重复调用返回同一份试卷。")
def start_attempt(exam_id):
    actor = current_actor()
    attempt = quiz.start_attempt(actor, quiz.get_exam_for(actor, exam_id))
    db.session.commit()
    return _attempt(attempt), 201


@bp.get("/attempts/<int:attempt_id>")
@login_required
@bp.doc(summary="答题记录", description="交卷后含答案、解析和错题。")
def get_attempt(attempt_id):
    return _attempt(quiz.get_attempt_for(current_actor(), attempt_id))


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
@bp.input(SubmitIn)
@bp.doc(summary="交卷", description="服务器判分；超时交卷记0分；重复交卷返回409。")
def submit(attempt_id, json_data):
    actor = current_actor()
    attempt = quiz.submit(actor, quiz.get_attempt_for(actor, attempt_id), json_data["answers"])
    db.session.commit()
    return _attempt(attempt)

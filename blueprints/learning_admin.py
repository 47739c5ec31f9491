"""Learning administration under /api/learning: editing the question bank, tests and point rules (contract:
docs/api-learning.md). Creating questions and tests is in blueprints/learning_quiz.py."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.learning_presenters import rule_json
from blueprints.learning_quiz import DrawIn, OptionIn
from blueprints.schemas import BaseSchema, PageQuery, iso_local, page_out
from blueprints.security import current_actor, login_required
from models import CourseStatus, Organisation, QuestionKind, db
from services import learning_bank as bank
from services import learning_rules as rules

bp = APIBlueprint("learning_admin", __name__, url_prefix="/api/learning", tag="学习")


class QuestionPatchIn(BaseSchema):
    kind = fields.Enum(QuestionKind, by_value=True)
    topic = fields.String(validate=validators.Length(min=1, max=30))
    stem = fields.String(validate=validators.Length(min=1, max=1000))
    options = fields.List(fields.Nested(OptionIn), validate=validators.Length(max=8))
    answer = fields.List(fields.String(validate=validators.Length(equal=1)))
    explanation = fields.String(allow_none=True, validate=validators.Length(max=2000))


class QuestionQuery(PageQuery):
    org_id = fields.Integer()
    kind = fields.Enum(QuestionKind, by_value=True)
    topic = fields.String(validate=validators.Length(max=30))
    active = fields.Boolean()
    q = fields.String(validate=validators.Length(max=50))


class PoolQuery(BaseSchema):
    owner_org_id = fields.Integer()


class ExamPatchIn(BaseSchema):
    title = fields.String(validate=validators.Length(min=1, max=100))
    audience_org_id = fields.Integer()
    draw = fields.List(fields.Nested(DrawIn), validate=validators.Length(min=1, max=10))
    time_limit_s = fields.Integer(validate=validators.Range(min=30, max=4 * 3600))
    max_attempts = fields.Integer(validate=validators.Range(min=1, max=10))
    pass_score = fields.Integer(validate=validators.Range(min=0, max=1000))


class ExamQuery(PageQuery):
    org_id = fields.Integer()
    status = fields.Enum(CourseStatus, by_value=True)


class RulePatchIn(BaseSchema):
    points = fields.Integer(validate=validators.Range(min=1, max=100))
    daily_cap = fields.Integer(allow_none=True, validate=validators.Range(min=1, max=1000))
    unit_s = fields.Integer(allow_none=True, validate=validators.Range(min=10, max=3600))
    active = fields.Boolean()


def question_json(q) -> dict:
    return {
        "id": q.id,
        "owner_org_id": q.owner_org_id,
        "kind": q.kind.value,
        "kind_label": q.kind.label,
        "topic": q.topic,
        "stem": q.stem,
        "options": q.options,
        "answer": q.answer,
        "explanation": q.explanation,
        "active": q.active,
        "replaced_by_id": q.replaced_by_id,
        "updated_at": iso_local(q.updated_at),
    }


def _org(org_id: int) -> dict:
    org = db.session.get(Organisation, org_id)
    return {"id": org.id, "name": org.name}


def exam_json(e, counts: tuple[int, int] = (0, 0)) -> dict:
    return {
        "id": e.id,
        "title": e.title,
        "owner_org": _org(e.owner_org_id),
        "audience_org": _org(e.audience_org_id),
        "draw": e.draw,
        "question_count": sum(r["count"] for r in e.draw),
        "full_score": bank.full_score(e.draw),
        "time_limit_s": e.time_limit_s,
        "max_attempts": e.max_attempts,
        "pass_score": e.pass_score,
        "daily_quiz": e.daily_quiz,
        "status": e.status.value,
        "status_label": e.status.label,
        "attempts": counts[0],
        "submitted": counts[1],
    }


def _exams(items) -> list[dict]:
    counts = bank.attempt_counts([e.id for e in items])
    return [exam_json(e, counts.get(e.id, (0, 0))) for e in items]


@bp.get("/questions")
@login_required
@bp.input(QuestionQuery, location="query")
@bp.doc(summary="题库", description="组织部门：本级及下级组织的试题（现行版本），可按题型、专题、是否停用、题干筛选。")
def list_questions(query_data):
    page = bank.list_questions(current_actor(), query_data, query_data["page"], query_data["per_page"])
    return page_out(page, question_json)


@bp.get("/questions/pool")
@login_required
@bp.input(PoolQuery, location="query")
@bp.doc(summary="可抽题数", description="某组织发布的测试可抽取的题目数（本级及上级题库，按题型和专题）。")
def question_pool(query_data):
    return {
        "items": [
            {**r, "kind": r["kind"].value} for r in bank.pool_counts(current_actor(), query_data.get("owner_org_id"))
        ]
    }


@bp.get("/questions/<int:question_id>")
@login_required
@bp.doc(summary="试题详情", description="含答案和解析，仅管理该题的组织部门。")
def get_question(question_id):
    return question_json(bank.get_question_for(current_actor(), question_id))


@bp.patch("/questions/<int:question_id>")
@login_required
@bp.input(QuestionPatchIn)
@bp.doc(
    summary="修改试题",
    description="改题型、选项或答案时生成新版本（返回新 id），旧版本停用并保留给已抽到它的答题记录；"
    "题干、专题、解析直接修改。",
)
def update_question(question_id, json_data):
    actor = current_actor()
    q = bank.update_question(actor, bank.get_question_for(actor, question_id), json_data)
    db.session.commit()
    return question_json(q)


@bp.post("/questions/<int:question_id>/retire")
@login_required
@bp.doc(summary="停用试题", description="不再被抽取；已有答题记录不受影响。")
def retire_question(question_id):
    actor = current_actor()
    q = bank.set_question_active(actor, bank.get_question_for(actor, question_id), False)
    db.session.commit()
    return question_json(q)


@bp.post("/questions/<int:question_id>/restore")
@login_required
@bp.doc(summary="恢复试题")
def restore_question(question_id):
    actor = current_actor()
    q = bank.set_question_active(actor, bank.get_question_for(actor, question_id), True)
    db.session.commit()
    return question_json(q)


@bp.get("/manage/exams")
@login_required
@bp.input(ExamQuery, location="query")
@bp.doc(summary="测试管理列表", description="组织部门：本级及下级组织发布的测试，含参考人次。")
def list_exams(query_data):
    page = bank.list_exams(current_actor(), query_data, query_data["page"], query_data["per_page"])
    return page_out(page, present_all=_exams)


@bp.get("/manage/exams/<int:exam_id>")
@login_required
@bp.doc(summary="测试设置", description="抽题规则、时限、次数、及格分和参考人次。")
def get_exam(exam_id):
    return _exams([bank.get_exam_managed(current_actor(), exam_id)])[0]


@bp.patch("/exams/<int:exam_id>")
@login_required
@bp.input(ExamPatchIn)
@bp.doc(
    summary="修改测试",
    description="已交卷的成绩不变；有人正在答题时不能修改抽题规则和及格分（409 attempts_open）。",
)
def update_exam(exam_id, json_data):
    actor = current_actor()
    exam = bank.update_exam(actor, bank.get_exam_managed(actor, exam_id), json_data)
    db.session.commit()
    return _exams([exam])[0]


@bp.post("/exams/<int:exam_id>/withdraw")
@login_required
@bp.doc(summary="撤回测试", description="党员不能再看到或参加；已有答题记录保留。")
def withdraw_exam(exam_id):
    actor = current_actor()
    exam = bank.set_exam_status(actor, bank.get_exam_managed(actor, exam_id), CourseStatus.WITHDRAWN)
    db.session.commit()
    return _exams([exam])[0]


@bp.post("/exams/<int:exam_id>/publish")
@login_required
@bp.doc(summary="重新发布测试", description="题库须仍能满足抽题规则。")
def publish_exam(exam_id):
    actor = current_actor()
    exam = bank.set_exam_status(actor, bank.get_exam_managed(actor, exam_id), CourseStatus.PUBLISHED)
    db.session.commit()
    return _exams([exam])[0]


@bp.patch("/points/rules/<code>")
@login_required
@bp.input(RulePatchIn)
@bp.doc(
    summary="修改积分规则",
    description="市委组织部：分值、每日上限（null 为不设上限）、计时规则的每单位秒数、启用或停用。"
    "只影响此后的积分，已记入明细的积分不变。",
)
def update_rule(code, json_data):
    rule = rules.update_rule(current_actor(), code, json_data)
    db.session.commit()
    return rule_json(rule)

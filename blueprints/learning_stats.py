"""Learning statistics under /api/learning/stats: completion of compulsory courses per organisation, and who in a
branch has not completed them, as JSON or .xlsx (contract: docs/api-learning.md)."""

from __future__ import annotations

import io

from apiflask import APIBlueprint, fields, validators
from flask import send_file

from blueprints.schemas import BaseSchema
from blueprints.security import current_actor, login_required
from models import db
from services import learning_stats as stats

bp = APIBlueprint("learning_stats", __name__, url_prefix="/api/learning/stats", tag="学习")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMAT = fields.String(load_default="json", validate=validators.OneOf(["json", "xlsx"]))


class CompletionQuery(BaseSchema):
    org_id = fields.Integer()
    course_id = fields.Integer()
    format = FORMAT


class MembersQuery(BaseSchema):
    org_id = fields.Integer(required=True)
    course_id = fields.Integer()
    status = fields.String(load_default="incomplete", validate=validators.OneOf(["incomplete", "all"]))
    format = FORMAT


def _xlsx(data: bytes, name: str):
    db.session.commit()  # the export's audit row
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.get("/completion")
@login_required
@bp.input(CompletionQuery, location="query")
@bp.doc(
    summary="必修课程完成率",
    description="本组织及各直属下级（含其全部下级）每门必修课程的应学人数、已完成、按期完成、逾期未完成和完成率；"
    "org_id 默认为本人管理的组织；format=xlsx 下载表格。",
)
def completion(query_data):
    actor, org_id, course_id = current_actor(), query_data.get("org_id"), query_data.get("course_id")
    if query_data["format"] == "xlsx":
        return _xlsx(*stats.completion_xlsx(actor, org_id, course_id))
    return stats.completion(actor, org_id, course_id)


@bp.get("/completion/members")
@login_required
@bp.input(MembersQuery, location="query")
@bp.doc(
    summary="支部必修课程学习明细",
    description="一个党支部里每名应学党员每门必修课程的学习情况；status=incomplete（默认）只列未完成的，"
    "status=all 列全部；format=xlsx 下载表格。",
)
def branch_members(query_data):
    actor, org_id, course_id = current_actor(), query_data["org_id"], query_data.get("course_id")
    only_incomplete = query_data["status"] == "incomplete"
    if query_data["format"] == "xlsx":
        return _xlsx(*stats.branch_members_xlsx(actor, org_id, course_id, only_incomplete))
    return stats.branch_members(actor, org_id, course_id, only_incomplete)

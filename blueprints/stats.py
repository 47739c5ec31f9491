"""Statistics for organisation departments: /api/stats."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.schemas import BaseSchema
from blueprints.security import current_actor, login_required
from services import meeting_stats

bp = APIBlueprint("stats", __name__, url_prefix="/api/stats", tag="统计")


class MeetingStatsQuery(BaseSchema):
    org_id = fields.Integer()
    period = fields.String(validate=validators.Length(max=10))  # the service checks the format


@bp.get("/meetings")
@login_required
@bp.input(MeetingStatsQuery, location="query")
@bp.doc(
    summary="组织生活统计",
    description="period 为 2026-07、2026Q3 或 2026，默认本季度；org_id 默认本人管理的组织。"
    "按会议类型统计应开、已开、已审核、被标记的次数，分本级和各直属下级，并列出未按期召开的组织。",
)
def get_meeting_stats(query_data):
    return meeting_stats.meeting_stats(current_actor(), query_data.get("org_id"), query_data.get("period"))

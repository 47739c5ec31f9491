"""Duty check-in of resident cadres: /api/duty (contract: docs/api-duty.md). Geofences: blueprints/geofences.py."""

from __future__ import annotations

import io

from apiflask import APIBlueprint, fields, validators
from flask import send_file

from blueprints.duty_presenters import (
    assignment_json,
    checkin_json,
    day_iso,
    exception_json,
    inspection_json,
    photo_check_json,
    shift_json,
)
from blueprints.geofences import fence_json
from blueprints.schemas import BaseSchema, PageQuery, page_out
from blueprints.security import current_actor, login_required
from models import CheckinKind, CheckinResult, CheckinTiming, CoordSys, DutyExceptionKind, DutyRole, db
from services import duty_board, duty_checkins, duty_home, duty_report, duty_roster, duty_supervision  # noqa: F401
from services.duty_checkins import Photo
from services.duty_signals import SIGNALS

bp = APIBlueprint("duty", __name__, url_prefix="/api/duty", tag="值班签到")

LAT = validators.Range(min=-90, max=90)
LNG = validators.Range(min=-180, max=180)
CLIENT_ID = validators.Regexp(r"^[A-Za-z0-9_\-]{8,58}$", error="应为8到58位字母、数字、-或_")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_ERRORS = {"invalid": "应为时间（HH:MM）"}


class ShiftIn(BaseSchema):
    weekday = fields.Integer(required=True, validate=validators.Range(min=0, max=6))
    starts_at = fields.Time(required=True, error_messages=TIME_ERRORS)
    ends_at = fields.Time(required=True, error_messages=TIME_ERRORS)


class AssignmentIn(BaseSchema):
    member_id = fields.Integer(required=True)
    org_id = fields.Integer(required=True)
    role = fields.Enum(DutyRole, by_value=True, required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True)
    roster = fields.List(fields.Nested(ShiftIn), validate=validators.Length(max=7))


class AssignmentUpdateIn(BaseSchema):
    role = fields.Enum(DutyRole, by_value=True)
    ends_on = fields.Date(allow_none=True)


class RosterIn(BaseSchema):
    roster = fields.List(fields.Nested(ShiftIn), required=True, validate=validators.Length(max=7))


class ExceptionIn(BaseSchema):
    kind = fields.Enum(DutyExceptionKind, by_value=True, required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = fields.String(allow_none=True, validate=validators.Length(max=200))


class AssignmentQuery(PageQuery):
    org_id = fields.Integer()
    descendants = fields.Boolean(load_default=False)
    member_id = fields.Integer()
    active_on = fields.Date()


class CheckinIn(BaseSchema):
    client_id = fields.String(required=True, validate=CLIENT_ID)
    org_id = fields.Integer(required=True)
    kind = fields.Enum(CheckinKind, by_value=True, load_default=CheckinKind.CHECKIN)
    latitude = fields.Float(required=True, allow_nan=False, validate=LAT)
    longitude = fields.Float(required=True, allow_nan=False, validate=LNG)
    accuracy = fields.Float(
        required=True, allow_nan=False, validate=validators.Range(min=0, min_inclusive=False, max=100000)
    )
    coord_sys = fields.Enum(CoordSys, by_value=True, required=True)
    read_at = fields.AwareDateTime(required=True)
    remark = fields.String(allow_none=True, validate=validators.Length(max=200))
    device_id = fields.String(allow_none=True, validate=validators.Length(max=64))
    request_id = fields.Integer(allow_none=True)  # answers a photo-check request (with the photo endpoint)


class CheckinPhotoIn(CheckinIn):
    file = fields.File(required=True)


class CheckinQuery(PageQuery):
    org_id = fields.Integer()
    descendants = fields.Boolean(load_default=False)
    member_id = fields.Integer()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    result = fields.Enum(CheckinResult, by_value=True)
    timing = fields.Enum(CheckinTiming, by_value=True)
    flagged = fields.Boolean(load_default=False)
    flag = fields.String(validate=validators.OneOf(SIGNALS))


class SummaryQuery(BaseSchema):
    org_id = fields.Integer()
    descendants = fields.Boolean(load_default=False)
    member_id = fields.Integer()
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class BoardQuery(BaseSchema):
    org_id = fields.Integer(required=True)
    date = fields.Date()


class BoardCadresQuery(PageQuery):
    org_id = fields.Integer(required=True)
    date = fields.Date()
    status = fields.String(validate=validators.OneOf(duty_board.COUNTS))
    per_page = fields.Integer(load_default=50, validate=validators.Range(min=1, max=500))


class ReportQuery(BaseSchema):
    org_id = fields.Integer(required=True)
    month = fields.String(required=True, validate=validators.Regexp(r"^\d{4}-\d{2}$", error="应为YYYY-MM"))
    format = fields.String(load_default="json", validate=validators.OneOf(["json", "xlsx"]))


class InspectionIn(BaseSchema):
    org_id = fields.Integer(required=True)
    member_id = fields.Integer(allow_none=True)
    visited_at = fields.AwareDateTime(required=True)
    cadre_present = fields.Boolean(allow_none=True)
    notes = fields.String(allow_none=True, validate=validators.Length(max=1000))


class PhotoCheckIn(BaseSchema):
    org_id = fields.Integer(required=True)
    member_id = fields.Integer(required=True)
    minutes = fields.Integer(validate=validators.Range(min=5, max=240))
    note = fields.String(allow_none=True, validate=validators.Length(max=200))


class SupervisionQuery(PageQuery):
    org_id = fields.Integer()
    descendants = fields.Boolean(load_default=False)


def _filters(query_data: dict) -> dict:
    filters = dict(query_data)
    filters["from"] = filters.pop("from_", None)
    return filters


# ---------------------------------------------------------------------------------------------------------------
# Assignments and rosters


@bp.get("/assignments")
@login_required
@bp.input(AssignmentQuery, location="query")
@bp.doc(
    summary="派驻安排", description="不传 org_id 时为本人的派驻和本级管辖范围内的派驻；active_on 筛选某日有效的派驻。"
)
def list_assignments(query_data):
    page = duty_roster.list_assignments(current_actor(), query_data, query_data["page"], query_data["per_page"])
    return page_out(page, assignment_json)


@bp.post("/assignments")
@login_required
@bp.input(AssignmentIn)
@bp.doc(summary="派驻干部", description="组织部门把干部派驻到下辖的村（社区）党支部，可同时设置每周值班安排。")
def create_assignment(json_data):
    assignment = duty_roster.create_assignment(current_actor(), json_data)
    db.session.commit()
    return assignment_json(assignment, detail=True), 201


@bp.get("/assignments/<int:assignment_id>")
@login_required
@bp.doc(summary="派驻详情", description="含每周值班安排和已批准的请假、出差。")
def get_assignment(assignment_id):
    return assignment_json(duty_roster.get_assignment_for(current_actor(), assignment_id), detail=True)


@bp.patch("/assignments/<int:assignment_id>")
@login_required
@bp.input(AssignmentUpdateIn)
@bp.doc(summary="修改派驻", description="修改身份或结束日期。")
def update_assignment(assignment_id, json_data):
    actor = current_actor()
    assignment = duty_roster.get_assignment_for(actor, assignment_id, write=True)
    duty_roster.update_assignment(actor, assignment, json_data)
    db.session.commit()
    return assignment_json(assignment, detail=True)


@bp.put("/assignments/<int:assignment_id>/roster")
@login_required
@bp.input(RosterIn)
@bp.doc(summary="设置每周值班安排", description="weekday 0 为周一；每天至多一个班次，时间为本地时间 HH:MM。")
def set_roster(assignment_id, json_data):
    actor = current_actor()
    assignment = duty_roster.get_assignment_for(actor, assignment_id, write=True)
    duty_roster.set_roster(actor, assignment, json_data["roster"])
    db.session.commit()
    return assignment_json(assignment, detail=True)


@bp.post("/assignments/<int:assignment_id>/exceptions")
@login_required
@bp.input(ExceptionIn)
@bp.doc(summary="批准请假或出差", description="由组织部门登记并批准；期间不计缺勤。")
def add_exception(assignment_id, json_data):
    actor = current_actor()
    assignment = duty_roster.get_assignment_for(actor, assignment_id, write=True)
    row = duty_roster.add_exception(actor, assignment, json_data)
    db.session.commit()
    return exception_json(row), 201


@bp.get("/today")
@login_required
@bp.doc(summary="今日值班", description="本人今天派驻的村、班次、请假出差、签到范围和今天的签到记录。")
def today():
    items = []
    for entry in duty_checkins.today_for(current_actor()):
        items.append(
            {
                "date": day_iso(entry["date"]),
                "assignment": assignment_json(entry["assignment"]),
                "shift": shift_json(entry["shift"]) if entry["shift"] else None,
                "exception": exception_json(entry["exception"]) if entry["exception"] else None,
                "fences": [fence_json(f) for f in entry["fences"]],
                "checkins": [checkin_json(c) for c in entry["checkins"]],
            }
        )
    return {"items": items}


# ---------------------------------------------------------------------------------------------------------------
# Check-ins


@bp.post("/checkins")
@login_required
@bp.input(CheckinIn)
@bp.doc(
    summary="值班签到/签退",
    description="kind 为 checkin 或 checkout。服务器判定是否在范围内和是否准时；不在范围内也会记录（附说明）。"
    "client_id 由手机生成，重发返回同一条记录（200）。",
)
def create_checkin(json_data):
    row, created = duty_checkins.record_checkin(current_actor(), json_data)
    out = checkin_json(row)  # before the commit: after it, reading the row again would cost a SELECT
    db.session.commit()
    return out, 201 if created else 200


@bp.post("/checkins/photo")
@login_required
@bp.input(CheckinPhotoIn, location="form_and_files")
@bp.doc(summary="带现场照片的签到", description="multipart，字段同 JSON 签到，另加 file；照片重复使用会标注。")
def create_checkin_with_photo(form_and_files_data):
    data = dict(form_and_files_data)
    upload = data.pop("file")
    photo = Photo(upload.stream, upload.mimetype or upload.filename)
    row, created = duty_checkins.record_checkin(current_actor(), data, photo)
    db.session.commit()
    return checkin_json(row, with_photo=True), 201 if created else 200


@bp.get("/checkins")
@login_required
@bp.input(CheckinQuery, location="query")
@bp.doc(summary="签到记录", description="干部看本人的；组织部门看管辖范围内的（org_id + descendants=1 含下级）。")
def list_checkins(query_data):
    filters = _filters(query_data)
    page = duty_checkins.list_checkins(current_actor(), filters, query_data["page"], query_data["per_page"])
    return page_out(page, checkin_json)


@bp.get("/summary")
@login_required
@bp.input(SummaryQuery, location="query")
@bp.doc(summary="干部签到汇总", description="按干部统计签到次数、结果、时段和各类异常标记。")
def summary(query_data):
    return {"items": duty_checkins.summarise(current_actor(), _filters(query_data))}


@bp.get("/board")
@login_required
@bp.input(BoardQuery, location="query")
@bp.doc(
    summary="每日在岗看板",
    description="组织部门查看某日下辖的应到、在岗、迟到、缺勤、未确认、请假出差、范围外、异常情况：合计（totals）和每个直属下级"
    "组织的小计（children，可逐级下钻）；干部名单见 /api/duty/board/cadres。date 默认为今天。",
)
def board(query_data):
    day = query_data.get("date") or duty_roster.local_today()
    out = duty_board.board(current_actor(), query_data["org_id"], day)
    return {**out, "org": {"id": out["org"].id, "name": out["org"].name}, "date": day_iso(out["date"])}


@bp.get("/board/cadres")
@login_required
@bp.input(BoardCadresQuery, location="query")
@bp.doc(
    summary="在岗看板干部名单",
    description="某组织下辖干部某日的情况，按村和姓名排序、分页；"
    "status 只列有该情况的干部（如 absent 缺勤、flagged 异常）。",
)
def board_cadres(query_data):
    day = query_data.get("date") or duty_roster.local_today()
    args = {k: query_data[k] for k in ("page", "per_page")} | {"status": query_data.get("status")}
    page = duty_board.cadres(current_actor(), query_data["org_id"], day, **args)
    out = page_out(page, lambda item: item)
    return {**out, "date": day_iso(day)}


@bp.get("/report")
@login_required
@bp.input(ReportQuery, location="query")
@bp.doc(
    summary="值班月报",
    description="按干部和派驻村统计一个月的应值班、在岗、迟到、缺勤、请假出差等天数（津贴依据）；"
    "format=xlsx 下载表格。",
)
def month_report(query_data):
    actor, org_id, month = current_actor(), query_data["org_id"], query_data["month"]
    if query_data["format"] == "xlsx":
        data, name = duty_report.month_report_xlsx(actor, org_id, month)
        db.session.commit()  # the export's audit row
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)
    report = duty_report.month_report(actor, org_id, month)
    return {**report, "counted_until": day_iso(report["counted_until"])}


# ---------------------------------------------------------------------------------------------------------------
# Supervision: inspections and photo checks


@bp.post("/inspections")
@login_required
@bp.input(InspectionIn)
@bp.doc(summary="登记督查", description="组织部门到村实地督查：时间、被查干部（须当日派驻该村）、是否在岗、情况记录。")
def record_inspection(json_data):
    row = duty_supervision.record_inspection(current_actor(), json_data)
    db.session.commit()
    return inspection_json(row), 201


@bp.get("/inspections")
@login_required
@bp.input(SupervisionQuery, location="query")
@bp.doc(summary="督查记录", description="管辖范围内的督查记录；干部看涉及本人的。")
def list_inspections(query_data):
    q = query_data
    page = duty_supervision.list_inspections(
        current_actor(), q.get("org_id"), q["descendants"], q["page"], q["per_page"]
    )
    return page_out(page, inspection_json)


@bp.post("/photo-checks")
@login_required
@bp.input(PhotoCheckIn)
@bp.doc(
    summary="发起拍照抽查",
    description="组织部门要求当日派驻的干部在限定时间内带现场照片签到"
    "（POST /api/duty/checkins/photo 并附 request_id）。",
)
def request_photo_check(json_data):
    row = duty_supervision.request_photo_check(current_actor(), json_data)
    db.session.commit()
    return photo_check_json(row), 201


@bp.get("/photo-checks")
@login_required
@bp.input(SupervisionQuery, location="query")
@bp.doc(summary="拍照抽查记录", description="状态：待回复、已按时回复、超时回复、未回复。干部看本人的。")
def list_photo_checks(query_data):
    q = query_data
    page = duty_supervision.list_requests(current_actor(), q.get("org_id"), q["descendants"], q["page"], q["per_page"])
    return page_out(page, photo_check_json)

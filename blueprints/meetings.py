"""Organisational life on record: /api/meetings and /api/meeting-kinds (contract: docs/api-meetings.md)."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from marshmallow import ValidationError, validates_schema

from blueprints.meeting_presenters import attendee_json, kind_json, meeting_json, photo_json, review_json
from blueprints.schemas import BaseSchema, PageQuery, page_out
from blueprints.security import current_actor, login_required
from models import AbsenceReason, AttendanceStatus, Cadence, CoordSys, KindAudience, MeetingStatus, ReviewDecision, db
from services import meeting_attendance as attendance
from services import meeting_kinds
from services import meetings as meeting_service
from services.authz import get_member_for
from services.evidence import FLAG_LABELS, Capture
from services.meeting_attendance import Position

bp = APIBlueprint("meetings", __name__, url_prefix="/api", tag="组织生活")

LAT = validators.Range(min=-90, max=90)
LNG = validators.Range(min=-180, max=180)
SCORE = validators.Range(min=0, max=100)
CLIENT_ID = validators.Regexp(r"^[A-Za-z0-9_\-]{8,64}$", error="应为8到64位字母、数字、-或_")


class VenueIn(BaseSchema):
    name = fields.String(allow_none=True, validate=validators.Length(max=100))
    latitude = fields.Float(required=True, allow_nan=False, validate=LAT)
    longitude = fields.Float(required=True, allow_nan=False, validate=LNG)
    coord_sys = fields.Enum(CoordSys, by_value=True, required=True)
    radius_m = fields.Float(allow_nan=False, validate=validators.Range(min=10, max=5000))


class MeetingFields(BaseSchema):
    title = fields.String(validate=validators.Length(min=1, max=100))
    topic = fields.String(allow_none=True, validate=validators.Length(max=2000))
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    venue = fields.Nested(VenueIn, allow_none=True)
    host_id = fields.Integer(allow_none=True)
    recorder_id = fields.Integer(allow_none=True)
    lecturer_name = fields.String(allow_none=True, validate=validators.Length(max=50))


class MeetingCreateIn(MeetingFields):
    org_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validators.Length(min=1, max=32))
    title = fields.String(required=True, validate=validators.Length(min=1, max=100))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    attendee_ids = fields.List(fields.Integer(), validate=validators.Length(max=2000))


class MeetingUpdateIn(MeetingFields):
    minutes = fields.String(allow_none=True, validate=validators.Length(max=20000))
    self_score = fields.Integer(allow_none=True, validate=SCORE)


class MeetingListQuery(PageQuery):
    org_id = fields.Integer()
    kind = fields.String(validate=validators.Length(max=32))
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    descendants = fields.Boolean(load_default=False)
    status = fields.Enum(MeetingStatus, by_value=True)
    flagged = fields.Boolean(load_default=False)
    flag = fields.String(validate=validators.OneOf(sorted(FLAG_LABELS)))


class HeldIn(BaseSchema):
    minutes = fields.String(allow_none=True, validate=validators.Length(max=20000))


class SubmitIn(BaseSchema):
    self_score = fields.Integer(allow_none=True, validate=SCORE)


class ReviewIn(BaseSchema):
    decision = fields.Enum(ReviewDecision, by_value=True, required=True)
    comment = fields.String(allow_none=True, validate=validators.Length(max=1000))
    score = fields.Integer(allow_none=True, validate=SCORE)


class PositionIn(BaseSchema):
    latitude = fields.Float(required=True, allow_nan=False, validate=LAT)
    longitude = fields.Float(required=True, allow_nan=False, validate=LNG)
    accuracy = fields.Float(required=True, allow_nan=False, validate=validators.Range(min=0, min_inclusive=False))
    coord_sys = fields.Enum(CoordSys, by_value=True, required=True)


class AttendanceIn(BaseSchema):
    status = fields.Enum(AttendanceStatus, by_value=True, required=True)
    absence_reason = fields.Enum(AbsenceReason, by_value=True, allow_none=True)
    absence_note = fields.String(allow_none=True, validate=validators.Length(max=100))


class RatingIn(BaseSchema):
    rating = fields.Integer(required=True, validate=validators.Range(min=1, max=5))


class PhotoIn(BaseSchema):
    file = fields.File(required=True)
    client_id = fields.String(required=True, validate=CLIENT_ID)
    latitude = fields.Float(allow_nan=False, validate=LAT)
    longitude = fields.Float(allow_nan=False, validate=LNG)
    accuracy = fields.Float(allow_nan=False, validate=validators.Range(min=0, min_inclusive=False, max=100000))
    coord_sys = fields.Enum(CoordSys, by_value=True)
    taken_at = fields.AwareDateTime()
    purpose = fields.String(load_default="scene", validate=validators.OneOf(["scene", "minutes"]))

    @validates_schema
    def position_whole(self, data, **kwargs):
        """A position is latitude, longitude and coordinate system together, or nothing (flagged no_position)."""
        given = [name for name in ("latitude", "longitude", "coord_sys") if data.get(name) is not None]
        if given and len(given) < 3:
            missing = {"latitude", "longitude", "coord_sys"} - set(given)
            raise ValidationError({name: ["位置须同时提供纬度、经度和坐标系"] for name in sorted(missing)})


class KindFields(BaseSchema):
    name = fields.String(validate=validators.Length(min=1, max=30))
    cadence = fields.Enum(Cadence, by_value=True)
    times_per_period = fields.Integer(validate=validators.Range(min=1, max=31))
    audience = fields.Enum(KindAudience, by_value=True)
    needs_lecturer = fields.Boolean()
    fixed_day = fields.Integer(allow_none=True, validate=validators.Range(min=1, max=28))
    sort_order = fields.Integer(validate=validators.Range(min=0, max=1000))
    active = fields.Boolean()


class KindCreateIn(KindFields):
    code = fields.String(
        required=True, validate=validators.Regexp(r"^[a-z][a-z0-9_]{1,31}$", error="应为2到32位小写字母、数字或_")
    )
    name = fields.String(required=True, validate=validators.Length(min=1, max=30))
    cadence = fields.Enum(Cadence, by_value=True, required=True)


class KindListQuery(BaseSchema):
    include_inactive = fields.Boolean(load_default=False)


def _list_json(items) -> list[dict]:
    ids = [m.id for m in items]
    figures, photos = attendance.counts(ids), meeting_service.photo_counts(ids)
    return [meeting_json(m, figures[m.id], photos.get(m.id, 0)) for m in items]


def _person(member_id: int | None, names: dict[int, str]) -> dict | None:
    return {"id": member_id, "name": names.get(member_id)} if member_id is not None else None


def _detail_json(meeting) -> dict:
    actor = current_actor()
    rows = attendance.attendees_of(meeting)
    photo_rows, review_rows = meeting_service.photos_of(meeting), meeting_service.reviews_of(meeting)
    people = [meeting.host_id, meeting.recorder_id]
    names = meeting_service.names_of(
        people + [p.uploaded_by for p in photo_rows] + [r.reviewer_id for r in review_rows]
    )
    mine = next((r for r in rows if r.member_id == actor.id), None)
    ratings = [r.rating for r in rows if r.rating is not None]
    out = meeting_json(meeting, attendance.figures(rows), len(photo_rows))
    out.update(
        minutes=meeting.minutes,
        host=_person(meeting.host_id, names),
        recorder=_person(meeting.recorder_id, names),
        rating={"average": round(sum(ratings) / len(ratings), 2) if ratings else None, "count": len(ratings)},
        attendees=[attendee_json(r) for r in rows],
        photos=[photo_json(p, names) for p in photo_rows],
        reviews=[review_json(r, names) for r in review_rows],
        my_attendance=attendee_json(mine) if mine else None,
        can=meeting_service.abilities(actor, meeting, mine),
    )
    return out


@bp.get("/meeting-kinds")
@login_required
@bp.input(KindListQuery, location="query")
@bp.doc(summary="会议类型", description="各类组织生活及其召开周期。")
def list_kinds(query_data):
    return {"items": [kind_json(k) for k in meeting_kinds.list_kinds(query_data["include_inactive"])]}


@bp.post("/meeting-kinds")
@login_required
@bp.input(KindCreateIn)
@bp.doc(summary="新增会议类型", description="仅市级组织部门。")
def create_kind(json_data):
    kind = meeting_kinds.create_kind(current_actor(), json_data)
    db.session.commit()
    return kind_json(kind), 201


@bp.patch("/meeting-kinds/<int:kind_id>")
@login_required
@bp.input(KindFields)
@bp.doc(summary="修改会议类型", description="仅市级组织部门；已有会议使用的类型不能修改周期。")
def update_kind(kind_id, json_data):
    kind = meeting_kinds.update_kind(current_actor(), meeting_kinds.get_kind(kind_id), json_data)
    db.session.commit()
    return kind_json(kind)


@bp.get("/meetings")
@login_required
@bp.input(MeetingListQuery, location="query")
@bp.doc(
    summary="会议列表",
    description="不传 org_id 时为本人所在组织；descendants=1 含下级；status=submitted 即上级的待审核列表。",
)
def list_meetings(query_data):
    filters = dict(query_data)
    filters["from"] = filters.pop("from_", None)
    page = meeting_service.list_meetings(
        current_actor(), query_data.get("org_id"), filters, query_data["page"], query_data["per_page"]
    )
    return page_out(page, present_all=_list_json)


@bp.post("/meetings")
@login_required
@bp.input(MeetingCreateIn)
@bp.doc(summary="新建会议", description="参会人员默认为本组织全体党员，会场默认为组织的活动场所。")
def create_meeting(json_data):
    data = dict(json_data)
    data["kind_id"] = meeting_service.kind_by_code(data.pop("kind")).id
    meeting = meeting_service.create_meeting(current_actor(), data)
    db.session.commit()
    return _detail_json(meeting), 201


@bp.get("/meetings/<int:meeting_id>")
@login_required
@bp.doc(summary="会议详情", description="含参会情况、照片及其核验结论、审核记录。")
def get_meeting(meeting_id):
    return _detail_json(meeting_service.get_meeting_for(current_actor(), meeting_id))


@bp.patch("/meetings/<int:meeting_id>")
@login_required
@bp.input(MeetingUpdateIn)
@bp.doc(summary="修改会议记录", description="待审核和已审核的记录不能修改，须先由上级退回。")
def update_meeting(meeting_id, json_data):
    actor = current_actor()
    meeting = meeting_service.update_meeting(actor, meeting_service.get_meeting_for(actor, meeting_id), json_data)
    db.session.commit()
    return _detail_json(meeting)


@bp.post("/meetings/<int:meeting_id>/held")
@login_required
@bp.input(HeldIn)
@bp.doc(summary="记录会议已召开", description="会议开始前不能记录为已召开。")
def record_held(meeting_id, json_data):
    actor = current_actor()
    meeting = meeting_service.get_meeting_for(actor, meeting_id)
    meeting_service.record_held(actor, meeting, json_data.get("minutes"))
    db.session.commit()
    return _detail_json(meeting)


@bp.post("/meetings/<int:meeting_id>/submit")
@login_required
@bp.input(SubmitIn)
@bp.doc(summary="提交上级审核", description="可附本支部自评分（0–100）。")
def submit_meeting(meeting_id, json_data):
    actor = current_actor()
    meeting = meeting_service.get_meeting_for(actor, meeting_id)
    meeting_service.submit(actor, meeting, json_data.get("self_score"))
    db.session.commit()
    return _detail_json(meeting)


@bp.post("/meetings/<int:meeting_id>/review")
@login_required
@bp.input(ReviewIn)
@bp.doc(summary="上级审核", description="通过、退回（须说明原因）或评论；通过后记录锁定。")
def review_meeting(meeting_id, json_data):
    actor = current_actor()
    meeting = meeting_service.get_meeting_for(actor, meeting_id)
    meeting_service.review(actor, meeting, json_data["decision"], json_data.get("comment"), json_data.get("score"))
    db.session.commit()
    return _detail_json(meeting)


@bp.post("/meetings/<int:meeting_id>/sign-in")
@login_required
@bp.input(PositionIn)
@bp.doc(summary="会议签到", description="会议开始前30分钟至结束后30分钟内；位置不在会场也会记录并标注。")
def sign_in(meeting_id, json_data):
    actor = current_actor()
    meeting = meeting_service.get_meeting_for(actor, meeting_id)
    position = Position(json_data["latitude"], json_data["longitude"], json_data["accuracy"], json_data["coord_sys"])
    row, result = attendance.sign_in(actor, meeting, position)
    db.session.commit()
    return attendee_json(row, result)


@bp.put("/meetings/<int:meeting_id>/attendees/<int:member_id>")
@login_required
@bp.input(AttendanceIn)
@bp.doc(summary="登记出缺席", description="缺席须选原因；为无手机的党员代签到会标注为代签。")
def mark_attendance(meeting_id, member_id, json_data):
    actor = current_actor()
    meeting = meeting_service.get_meeting_for(actor, meeting_id)
    member = get_member_for(actor, member_id)
    row = attendance.mark(
        actor, meeting, member, json_data["status"], json_data.get("absence_reason"), json_data.get("absence_note")
    )
    db.session.commit()
    return attendee_json(row)


@bp.post("/meetings/<int:meeting_id>/rating")
@login_required
@bp.input(RatingIn)
@bp.doc(summary="参会党员评价会议", description="1–5分，会议召开后由出席的党员评价。")
def rate_meeting(meeting_id, json_data):
    actor = current_actor()
    row = attendance.rate(actor, meeting_service.get_meeting_for(actor, meeting_id), json_data["rating"])
    db.session.commit()
    return {"rating": row.rating}


@bp.post("/meetings/<int:meeting_id>/photos")
@login_required
@bp.input(PhotoIn, location="form_and_files")
@bp.doc(
    summary="上传会议照片",
    description="multipart；client_id 由手机生成，重传返回同一张照片（200）。照片无论核验结论如何都会保存。",
)
def upload_photo(meeting_id, form_and_files_data):
    actor = current_actor()
    data = form_and_files_data
    meeting = meeting_service.get_meeting_for(actor, meeting_id)
    upload = data["file"]
    capture = Capture(
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        accuracy_m=data.get("accuracy"),
        coord_sys=data.get("coord_sys"),
        taken_at=data.get("taken_at"),
    )
    photo, created = meeting_service.add_photo(
        actor,
        meeting,
        purpose=data["purpose"],
        client_id=data["client_id"],
        upload=upload.stream,
        declared_type=upload.mimetype or upload.filename,
        capture=capture,
    )
    db.session.commit()
    return photo_json(photo, {actor.id: actor.member.name}), 201 if created else 200

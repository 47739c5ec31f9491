"""Learning content under /api/learning: channels, courses, lessons and their media (contract:
docs/api-learning.md). Study progress and points are in blueprints/learning_study.py."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import redirect, send_file

from blueprints.learning_presenters import channel_json, course_detail_json, course_json, lesson_json
from blueprints.schemas import BaseSchema, PageQuery, page_out
from blueprints.security import current_actor, login_required
from models import ChannelKind, CourseStatus, CourseTrack, LessonKind, MemberCategory, db
from services import learning_content as content
from services import learning_lessons as lessons
from services import learning_progress as progress
from services.storage import storage

bp = APIBlueprint("learning", __name__, url_prefix="/api/learning", tag="学习")

CODE = validators.Regexp(r"^[a-z][a-z0-9_]{1,31}$", error="应为2到32位小写字母、数字或_")


class ChannelFields(BaseSchema):
    name = fields.String(validate=validators.Length(min=1, max=50))
    description = fields.String(allow_none=True, validate=validators.Length(max=500))
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    sort_order = fields.Integer(validate=validators.Range(min=0, max=1000))
    active = fields.Boolean()


class ChannelCreateIn(ChannelFields):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validators.Length(min=1, max=50))
    kind = fields.Enum(ChannelKind, by_value=True, required=True)
    org_id = fields.Integer()


class ChannelListQuery(BaseSchema):
    include_inactive = fields.Boolean(load_default=False)


class AudienceIn(BaseSchema):
    org_id = fields.Integer(required=True)
    category = fields.Enum(MemberCategory, by_value=True, allow_none=True)


class CourseFields(BaseSchema):
    title = fields.String(validate=validators.Length(min=1, max=100))
    summary = fields.String(allow_none=True, validate=validators.Length(max=1000))
    track = fields.Enum(CourseTrack, by_value=True)
    deadline = fields.AwareDateTime(allow_none=True)
    audience = fields.List(fields.Nested(AudienceIn), validate=validators.Length(max=200))


class CourseCreateIn(CourseFields):
    channel_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=validators.Length(min=1, max=100))
    owner_org_id = fields.Integer()


class MyCoursesQuery(PageQuery):
    channel_id = fields.Integer()
    track = fields.Enum(CourseTrack, by_value=True)


class ManagedCoursesQuery(PageQuery):
    org_id = fields.Integer()
    channel_id = fields.Integer()
    status = fields.Enum(CourseStatus, by_value=True)


class LessonIn(BaseSchema):
    title = fields.String(required=True, validate=validators.Length(min=1, max=100))
    kind = fields.Enum(LessonKind, by_value=True, required=True)
    body = fields.String(allow_none=True, validate=validators.Length(max=100000))
    duration_s = fields.Integer(validate=validators.Range(min=10, max=6 * 3600))
    sort_order = fields.Integer(validate=validators.Range(min=0, max=1000))


class MediaIn(BaseSchema):
    file = fields.File(required=True)


def _my_courses(items) -> list[dict]:
    member = current_actor().member
    ids = [lesson.id for c in items for lesson in c.lessons]
    mine = progress.progress_of(member, ids)
    return [
        course_json(c, sum(1 for lesson in c.lessons if mine.get(lesson.id, None) and mine[lesson.id].completed_at))
        for c in items
    ]


def _detail(course) -> dict:
    actor = current_actor()
    mine = progress.progress_of(actor.member, [lesson.id for lesson in course.lessons])
    return course_detail_json(course, mine, content.can_manage(actor, course))


@bp.get("/channels")
@login_required
@bp.input(ChannelListQuery, location="query")
@bp.doc(summary="学习频道", description="网络学院与主题教育专题；include_inactive=1 含已停用的。")
def list_channels(query_data):
    return {"items": [channel_json(c) for c in content.list_channels(current_actor(), query_data["include_inactive"])]}


@bp.post("/channels")
@login_required
@bp.input(ChannelCreateIn)
@bp.doc(summary="新建学习频道", description="组织部门；主题教育须有起止日期。")
def create_channel(json_data):
    channel = content.create_channel(current_actor(), json_data)
    db.session.commit()
    return channel_json(channel), 201


@bp.patch("/channels/<int:channel_id>")
@login_required
@bp.input(ChannelFields)
@bp.doc(summary="修改学习频道", description="主办组织及其上级的组织部门。")
def update_channel(channel_id, json_data):
    channel = content.update_channel(current_actor(), content.get_channel(channel_id), json_data)
    db.session.commit()
    return channel_json(channel)


@bp.get("/courses")
@login_required
@bp.input(MyCoursesQuery, location="query")
@bp.doc(summary="我的课程", description="发给本人的已发布课程：必修在前（按期限），再按发布时间。")
def my_courses(query_data):
    page = content.list_courses_for_member(current_actor(), query_data, query_data["page"], query_data["per_page"])
    return page_out(page, present_all=_my_courses)


@bp.get("/manage/courses")
@login_required
@bp.input(ManagedCoursesQuery, location="query")
@bp.doc(summary="课程管理列表", description="组织部门：本级及下级组织发布的课程。")
def managed_courses(query_data):
    page = content.list_courses_managed(current_actor(), query_data, query_data["page"], query_data["per_page"])
    return page_out(page, course_json)


@bp.post("/courses")
@login_required
@bp.input(CourseCreateIn)
@bp.doc(summary="新建课程（草稿）", description="学习对象默认为发布组织的全体党员；必修课程须有完成期限。")
def create_course(json_data):
    course = content.create_course(current_actor(), json_data)
    db.session.commit()
    return _detail(course), 201


@bp.get("/courses/<int:course_id>")
@login_required
@bp.doc(summary="课程详情", description="含课时及本人的学习进度。")
def get_course(course_id):
    return _detail(content.get_course_for(current_actor(), course_id))


@bp.patch("/courses/<int:course_id>")
@login_required
@bp.input(CourseFields)
@bp.doc(summary="修改课程")
def update_course(course_id, json_data):
    actor = current_actor()
    course = content.update_course(actor, content.get_course_for(actor, course_id), json_data)
    db.session.commit()
    return _detail(course)


@bp.post("/courses/<int:course_id>/publish")
@login_required
@bp.doc(summary="发布课程", description="至少一个课时，且音视频和课件都已上传文件。")
def publish_course(course_id):
    actor = current_actor()
    course = content.publish_course(actor, content.get_course_for(actor, course_id))
    db.session.commit()
    return _detail(course)


@bp.post("/courses/<int:course_id>/withdraw")
@login_required
@bp.doc(summary="撤回课程", description="党员不再看到该课程，已有学习记录保留。")
def withdraw_course(course_id):
    actor = current_actor()
    course = content.withdraw_course(actor, content.get_course_for(actor, course_id))
    db.session.commit()
    return _detail(course)


@bp.post("/courses/<int:course_id>/lessons")
@login_required
@bp.input(LessonIn)
@bp.doc(summary="添加课时", description="图文课时带正文（学习时长按字数估算）；音视频和课件另行上传文件。")
def add_lesson(course_id, json_data):
    actor = current_actor()
    lesson = lessons.add_lesson(actor, content.get_course_for(actor, course_id), json_data)
    db.session.commit()
    return lesson_json(lesson, full=True), 201


@bp.get("/lessons/<int:lesson_id>")
@login_required
@bp.doc(summary="课时详情", description="含正文或一小时有效的文件链接，以及本人的学习进度。")
def get_lesson(lesson_id):
    actor = current_actor()
    lesson = lessons.get_lesson_for(actor, lesson_id)
    return lesson_json(lesson, progress.progress_of(actor.member, [lesson.id]).get(lesson.id), full=True)


@bp.put("/lessons/<int:lesson_id>/media")
@login_required
@bp.input(MediaIn, location="form_and_files")
@bp.doc(summary="上传课时文件", description="multipart：视频 mp4，音频 mp3/m4a，课件 pdf。")
def upload_media(lesson_id, form_and_files_data):
    actor = current_actor()
    lesson = lessons.store_media(actor, lessons.get_lesson_for(actor, lesson_id), form_and_files_data["file"].stream)
    db.session.commit()
    return lesson_json(lesson, full=True)


@bp.get("/media/<token>")
@bp.doc(summary="课时文件", description="由课时详情返回的带签名链接，一小时内有效，无需登录头。", security=[])
def get_media(token):
    lesson = lessons.open_signed_media(token)
    direct = storage().url(lesson.media_key, lessons.MEDIA_URL_SECONDS)
    if direct:
        return redirect(direct)
    response = send_file(storage().open(lesson.media_key), mimetype=lesson.media_type, conditional=True)
    response.headers["Cache-Control"] = f"private, max-age={lessons.MEDIA_URL_SECONDS}"
    return response


def register_learning(app) -> None:
    """Mounts the learning blueprints and the learning CLI (called from create_app)."""
    from blueprints.learning_admin import bp as admin_bp
    from blueprints.learning_quiz import bp as quiz_bp
    from blueprints.learning_stats import bp as stats_bp
    from blueprints.learning_study import bp as study_bp
    from blueprints.learning_study import flush_command, rollup_command
    from services import learning_due  # noqa: F401 - registers the home page's compulsory-course items

    app.register_blueprint(bp)
    app.register_blueprint(study_bp)
    app.register_blueprint(quiz_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(stats_bp)
    app.cli.add_command(flush_command)
    app.cli.add_command(rollup_command)

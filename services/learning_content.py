"""Learning content: channels, courses, lessons, who each course is for, and their media.

Publishing belongs to organisation departments, within their subtree (the platform operator anywhere): a course's
owner organisation and every audience organisation must lie in the publisher's subtree. A course is for the members
of any of its audience rows (an organisation's subtree, optionally one member category); a row at the root of the
tree opens it to the whole city. Members see published courses meant for them; departments also see the courses
owned in their subtree. Anything else reads as 404.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import and_, exists, false, or_, select, true

from models import (
    ChannelKind,
    Course,
    CourseAudience,
    CourseStatus,
    CourseTrack,
    LearningChannel,
    LessonKind,
    Member,
    MemberCategory,
    Organisation,
    PartyStatus,
    Role,
    db,
)
from models.base import utcnow
from services import audit
from services.authz import Actor, covers, get_org_for, subtree_clause
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.listing import Page, paginate


def _settings():
    return current_app.config["SETTINGS"]


def today() -> date:
    return utcnow().astimezone(_settings().zone).date()


# ------------------------------------------------------------------ who is who


def ancestor_ids(org: Organisation) -> list[int]:
    """The ids on the materialized path ("/1/5/23/" → [1, 5, 23]): the organisation and all above it."""
    return [int(part) for part in org.path.strip("/").split("/") if part]


def categories_of(member: Member) -> list[MemberCategory]:
    out = [MemberCategory.FULL if member.party_status == PartyStatus.FULL else MemberCategory.PROBATIONARY]
    if member.is_floating:
        out.append(MemberCategory.FLOATING)
    return out


def audience_clause(member: Member):
    """WHERE on `Course`: one of its audience rows takes in `member` (by place in the tree and category)."""
    return exists().where(
        CourseAudience.course_id == Course.id,
        CourseAudience.org_id.in_(ancestor_ids(member.org)),
        or_(CourseAudience.category.is_(None), CourseAudience.category.in_(categories_of(member))),
    )


def _is_publisher(actor: Actor) -> bool:
    return actor.is_super or (actor.role == Role.DEPT_ADMIN and actor.scope_root() is not None)


def require_publisher(actor: Actor) -> None:
    if not _is_publisher(actor):
        raise Forbidden("只有组织部门可以发布学习内容")


def manages_org(actor: Actor, org: Organisation) -> bool:
    return _is_publisher(actor) and covers(actor, org)


def manage_clause(actor: Actor):
    """WHERE on `Course` (joined to its owner `Organisation`): courses the actor may manage."""
    if actor.is_super:
        return true()
    if not _is_publisher(actor):
        return false()
    return subtree_clause(actor.scope_root())


def for_member_clause(member: Member):
    """WHERE on `Course` (joined to `LearningChannel`): published, meant for `member`, campaign started."""
    return and_(
        Course.status == CourseStatus.PUBLISHED,
        LearningChannel.active.is_(True),
        or_(LearningChannel.starts_on.is_(None), LearningChannel.starts_on <= today()),
        audience_clause(member),
    )


def _manageable_org(actor: Actor, org_id: int, field: str) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or not manages_org(actor, org):
        raise Invalid("只能选择本级及下级组织", fields={field: ["只能选择本级及下级组织"]})
    return org


# ------------------------------------------------------------------ channels


def list_channels(actor: Actor, include_inactive: bool = False) -> list[LearningChannel]:
    stmt = select(LearningChannel).order_by(LearningChannel.sort_order, LearningChannel.id)
    if not include_inactive:
        stmt = stmt.where(LearningChannel.active.is_(True))
    return list(db.session.scalars(stmt))


def get_channel(channel_id: int) -> LearningChannel:
    channel = db.session.get(LearningChannel, channel_id)
    if channel is None:
        raise NotFound("学习频道不存在")
    return channel


def _check_dates(kind: ChannelKind, starts_on: date | None, ends_on: date | None) -> None:
    if kind == ChannelKind.CAMPAIGN and (starts_on is None or ends_on is None):
        field = "starts_on" if starts_on is None else "ends_on"
        raise Invalid("主题教育须填写起止日期", fields={field: ["主题教育须填写起止日期"]})
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid("结束日期不能早于开始日期", fields={"ends_on": ["不能早于开始日期"]})


def create_channel(actor: Actor, data: dict) -> LearningChannel:
    """A channel run by the actor's department (or one below). Writes the channel; audited."""
    require_publisher(actor)
    org_id = data.get("org_id") or (actor.scope_root().id if actor.scope_root() else None)
    if org_id is None:
        raise Invalid("请选择主办组织", fields={"org_id": ["请选择主办组织"]})
    org = _manageable_org(actor, org_id, "org_id")
    _check_dates(data["kind"], data.get("starts_on"), data.get("ends_on"))
    if db.session.scalar(select(LearningChannel.id).where(LearningChannel.code == data["code"])):
        raise Conflict("频道代码已存在", fields={"code": ["频道代码已存在"]}, code="duplicate")
    channel = LearningChannel(
        code=data["code"],
        name=data["name"],
        kind=data["kind"],
        description=data.get("description"),
        org_id=org.id,
        starts_on=data.get("starts_on"),
        ends_on=data.get("ends_on"),
        sort_order=data.get("sort_order", 0),
        created_by=actor.id,
    )
    db.session.add(channel)
    db.session.flush()
    audit.record(actor, "learning.channel.create", "learning_channel", channel.id, {"code": channel.code})
    return channel


def update_channel(actor: Actor, channel: LearningChannel, data: dict) -> LearningChannel:
    """Changes name, dates, order or active flag of a channel the actor's department runs. Audited."""
    if not manages_org(actor, channel.org):
        raise Forbidden("只能修改本级及下级组织主办的频道")
    for name in ("name", "description", "starts_on", "ends_on", "sort_order", "active"):
        if name in data:
            setattr(channel, name, data[name])
    _check_dates(channel.kind, channel.starts_on, channel.ends_on)
    audit.record(actor, "learning.channel.update", "learning_channel", channel.id, {"fields": sorted(data)})
    return channel


# ------------------------------------------------------------------ courses


def _set_audience(actor: Actor, course: Course, rows: list[dict]) -> None:
    owner = course.owner_org
    wanted: set[tuple[int, MemberCategory | None]] = set()
    for i, row in enumerate(rows):
        org = _manageable_org(actor, row["org_id"], f"audience.{i}.org_id")
        if not org.path.startswith(owner.path):
            raise Invalid("学习对象应在发布组织范围内", fields={f"audience.{i}.org_id": ["应在发布组织范围内"]})
        wanted.add((org.id, row.get("category")))
    # Keep the rows that stay (a row removed and added again in one flush would break the unique constraint).
    keep = [a for a in course.audiences if (a.org_id, a.category) in wanted]
    added = sorted(wanted - {(a.org_id, a.category) for a in keep}, key=lambda t: (t[0], t[1] or ""))
    course.audiences = keep + [CourseAudience(org_id=o, category=c) for o, c in added]


def _check_track(track: CourseTrack, deadline: datetime | None) -> None:
    if track == CourseTrack.COMPULSORY and deadline is None:
        raise Invalid("必修课程须设置完成期限", fields={"deadline": ["必修课程须设置完成期限"]})
    if track == CourseTrack.ELECTIVE and deadline is not None:
        raise Invalid("选修课程不设完成期限", fields={"deadline": ["选修课程不设完成期限"]})


def create_course(actor: Actor, data: dict) -> Course:
    """A draft course owned by the actor's department (or one below it), for the given audience (default: the
    owner's whole subtree). Writes the course and its audience rows; audited."""
    require_publisher(actor)
    channel = db.session.get(LearningChannel, data["channel_id"])
    if channel is None or not channel.active:
        raise Invalid("学习频道不存在或已停用", fields={"channel_id": ["学习频道不存在或已停用"]})
    root = actor.scope_root()
    owner_id = data.get("owner_org_id") or (root.id if root else None)
    if owner_id is None:
        raise Invalid("请选择发布组织", fields={"owner_org_id": ["请选择发布组织"]})
    owner = _manageable_org(actor, owner_id, "owner_org_id")
    track = data.get("track", CourseTrack.ELECTIVE)
    _check_track(track, data.get("deadline"))
    course = Course(
        channel_id=channel.id,
        title=data["title"],
        summary=data.get("summary"),
        owner_org=owner,
        track=track,
        deadline=data.get("deadline"),
        created_by=actor.id,
    )
    db.session.add(course)
    _set_audience(actor, course, data.get("audience") or [{"org_id": owner.id}])
    db.session.flush()
    audit.record(actor, "learning.course.create", "learning_course", course.id, {"track": track.value})
    return course


def update_course(actor: Actor, course: Course, data: dict) -> Course:
    """Changes a course the actor manages (title, summary, track and deadline, audience). Audited."""
    authorize_manage(actor, course)
    for name in ("title", "summary", "track", "deadline"):
        if name in data:
            setattr(course, name, data[name])
    _check_track(course.track, course.deadline)
    if "audience" in data:
        if not data["audience"]:
            raise Invalid("请选择学习对象", fields={"audience": ["请选择学习对象"]})
        _set_audience(actor, course, data["audience"])
    audit.record(actor, "learning.course.update", "learning_course", course.id, {"fields": sorted(data)})
    return course


def publish_course(actor: Actor, course: Course) -> Course:
    """Draft or withdrawn → published; a course needs at least one lesson. Audited."""
    authorize_manage(actor, course)
    if course.status == CourseStatus.PUBLISHED:
        raise Conflict("课程已发布", code="bad_status")
    if not course.lessons:
        raise Invalid("课程还没有课时，不能发布", fields={"lessons": ["请先添加课时"]})
    missing = [lesson.title for lesson in course.lessons if lesson.kind != LessonKind.ARTICLE and not lesson.media_key]
    if missing:
        raise Invalid(f"以下课时尚未上传文件：{'、'.join(missing)}", fields={"lessons": ["有课时尚未上传文件"]})
    course.status, course.published_at = CourseStatus.PUBLISHED, utcnow()
    audit.record(actor, "learning.course.publish", "learning_course", course.id)
    return course


def withdraw_course(actor: Actor, course: Course) -> Course:
    """Published → withdrawn: members no longer see it; their progress is kept. Audited."""
    authorize_manage(actor, course)
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict("只有已发布的课程可以撤回", code="bad_status")
    course.status = CourseStatus.WITHDRAWN
    audit.record(actor, "learning.course.withdraw", "learning_course", course.id)
    return course


def can_manage(actor: Actor, course: Course) -> bool:
    return manages_org(actor, course.owner_org)


def can_study(actor: Actor, course: Course) -> bool:
    if actor.member is None or course.status != CourseStatus.PUBLISHED or not course.channel.active:
        return False
    stmt = (
        select(Course.id)
        .join(LearningChannel, Course.channel_id == LearningChannel.id)
        .where(Course.id == course.id, for_member_clause(actor.member))
    )
    return db.session.scalar(stmt) is not None


def get_course_for(actor: Actor, course_id: int) -> Course:
    """A course the actor may study or manage; anything else is NotFound."""
    course = db.session.get(Course, course_id)
    if course is None or not (can_manage(actor, course) or can_study(actor, course)):
        raise NotFound("课程不存在")
    return course


def authorize_manage(actor: Actor, course: Course) -> Course:
    if not can_manage(actor, course):
        if can_study(actor, course):
            raise Forbidden("只能管理本级及下级组织发布的课程")
        raise NotFound("课程不存在")
    return course


def list_courses_for_member(actor: Actor, filters: dict, page: int, per_page: int) -> Page:
    """Courses meant for the actor: compulsory first (by deadline), then the newest."""
    stmt = (
        select(Course)
        .join(LearningChannel, Course.channel_id == LearningChannel.id)
        .where(for_member_clause(actor.member))
    )
    if filters.get("channel_id"):
        stmt = stmt.where(Course.channel_id == filters["channel_id"])
    if filters.get("track"):
        stmt = stmt.where(Course.track == filters["track"])
    newest = (Course.published_at.desc(), Course.id.desc())
    stmt = stmt.order_by((Course.track == CourseTrack.ELECTIVE), Course.deadline, *newest)
    return paginate(stmt, page, per_page)


def list_courses_managed(actor: Actor, filters: dict, page: int, per_page: int) -> Page:
    """Courses owned in the actor's subtree (or under `org_id` within it), newest first."""
    require_publisher(actor)
    stmt = select(Course).join(Organisation, Course.owner_org_id == Organisation.id).where(manage_clause(actor))
    if filters.get("org_id"):
        org = get_org_for(actor, filters["org_id"])
        stmt = stmt.where(subtree_clause(org))
    if filters.get("status"):
        stmt = stmt.where(Course.status == filters["status"])
    if filters.get("channel_id"):
        stmt = stmt.where(Course.channel_id == filters["channel_id"])
    return paginate(stmt.order_by(Course.id.desc()), page, per_page)

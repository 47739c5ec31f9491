"""Completion of compulsory courses per organisation, and who in a branch has not completed them.

Read-only: no writes; the .xlsx exports write an audit entry (a personal-data export when it names members).

Rules:
- Counted courses: compulsory, published, in an active channel whose campaign has started (what members see), with
  an audience row that can reach the subtree (an audience organisation above the root or inside its subtree).
- A member is in a course's audience when one of its rows takes them in: the row's organisation is the member's
  branch or above it, and the row has no category or the member's (正式/预备 by party status, 流动 when floating).
  Only active accounts count.
- Completed: every lesson of the course completed (proxy study counts: the member did study, with help). On time:
  the last lesson completed no later than the deadline. Overdue: not completed and the deadline has passed (as of
  `now`). rate = completed / members, in per cent with one decimal (None without members).
- rows[0] is the organisation itself (members whose branch it is), then one row per active direct child covering
  its subtree; `subtree` sums the rows. A row's `total` adds up its courses (member-course pairs).
- Whoever covers the organisation (a department on its subtree, a secretary on its own branch, the super admin)
  may read; for anyone else, or an organisation out of scope, the statistics do not exist (NotFound).

Speed: three statements whatever the subtree's size: the counted courses, their lesson counts, and one grouped
statement over the subtree. In it, the audience is first matched per organisation and course (a small join of the
subtree's organisations with the courses' audience rows, on the materialized paths), then members are joined to
that by their branch and category and to their completed lessons grouped per member and course; the result is
grouped by the root's child the member lies under (from the path) and by course.
"""

from __future__ import annotations

import io
from datetime import datetime

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import Integer, and_, case, cast, exists, func, literal, or_, select

from models import (
    AccountStatus,
    Course,
    CourseAudience,
    CourseStatus,
    CourseTrack,
    LearningChannel,
    Lesson,
    LessonProgress,
    Member,
    MemberCategory,
    Organisation,
    PartyStatus,
    db,
)
from models.base import utcnow
from services import audit
from services.authz import Actor, covers
from services.errors import Invalid, NotFound
from services.exports import safe_cell
from services.learning_content import ancestor_ids, today

COUNTS = ("members", "completed", "on_time", "overdue")
STATES = {"completed": "已完成", "in_progress": "学习中", "not_started": "未开始"}


def _zone():
    return current_app.config["SETTINGS"].zone


def _root_for(actor: Actor, org_id: int | None) -> Organisation:
    org = db.session.get(Organisation, org_id) if org_id else actor.scope_root()
    if org is None and actor.is_super:
        org = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id))
    if org is None or not covers(actor, org):
        raise NotFound("组织不存在")
    return org


def _courses(root: Organisation, course_id: int | None) -> list[Course]:
    """The compulsory courses whose audience can reach `root`'s subtree, by deadline."""
    audience_org = Organisation.__table__.alias("audience_org")
    reaches = exists().where(
        CourseAudience.course_id == Course.id,
        audience_org.c.id == CourseAudience.org_id,
        or_(audience_org.c.id.in_(ancestor_ids(root)), audience_org.c.path.like(root.path + "%")),
    )
    stmt = (
        select(Course)
        .join(LearningChannel, Course.channel_id == LearningChannel.id)
        .where(
            Course.track == CourseTrack.COMPULSORY,
            Course.status == CourseStatus.PUBLISHED,
            LearningChannel.active.is_(True),
            or_(LearningChannel.starts_on.is_(None), LearningChannel.starts_on <= today()),
            reaches,
        )
        .order_by(Course.deadline, Course.id)
    )
    if course_id is not None:
        stmt = stmt.where(Course.id == course_id)
    courses = list(db.session.scalars(stmt))
    if course_id is not None and not courses:
        raise NotFound("课程不存在")
    return courses


def _lesson_counts(course_ids: list[int]) -> dict[int, int]:
    stmt = select(Lesson.course_id, func.count()).where(Lesson.course_id.in_(course_ids)).group_by(Lesson.course_id)
    return {c: int(n) for c, n in db.session.execute(stmt)}


def _eligible(org_filter, course_ids: list[int]):
    """Per organisation (as `org_filter` selects them) and course: which audience categories reach it (flags)."""
    o, ao, a = Organisation.__table__.alias("o"), Organisation.__table__.alias("ao"), CourseAudience.__table__
    flag = lambda cond: func.max(case((cond, 1), else_=0))  # noqa: E731
    return (
        select(
            o.c.id.label("org_id"),
            a.c.course_id,
            flag(a.c.category.is_(None)).label("everyone"),
            flag(a.c.category == MemberCategory.FULL).label("full"),
            flag(a.c.category == MemberCategory.PROBATIONARY).label("probationary"),
            flag(a.c.category == MemberCategory.FLOATING).label("floating"),
        )
        .select_from(o)
        .join(ao, o.c.path.like(ao.c.path + "%"))
        .join(a, a.c.org_id == ao.c.id)
        .where(org_filter(o), a.c.course_id.in_(course_ids))
        .group_by(o.c.id, a.c.course_id)
        .subquery("eligible")
    )


def _in_audience(e):
    return or_(
        e.c.everyone == 1,
        and_(e.c.full == 1, Member.party_status == PartyStatus.FULL),
        and_(e.c.probationary == 1, Member.party_status == PartyStatus.PROBATIONARY),
        and_(e.c.floating == 1, Member.is_floating.is_(True)),
    )


def _done(course_ids: list[int], completed_only: bool):
    """Per member and course: lessons started, lessons completed, when the last one was completed."""
    lp = LessonProgress
    stmt = select(
        lp.course_id,
        lp.member_id,
        func.count(lp.id).label("started"),
        func.count(lp.completed_at).label("done"),
        func.max(lp.completed_at).label("last"),
    ).where(lp.course_id.in_(course_ids))
    if completed_only:
        stmt = stmt.where(lp.completed_at.isnot(None))
    return stmt.group_by(lp.course_id, lp.member_id).subquery("done")


def _flags(e, d, lessons: dict[int, int], now: datetime):
    """(completed, on time, overdue) as 0/1 expressions of a member-course row."""
    needed = case(lessons, value=e.c.course_id, else_=0) if lessons else literal(0)
    completed = and_(needed > 0, func.coalesce(d.c.done, 0) >= needed)
    on_time = and_(completed, d.c.last <= Course.deadline)
    overdue = and_(~completed, Course.deadline < now)
    one = lambda cond: case((cond, 1), else_=0)  # noqa: E731
    return one(completed), one(on_time), one(overdue)


def _bucket(root: Organisation):
    """The id of the root's child whose subtree holds the member's branch; 0 for the root itself."""
    o = Organisation
    rest = func.substr(o.path, len(root.path) + 1)
    return case((o.id == root.id, literal(0)), else_=cast(func.substr(rest, 1, func.instr(rest, "/") - 1), Integer))


def _rate(done: int, members: int) -> float | None:
    return round(done * 100 / members, 1) if members else None


def _cell(got: dict | None) -> dict:
    out = {name: (got or {}).get(name, 0) for name in COUNTS}
    return {**out, "rate": _rate(out["completed"], out["members"])}


def completion(actor: Actor, org_id: int | None = None, course_id: int | None = None, *, now=None) -> dict:
    """Completion of the compulsory courses in `org_id`'s subtree (default: the actor's), per direct child and
    course, as the API returns it."""
    now = now or utcnow()
    root = _root_for(actor, org_id)
    courses = _courses(root, course_id)
    ids = [c.id for c in courses]
    counted: dict[tuple[int, int], dict] = {}
    if ids:
        lessons = _lesson_counts(ids)
        e = _eligible(lambda o: o.c.path.like(root.path + "%"), ids)
        d = _done(ids, completed_only=True)
        completed, on_time, overdue = _flags(e, d, lessons, now)
        bucket = _bucket(root).label("bucket")
        stmt = (
            select(bucket, e.c.course_id, func.count(), func.sum(completed), func.sum(on_time), func.sum(overdue))
            .select_from(Member)
            .join(Organisation, Organisation.id == Member.org_id)
            .join(e, e.c.org_id == Member.org_id)
            .join(Course, Course.id == e.c.course_id)
            .outerjoin(d, and_(d.c.member_id == Member.id, d.c.course_id == e.c.course_id))
            .where(Member.status == AccountStatus.ACTIVE, _in_audience(e))
            .group_by(bucket, e.c.course_id)
        )
        for b, c, n, done, in_time, late in db.session.execute(stmt):
            counted[int(b), c] = dict(zip(COUNTS, (int(n), int(done or 0), int(in_time or 0), int(late or 0))))
    children = db.session.scalars(
        select(Organisation)
        .where(Organisation.parent_id == root.id, Organisation.active.is_(True))
        .order_by(Organisation.code)
    ).all()
    rows = [_row(root, 0, True, ids, counted)] + [_row(c, c.id, False, ids, counted) for c in children]
    per_course = [_cell({n: sum(r["courses"][i][n] for r in rows) for n in COUNTS}) for i in range(len(ids))]
    return {
        "org": {"id": root.id, "name": root.name},
        "as_of": now.astimezone(_zone()).isoformat(),
        "courses": [_course_head(c) for c in courses],
        "rows": rows,
        "subtree": {
            "courses": [{"course_id": i, **cell} for i, cell in zip(ids, per_course, strict=True)],
            "total": _cell({n: sum(r["total"][n] for r in rows) for n in COUNTS}),
        },
    }


def _course_head(c: Course) -> dict:
    return {
        "id": c.id,
        "title": c.title,
        "owner_org": {"id": c.owner_org.id, "name": c.owner_org.name},
        "deadline": c.deadline.astimezone(_zone()).isoformat(),
    }


def _row(org: Organisation, bucket: int, is_self: bool, ids: list[int], counted: dict) -> dict:
    cells = [{"course_id": c, **_cell(counted.get((bucket, c)))} for c in ids]
    total = _cell({n: sum(cell[n] for cell in cells) for n in COUNTS})
    head = {"id": org.id, "name": org.name, "level": org.level.value, "kind": org.kind.value}
    return {"org": head, "self": is_self, "courses": cells, "total": total}


# ------------------------------------------------------------------ one branch, member by member


def branch_members(actor: Actor, org_id: int, course_id: int | None = None, only_incomplete: bool = True, *, now=None):
    """For one branch, each member in the audience of each counted course: lessons done, completed (on time or not),
    overdue. Only those who have not completed, unless `only_incomplete` is False. Read-only."""
    now = now or utcnow()
    org = _root_for(actor, org_id)
    if not org.kind.is_branch:
        raise Invalid("请选择党支部", fields={"org_id": ["只能查看党支部的党员明细"]})
    courses = _courses(org, course_id)
    ids = [c.id for c in courses]
    out = {"org": {"id": org.id, "name": org.name}, "as_of": now.astimezone(_zone()).isoformat(), "items": []}
    if not ids:
        return out
    lessons = _lesson_counts(ids)
    e = _eligible(lambda o: o.c.id == org.id, ids)
    d = _done(ids, completed_only=False)
    completed, on_time, overdue = _flags(e, d, lessons, now)
    stmt = (
        select(Member, Course, d.c.started, d.c.done, d.c.last, completed, on_time, overdue)
        .join(e, e.c.org_id == Member.org_id)
        .join(Course, Course.id == e.c.course_id)
        .outerjoin(d, and_(d.c.member_id == Member.id, d.c.course_id == e.c.course_id))
        .where(Member.org_id == org.id, Member.status == AccountStatus.ACTIVE, _in_audience(e))
        .order_by(Course.deadline, Course.id, Member.name, Member.id)
    )
    if only_incomplete:
        stmt = stmt.where(completed == 0)
    for m, c, started, done, last, is_done, in_time, late in db.session.execute(stmt):
        state = "completed" if is_done else "in_progress" if started else "not_started"
        out["items"].append(
            {
                "member": {"id": m.id, "name": m.name, "member_no": m.member_no},
                "course": {"id": c.id, "title": c.title, "deadline": c.deadline.astimezone(_zone()).isoformat()},
                "lessons_done": int(done or 0),
                "lesson_count": lessons.get(c.id, 0),
                "state": state,
                "state_label": STATES[state],
                "completed_at": last.astimezone(_zone()).isoformat() if is_done else None,
                "on_time": bool(in_time),
                "overdue": bool(late),
            }
        )
    return out


# ------------------------------------------------------------------ .xlsx


def _local(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else ""


def completion_xlsx(actor: Actor, org_id: int | None, course_id: int | None) -> tuple[bytes, str]:
    """The completion statistics as an .xlsx (one row per organisation and course, then the subtree), and its file
    name. Audited."""
    stats = completion(actor, org_id, course_id)
    book = Workbook()
    sheet = book.active
    sheet.title = "必修课程完成率"
    sheet.append(["组织", "课程", "完成期限", "应学人数", "已完成", "按期完成", "逾期未完成", "完成率(%)"])
    titles = {c["id"]: (c["title"], _local(c["deadline"])) for c in stats["courses"]}
    org_rows = [(r["org"]["name"] + ("（本级）" if r["self"] else ""), r["courses"]) for r in stats["rows"]]
    for name, cells in [*org_rows, (stats["org"]["name"] + "（合计）", stats["subtree"]["courses"])]:
        for cell in cells:
            title, deadline = titles[cell["course_id"]]
            counts = [cell[n] for n in COUNTS]
            sheet.append([safe_cell(name), safe_cell(title), deadline, *counts, cell["rate"]])
    out = io.BytesIO()
    book.save(out)
    detail = {"course_id": course_id, "rows": len(stats["rows"])}
    audit.record(actor, "learning.stats.export", "organisation", stats["org"]["id"], detail)
    return out.getvalue(), f"必修课程完成率-{stats['org']['name']}.xlsx"


def branch_members_xlsx(actor: Actor, org_id: int, course_id: int | None, only_incomplete: bool) -> tuple[bytes, str]:
    """The branch's member list as an .xlsx and its file name. Audited (it names members)."""
    data = branch_members(actor, org_id, course_id, only_incomplete)
    book = Workbook()
    sheet = book.active
    sheet.title = "党员学习明细"
    sheet.append(["姓名", "党员编号", "课程", "完成期限", "已学课时", "课时数", "状态", "完成时间", "按期完成", "逾期"])
    for item in data["items"]:
        sheet.append(
            [
                safe_cell(item["member"]["name"]),
                safe_cell(item["member"]["member_no"] or ""),
                safe_cell(item["course"]["title"]),
                _local(item["course"]["deadline"]),
                item["lessons_done"],
                item["lesson_count"],
                item["state_label"],
                _local(item["completed_at"]),
                "是" if item["on_time"] else "否",
                "是" if item["overdue"] else "否",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    detail = {"course_id": course_id, "rows": len(data["items"]), "only_incomplete": only_incomplete}
    audit.record(actor, "learning.stats.members_export", "organisation", org_id, detail)
    return out.getvalue(), f"必修课程学习明细-{data['org']['name']}.xlsx"

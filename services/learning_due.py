"""What learning puts on the home page: the member's unfinished compulsory courses, by deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select

from models import Course, CourseTrack, LearningChannel, Lesson, LessonProgress, db
from models.base import utcnow
from services.authz import Actor
from services.home import DueItem, due_provider
from services.learning_content import for_member_clause

SOON = timedelta(days=3)
SHOWN = 5


@due_provider
def _compulsory_courses(actor: Actor) -> Iterable[DueItem]:
    """Read-only: compulsory courses meant for the member with a lesson not yet completed."""
    member = actor.member
    if member is None:
        return
    done = (
        select(func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(
            Lesson.course_id == Course.id,
            LessonProgress.member_id == member.id,
            LessonProgress.completed_at.isnot(None),
        )
        .scalar_subquery()
    )
    total = select(func.count(Lesson.id)).where(Lesson.course_id == Course.id).scalar_subquery()
    stmt = (
        select(Course, done, total)
        .join(LearningChannel, Course.channel_id == LearningChannel.id)
        .where(for_member_clause(member), Course.track == CourseTrack.COMPULSORY, done < total)
        .order_by(Course.deadline, Course.id)
        .limit(SHOWN)
    )
    now = utcnow()
    for course, finished, lessons in db.session.execute(stmt):
        level = "danger" if course.deadline < now else "warning" if course.deadline < now + SOON else "info"
        yield DueItem(
            key=f"learning_course_{course.id}",
            title=f"必修课程：{course.title}",
            detail=f"已完成{finished}/{lessons}个课时" + ("，已超过完成期限" if level == "danger" else ""),
            level=level,
            due_at=course.deadline,
            page=f"/pages/learning/course?id={course.id}",
        )

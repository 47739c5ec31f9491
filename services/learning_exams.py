"""The tests a member may take, and where the member stands in each (GET /api/learning/exams).

Which tests: the test-taking rule of services.learning_quiz.get_exam_for — published, and meant for the member's own
organisation or one above it — less the tests whose window (`opens_at`/`closes_at`, when set) is not open now.
Where the member stands: attempts allowed and used (a daily quiz: one a business day, so today's), the latest
attempt (under way, submitted with its score, or left unsubmitted past its deadline) and whether a start is possible
now, by the same counting start_attempt applies. Read-only; two grouped statements per page of tests, never one per
test: a daily quiz collects an attempt a day, so attempts are counted, not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select

from models import CourseStatus, Exam, ExamAttempt, Member, db
from models.base import utcnow
from services.authz import Actor
from services.learning_content import ancestor_ids
from services.learning_points import business_day
from services.listing import Page, paginate


@dataclass
class ExamStanding:
    """One test as one member sees it."""

    exam: Exam
    attempts_used: int  # a daily quiz: today's
    last_attempt: ExamAttempt | None
    now: datetime

    @property
    def attempts_allowed(self) -> int:
        return 1 if self.exam.daily_quiz else self.exam.max_attempts

    @property
    def open_attempt(self) -> ExamAttempt | None:
        """The attempt under way: starting again returns it (only the latest can be open)."""
        last = self.last_attempt
        return last if last is not None and last.submitted_at is None and last.deadline_at > self.now else None

    @property
    def can_start(self) -> bool:
        return self.open_attempt is not None or self.attempts_used < self.attempts_allowed

    def passed(self, attempt: ExamAttempt) -> bool | None:
        """None until submitted; a late submission scores 0 and never passes. Read against today's pass mark."""
        if attempt.submitted_at is None:
            return None
        return not attempt.late and (attempt.score or 0) >= self.exam.pass_score


def for_member_clause(member: Member, now: datetime):
    """WHERE on `Exam`: tests the member may take now."""
    return and_(
        Exam.status == CourseStatus.PUBLISHED,
        Exam.audience_org_id.in_(ancestor_ids(member.org)),
        or_(Exam.opens_at.is_(None), Exam.opens_at <= now),
        or_(Exam.closes_at.is_(None), Exam.closes_at > now),
    )


def list_for_member(actor: Actor, page: int = 1, per_page: int | None = None) -> Page:
    """The actor's own tests, a page of ExamStanding: daily quizzes first, then by closing time (open-ended last),
    newest first."""
    now = utcnow()
    stmt = (
        select(Exam)
        .where(for_member_clause(actor.member, now))
        .order_by(Exam.daily_quiz.desc(), Exam.closes_at.is_(None), Exam.closes_at, Exam.id.desc())
    )
    result = paginate(stmt, page, per_page)
    result.items = standings(actor.member, result.items, now)
    return result


def standings(member: Member, exams: list[Exam], now: datetime) -> list[ExamStanding]:
    counts = _attempt_counts(member, [e.id for e in exams], business_day(now))
    latest = _latest_attempts(member, {exam_id: last_no for exam_id, (_, _, last_no) in counts.items()})
    out = []
    for exam in exams:
        total, today, _ = counts.get(exam.id, (0, 0, None))
        used = today if exam.daily_quiz else total
        out.append(ExamStanding(exam=exam, attempts_used=used, last_attempt=latest.get(exam.id), now=now))
    return out


def _attempt_counts(member: Member, exam_ids: list[int], today: date) -> dict[int, tuple[int, int, int]]:
    """Per test: the member's attempts in all, today's, and the number of the latest."""
    if not exam_ids:
        return {}
    stmt = (
        select(
            ExamAttempt.exam_id,
            func.count(),
            func.sum(case((ExamAttempt.day == today, 1), else_=0)),
            func.max(ExamAttempt.attempt_no),
        )
        .where(ExamAttempt.member_id == member.id, ExamAttempt.exam_id.in_(exam_ids))
        .group_by(ExamAttempt.exam_id)
    )
    return {exam_id: (int(n), int(t or 0), int(last)) for exam_id, n, t, last in db.session.execute(stmt)}


def _latest_attempts(member: Member, last_no: dict[int, int]) -> dict[int, ExamAttempt]:
    if not last_no:
        return {}
    wanted = or_(*(and_(ExamAttempt.exam_id == e, ExamAttempt.attempt_no == n) for e, n in last_no.items()))
    stmt = select(ExamAttempt).where(ExamAttempt.member_id == member.id, wanted)
    return {a.exam_id: a for a in db.session.scalars(stmt)}

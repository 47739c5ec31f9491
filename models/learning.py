"""Learning (issue 7): channels, courses and lessons, who they are for, progress, points, question bank, tests.

Points live in an append-only ledger (`PointEntry`): every point names its rule and source event, and carries a
unique key so that a retried event never grants twice. `PointDaily` is the per-member, per-rule, per-day tally
that daily caps are checked against under a lock.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import IdMixin, TimestampMixin, UTCDateTime, db, utcnow, value_enum
from models.org import Organisation


class ChannelKind(enum.StrEnum):
    ACADEMY = "academy"  # 网络学院: always open
    CAMPAIGN = "campaign"  # 主题教育: a campaign with start and end dates


class CourseTrack(enum.StrEnum):
    COMPULSORY = "compulsory"
    ELECTIVE = "elective"

    @property
    def label(self) -> str:
        return {"compulsory": "必修", "elective": "选修"}[self.value]


class CourseStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}[self.value]


class LessonKind(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    SLIDES = "slides"  # a PDF
    ARTICLE = "article"  # original text

    @property
    def label(self) -> str:
        return {"video": "视频", "audio": "音频", "slides": "课件", "article": "图文"}[self.value]

    @property
    def timed(self) -> bool:
        """Video and audio earn points by the minute; slides and articles once when read."""
        return self in (LessonKind.VIDEO, LessonKind.AUDIO)


class MemberCategory(enum.StrEnum):
    """An audience may be narrowed to one category of member."""

    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员
    FLOATING = "floating"  # 流动党员

    @property
    def label(self) -> str:
        return {"full": "正式党员", "probationary": "预备党员", "floating": "流动党员"}[self.value]


class LearningChannel(TimestampMixin, db.Model):
    __tablename__ = "learning_channels"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[ChannelKind] = mapped_column(value_enum(ChannelKind))
    description: Mapped[str | None] = mapped_column(String(500))
    # The organisation whose department runs the channel; it may be edited from there or above.
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    starts_on: Mapped[date | None] = mapped_column(Date)  # business dates (TZ), campaigns only
    ends_on: Mapped[date | None] = mapped_column(Date)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    org: Mapped[Organisation] = relationship()


class Course(TimestampMixin, db.Model):
    __tablename__ = "learning_courses"

    channel_id: Mapped[int] = mapped_column(ForeignKey("learning_channels.id"))
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(String(1000))
    cover_key: Mapped[str | None] = mapped_column(String(200))
    # The publishing department's organisation: admins at or above it manage the course.
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    track: Mapped[CourseTrack] = mapped_column(value_enum(CourseTrack), default=CourseTrack.ELECTIVE)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)  # compulsory courses only
    status: Mapped[CourseStatus] = mapped_column(value_enum(CourseStatus), default=CourseStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    channel: Mapped[LearningChannel] = relationship()
    owner_org: Mapped[Organisation] = relationship()
    audiences: Mapped[list[CourseAudience]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="CourseAudience.id"
    )
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="[Lesson.sort_order, Lesson.id]", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_learning_courses_channel_status", "channel_id", "status"),
        Index("ix_learning_courses_owner_org_id", "owner_org_id"),
    )


class CourseAudience(IdMixin, db.Model):
    """One row: the members of `org_id`'s subtree, of `category` if given. Rows of a course are alternatives."""

    __tablename__ = "learning_course_audiences"

    course_id: Mapped[int] = mapped_column(ForeignKey("learning_courses.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    category: Mapped[MemberCategory | None] = mapped_column(value_enum(MemberCategory))

    course: Mapped[Course] = relationship(back_populates="audiences")
    org: Mapped[Organisation] = relationship()

    __table_args__ = (
        UniqueConstraint("course_id", "org_id", "category"),
        # "Which courses are for a member": org_id IN (the member's ancestors).
        Index("ix_learning_course_audiences_org_id", "org_id", "course_id"),
    )


class Lesson(TimestampMixin, db.Model):
    __tablename__ = "learning_lessons"

    course_id: Mapped[int] = mapped_column(ForeignKey("learning_courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[LessonKind] = mapped_column(value_enum(LessonKind))
    body: Mapped[str | None] = mapped_column(Text)  # article text
    media_key: Mapped[str | None] = mapped_column(String(200))  # storage key of the video, audio or PDF
    media_type: Mapped[str | None] = mapped_column(String(60))
    media_bytes: Mapped[int | None] = mapped_column(Integer)
    # Seconds of study the lesson needs: the media's length, or the reading time of an article or slides.
    duration_s: Mapped[int] = mapped_column(Integer)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    course: Mapped[Course] = relationship(back_populates="lessons")


class LessonProgress(TimestampMixin, db.Model):
    """A member's credited study of one lesson: only plausible time is ever added to `credited_s`."""

    __tablename__ = "learning_progress"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("learning_lessons.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("learning_courses.id", ondelete="CASCADE"))
    credited_s: Mapped[int] = mapped_column(Integer, default=0)
    position_s: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Started by someone else for the member (a secretary helping an elderly member).
    proxy_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    __table_args__ = (
        UniqueConstraint("member_id", "lesson_id"),
        Index("ix_learning_progress_course_member", "course_id", "member_id"),
    )


class StudySession(db.Model):
    """The one lesson a member is studying now (database path; with Redis this state lives in Redis)."""

    __tablename__ = "learning_sessions"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("learning_lessons.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(32))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proxy_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class StudyDay(db.Model):
    """A member's credited media seconds on one business day: the base of per-minute points."""

    __tablename__ = "learning_days"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    media_s: Mapped[int] = mapped_column(Integer, default=0)
    proxy_media_s: Mapped[int] = mapped_column(Integer, default=0)


class FlushBatch(db.Model):
    """A batch of heartbeat time moved from Redis, recorded in the same transaction that applies it, so that a
    batch replayed after a crash is recognised and not applied twice."""

    __tablename__ = "learning_flush_batches"

    batch_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointRule(TimestampMixin, db.Model):
    """Points per action, as data: `points` per unit (one event, or `unit_s` seconds), at most `daily_cap` a day."""

    __tablename__ = "point_rules"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    points: Mapped[int] = mapped_column(Integer)
    daily_cap: Mapped[int | None] = mapped_column(Integer)  # None: no cap
    unit_s: Mapped[int | None] = mapped_column(Integer)  # time rules: seconds per unit
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class PointEntry(IdMixin, db.Model):
    """One line of the ledger. Never updated or deleted: a mistake is undone by a correction entry."""

    __tablename__ = "point_entries"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # The member's organisation when the points were earned: leaderboards group by it.
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rules.id"))
    points: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)  # business day (TZ)
    source_type: Mapped[str] = mapped_column(String(24))  # login, lesson, study_day, exam_attempt, correction
    source_id: Mapped[int | None] = mapped_column(Integer)
    unique_key: Mapped[str] = mapped_column(String(120), unique=True)
    proxy: Mapped[bool] = mapped_column(Boolean, default=False)  # kept out of rankings
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[PointRule] = relationship()

    __table_args__ = (
        Index("ix_point_entries_member_day", "member_id", "day"),
        Index("ix_point_entries_day_org", "day", "org_id", "proxy"),
    )


class PointDaily(db.Model):
    """Points granted per member, rule and business day: the tally each grant checks the cap against."""

    __tablename__ = "point_daily"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rules.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    JUDGE = "judge"  # true/false

    @property
    def label(self) -> str:
        return {"single": "单选题", "multiple": "多选题", "judge": "判断题"}[self.value]


class Question(TimestampMixin, db.Model):
    """`options` [{"key": "A", "text": ...}]; `answer` the list of correct keys. Never sent before a submit."""

    __tablename__ = "learning_questions"

    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[QuestionKind] = mapped_column(value_enum(QuestionKind))
    topic: Mapped[str] = mapped_column(String(30))
    stem: Mapped[str] = mapped_column(String(1000))
    options: Mapped[list] = mapped_column(JSON)
    answer: Mapped[list] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(String(2000))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # Set when an edit changed what grading reads (kind, options, answer): the edit became this newer row, and this
    # one stays, retired, for the attempts that drew it. No foreign key: emptying the table needs no ordering.
    replaced_by_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_learning_questions_pick", "owner_org_id", "kind", "topic", "active"),)


class Exam(TimestampMixin, db.Model):
    """A test drawn at random by rule: `draw` [{"kind", "topic" (or null), "count", "points"}]."""

    __tablename__ = "learning_exams"

    title: Mapped[str] = mapped_column(String(100))
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    audience_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("learning_courses.id"))
    draw: Mapped[list] = mapped_column(JSON)
    time_limit_s: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    pass_score: Mapped[int] = mapped_column(Integer, default=60)
    daily_quiz: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[CourseStatus] = mapped_column(value_enum(CourseStatus), default=CourseStatus.DRAFT)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    __table_args__ = (Index("ix_learning_exams_audience", "audience_org_id", "status"),)


class ExamAttempt(TimestampMixin, db.Model):
    """One sitting: the questions drawn (ids, in order), the deadline, then the answers and the server's grade."""

    __tablename__ = "learning_exam_attempts"

    exam_id: Mapped[int] = mapped_column(ForeignKey("learning_exams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)  # business day, for the daily quiz
    question_ids: Mapped[list] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[dict | None] = mapped_column(JSON)
    score: Mapped[int | None] = mapped_column(Integer)
    correct_count: Mapped[int | None] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("exam_id", "member_id", "attempt_no"),
        Index("ix_learning_exam_attempts_member_day", "member_id", "day"),
    )


class PointMemberDay(db.Model):
    """Rollup of the ledger read by the leaderboards (services/learning_ranks.py): a member's points of one business
    day earned in one organisation, proxy study left out. Kept in the transaction of each ledger insert; rebuilt
    from the ledger after bulk loads. No foreign keys: derived data, rebuilt at will."""

    __tablename__ = "point_member_days"

    org_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    points: Mapped[int] = mapped_column(Integer, default=0)


class PointOrgDay(db.Model):
    """The same rollup summed per organisation and day: what ranking organisations reads."""

    __tablename__ = "point_org_days"

    org_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)

    # "Every organisation's points in a period": one range of this index, covering.
    __table_args__ = (Index("ix_point_org_days_day", "day", "org_id", "points"),)


class PointOrgMonth(db.Model):
    """The same per organisation and calendar month (`month` is its first day): a month's board of every branch in
    the city reads ~6,000 rows of it instead of ~180,000 organisation-days."""

    __tablename__ = "point_org_months"

    org_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_point_org_months_month", "month", "org_id", "points"),)

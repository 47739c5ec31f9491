"""learning: channels, courses, lessons and their audiences, progress, point rules and ledger, question bank,
tests and attempts

Revision ID: 7e3b9c4d5f32
Revises: 6d2a8b3c4e10
Create Date: 2026-12-04 12:45:00.000000

The point rules are reference data: seeded here (calibrated on the best-known national study app), edited later
as data. `correction` carries correction entries of the ledger and has no points of its own.
"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "7e3b9c4d5f32"
down_revision = "6d2a8b3c4e10"
branch_labels = None
depends_on = None

# code, name, points per unit, daily cap, seconds per unit (time rules), sort order
POINT_RULES = [
    ("login", "每日登录", 1, 1, None, 10),
    ("article_read", "阅读文章", 1, 6, None, 20),
    ("media_time", "视听学习", 1, 8, 240, 30),
    ("daily_quiz", "每日答题", 1, 6, None, 40),
    ("exam_pass", "通过测试", 5, 10, None, 50),
    ("correction", "积分更正", 0, None, None, 90),
]


def upgrade():
    op.create_table(
        "learning_flush_batches",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("applied_at", models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_learning_flush_batches")),
    )
    op.create_table(
        "point_rules",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("unit_s", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_point_rules_code")),
    )
    op.create_table(
        "learning_channels",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column(
            "kind", sa.Enum("academy", "campaign", name="channelkind", native_enum=False, length=24), nullable=False
        ),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_learning_channels_created_by_members")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_learning_channels_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_channels")),
        sa.UniqueConstraint("code", name=op.f("uq_learning_channels_code")),
    )
    op.create_index(op.f("ix_learning_channels_org_id"), "learning_channels", ["org_id"], unique=False)
    op.create_table(
        "learning_days",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("media_s", sa.Integer(), nullable=False),
        sa.Column("proxy_media_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_learning_days_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "day", name=op.f("pk_learning_days")),
    )
    op.create_table(
        "learning_questions",
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("single", "multiple", "judge", name="questionkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=30), nullable=False),
        sa.Column("stem", sa.String(length=1000), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.String(length=2000), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_learning_questions_created_by_members")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_learning_questions_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_questions")),
    )
    op.create_index(
        "ix_learning_questions_pick", "learning_questions", ["owner_org_id", "kind", "topic", "active"], unique=False
    )
    op.create_table(
        "point_daily",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_point_daily_member_id_members")),
        sa.ForeignKeyConstraint(["rule_id"], ["point_rules.id"], name=op.f("fk_point_daily_rule_id_point_rules")),
        sa.PrimaryKeyConstraint("member_id", "rule_id", "day", name=op.f("pk_point_daily")),
    )
    op.create_table(
        "point_entries",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source_type", sa.String(length=24), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("unique_key", sa.String(length=120), nullable=False),
        sa.Column("proxy", sa.Boolean(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["point_entries.id"], name=op.f("fk_point_entries_corrects_id_point_entries")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_point_entries_created_by_members")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_point_entries_member_id_members")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_point_entries_org_id_organisations")),
        sa.ForeignKeyConstraint(["rule_id"], ["point_rules.id"], name=op.f("fk_point_entries_rule_id_point_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_entries")),
        sa.UniqueConstraint("unique_key", name=op.f("uq_point_entries_unique_key")),
    )
    op.create_index("ix_point_entries_day_org", "point_entries", ["day", "org_id", "proxy"], unique=False)
    op.create_index("ix_point_entries_member_day", "point_entries", ["member_id", "day"], unique=False)
    op.create_table(
        "learning_courses",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=True),
        sa.Column("cover_key", sa.String(length=200), nullable=True),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column(
            "track", sa.Enum("compulsory", "elective", name="coursetrack", native_enum=False, length=24), nullable=False
        ),
        sa.Column("deadline", models.base.UTCDateTime(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("draft", "published", "withdrawn", name="coursestatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("published_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["learning_channels.id"], name=op.f("fk_learning_courses_channel_id_learning_channels")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_learning_courses_created_by_members")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_learning_courses_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_courses")),
    )
    op.create_index("ix_learning_courses_channel_status", "learning_courses", ["channel_id", "status"], unique=False)
    op.create_index("ix_learning_courses_owner_org_id", "learning_courses", ["owner_org_id"], unique=False)
    op.create_table(
        "learning_course_audiences",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum("full", "probationary", "floating", name="membercategory", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["learning_courses.id"],
            name=op.f("fk_learning_course_audiences_course_id_learning_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_learning_course_audiences_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_course_audiences")),
        sa.UniqueConstraint(
            "course_id", "org_id", "category", name=op.f("uq_learning_course_audiences_course_id_org_id_category")
        ),
    )
    op.create_index(
        "ix_learning_course_audiences_org_id", "learning_course_audiences", ["org_id", "course_id"], unique=False
    )
    op.create_table(
        "learning_exams",
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("audience_org_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("draw", sa.JSON(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=False),
        sa.Column("daily_quiz", sa.Boolean(), nullable=False),
        sa.Column("opens_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("closes_at", models.base.UTCDateTime(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("draft", "published", "withdrawn", name="coursestatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audience_org_id"], ["organisations.id"], name=op.f("fk_learning_exams_audience_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["learning_courses.id"], name=op.f("fk_learning_exams_course_id_learning_courses")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_learning_exams_created_by_members")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_learning_exams_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_exams")),
    )
    op.create_index("ix_learning_exams_audience", "learning_exams", ["audience_org_id", "status"], unique=False)
    op.create_table(
        "learning_lessons",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("video", "audio", "slides", "article", name="lessonkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("media_key", sa.String(length=200), nullable=True),
        sa.Column("media_type", sa.String(length=60), nullable=True),
        sa.Column("media_bytes", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["learning_courses.id"],
            name=op.f("fk_learning_lessons_course_id_learning_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_lessons")),
    )
    op.create_index(op.f("ix_learning_lessons_course_id"), "learning_lessons", ["course_id"], unique=False)
    op.create_table(
        "learning_exam_attempts",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("deadline_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("correct_count", sa.Integer(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["learning_exams.id"], name=op.f("fk_learning_exam_attempts_exam_id_learning_exams")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_learning_exam_attempts_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_exam_attempts")),
        sa.UniqueConstraint(
            "exam_id", "member_id", "attempt_no", name=op.f("uq_learning_exam_attempts_exam_id_member_id_attempt_no")
        ),
    )
    op.create_index(
        "ix_learning_exam_attempts_member_day", "learning_exam_attempts", ["member_id", "day"], unique=False
    )
    op.create_table(
        "learning_progress",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("credited_s", sa.Integer(), nullable=False),
        sa.Column("position_s", sa.Integer(), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("completed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("proxy_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["learning_courses.id"],
            name=op.f("fk_learning_progress_course_id_learning_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["learning_lessons.id"],
            name=op.f("fk_learning_progress_lesson_id_learning_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_learning_progress_member_id_members")),
        sa.ForeignKeyConstraint(["proxy_by"], ["members.id"], name=op.f("fk_learning_progress_proxy_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_progress")),
        sa.UniqueConstraint("member_id", "lesson_id", name=op.f("uq_learning_progress_member_id_lesson_id")),
    )
    op.create_index("ix_learning_progress_course_member", "learning_progress", ["course_id", "member_id"], unique=False)
    op.create_index(op.f("ix_learning_progress_lesson_id"), "learning_progress", ["lesson_id"], unique=False)
    op.create_table(
        "learning_sessions",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_beat_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("proxy_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["learning_lessons.id"],
            name=op.f("fk_learning_sessions_lesson_id_learning_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_learning_sessions_member_id_members")),
        sa.ForeignKeyConstraint(["proxy_by"], ["members.id"], name=op.f("fk_learning_sessions_proxy_by_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_learning_sessions")),
    )

    now = datetime.now(UTC).replace(tzinfo=None)
    rules = sa.table(
        "point_rules",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("points", sa.Integer),
        sa.column("daily_cap", sa.Integer),
        sa.column("unit_s", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("sort_order", sa.Integer),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    op.bulk_insert(
        rules,
        [
            dict(
                code=c,
                name=n,
                points=p,
                daily_cap=cap,
                unit_s=u,
                active=True,
                sort_order=o,
                created_at=now,
                updated_at=now,
            )
            for c, n, p, cap, u, o in POINT_RULES
        ],
    )


def downgrade():
    # Dropping a table drops its indexes (MariaDB refuses to drop an index a foreign key needs first).
    op.drop_table("learning_sessions")
    op.drop_table("learning_progress")
    op.drop_table("learning_exam_attempts")
    op.drop_table("learning_lessons")
    op.drop_table("learning_exams")
    op.drop_table("learning_course_audiences")
    op.drop_table("learning_courses")
    op.drop_table("point_entries")
    op.drop_table("point_daily")
    op.drop_table("learning_questions")
    op.drop_table("learning_days")
    op.drop_table("learning_channels")
    op.drop_table("point_rules")
    op.drop_table("learning_flush_batches")

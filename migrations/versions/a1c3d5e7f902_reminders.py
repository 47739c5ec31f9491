"""reminders: rules as data, reminder rows with unique keys, department urges

Revision ID: a1c3d5e7f902
Revises: 9b2d3e4f5a61
Create Date: 2026-12-04 16:00:00.000000
"""

from datetime import UTC, datetime

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "a1c3d5e7f902"
down_revision = "9b2d3e4f5a61"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_rules",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.Enum("meeting", "duty", "learning", name="remindersubject", native_enum=False,
                                     length=24), nullable=False),
        sa.Column("cadence", sa.String(length=12), nullable=True),
        sa.Column("remind_days_before", sa.Integer(), nullable=True),
        sa.Column("overdue_after_hours", sa.Integer(), nullable=True),
        sa.Column("escalate_after_hours", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_reminder_rules_code")),
    )
    op.create_table(
        "reminders",
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Enum("meeting", "duty", "learning", name="remindersubject", native_enum=False,
                                     length=24), nullable=False),
        sa.Column("stage", sa.Enum("remind", "overdue", "escalate", name="reminderstage", native_enum=False,
                                   length=24), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("dept_org_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("due_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("notified_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("notification_key", sa.String(length=191), nullable=True),
        sa.Column("closed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["reminder_rules.id"], name=op.f("fk_reminders_rule_id_reminder_rules")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_reminders_org_id_organisations")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_reminders_member_id_members"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dept_org_id"], ["organisations.id"],
                                name=op.f("fk_reminders_dept_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_reminders_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_open", ["closed_at", "subject", "stage"], unique=False)
        batch_op.create_index("ix_reminders_org", ["org_id", "closed_at"], unique=False)
        batch_op.create_index("ix_reminders_member", ["member_id", "closed_at"], unique=False)
        batch_op.create_index("ix_reminders_dept", ["dept_org_id", "closed_at"], unique=False)
        batch_op.create_index("ix_reminders_pending", ["notified_at", "id"], unique=False)
        batch_op.create_index("ix_reminders_identity", ["org_id", "subject_id", "period", "stage"], unique=False)
    op.create_table(
        "org_urges",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("urged_by", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("notification_key", sa.String(length=191), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_org_urges_org_id_organisations")),
        sa.ForeignKeyConstraint(["urged_by"], ["members.id"], name=op.f("fk_org_urges_urged_by_members")),
        sa.ForeignKeyConstraint(["recipient_id"], ["members.id"], name=op.f("fk_org_urges_recipient_id_members"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_urges")),
    )
    with op.batch_alter_table("org_urges", schema=None) as batch_op:
        batch_op.create_index("ix_org_urges_org", ["org_id", "id"], unique=False)
    _seed_rules()


# The default rules (reference data; a city admin edits the numbers through /api/reminders/rules). Meeting rules
# apply per cadence to every active meeting kind of that cadence. Hours after the deadline; days before it.
REMINDER_RULES = [
    # code, name, subject, cadence, remind_days_before, overdue_after_hours, escalate_after_hours
    ("meeting_month", "月度组织生活", "meeting", "month", 5, 0, 7 * 24),
    ("meeting_quarter", "季度组织生活", "meeting", "quarter", 10, 0, 14 * 24),
    ("meeting_year", "年度组织生活", "meeting", "year", 30, 0, 30 * 24),
    ("duty_missed", "值班未签到", "duty", None, None, 0, 2),
    ("learning_due", "必修课程到期", "learning", None, 3, None, None),
]


def _seed_rules():
    now = datetime.now(UTC).replace(tzinfo=None)
    names = ("code", "name", "subject", "cadence", "remind_days_before", "overdue_after_hours",
             "escalate_after_hours", "enabled", "sort_order", "created_at", "updated_at")
    table = sa.table("reminder_rules", *(sa.column(n) for n in names))
    op.bulk_insert(table, [
        {"code": code, "name": name, "subject": subject, "cadence": cadence, "remind_days_before": before,
         "overdue_after_hours": overdue, "escalate_after_hours": escalate, "enabled": True, "sort_order": i,
         "created_at": now, "updated_at": now}
        for i, (code, name, subject, cadence, before, overdue, escalate) in enumerate(REMINDER_RULES, start=1)
    ])


def downgrade():
    with op.batch_alter_table("org_urges", schema=None) as batch_op:
        batch_op.drop_index("ix_org_urges_org")
    op.drop_table("org_urges")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        for name in ("ix_reminders_identity", "ix_reminders_pending", "ix_reminders_dept", "ix_reminders_member", "ix_reminders_org",
                     "ix_reminders_open"):
            batch_op.drop_index(name)
    op.drop_table("reminders")
    op.drop_table("reminder_rules")

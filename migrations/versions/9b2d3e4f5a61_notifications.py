"""notifications: outbox messages, delivery attempts, subscribe credits, SMS usage

Revision ID: 9b2d3e4f5a61
Revises: 8a1c2d3e4f50
Create Date: 2026-12-04 16:00:00.000000

Four new tables (models/notifications.py), nothing altered: one row per notification (unique key, the inbox entry
and the send job's claim), one row per delivery attempt, the per-member, per-template subscribe credits and the SMS
count and cost per member and local day.
"""

import sqlalchemy as sa
from alembic import op

import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "9b2d3e4f5a61"
down_revision = "8a1c2d3e4f50"
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=24)


CHANNELS = ("subscribe", "template", "sms", "inbox")


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("page", sa.String(length=255), nullable=True),
        sa.Column("due_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("org_name", sa.String(length=100), nullable=True),
        sa.Column(
            "status",
            _enum("notificationstatus", "pending", "sending", "sent", "failed", "cancelled"),
            nullable=False,
        ),
        sa.Column("channel", _enum("channel", *CHANNELS), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("sent_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("read_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_notifications_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_member_inbox", ["member_id", "id"], unique=False)
        batch_op.create_index("ix_notifications_member_unread", ["member_id", "read_at"], unique=False)
        batch_op.create_index("ix_notifications_status_claimed", ["status", "claimed_at"], unique=False)

    op.create_table(
        "notification_attempts",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("channel", *CHANNELS), nullable=False),
        sa.Column(
            "outcome",
            _enum("attemptoutcome", "in_flight", "delivered", "transient", "refused", "skipped"),
            nullable=False,
        ),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("credit_spent", sa.Boolean(), nullable=False),
        sa.Column("upstream_code", sa.Integer(), nullable=True),
        sa.Column("provider_msgid", sa.String(length=64), nullable=True),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("started_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_attempts_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_notification_attempts_notification", ["notification_id", "id"], unique=False)

    op.create_table(
        "subscribe_credits",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("granted_total", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_subscribe_credits_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_credits")),
        sa.UniqueConstraint("member_id", "template_id", name=op.f("uq_subscribe_credits_member_id_template_id")),
    )

    op.create_table(
        "sms_usage",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_sms_usage_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_usage")),
        sa.UniqueConstraint("member_id", "day", name=op.f("uq_sms_usage_member_id_day")),
    )


def downgrade():
    op.drop_table("sms_usage")
    op.drop_table("subscribe_credits")
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_attempts_notification")
    op.drop_table("notification_attempts")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_status_claimed")
        batch_op.drop_index("ix_notifications_member_unread")
        batch_op.drop_index("ix_notifications_member_inbox")
    op.drop_table("notifications")

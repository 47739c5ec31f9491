"""official-account bot: message replay guard and account links

Revision ID: b2d4e6f8a013
Revises: a1c3d5e7f902
Create Date: 2026-12-04 16:00:00.000000
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "b2d4e6f8a013"
down_revision = "a1c3d5e7f902"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oa_followers",
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("unsubscribed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("bound_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("bind_failures", sa.Integer(), nullable=False),
        sa.Column("bind_failed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_oa_followers_member_id_members"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oa_followers")),
        sa.UniqueConstraint("appid", "openid", name=op.f("uq_oa_followers_appid_openid")),
    )
    with op.batch_alter_table("oa_followers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oa_followers_member_id"), ["member_id"], unique=False)

    op.create_table(
        "oa_bind_codes",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_oa_bind_codes_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oa_bind_codes")),
        sa.UniqueConstraint("member_id", name=op.f("uq_oa_bind_codes_member_id")),
    )
    with op.batch_alter_table("oa_bind_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oa_bind_codes_code"), ["code"], unique=False)

    op.create_table(
        "oa_messages",
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("received_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oa_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_oa_messages_dedupe_key")),
    )
    with op.batch_alter_table("oa_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oa_messages_received_at"), ["received_at"], unique=False)


def downgrade():
    with op.batch_alter_table("oa_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oa_messages_received_at"))
    op.drop_table("oa_messages")
    with op.batch_alter_table("oa_bind_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oa_bind_codes_code"))
    op.drop_table("oa_bind_codes")
    with op.batch_alter_table("oa_followers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oa_followers_member_id"))
    op.drop_table("oa_followers")

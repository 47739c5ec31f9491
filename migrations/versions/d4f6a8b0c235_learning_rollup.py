"""learning points rollup: per member per day sums read by the rankings

Revision ID: d4f6a8b0c235
Revises: c3e5f7a9b124
Create Date: 2026-12-04 16:00:00.000000

Three read models of the points ledger for the leaderboards (services/learning_ranks.py): points per organisation,
day and member; per organisation and day; per organisation and month; proxy study left out. They are filled from
the ledger here, so an existing database ranks the same after the upgrade.
"""

from alembic import op
import sqlalchemy as sa
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "d4f6a8b0c235"
down_revision = "c3e5f7a9b124"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "point_member_days",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", "member_id", name=op.f("pk_point_member_days")),
    )
    op.create_table(
        "point_org_days",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", name=op.f("pk_point_org_days")),
    )
    op.create_index("ix_point_org_days_day", "point_org_days", ["day", "org_id", "points"], unique=False)
    op.create_table(
        "point_org_months",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "month", name=op.f("pk_point_org_months")),
    )
    op.create_index("ix_point_org_months_month", "point_org_months", ["month", "org_id", "points"], unique=False)
    op.execute(
        "INSERT INTO point_member_days (org_id, day, member_id, points) "
        "SELECT org_id, day, member_id, SUM(points) FROM point_entries WHERE proxy = 0 "
        "GROUP BY org_id, day, member_id"
    )
    op.execute(
        "INSERT INTO point_org_days (org_id, day, points) "
        "SELECT org_id, day, SUM(points) FROM point_member_days GROUP BY org_id, day"
    )
    if op.get_bind().dialect.name == "sqlite":
        month = "date(day, 'start of month')"
    else:
        month = "DATE_FORMAT(day, '%Y-%m-01')"
    op.execute(
        f"INSERT INTO point_org_months (org_id, month, points) "
        f"SELECT org_id, {month}, SUM(points) FROM point_org_days GROUP BY org_id, {month}"
    )


def downgrade():
    op.drop_table("point_org_months")
    op.drop_table("point_org_days")
    op.drop_table("point_member_days")

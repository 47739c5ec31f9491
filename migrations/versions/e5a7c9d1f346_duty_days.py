"""duty days: check-ins counted per cadre, village and duty date at write time, read by the presence board

Revision ID: e5a7c9d1f346
Revises: d4f6a8b0c235
Create Date: 2026-12-04 19:20:00.000000

The board and the month report read these rows instead of grouping a subtree's check-ins on every request
(services/duty_days.py keeps them from every flush). They are filled from the existing check-ins here.
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "e5a7c9d1f346"
down_revision = "d4f6a8b0c235"
branch_labels = None
depends_on = None

COUNTED = ("checkins", "inside", "on_time", "late", "outside", "flagged")


def upgrade():
    op.create_table(
        "duty_days",
        sa.Column("duty_date", sa.Date(), nullable=False),
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTED),
        sa.PrimaryKeyConstraint("duty_date", "org_id", "member_id", name=op.f("pk_duty_days")),
    )
    op.execute(
        "INSERT INTO duty_days (duty_date, org_id, member_id, checkins, inside, on_time, late, outside, flagged) "
        "SELECT duty_date, org_id, member_id, "
        "SUM(CASE WHEN kind = 'checkin' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN kind = 'checkin' AND result = 'inside' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN kind = 'checkin' AND timing IN ('on_time', 'early') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN kind = 'checkin' AND timing = 'late' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN result = 'outside' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN flagged THEN 1 ELSE 0 END) "
        "FROM duty_checkins GROUP BY duty_date, org_id, member_id"
    )


def downgrade():
    op.drop_table("duty_days")

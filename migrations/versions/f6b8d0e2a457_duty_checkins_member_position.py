"""duty check-ins: an index on (member, latitude, longitude) for the repeated-position signal

Revision ID: f6b8d0e2a457
Revises: e5a7c9d1f346
Create Date: 2026-12-06 01:10:00.000000

Every check-in looks for the cadre's check-ins on other days within a metre or so of its position
(services/duty_signals.py). Without this index the database reads each of the cadre's check-ins, a row lookup each,
and the cost of a check-in grows with the cadre's history (about 700 a year); with it, a range of a few entries.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f6b8d0e2a457"
down_revision = "e5a7c9d1f346"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("duty_checkins", schema=None) as batch_op:
        batch_op.create_index("ix_duty_checkins_member_position", ["member_id", "wgs_lat", "wgs_lng"], unique=False)


def downgrade():
    with op.batch_alter_table("duty_checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_checkins_member_position")

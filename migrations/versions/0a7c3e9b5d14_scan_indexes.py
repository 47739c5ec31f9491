"""reminders: the pending index leads with (notified_at, subject); meeting tallies: a covering index for the scan

Revision ID: 0a7c3e9b5d14
Revises: f6b8d0e2a457
Create Date: 2026-12-06 03:40:00.000000

After opening reminders the scan groups the rows it marked in this scan (notified_at = the scan's time) by
notification, one subject at a time (services/reminders.py, post_meeting_notices and post_duty_notices). With
(notified_at, id) MariaDB reads every reminder of the scan for the duty notices, and often chooses to read the
whole table instead; with the subject in the index it reads that subject's rows only.

The scan asks for every organisation and meeting kind whether the kind period was met (services/reminder_scan.py,
_meeting_select). Through the unique (org_id, kind_id, year) each answer is two index descents (the unique
index, then the row); (org_id, kind_id, year, met_mask) answers it from one.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0a7c3e9b5d14"
down_revision = "f6b8d0e2a457"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending")
        batch_op.create_index("ix_reminders_pending", ["notified_at", "subject", "id"], unique=False)
    with op.batch_alter_table("meeting_tallies", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_tallies_met", ["org_id", "kind_id", "year", "met_mask"], unique=False)


def downgrade():
    with op.batch_alter_table("meeting_tallies", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_tallies_met")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending")
        batch_op.create_index("ix_reminders_pending", ["notified_at", "id"], unique=False)

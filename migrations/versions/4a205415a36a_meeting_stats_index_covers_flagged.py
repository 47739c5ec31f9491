"""meeting statistics index covers flagged

The statistics read period, kind, organisation, status and flagged of every meeting of the requested periods;
with flagged in the index the pass over a city's year (~200k meetings) is index-only instead of one row lookup
per meeting (bench/meeting_stats.py).

Revision ID: 4a205415a36a
Revises: 752783c44189
Create Date: 2026-11-26 11:10:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "4a205415a36a"
down_revision = "752783c44189"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_stats")
        batch_op.create_index("ix_meetings_stats", ["period", "kind_id", "org_id", "status", "flagged"], unique=False)


def downgrade():
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_stats")
        batch_op.create_index("ix_meetings_stats", ["period", "kind_id", "org_id", "status"], unique=False)

"""learning administration: campaign and statistics support

Revision ID: c3e5f7a9b124
Revises: b2d4e6f8a013
Create Date: 2026-12-04 16:00:00.000000

Questions are versioned when an edit changes what grading reads: the old row is retired and points at its newer
version (`replaced_by_id`), so attempts that drew it keep being reviewed against the answer they were graded with.
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "c3e5f7a9b124"
down_revision = "b2d4e6f8a013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("learning_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("learning_questions", schema=None) as batch_op:
        batch_op.drop_column("replaced_by_id")

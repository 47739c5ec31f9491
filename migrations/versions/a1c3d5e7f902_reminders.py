"""reminders: rules as data, reminder rows with unique keys, department urges

Revision ID: a1c3d5e7f902
Revises: 9b2d3e4f5a61
Create Date: 2026-12-04 16:00:00.000000
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "a1c3d5e7f902"
down_revision = "9b2d3e4f5a61"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

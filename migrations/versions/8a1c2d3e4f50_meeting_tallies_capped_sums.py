"""meeting tallies: capped per-period sums and met bitmasks stored at write time

Revision ID: 8a1c2d3e4f50
Revises: 7e3b9c4d5f32
Create Date: 2026-12-04 16:00:00.000000
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "8a1c2d3e4f50"
down_revision = "7e3b9c4d5f32"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

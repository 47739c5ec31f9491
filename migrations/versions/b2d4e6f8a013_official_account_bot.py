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
    pass


def downgrade():
    pass

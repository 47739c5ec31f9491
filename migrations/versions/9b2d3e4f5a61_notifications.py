"""notifications: outbox messages, delivery attempts, subscribe credits, SMS usage

Revision ID: 9b2d3e4f5a61
Revises: 8a1c2d3e4f50
Create Date: 2026-12-04 16:00:00.000000
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "9b2d3e4f5a61"
down_revision = "8a1c2d3e4f50"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""meeting tallies: the statistics' read model

One row per organisation, meeting kind and year with a counter per kind period (held, reviewed, flagged), and
the organisation's path, ancestors by depth, active flag and audience copied in, so that statistics over a city's
year read ~50,000 rows grouped by child instead of ~200,000 meetings (services.meeting_tallies). The upgrade
fills the table from the meetings already recorded.

Revision ID: 5c1f0e7a9d21
Revises: 4a205415a36a
Create Date: 2026-12-04 12:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c1f0e7a9d21"
down_revision = "4a205415a36a"
branch_labels = None
depends_on = None

ANCESTORS = 6
SLOTS = 12
METRICS = ("held", "reviewed", "flagged")
BRANCH_KINDS = ("branch", "joint_branch")
LEADERSHIP_LEVELS = ("city", "county")


def upgrade():
    op.create_table(
        "meeting_tallies",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(f"a{d}", sa.Integer(), autoincrement=False, nullable=False) for d in range(ANCESTORS)),
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.String(length=12), nullable=True),
        *(
            sa.Column(f"{m}_{s:02d}", sa.Integer(), server_default="0", nullable=False)
            for m in METRICS
            for s in range(1, SLOTS + 1)
        ),
        sa.ForeignKeyConstraint(
            ["kind_id"], ["meeting_kinds.id"], name=op.f("fk_meeting_tallies_kind_id_meeting_kinds")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_meeting_tallies_org_id_organisations")),
        sa.PrimaryKeyConstraint(
            "year", *(f"a{d}" for d in range(ANCESTORS)), "org_id", "kind_id", name=op.f("pk_meeting_tallies")
        ),
        sa.UniqueConstraint("org_id", "kind_id", "year", name=op.f("uq_meeting_tallies_org_id_kind_id_year")),
    )
    _backfill(op.get_bind())


def _backfill(conn):
    """The same counting as services.meeting_tallies.rebuild, spelt out here so that the migration keeps
    working whatever the services become."""
    orgs = {}
    for org_id, path, active, kind, level in conn.execute(
        sa.text("SELECT id, path, active, kind, level FROM organisations")
    ):
        ids = ([int(p) for p in path.strip("/").split("/") if p] + [0] * ANCESTORS)[:ANCESTORS]
        audience = "branch" if kind in BRANCH_KINDS else "leadership" if level in LEADERSHIP_LEVELS else None
        orgs[org_id] = {f"a{d}": a for d, a in enumerate(ids)} | {
            "path": path,
            "active": bool(active),
            "audience": audience,
        }
    counted = conn.execute(
        sa.text(
            "SELECT org_id, kind_id, period,"
            " SUM(CASE WHEN status <> 'planned' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'reviewed' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status <> 'planned' AND flagged THEN 1 ELSE 0 END)"
            " FROM meetings GROUP BY org_id, kind_id, period"
        )
    )
    zero = {f"{m}_{s:02d}": 0 for m in METRICS for s in range(1, SLOTS + 1)}
    rows = {}
    for org_id, kind_id, period, *numbers in counted:
        year = int(period[:4])
        slot = 1 if len(period) == 4 else int(period[5]) if period[4] == "Q" else int(period[5:7])
        key = (org_id, kind_id, year)
        row = rows.setdefault(key, orgs[org_id] | zero | {"org_id": org_id, "kind_id": kind_id, "year": year})
        for metric, n in zip(METRICS, numbers):
            row[f"{metric}_{slot:02d}"] = int(n)
    if rows:
        table = sa.table("meeting_tallies", *(sa.column(c) for c in next(iter(rows.values()))))
        batch = list(rows.values())
        for i in range(0, len(batch), 2000):
            conn.execute(table.insert(), batch[i : i + 2000])


def downgrade():
    op.drop_table("meeting_tallies")

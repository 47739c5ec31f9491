"""meeting tallies: capped per-unit sums and the met mask stored at write time; their sums per ancestor and per
organisation and year

Each tally row gains, for each unit a statistics request can ask for (months m01–m12, quarters q1–q4, the year
y), the held and reviewed counts capped at the kind's `times_per_period` per kind period and the flagged count,
summed over the kind periods that count for the unit; and `met_mask`, bit s-1 set when kind period s is met. The
statistics then read a few plain sums instead of evaluating per-row expressions (services.meeting_tallies).
`meeting_rollups` sums the counted rows per proper ancestor, child and kind, and `meeting_org_years` holds per
organisation and year the ended kind periods met per threshold (services.meeting_rollups). The upgrade computes
all of them for the rows already there.

Revision ID: 8a1c2d3e4f50
Revises: 7e3b9c4d5f32
Create Date: 2026-12-04 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8a1c2d3e4f50"
down_revision = "7e3b9c4d5f32"
branch_labels = None
depends_on = None

METRICS = ("held", "reviewed", "flagged")
UNITS = (*(f"m{m:02d}" for m in range(1, 13)), *(f"q{q}" for q in range(1, 5)), "y")
NEW_COLUMNS = [f"{metric}_{unit}" for metric in METRICS for unit in UNITS] + ["met_mask"]
UNIT_COLUMNS = [f"{metric}_{unit}" for metric in METRICS for unit in UNITS]
MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}
ANCESTORS = 6


def _months(unit):
    if unit == "y":
        return range(1, 13)
    if unit[0] == "q":
        return range(3 * int(unit[1]) - 2, 3 * int(unit[1]) + 1)
    return [int(unit[1:])]


def _slots(cadence, unit):
    return sorted({(m - 1) // MONTHS_PER_PERIOD[cadence] + 1 for m in _months(unit)})


THRESHOLD_KEYS = [
    (unit, t)
    for unit in UNITS
    for t in sorted({s * MONTHS_PER_PERIOD[c] for c in MONTHS_PER_PERIOD for s in _slots(c, unit)})
]
DONE_COLUMNS = [f"done_{unit}_{t:02d}" for unit, t in THRESHOLD_KEYS]
MET_COLUMNS = [f"met_{unit}_{t:02d}" for unit, t in THRESHOLD_KEYS]


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "mysql":  # one ALTER, not 52
        adds = ", ".join(f"ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0" for name in NEW_COLUMNS)
        op.execute(f"ALTER TABLE meeting_tallies {adds}")
    else:
        for name in NEW_COLUMNS:
            op.add_column("meeting_tallies", sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    kinds = conn.execute(sa.text("SELECT id, cadence, times_per_period FROM meeting_kinds")).all()
    for kind_id, cadence, tpp in kinds:
        sets = ", ".join(f"{name} = {expr}" for name, expr in _derived(cadence, int(tpp)).items())
        conn.execute(sa.text(f"UPDATE meeting_tallies SET {sets} WHERE kind_id = :k"), {"k": kind_id})
    zero = {"server_default": "0", "nullable": False}
    op.create_table(
        "meeting_rollups",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ancestor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), **zero) for name in UNIT_COLUMNS + DONE_COLUMNS),
        sa.PrimaryKeyConstraint("year", "ancestor_id", "bucket_id", "kind_id", name=op.f("pk_meeting_rollups")),
    )
    op.create_table(
        "meeting_org_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(f"a{d}", sa.Integer(), nullable=False) for d in range(ANCESTORS)),
        sa.Column("path", sa.String(length=255), nullable=False),
        *(sa.Column(name, sa.Integer(), **zero) for name in MET_COLUMNS),
        sa.PrimaryKeyConstraint("year", "org_id", name=op.f("pk_meeting_org_years")),
    )
    op.create_index("ix_meeting_org_years_subtree", "meeting_org_years", ["year", *(f"a{d}" for d in range(ANCESTORS))])
    _backfill_sums(conn)


def _backfill_sums(conn):
    """The same sums as services.meeting_rollups.rebuild, spelt out here."""
    kinds = {}
    for kind_id, cadence, audience, active in conn.execute(
        sa.text("SELECT id, cadence, audience, active FROM meeting_kinds")
    ):
        masks = [
            sum(1 << (s - 1) for s in _slots(cadence, unit) if s * MONTHS_PER_PERIOD[cadence] <= t)
            for unit, t in THRESHOLD_KEYS
        ]
        kinds[kind_id] = (audience, bool(active), masks)
    columns = ", ".join(["year", "org_id", "kind_id", "path", "active", "audience", "met_mask", *UNIT_COLUMNS])
    rollups, org_years = {}, {}
    for row in conn.execute(sa.text(f"SELECT {columns} FROM meeting_tallies")).mappings():
        audience, kind_active, masks = kinds[row["kind_id"]]
        if not row["active"] or row["audience"] != audience:
            continue
        ids = [int(p) for p in row["path"].strip("/").split("/") if p]
        mask = row["met_mask"]
        values = [row[c] for c in UNIT_COLUMNS] + [1 if em and mask & em == em else 0 for em in masks]
        for depth in range(len(ids) - 1):
            key = (row["year"], ids[depth], ids[depth + 1], row["kind_id"])
            have = rollups.get(key)
            rollups[key] = values if have is None else [a + b for a, b in zip(have, values)]
        if kind_active:
            met = [bin(mask & em).count("1") for em in masks]
            key = (row["year"], row["org_id"])
            have = org_years.get(key)
            org_years[key] = (row["path"], met if have is None else [a + b for a, b in zip(have[1], met)])
    rollup_rows = [
        dict(zip(["year", "ancestor_id", "bucket_id", "kind_id"], key)) | dict(zip(UNIT_COLUMNS + DONE_COLUMNS, v))
        for key, v in rollups.items()
    ]
    org_rows = []
    for (year, org_id), (path, met) in org_years.items():
        ids = ([int(p) for p in path.strip("/").split("/") if p] + [0] * ANCESTORS)[:ANCESTORS]
        org_rows.append(
            {"year": year, "org_id": org_id, "path": path}
            | {f"a{d}": a for d, a in enumerate(ids)}
            | dict(zip(MET_COLUMNS, met))
        )
    for name, rows in (("meeting_rollups", rollup_rows), ("meeting_org_years", org_rows)):
        if rows:
            table = sa.table(name, *(sa.column(c) for c in rows[0]))
            for i in range(0, len(rows), 2000):
                conn.execute(table.insert(), rows[i : i + 2000])


def _derived(cadence: str, cap: int) -> dict[str, str]:
    """The same expressions as services.meeting_tallies.derived_values, spelt out here so that the migration keeps
    working whatever the services become."""

    def slot_of_month(m):
        return m if cadence == "month" else (m - 1) // 3 + 1 if cadence == "quarter" else 1

    def slots(unit):
        if unit == "y":
            months = range(1, 13)
        elif unit[0] == "q":
            months = range(3 * int(unit[1]) - 2, 3 * int(unit[1]) + 1)
        else:
            months = [int(unit[1:])]
        return sorted({slot_of_month(m) for m in months})

    out = {}
    for unit in UNITS:
        for metric in METRICS:
            cols = [f"{metric}_{s:02d}" for s in slots(unit)]
            terms = cols if metric == "flagged" else [f"CASE WHEN {c} > {cap} THEN {cap} ELSE {c} END" for c in cols]
            out[f"{metric}_{unit}"] = " + ".join(terms)
    periods = len(slots("y"))
    out["met_mask"] = " + ".join(
        f"CASE WHEN held_{s:02d} >= {cap} THEN {1 << (s - 1)} ELSE 0 END" for s in range(1, periods + 1)
    )
    return out


def downgrade():
    op.drop_table("meeting_org_years")
    op.drop_table("meeting_rollups")
    with op.batch_alter_table("meeting_tallies") as batch:
        for name in NEW_COLUMNS:
            batch.drop_column(name)

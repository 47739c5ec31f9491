"""The meeting statistics' sums above the tallies: per ancestor and child (models.MeetingRollup) and per
organisation and year (models.MeetingOrgYear), kept in step with the tallies by services.meeting_tallies.

Why: a city's statistics for a year would group ~50,000 tally rows (~80 ms on MariaDB, the issue's goal is 100
ms for the whole request). With these sums the city reads its ~10 children's rows per kind, and one column per
organisation says how many ended kind periods it has met.

How they stay right: whatever changes tally rows (a flush with meetings, an organisation's change or move, a
kind's new cap, cadence, audience or active flag) reads the affected rows before and after the change
(`snapshot`, with locking reads), and `apply` adds the difference of their contributions to the sums, as
atomic upserts in key order. A tally row contributes only when it counts: its organisation is active and holds
the kind's audience. Its contribution to each proper ancestor A is its unit columns and, per threshold, whether
it has met every ended kind period; to its organisation's year row (active kinds only), per threshold, the
number of ended kind periods met. `rebuild` recomputes everything from the tallies.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import mysql, sqlite

from models import MeetingKind, MeetingOrgYear, MeetingRollup, MeetingTally
from models.meeting import (
    ANCESTOR_LEVELS,
    SLOT_METRICS,
    THRESHOLD_KEYS,
    UNITS,
    ancestor_column,
    ended_mask,
    threshold_column,
    unit_column,
)

TALLIES = MeetingTally.__table__
ROLLUPS = MeetingRollup.__table__
ORG_YEARS = MeetingOrgYear.__table__
UNIT_COLUMNS = tuple(unit_column(metric, unit) for metric in SLOT_METRICS for unit in UNITS)
DONE_COLUMNS = tuple(threshold_column("done", unit, t) for unit, t in THRESHOLD_KEYS)
MET_COLUMNS = tuple(threshold_column("met", unit, t) for unit, t in THRESHOLD_KEYS)
ROLLUP_VALUES = UNIT_COLUMNS + DONE_COLUMNS
_ROW_COLUMNS = ("year", "org_id", "kind_id", "path", "active", "audience", "met_mask", *UNIT_COLUMNS)
_BATCH = 2000


@dataclass(frozen=True)
class KindInfo:
    """What the tallies' derived columns and the sums need of a meeting kind, read once per flush."""

    cadence: str
    times_per_period: int
    audience: str
    active: bool
    masks: tuple[int, ...]  # per THRESHOLD_KEYS: the kind periods ended at that threshold, as met_mask bits

    @classmethod
    def of(cls, cadence, times_per_period, audience, active) -> KindInfo:
        masks = tuple(ended_mask(str(cadence), unit, t) for unit, t in THRESHOLD_KEYS)
        return cls(str(cadence), int(times_per_period), str(audience), bool(active), masks)


def kind_infos(conn) -> dict[int, KindInfo]:
    k = MeetingKind
    rows = conn.execute(select(k.id, k.cadence, k.times_per_period, k.audience, k.active))
    return {kind_id: KindInfo.of(*values) for kind_id, *values in rows}


@dataclass
class Contributions:
    rollups: dict[tuple, list[int]]  # (year, ancestor, bucket, kind) → ROLLUP_VALUES
    org_years: dict[tuple, list[int]]  # (year, org) → MET_COLUMNS
    paths: dict[tuple, str]  # (year, org) → the organisation's path as its tally rows copy it


def _add(target: dict, key, values) -> None:
    have = target.get(key)
    target[key] = list(values) if have is None else [a + b for a, b in zip(have, values, strict=True)]


def contributions(rows, kinds: dict[int, KindInfo]) -> Contributions:
    """What these tally rows add to the sums (rows: mappings with _ROW_COLUMNS)."""
    out = Contributions({}, {}, {})
    for r in rows:
        year, org_id, kind_id = r["year"], r["org_id"], r["kind_id"]
        out.paths[(year, org_id)] = r["path"]
        kind = kinds.get(kind_id)
        if kind is None or not r["active"] or r["audience"] != kind.audience:
            continue
        mask = r["met_mask"]
        ids = [int(p) for p in r["path"].strip("/").split("/") if p]
        if len(ids) > 1:
            done = [1 if em and mask & em == em else 0 for em in kind.masks]
            values = [r[c] for c in UNIT_COLUMNS] + done
            for depth in range(len(ids) - 1):  # proper ancestors only: an organisation's own rows are its tallies
                _add(out.rollups, (year, ids[depth], ids[depth + 1], kind_id), values)
        if kind.active:
            _add(out.org_years, (year, org_id), [(mask & em).bit_count() for em in kind.masks])
    return out


def snapshot(conn, where, kinds: dict[int, KindInfo], lock: bool = True) -> Contributions:
    """The contributions of the tally rows matching `where`, read with a locking read (latest committed values;
    other writers of these rows wait for this transaction)."""
    stmt = select(*(TALLIES.c[c] for c in _ROW_COLUMNS)).where(*where).order_by(*TALLIES.primary_key.columns)
    if lock:
        stmt = stmt.with_for_update()
    return contributions(conn.execute(stmt).mappings(), kinds)


def keys_clause(keys) -> list:
    """The WHERE clause of tally rows by (org_id, kind_id, year)."""
    return [tuple_(TALLIES.c.org_id, TALLIES.c.kind_id, TALLIES.c.year).in_(sorted(keys))]


def apply(conn, before: Contributions, after: Contributions) -> None:
    """Adds after − before to the sums, in key order (no lock cycles between concurrent writers)."""
    rows = []
    for key in sorted(before.rollups.keys() | after.rollups.keys()):
        old, new = before.rollups.get(key), after.rollups.get(key)
        delta = _delta(old, new, len(ROLLUP_VALUES))
        if any(delta):
            year, ancestor, bucket, kind_id = key
            rows.append(
                {"year": year, "ancestor_id": ancestor, "bucket_id": bucket, "kind_id": kind_id}
                | dict(zip(ROLLUP_VALUES, delta, strict=True))
            )
    _upsert(conn, ROLLUPS, rows, ROLLUP_VALUES, ())
    rows = []
    for key in sorted(before.org_years.keys() | after.org_years.keys() | after.paths.keys()):
        old, new = before.org_years.get(key), after.org_years.get(key)
        delta = _delta(old, new, len(MET_COLUMNS))
        path = after.paths.get(key) or before.paths.get(key)
        if any(delta) or (key in after.org_years and before.paths.get(key) != path):
            year, org_id = key
            rows.append({"year": year, "org_id": org_id} | _copies(path) | dict(zip(MET_COLUMNS, delta, strict=True)))
    _upsert(conn, ORG_YEARS, rows, MET_COLUMNS, ("path", *(ancestor_column(d) for d in range(ANCESTOR_LEVELS))))


def _delta(old, new, size: int) -> list[int]:
    old, new = old or [0] * size, new or [0] * size
    return [b - a for a, b in zip(old, new, strict=True)]


def _copies(path: str) -> dict:
    ids = ([int(p) for p in path.strip("/").split("/") if p] + [0] * ANCESTOR_LEVELS)[:ANCESTOR_LEVELS]
    return {ancestor_column(d): a for d, a in enumerate(ids)} | {"path": path}


def _upsert(conn, table, rows: list[dict], added: tuple[str, ...], replaced: tuple[str, ...]) -> None:
    """Inserts the rows, or adds their `added` columns to the existing row and overwrites `replaced`."""
    if not rows:
        return
    if conn.dialect.name == "mysql":
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update(
            {c: table.c[c] + stmt.inserted[c] for c in added} | {c: stmt.inserted[c] for c in replaced}
        )
    else:
        stmt = sqlite.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={c: table.c[c] + stmt.excluded[c] for c in added} | {c: stmt.excluded[c] for c in replaced},
        )
    for i in range(0, len(rows), _BATCH):
        conn.execute(stmt, rows[i : i + _BATCH])


def rebuild(conn) -> None:
    """Recomputes the sums from the tallies, one year at a time (memory bounded by a year's sums)."""
    conn.execute(delete(ROLLUPS))
    conn.execute(delete(ORG_YEARS))
    kinds = kind_infos(conn)
    years = conn.execute(select(TALLIES.c.year).distinct().order_by(TALLIES.c.year)).scalars().all()
    empty = Contributions({}, {}, {})
    for year in years:
        apply(conn, empty, snapshot(conn, [TALLIES.c.year == year], kinds, lock=False))

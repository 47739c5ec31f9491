"""The meeting statistics' read model (models.MeetingTally): kept up to date by every flush, rebuilt in bulk.

Why it exists: counting a city's year of meetings (~200,000) on each request costs ~0.7 s on MariaDB; the
tallies hold one row per organisation, kind and year (~50,000 for a city's year) with a counter per kind period,
and the organisation's ancestors as columns, so services.meeting_stats groups a subtree's rows by child without
a join or any path arithmetic.

How it stays right:
- Meetings: a listener on every ORM flush (`_after_flush`) adds the net effect of the meetings added, changed or
  deleted in that flush to their rows, in the same transaction: +1/−1 on the counters of the kind period each
  meeting counted for before and after. The increments are atomic upserts, applied in key order, so concurrent
  transactions neither lose a count nor deadlock on each other's rows. The counters are uncapped; beside them
  each row stores what a request reads (`derived_values`: per month, quarter and year the capped held and
  reviewed counts and the flagged count, and the mask of met kind periods), recomputed in SQL from the row's
  counters after each change, and for all rows of a kind when its cap or cadence changes. The sums above the
  rows (services.meeting_rollups) follow in the same flush.
- Organisations: the copies of an organisation's place and role (path, ancestors, active, audience) are rewritten
  when those change through the ORM (same listener) and, for a move that rewrites a subtree's paths in one
  statement, by `sync_subtree`, which services.orgs.move_org calls.
- Bulk inserts that bypass the ORM (the demo seeder, benchmarks, tests that insert rows directly) call `rebuild()`
  afterwards; `flask --app app rebuild-meeting-tallies` does the same by hand.

Reminders: every change closes, in the same transaction, the open meeting reminders whose kind period it
completed (services.reminders.close_held: the flush's keys, a kind's new cap, or everything after a rebuild), and
reopens those of a period it left short again (services.reminders.reopen_unmet); the compliance scan does not look
at open meeting reminders again.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import and_, bindparam, case, delete, event, func, inspect, literal_column, or_, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from models import (
    Cadence,
    KindAudience,
    Meeting,
    MeetingKind,
    MeetingStatus,
    MeetingTally,
    Organisation,
    OrgKind,
    OrgLevel,
    db,
)
from models.meeting import (
    ANCESTOR_LEVELS,
    SLOT_METRICS,
    SLOTS,
    UNITS,
    ancestor_column,
    slot_column,
    unit_column,
    unit_slots,
)
from services import meeting_rollups, reminders
from services.meeting_rollups import KindInfo
from services.meetings import LEADERSHIP_LEVELS

log = logging.getLogger(__name__)

TALLIES = MeetingTally.__table__
KEY = ("org_id", "kind_id", "year")
_MEETING_FIELDS = ("org_id", "kind_id", "period", "status", "flagged")
_ORG_FIELDS = ("path", "active", "kind", "level")
_KIND_FIELDS = ("cadence", "times_per_period", "audience", "active")
_BATCH = 2000


def slot_of(period: str) -> tuple[int, int]:
    """The year and the slot of a kind period: "2026-07" → (2026, 7), "2026Q3" → (2026, 3), "2026" → (2026, 1)."""
    year = int(period[:4])
    if len(period) == 4:
        return year, 1
    if period[4] == "Q":
        return year, int(period[5])
    return year, int(period[5:7])


def derived_values(cadence: Cadence, times_per_period: int) -> dict:
    """The columns a statistics request reads, as SQL over the row's own counters: per unit the held and reviewed
    counts capped at `times_per_period` per kind period (one organisation's extra meetings never hide another's
    missing one) and the flagged count, summed over the unit's kind periods; and the mask of met kind periods."""
    cap = literal_column(str(int(times_per_period)))
    col = TALLIES.c

    def capped(name):
        return case((col[name] > cap, cap), else_=col[name])

    out = {}
    for unit in UNITS:
        slots = unit_slots(str(cadence), unit)
        for metric in SLOT_METRICS:
            terms = [(col[n] if metric == "flagged" else capped(n)) for n in (slot_column(metric, s) for s in slots)]
            out[unit_column(metric, unit)] = sum(terms[1:], terms[0])
    periods = len(unit_slots(str(cadence), "y"))
    bits = [case((col[slot_column("held", s)] >= cap, 1 << (s - 1)), else_=0) for s in range(1, periods + 1)]
    out["met_mask"] = sum(bits[1:], bits[0])
    return out


def _refresh_keys(conn, keys, kinds: dict[int, KindInfo]) -> None:
    """Recomputes the derived columns of these rows (after their counters changed): one statement per kind."""
    by_kind = defaultdict(list)
    for org_id, kind_id, year in keys:
        by_kind[kind_id].append({"key_org": org_id, "key_year": year})
    c = TALLIES.c
    for kind_id, key_params in by_kind.items():
        kind = kinds[kind_id]
        stmt = (
            update(TALLIES)
            .where(c.kind_id == kind_id, c.org_id == bindparam("key_org"), c.year == bindparam("key_year"))
            .values(derived_values(kind.cadence, kind.times_per_period))
        )
        conn.execute(stmt, key_params)


def refresh_kinds(conn, kind_ids, kinds: dict[int, KindInfo] | None = None) -> None:
    """Recomputes the derived columns of every row of these kinds (their cap or cadence changed, or a rebuild)."""
    kinds = kinds or meeting_rollups.kind_infos(conn)
    for kind_id in sorted(kind_ids):
        kind = kinds[kind_id]
        values = derived_values(kind.cadence, kind.times_per_period)
        conn.execute(update(TALLIES).where(TALLIES.c.kind_id == kind_id).values(values))


def audience_of(kind: OrgKind, level: OrgLevel) -> str | None:
    """Which kinds of meetings an organisation holds: branches the branch kinds, county-and-up committees the
    leadership kinds, others none (a township committee holds no 民主生活会)."""
    if OrgKind(kind).is_branch:
        return KindAudience.BRANCH.value
    return KindAudience.LEADERSHIP.value if OrgLevel(level) in LEADERSHIP_LEVELS else None


def org_copies(path: str, active: bool, kind, level) -> dict:
    """The organisation's fields as a tally row copies them."""
    ids = [int(p) for p in path.strip("/").split("/") if p]
    ancestors = (ids + [0] * ANCESTOR_LEVELS)[:ANCESTOR_LEVELS]
    out = {ancestor_column(d): a for d, a in enumerate(ancestors)}
    return out | {"path": path, "active": bool(active), "audience": audience_of(kind, level)}


def _counts(status, flagged) -> dict[str, int]:
    held = MeetingStatus(status) != MeetingStatus.PLANNED
    return {
        "held": int(held),
        "reviewed": int(MeetingStatus(status) == MeetingStatus.REVIEWED),
        "flagged": int(held and bool(flagged)),
    }


def _add(deltas: dict, values: dict, sign: int) -> None:
    if any(values.get(f) is None for f in _MEETING_FIELDS):
        return
    year, slot = slot_of(values["period"])
    row = deltas[(values["org_id"], values["kind_id"], year)]
    for metric, n in _counts(values["status"], values["flagged"]).items():
        if n:
            row[slot_column(metric, slot)] += sign * n


def value_before_flush(state, name: str):
    """An attribute's value before this flush (the object's state is still pre-flush in after_flush; the
    Meeting columns read here have active_history, so the old value is known even if it was expired)."""
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return None if history.added else state.dict.get(name)


def _changed(state, names) -> bool:
    return any(state.attrs[n].history.has_changes() for n in names)


def install() -> None:
    """Registers the flush listeners (once per process; create_app calls it)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def _before_flush(session: Session, _flush_context, _instances) -> None:
    """A meeting being deleted may have been expired (by a commit): load what it counted for while its row is
    still there."""
    for obj in session.deleted:
        if isinstance(obj, Meeting):
            for name in _MEETING_FIELDS:
                getattr(obj, name)


def _after_flush(session: Session, _flush_context) -> None:
    deltas: dict[tuple, defaultdict] = defaultdict(lambda: defaultdict(int))
    moved_orgs, changed_kinds = [], {}
    for obj in session.new:
        if isinstance(obj, Meeting):
            _add(deltas, {f: getattr(obj, f) for f in _MEETING_FIELDS}, +1)
    for obj in session.dirty:
        state = inspect(obj)
        if isinstance(obj, Meeting) and _changed(state, _MEETING_FIELDS):
            _add(deltas, {f: value_before_flush(state, f) for f in _MEETING_FIELDS}, -1)
            _add(deltas, {f: getattr(obj, f) for f in _MEETING_FIELDS}, +1)
        elif isinstance(obj, Organisation) and _changed(state, _ORG_FIELDS):
            moved_orgs.append(obj)
        elif isinstance(obj, MeetingKind) and _changed(state, _KIND_FIELDS):
            changed_kinds[obj.id] = {f: value_before_flush(state, f) for f in _KIND_FIELDS}
    for obj in session.deleted:
        if isinstance(obj, Meeting):
            _add(deltas, {f: value_before_flush(inspect(obj), f) for f in _MEETING_FIELDS}, -1)
    changes = {key: {c: n for c, n in row.items() if n} for key, row in deltas.items()}
    changes = {key: row for key, row in changes.items() if row}
    if not (moved_orgs or changes or changed_kinds):
        return  # most flushes touch neither meetings, nor organisations' places, nor kinds
    conn = session.connection()
    kinds = meeting_rollups.kind_infos(conn)
    kinds_before = kinds | {k: _kind_info(old) for k, old in changed_kinds.items()}
    where = []
    if changes:
        _touch(conn, changes)
        where += meeting_rollups.keys_clause(changes)
    if moved_orgs:
        where.append(TALLIES.c.org_id.in_(sorted(o.id for o in moved_orgs)))
    if changed_kinds:
        where.append(TALLIES.c.kind_id.in_(sorted(changed_kinds)))
    where = [or_(*where)]
    before = meeting_rollups.snapshot(conn, where, kinds_before)
    if moved_orgs:
        _sync(conn, [(o.id, org_copies(o.path, o.active, o.kind, o.level)) for o in moved_orgs])
    _apply(conn, changes)
    _refresh_keys(conn, [key for key in changes if key[1] not in changed_kinds], kinds)
    if changed_kinds:
        refresh_kinds(conn, changed_kinds, kinds)
    meeting_rollups.apply(conn, before, meeting_rollups.snapshot(conn, where, kinds, lock=False))
    if changes:
        reminders.close_held(conn, keys=list(changes))  # the meeting was recorded: its reminders close now
        fewer = [key for key, row in changes.items() if any(n < 0 for n in row.values())]
        reminders.reopen_unmet(conn, keys=fewer)  # a meeting moved out of a period: it may be short again
    if changed_kinds:
        reminders.close_held(conn, kind_ids=changed_kinds)  # a lower cap may be met already
        reminders.reopen_unmet(conn, kind_ids=changed_kinds)  # and a higher one no longer


def _kind_info(old: dict) -> KindInfo:
    """A kind as it was before this flush (its row already holds the new values)."""
    return KindInfo.of(old["cadence"], old["times_per_period"], old["audience"], old["active"])


def _touch(conn, changes) -> None:
    """Creates the missing rows of these keys with zero counters, so that the locking read before the change
    finds (and locks) every row it changes, and no two writers deadlock on an insert into the same gap."""
    org_ids = sorted({org_id for org_id, _, _ in changes})
    orgs = _org_copies(conn, org_ids)
    for key in sorted(changes):
        org_id, kind_id, year = key
        row = orgs[org_id] | {"org_id": org_id, "kind_id": kind_id, "year": year}
        if conn.dialect.name == "mysql":
            stmt = mysql.insert(TALLIES).values(row).on_duplicate_key_update({"org_id": TALLIES.c.org_id})
        else:
            stmt = sqlite.insert(TALLIES).values(row).on_conflict_do_nothing(index_elements=list(KEY))
        conn.execute(stmt)


def _org_copies(conn, org_ids) -> dict[int, dict]:
    o = Organisation
    return {
        row.id: org_copies(row.path, row.active, row.kind, row.level)
        for row in conn.execute(select(o.id, o.path, o.active, o.kind, o.level).where(o.id.in_(org_ids)))
    }


def _apply(conn, changes: dict[tuple, dict[str, int]]) -> None:
    """Adds each change to its row, creating the row with the organisation's copies when it is new."""
    if not changes:
        return
    orgs = _org_copies(conn, sorted({org_id for org_id, _, _ in changes}))
    for key in sorted(changes):  # one order for every transaction: no lock cycles between them
        org_id, kind_id, year = key
        counters = changes[key]
        if any(n < 0 for n in counters.values()) and not _exists(conn, key):
            log.warning("meeting tallies out of step for %s: run `flask --app app rebuild-meeting-tallies`", key)
        conn.execute(_upsert(conn, {**orgs[org_id], "org_id": org_id, "kind_id": kind_id, "year": year}, counters))


def _exists(conn, key) -> bool:
    where = [TALLIES.c[k] == v for k, v in zip(KEY, key, strict=True)]
    return conn.execute(select(TALLIES.c.org_id).where(*where)).first() is not None


def _upsert(conn, row: dict, counters: dict[str, int]):
    values = row | counters
    if conn.dialect.name == "mysql":
        stmt = mysql.insert(TALLIES).values(values)
        return stmt.on_duplicate_key_update({c: TALLIES.c[c] + stmt.inserted[c] for c in counters})
    stmt = sqlite.insert(TALLIES).values(values)
    return stmt.on_conflict_do_update(
        index_elements=list(KEY), set_={c: TALLIES.c[c] + stmt.excluded[c] for c in counters}
    )


def _sync(conn, copies: list[tuple[int, dict]]) -> None:
    """Rewrites the copies of these organisations' fields in their rows (executemany: one round trip)."""
    if not copies:
        return
    fields = list(copies[0][1])
    stmt = (
        update(TALLIES)
        .where(TALLIES.c.org_id == bindparam("target_org"))
        .values({f: bindparam(f"new_{f}") for f in fields})
    )
    conn.execute(stmt, [{"target_org": org_id, **{f"new_{f}": v for f, v in c.items()}} for org_id, c in copies])


def sync_subtree(root_path: str) -> None:
    """After a subtree's paths were rewritten in bulk (services.orgs.move_org): rewrites its rows' copies, and
    moves their contributions from the old ancestors' sums to the new ones."""
    o = Organisation
    conn = db.session.connection()
    rows = conn.execute(select(o.id, o.path, o.active, o.kind, o.level).where(o.path.like(root_path + "%"))).all()
    kinds = meeting_rollups.kind_infos(conn)
    where = [TALLIES.c.org_id.in_([r.id for r in rows])]
    before = meeting_rollups.snapshot(conn, where, kinds)
    _sync(conn, [(r.id, org_copies(r.path, r.active, r.kind, r.level)) for r in rows])
    meeting_rollups.apply(conn, before, meeting_rollups.snapshot(conn, where, kinds, lock=False))


def rebuild() -> int:
    """Recounts every tally from the meetings (delete and bulk insert, in the caller's transaction, which
    commits). Returns the number of rows written."""
    conn = db.session.connection()
    conn.execute(delete(TALLIES))
    o, m = Organisation, Meeting
    orgs = {
        r.id: org_copies(r.path, r.active, r.kind, r.level)
        for r in conn.execute(select(o.id, o.path, o.active, o.kind, o.level))
    }
    held = m.status != MeetingStatus.PLANNED
    counted = select(
        m.org_id,
        m.kind_id,
        m.period,
        func.sum(case((held, 1), else_=0)),
        func.sum(case((m.status == MeetingStatus.REVIEWED, 1), else_=0)),
        func.sum(case((and_(held, m.flagged.is_(True)), 1), else_=0)),
    ).group_by(m.org_id, m.kind_id, m.period)
    zero = {slot_column(metric, s): 0 for metric in SLOT_METRICS for s in range(1, SLOTS + 1)}
    rows: dict[tuple, dict] = {}
    for org_id, kind_id, period, *numbers in conn.execute(counted):
        year, slot = slot_of(period)
        row = rows.get((org_id, kind_id, year))
        if row is None:
            row = rows[(org_id, kind_id, year)] = (
                orgs[org_id] | zero | {"org_id": org_id, "kind_id": kind_id, "year": year}
            )
        for metric, n in zip(SLOT_METRICS, numbers, strict=True):
            row[slot_column(metric, slot)] = int(n)
    batch = list(rows.values())
    for i in range(0, len(batch), _BATCH):
        conn.execute(TALLIES.insert(), batch[i : i + _BATCH])
    refresh_kinds(conn, {kind_id for _, kind_id, _ in rows})
    meeting_rollups.rebuild(conn)
    reminders.close_held(conn)  # the bulk-inserted meetings are evidence too
    reminders.reopen_unmet(conn)  # and meetings removed in bulk take theirs back
    return len(batch)

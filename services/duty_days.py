"""Check-ins counted per cadre, village and duty date at write time (the `duty_days` table): what the presence board
and the month report read, instead of grouping the check-ins of a whole subtree on every request.

Every ORM flush that adds, changes or deletes check-ins adds the difference of their contributions to the rows they
count in, as upserts that add (`n = n + delta`), in key order: two transactions touching one row never lose an
update, and never deadlock on the order. A bulk insert that bypasses the ORM (the demo seed) calls `rebuild()`.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from sqlalchemy import case, delete, event, func, insert, inspect, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from models import CheckinKind, CheckinResult, CheckinTiming, DutyCheckin, DutyDay
from services.meeting_tallies import value_before_flush  # the counted columns have active_history too

COUNTED = ("checkins", "inside", "on_time", "late", "outside", "flagged")
KEY = ("duty_date", "org_id", "member_id")
_FIELDS = (*KEY, "kind", "result", "timing", "flagged")
_PUNCTUAL = (CheckinTiming.ON_TIME, CheckinTiming.EARLY)
_TABLE = DutyDay.__table__


def contribution(kind, result, timing, flagged) -> dict[str, int]:
    """What one check-in (or check-out) adds to its day's row."""
    is_checkin = CheckinKind(kind) == CheckinKind.CHECKIN
    result, timing = CheckinResult(result), CheckinTiming(timing)
    return {
        "checkins": int(is_checkin),
        "inside": int(is_checkin and result == CheckinResult.INSIDE),
        "on_time": int(is_checkin and timing in _PUNCTUAL),
        "late": int(is_checkin and timing == CheckinTiming.LATE),
        "outside": int(result == CheckinResult.OUTSIDE),
        "flagged": int(bool(flagged)),
    }


def install() -> None:
    """Registers the flush listeners (once per process; create_app calls it)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def _before_flush(session: Session, _flush_context, _instances) -> None:
    """A check-in being deleted may have been expired (by a commit): load what it counted while its row is there."""
    for obj in session.deleted:
        if isinstance(obj, DutyCheckin):
            for name in _FIELDS:
                getattr(obj, name)


def _add(deltas: dict, values: dict, sign: int) -> None:
    if any(values[f] is None for f in (*KEY, "kind", "result", "timing")):
        return
    row = deltas[tuple(values[k] for k in KEY)]
    counted = contribution(values["kind"], values["result"], values["timing"], values["flagged"])
    for name, n in counted.items():
        row[name] += sign * n


def _after_flush(session: Session, _flush_context) -> None:
    deltas: dict[tuple, defaultdict] = defaultdict(lambda: defaultdict(int))
    for obj in session.new:
        if isinstance(obj, DutyCheckin):
            _add(deltas, {f: getattr(obj, f) for f in _FIELDS}, +1)
    for obj in session.dirty:
        if isinstance(obj, DutyCheckin):
            state = inspect(obj)
            if any(state.attrs[f].history.has_changes() for f in _FIELDS):
                _add(deltas, {f: value_before_flush(state, f) for f in _FIELDS}, -1)
                _add(deltas, {f: getattr(obj, f) for f in _FIELDS}, +1)
    for obj in session.deleted:
        if isinstance(obj, DutyCheckin):
            _add(deltas, {f: value_before_flush(inspect(obj), f) for f in _FIELDS}, -1)
    rows = [
        dict(zip(KEY, key, strict=True)) | {name: delta[name] for name in COUNTED}
        for key, delta in sorted(deltas.items())
        if any(delta.values())
    ]
    if rows:
        _upsert(session.connection(), rows)


def _upsert(conn, rows: list[dict]) -> None:
    conn.execute(_upsert_statement(conn.dialect.name), rows)


@cache
def _upsert_statement(dialect: str):
    """`INSERT … ON DUPLICATE KEY UPDATE n = n + new` (SQLite: ON CONFLICT), built once per dialect: every check-in
    runs it."""
    if dialect == "mysql":
        stmt = mysql.insert(_TABLE)
        return stmt.on_duplicate_key_update({c: _TABLE.c[c] + stmt.inserted[c] for c in COUNTED})
    stmt = sqlite.insert(_TABLE)
    added = {c: _TABLE.c[c] + stmt.excluded[c] for c in COUNTED}
    return stmt.on_conflict_do_update(index_elements=list(KEY), set_=added)


def counted_columns():
    """The six counts of duty_checkins grouped by KEY, as SQL expressions (rebuild and the tests' brute force)."""
    c = DutyCheckin
    is_checkin = c.kind == CheckinKind.CHECKIN
    return (
        func.sum(case((is_checkin, 1), else_=0)),
        func.sum(case((is_checkin & (c.result == CheckinResult.INSIDE), 1), else_=0)),
        func.sum(case((is_checkin & c.timing.in_(_PUNCTUAL), 1), else_=0)),
        func.sum(case((is_checkin & (c.timing == CheckinTiming.LATE), 1), else_=0)),
        func.sum(case((c.result == CheckinResult.OUTSIDE, 1), else_=0)),
        func.sum(case((c.flagged.is_(True), 1), else_=0)),
    )


def rebuild(conn) -> int:
    """Recomputes every row from the check-ins (after a bulk insert that bypassed the ORM, or to verify). Returns
    the number of rows."""
    c = DutyCheckin
    key = (c.duty_date, c.org_id, c.member_id)
    grouped = select(*key, *counted_columns()).group_by(*key)
    conn.execute(delete(_TABLE))
    conn.execute(insert(_TABLE).from_select([*KEY, *COUNTED], grouped))
    return conn.execute(select(func.count()).select_from(_TABLE)).scalar_one()

"""The organisation tree kept in memory per process for hot read paths (the leaderboards), checked against the
database on every use by one small statement.

Reading the tree is what a leaderboard of the whole city cannot afford on every request: 7,531 organisations decoded
row by row by the driver. A process keeps one copy per database together with its fingerprint: the row count and the
sum of a CRC-32 of each row's tree fields (id, parent, path, name, kind, level, active), computed by the database in
the statement that reads the tree. Each use reads the fingerprint again (one aggregate over the table, one row back,
about 2 ms for the city) and reads the tree again only when it differs.

Why a fingerprint of the content rather than `MAX(updated_at)` or a version counter: `updated_at` holds whole
seconds on MariaDB and is stamped when a change is flushed, not when it commits, so a second change within the same
second, or a change committed after a later-stamped one, would leave the newest timestamp as it was and the copy
stale; a counter would have to be bumped by every writer, bulk loads and hand-written SQL included. The fingerprint
changes with any organisation added, moved, renamed, re-kinded, re-levelled, deactivated or deleted, whoever wrote
it; a change is missed only when the CRC sums collide (about one chance in four billion per change).

Things derived from the tree (a leaderboard's ranked organisations, say) are memoised on the copy with `memo`, so
they are dropped with it.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, select

from models import Organisation, OrgKind, OrgLevel, db

# The CRC-32 of a row's tree fields, as each backend writes it (SQLite gets `crc32` from `_sqlite_crc32`).
_ROW_CRC = {
    "mysql": "CRC32(CONCAT_WS('|', id, COALESCE(parent_id, ''), path, name, kind, level, active))",
    "sqlite": "crc32(id || '|' || COALESCE(parent_id, '') || '|' || path || '|' || name || '|' || kind || '|' || "
    "level || '|' || active)",
}
MEMO_LIMIT = 256  # derived values kept per copy; the oldest half is dropped beyond it


@dataclass(frozen=True, slots=True)
class OrgNode:
    id: int
    parent_id: int | None
    name: str
    path: str
    kind: OrgKind
    level: OrgLevel
    active: bool


@dataclass
class OrgTree:
    """Every organisation (active or not) by id. Read-only: shared by the threads of the process."""

    fingerprint: tuple[int, int]
    nodes: dict[int, OrgNode]
    _memo: dict = field(default_factory=dict, repr=False)

    def subtree(self, org_id: int) -> list[OrgNode]:
        """The organisation and everything below it, by the materialized paths."""
        prefix = self.nodes[org_id].path
        return [n for n in self.nodes.values() if n.path.startswith(prefix)]

    def memo(self, key, build: Callable[[], object]):
        """`build()` once per copy of the tree and `key`; the value must not be changed by its users."""
        try:
            return self._memo[key]
        except KeyError:
            pass
        value = build()
        if len(self._memo) >= MEMO_LIMIT:
            for old in list(self._memo)[: MEMO_LIMIT // 2]:
                self._memo.pop(old, None)
        self._memo[key] = value
        return value


_trees: dict[str, OrgTree] = {}  # per database URL
_lock = threading.Lock()


def current_tree() -> OrgTree:
    """The organisation tree as the session's transaction sees it: one fingerprint statement, and the whole tree read
    again (one statement) only when the fingerprint differs from the copy's."""
    crc = _row_crc()
    key = str(db.engine.url)
    tree = _trees.get(key)
    fingerprint = select(func.count(), func.coalesce(func.sum(crc), 0)).select_from(Organisation)
    count, total = db.session.execute(fingerprint).one()
    if tree is not None and tree.fingerprint == (int(count), int(total)):
        return tree
    tree = _read_tree(crc)
    with _lock:
        _trees[key] = tree
    return tree


def forget() -> None:
    """Drops every copy (tests and benchmarks; never needed for correctness)."""
    with _lock:
        _trees.clear()


def _read_tree(crc) -> OrgTree:
    o = Organisation
    rows = db.session.execute(select(o.id, o.parent_id, o.name, o.path, o.kind, o.level, o.active, crc)).all()
    # The fingerprint is summed from the rows read, so the copy matches it whatever the isolation level.
    fingerprint = (len(rows), sum(int(r[7]) for r in rows))
    nodes = {r[0]: OrgNode(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows}
    return OrgTree(fingerprint, nodes)


def _row_crc():
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.create_function("crc32", 1, _sqlite_crc32, deterministic=True)
    return literal_column(_ROW_CRC[conn.dialect.name])


def _sqlite_crc32(text: str | None) -> int | None:
    return None if text is None else zlib.crc32(str(text).encode())

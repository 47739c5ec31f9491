"""Leaderboards from the points ledger, read through two rollups of it.

What is ranked (`unit`): the members of a branch; the direct children of an organisation; or every branch,
township or county within it. An organisation ranks with its whole subtree. Periods: a day, a week (Monday to
Sunday), a month, or a campaign (a 主题教育 channel's start and end dates). Proxy study is left out. An entry counts
for the organisation the member belonged to when it was earned (`point_entries.org_id`), so a move does not carry
old points along.

Why rollups: ranking every branch of the city for a month from the ledger means grouping millions of rows (10 M
ledger rows: see bench/learning_leaderboard.py). The ledger stays the source of truth; `point_member_days` holds
points per organisation, day and member, and `point_org_days` per organisation and day, both without proxy study.
`record` adds each new ledger entry to both in the same transaction (services/learning_points.py calls it), with
atomic upserts; `rebuild` recomputes them from the ledger after bulk loads (`flask --app app learning-rollup`).

What to rank (the subtree's organisations, their names and parents, which ranked organisation each one's points add
to) comes from the process's copy of the organisation tree (services/org_tree_cache.py), checked by one small
statement per board, so a board of the city's 6,500 branches reads one month's sums and nothing else in bulk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import String, cast, delete, func, insert, select
from sqlalchemy.dialects import mysql, sqlite

from models import AccountStatus, ChannelKind, LearningChannel, Member, Organisation, OrgKind, OrgLevel, PointEntry, db
from models.learning import PointMemberDay, PointOrgDay, PointOrgMonth
from services.authz import Actor, get_org_for, subtree_clause
from services.errors import Invalid, NotFound
from services.org_tree_cache import OrgNode, OrgTree, current_tree

PERIODS = ("day", "week", "month", "campaign")
PERIOD_LABELS = {"day": "日榜", "week": "周榜", "month": "月榜", "campaign": "主题教育榜"}
# children: the direct children; members: a branch's members; the others: every such organisation in the subtree.
UNITS = ("children", "members", "branches", "townships", "counties")
UNIT_LABELS = {
    "children": "下级组织",
    "members": "党员",
    "branches": "党支部",
    "townships": "乡镇街道",
    "counties": "县区",
}
BRANCH_KINDS = tuple(k for k in OrgKind if k.is_branch)
MEMBER_DAYS, ORG_DAYS, ORG_MONTHS = PointMemberDay.__table__, PointOrgDay.__table__, PointOrgMonth.__table__


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """First and last business day of the day, week (Monday to Sunday) or month containing `day`."""
    if period == "day":
        return day, day
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if period == "month":
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return first, nxt - timedelta(days=1)
    raise Invalid("统计周期应为 day、week、month 或 campaign", fields={"period": ["应为 day、week、month 或 campaign"]})


def campaign_for(channel_id: int | None, day: date) -> LearningChannel:
    """The campaign channel asked for or, without one, the active campaign running on `day` (the latest started)."""
    if channel_id is not None:
        channel = db.session.get(LearningChannel, channel_id)
        if channel is None or channel.kind != ChannelKind.CAMPAIGN or not channel.starts_on or not channel.ends_on:
            raise Invalid("请选择一个主题教育频道", fields={"channel_id": ["应为主题教育频道"]})
        return channel
    channel = db.session.scalar(
        select(LearningChannel)
        .where(
            LearningChannel.kind == ChannelKind.CAMPAIGN,
            LearningChannel.active.is_(True),
            LearningChannel.starts_on <= day,
            LearningChannel.ends_on >= day,
        )
        .order_by(LearningChannel.starts_on.desc(), LearningChannel.id.desc())
        .limit(1)
    )
    if channel is None:
        raise Invalid("当前没有进行中的主题教育，请选择频道", fields={"channel_id": ["请选择主题教育频道"]})
    return channel


@dataclass(slots=True)
class Row:
    rank: int
    id: int
    name: str
    points: int
    parent_name: str | None = None


def _ranked(ids: list[int], names: list[str], points: list[int], parent_names: list | None = None) -> list[Row]:
    """Ranks by points (ties share a rank, as in competitions: 1, 2, 2, 4), then by id for a stable order. Columns
    in, rows out: no tuple per row, no sort key per row (two stable sorts of the positions instead)."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    order.sort(key=points.__getitem__, reverse=True)  # stable: equal points stay in id order
    out, rank, previous = [], 0, None
    for i, at in enumerate(order):
        pts = points[at]
        if pts != previous:
            rank, previous = i + 1, pts
        out.append(Row(rank, ids[at], names[at], pts, parent_names[at] if parent_names else None))
    return out


def leaderboard(
    actor: Actor,
    org_id: int,
    period: str,
    day: date,
    *,
    unit: str | None = None,
    channel_id: int | None = None,
    limit: int | None = None,
) -> dict:
    """Read-only. Without `unit`, a branch (an organisation without children) ranks its active members and any other
    organisation its direct children. Out of the actor's sight: 404. `limit` keeps the top rows (`total` counts
    all)."""
    org = get_org_for(actor, org_id)
    channel = None
    if period == "campaign":
        channel = campaign_for(channel_id, day)
        first, last = channel.starts_on, channel.ends_on
    else:
        first, last = period_bounds(period, day)
    has_children = db.session.scalar(select(Organisation.id).where(Organisation.parent_id == org.id).limit(1))
    unit = unit or ("children" if has_children else "members")
    if unit not in UNITS:
        raise Invalid("排名对象无效", fields={"unit": [f"应为 {'、'.join(UNITS)} 之一"]})
    if unit == "members":
        if has_children:
            raise Invalid("只有党支部可以按党员排名", fields={"unit": ["只有党支部可以按党员排名"]})
        kind, ranked = "members", _member_board(org, first, last)
    else:
        kind, ranked = "orgs", _org_board(org, unit, first, last)
    return {
        "org": org,
        "kind": kind,
        "unit": unit,
        "period": period,
        "channel": channel,
        "first": first,
        "last": last,
        "total": len(ranked),
        "rows": ranked[:limit] if limit else ranked,
    }


def _member_board(org: Organisation, first: date, last: date) -> list[Row]:
    earned = (
        select(MEMBER_DAYS.c.member_id, func.sum(MEMBER_DAYS.c.points).label("points"))
        .where(MEMBER_DAYS.c.org_id == org.id, MEMBER_DAYS.c.day.between(first, last))
        .group_by(MEMBER_DAYS.c.member_id)
        .subquery()
    )
    stmt = (
        select(Member.id, Member.name, func.coalesce(earned.c.points, 0))
        .outerjoin(earned, earned.c.member_id == Member.id)
        .where(Member.org_id == org.id, Member.status == AccountStatus.ACTIVE)
    )
    ids, names, points = [], [], []
    for mid, name, pts in db.session.execute(stmt):
        ids.append(mid)
        names.append(name)
        points.append(int(pts))
    return _ranked(ids, names, points)


def _is_unit(unit: str, org: OrgNode, node: OrgNode) -> bool:
    if unit == "children":
        return node.parent_id == org.id
    if unit == "branches":
        return node.kind in BRANCH_KINDS
    level = OrgLevel.TOWNSHIP if unit == "townships" else OrgLevel.COUNTY
    return node.level == level and node.kind not in BRANCH_KINDS


@dataclass(frozen=True, slots=True)
class _Ranking:
    """What a board of organisations takes from the tree, as columns: the ranked organisations (active, of the unit,
    in the subtree), their parents' names, and for each organisation of the subtree the positions of the ranked ones
    whose points it adds to (itself and those above it)."""

    ids: list[int]
    names: list[str]
    parent_names: list[str | None]
    adds_to: dict[int, tuple[int, ...]]


def _ranking(tree: OrgTree, org_id: int, unit: str) -> _Ranking:
    def build() -> _Ranking:
        org, subtree = tree.nodes[org_id], tree.subtree(org_id)
        ranked = [n for n in subtree if n.active and _is_unit(unit, org, n)]
        position = {n.id: i for i, n in enumerate(ranked)}
        adds_to = {}
        for n in subtree:
            hits = tuple(position[a] for a in map(int, n.path.strip("/").split("/")) if a in position)
            if hits:
                adds_to[n.id] = hits
        parents = [tree.nodes.get(n.parent_id) for n in ranked]
        return _Ranking(
            [n.id for n in ranked], [n.name for n in ranked], [p.name if p else None for p in parents], adds_to
        )

    return tree.memo(("learning_ranks", org_id, unit), build)


def _month_after(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def _pieces(first: date, last: date) -> list[tuple]:
    """[first, last] as the rollup ranges that cover it: the whole calendar months in it from the month table, the
    days before and after them from the day table. (table, column, low, high) each."""
    start = first if first.day == 1 else _month_after(first)  # the first whole month
    stop = _month_after(last) if _month_after(last) - timedelta(days=1) == last else last.replace(day=1)
    if start >= stop:  # no whole month inside
        return [(ORG_DAYS, "day", first, last)]
    out = [(ORG_MONTHS, "month", start, stop - timedelta(days=1))]
    if first < start:
        out.append((ORG_DAYS, "day", first, start - timedelta(days=1)))
    if stop <= last:
        out.append((ORG_DAYS, "day", stop, last))
    return out


def _org_board(org: Organisation, unit: str, first: date, last: date) -> list[Row]:
    """Each ranked organisation with the points of its subtree: what to rank comes from the process's copy of the
    tree (`services.org_tree_cache`), the points from the rollups' sums per organisation (`_period_sums`), added up
    to the ranked organisations above each organisation."""
    tree = current_tree()
    if org.id not in tree.nodes:  # deleted since `org` was read (SQLite reads each statement on its own)
        raise NotFound("组织不存在")
    ranking = _ranking(tree, org.id, unit)
    if not ranking.ids:
        return []
    points = [0] * len(ranking.ids)
    adds_to = ranking.adds_to
    for org_id, earned in _period_sums(org, first, last):
        for at in adds_to.get(org_id, ()):
            points[at] += earned
    return _ranked(ranking.ids, ranking.names, points, ranking.parent_names)


def _period_sums(org: Organisation, first: date, last: date) -> Iterator[tuple[int, int]]:
    """(organisation id, points) of every organisation with points in [first, last] (in the subtree of `org`), once
    per piece of the period: one statement each, a grouped range read of a rollup.

    Each comes back as one string, "id points id points …", not as a row per organisation: the driver decodes rows
    in Python, which made the 6,500 rows of the city's month cost 12–16 ms against 4 ms for the string. A string cut
    short by the server's `group_concat_max_len` (1 MiB on MariaDB: some 60,000 organisations) is read again row by
    row."""
    for table, column, low, high in _pieces(first, last):
        sums = select(table.c.org_id, func.sum(table.c.points).label("points"))
        sums = sums.where(table.c[column].between(low, high))
        if org.parent_id is not None:  # below the root: only the subtree's rows
            sums = sums.join(Organisation, Organisation.id == table.c.org_id).where(subtree_clause(org))
        per_org = sums.group_by(table.c.org_id).subquery()
        pair = cast(per_org.c.org_id, String) + " " + cast(per_org.c.points, String)
        packed = select(func.count(), func.aggregate_strings(pair, " ")).select_from(per_org)
        count, text = db.session.execute(packed).one()
        values = text.split() if text else []
        if len(values) == 2 * count:
            yield from zip(map(int, values[::2]), map(int, values[1::2]))
        else:
            for org_id, points in db.session.execute(select(per_org.c.org_id, per_org.c.points)):
                yield org_id, int(points)


# ------------------------------------------------------------------ keeping the rollups


def _upsert(table, values: dict, key: list[str]):
    if db.session.get_bind().dialect.name == "mysql":
        stmt = mysql.insert(table).values(values)
        return stmt.on_duplicate_key_update(points=table.c.points + stmt.inserted.points)
    stmt = sqlite.insert(table).values(values)
    return stmt.on_conflict_do_update(index_elements=key, set_={"points": table.c.points + stmt.excluded.points})


def record(entry: PointEntry) -> None:
    """Adds a new ledger entry to the rollups, in the caller's transaction (atomic upserts: concurrent grants add
    up). Proxy study is left out. Call it once per entry, right after the entry's insert is flushed."""
    if entry.proxy or not entry.points:
        return
    conn = db.session.connection()
    day, points = entry.day, entry.points
    member_row = {"org_id": entry.org_id, "day": day, "member_id": entry.member_id, "points": points}
    conn.execute(_upsert(MEMBER_DAYS, member_row, ["org_id", "day", "member_id"]))
    conn.execute(_upsert(ORG_DAYS, {"org_id": entry.org_id, "day": day, "points": points}, ["org_id", "day"]))
    month_row = {"org_id": entry.org_id, "month": day.replace(day=1), "points": points}
    conn.execute(_upsert(ORG_MONTHS, month_row, ["org_id", "month"]))


def rebuild() -> tuple[int, int]:
    """Recomputes both rollups from the ledger (delete and INSERT … SELECT, in the caller's transaction, which
    commits). Returns the rows written to each."""
    conn = db.session.connection()
    conn.execute(delete(ORG_MONTHS))
    conn.execute(delete(ORG_DAYS))
    conn.execute(delete(MEMBER_DAYS))
    e = PointEntry
    per_member = (
        select(e.org_id, e.day, e.member_id, func.sum(e.points))
        .where(e.proxy.is_(False))
        .group_by(e.org_id, e.day, e.member_id)
    )
    conn.execute(insert(MEMBER_DAYS).from_select(["org_id", "day", "member_id", "points"], per_member))
    m = MEMBER_DAYS.c
    per_org = select(m.org_id, m.day, func.sum(m.points)).group_by(m.org_id, m.day)
    conn.execute(insert(ORG_DAYS).from_select(["org_id", "day", "points"], per_org))
    d = ORG_DAYS.c
    if conn.dialect.name == "sqlite":
        month = func.date(d.day, "start of month")
    else:
        month = func.date_format(d.day, "%Y-%m-01")
    per_month = select(d.org_id, month, func.sum(d.points)).group_by(d.org_id, month)
    conn.execute(insert(ORG_MONTHS).from_select(["org_id", "month", "points"], per_month))
    count = conn.execute(select(func.count()).select_from(MEMBER_DAYS)).scalar()
    return int(count), int(conn.execute(select(func.count()).select_from(ORG_DAYS)).scalar())

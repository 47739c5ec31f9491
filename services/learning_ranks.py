"""Leaderboards from the points ledger: members within a branch, or the direct children of an organisation (each with
its whole subtree) within it, for a day, week or month. Proxy study is left out. An entry counts for the organisation
the member belonged to when it was earned (`point_entries.org_id`), so a move does not carry old points along.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from models import AccountStatus, Member, Organisation, PointEntry, db
from services.authz import Actor, get_org_for
from services.errors import Invalid

PERIODS = ("day", "week", "month")
PERIOD_LABELS = {"day": "日榜", "week": "周榜", "month": "月榜"}


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
    raise Invalid("统计周期应为 day、week 或 month", fields={"period": ["应为 day、week 或 month"]})


@dataclass
class Row:
    rank: int
    id: int
    name: str
    points: int


def _ranked(rows: list[tuple[int, str, int]]) -> list[Row]:
    """Ranks by points (ties share a rank, as in competitions: 1, 2, 2, 4), then by id for a stable order."""
    rows = sorted(rows, key=lambda r: (-r[2], r[0]))
    out, rank = [], 0
    for i, (rid, name, pts) in enumerate(rows):
        if i == 0 or pts != rows[i - 1][2]:
            rank = i + 1
        out.append(Row(rank, rid, name, pts))
    return out


def _window(first: date, last: date):
    return and_(PointEntry.day >= first, PointEntry.day <= last, PointEntry.proxy.is_(False))


def leaderboard(actor: Actor, org_id: int, period: str, day: date) -> dict:
    """Read-only. A branch (an organisation without children) ranks its active members; any other organisation
    ranks its direct children by the points earned in their subtrees. Out of the actor's sight: 404."""
    org = get_org_for(actor, org_id)
    first, last = period_bounds(period, day)
    children = list(
        db.session.scalars(select(Organisation).where(Organisation.parent_id == org.id).order_by(Organisation.id))
    )
    if children:
        kind, rows = "orgs", _children_rows(org, first, last)
    else:
        kind, rows = "members", _member_rows(org, first, last)
    return {"org": org, "kind": kind, "period": period, "first": first, "last": last, "rows": _ranked(rows)}


def _member_rows(org: Organisation, first: date, last: date) -> list[tuple[int, str, int]]:
    earned = (
        select(PointEntry.member_id, func.sum(PointEntry.points).label("points"))
        .where(PointEntry.org_id == org.id, _window(first, last))
        .group_by(PointEntry.member_id)
        .subquery()
    )
    stmt = (
        select(Member.id, Member.name, func.coalesce(earned.c.points, 0))
        .outerjoin(earned, earned.c.member_id == Member.id)
        .where(Member.org_id == org.id, Member.status == AccountStatus.ACTIVE)
    )
    return [(mid, name, int(pts)) for mid, name, pts in db.session.execute(stmt)]


def _children_rows(org: Organisation, first: date, last: date) -> list[tuple[int, str, int]]:
    child, place = aliased(Organisation), aliased(Organisation)
    earned = (
        select(child.id.label("child_id"), func.sum(PointEntry.points).label("points"))
        .join(place, place.path.startswith(child.path))
        .join(PointEntry, PointEntry.org_id == place.id)
        .where(child.parent_id == org.id, _window(first, last))
        .group_by(child.id)
        .subquery()
    )
    stmt = (
        select(Organisation.id, Organisation.name, func.coalesce(earned.c.points, 0))
        .outerjoin(earned, earned.c.child_id == Organisation.id)
        .where(Organisation.parent_id == org.id)
    )
    return [(oid, name, int(pts)) for oid, name, pts in db.session.execute(stmt)]

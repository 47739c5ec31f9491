"""The daily presence board of a department's subtree on one date: the totals, each directly subordinate
organisation's counts (to drill down), and the cadres one page at a time (optionally only those with one status).

Per cadre and village (an assignment in force that day):
- rostered: the weekly pattern has a shift that weekday and no approved exception covers the day;
- on_leave: it has a shift, but an approved exception (leave, business trip) covers the day; not rostered;
- present: rostered, with at least one check-in (kind checkin) inside a fence that day;
- late: rostered, checked in, but none of the day's check-ins was on time (or early) and one was late;
- absent: rostered, without any check-in that day (absence is derived, never stored);
- unconfirmed: rostered, checked in, but never inside (outside or uncertain only);
- outside: any check-in or check-out that day outside the fences (rostered or not);
- flagged: any check-in or check-out that day carrying a spoof signal.
So rostered = present + unconfirmed + absent. Check-ins belong to the day of their reading time (`duty_date`); a
cadre with check-ins at a village but no assignment there that day any more (since shortened) is still shown, never
rostered. Two assignments of one cadre to one village on one day count once (the earlier one's roster).

The check-ins are read as counted at write time (duty_days, one row per cadre, village and day), and the statuses
are computed and summed by the database: a city of 11,300 cadres answers with a few dozen rows, not 11,300
(bench/duty_board.py).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from models import DutyAssignment, DutyDay, DutyException, DutyRoster, Member, Organisation, db
from services.authz import Actor, covers, get_org_for, subtree_clause
from services.duty_days import COUNTED
from services.errors import NotFound
from services.listing import Page

COUNTS = ("rostered", "present", "late", "absent", "unconfirmed", "on_leave", "outside", "flagged")
COUNT_KEYS = COUNTED


def _covering(a, day: date):
    return and_(a.starts_on <= day, or_(a.ends_on.is_(None), a.ends_on >= day))


def cadre_days(root: Organisation, day: date):
    """A subquery: one row per cadre and village of the subtree on `day`, with the village's path and name,
    `shift` (1: the weekly pattern has a shift that weekday), `leave` (1: an approved exception covers the day) and
    the day's six check-in counts (zero without check-ins)."""
    a, earlier, d = DutyAssignment, aliased(DutyAssignment), DutyDay
    first = ~exists().where(
        earlier.member_id == a.member_id, earlier.org_id == a.org_id, earlier.id < a.id, _covering(earlier, day)
    )
    on_leave = exists().where(
        DutyException.assignment_id == a.id, DutyException.starts_on <= day, DutyException.ends_on >= day
    )
    assigned = (
        select(
            a.member_id,
            a.org_id,
            Organisation.path,
            Organisation.name.label("org_name"),
            case((DutyRoster.id.is_(None), 0), else_=1).label("shift"),
            case((on_leave, 1), else_=0).label("leave"),
            *(func.coalesce(getattr(d, n), 0).label(n) for n in COUNTED),
        )
        .join(Organisation, a.org_id == Organisation.id)
        .outerjoin(DutyRoster, and_(DutyRoster.assignment_id == a.id, DutyRoster.weekday == day.weekday()))
        .outerjoin(d, and_(d.duty_date == day, d.org_id == a.org_id, d.member_id == a.member_id))
        .where(subtree_clause(root), _covering(a, day), first)
    )
    unassigned = (
        select(
            d.member_id,
            d.org_id,
            Organisation.path,
            Organisation.name.label("org_name"),
            literal(0, Integer).label("shift"),
            literal(0, Integer).label("leave"),
            *(getattr(d, n) for n in COUNTED),
        )
        .join(Organisation, d.org_id == Organisation.id)
        .where(d.duty_date == day, subtree_clause(root), d.checkins + d.outside + d.flagged > 0)
        .where(~exists().where(a.member_id == d.member_id, a.org_id == d.org_id, _covering(a, day)))
    )
    return union_all(assigned, unassigned).subquery("cadre_days")


def statuses(cd) -> dict:
    """The board's eight statuses of a cadre_days row, as SQL conditions."""
    rostered = and_(cd.c.shift == 1, cd.c.leave == 0)
    checked_in = cd.c.checkins > 0
    return {
        "rostered": rostered,
        "present": and_(rostered, cd.c.inside > 0),
        "late": and_(rostered, checked_in, cd.c.on_time == 0, cd.c.late > 0),
        "absent": and_(rostered, cd.c.checkins == 0),
        "unconfirmed": and_(rostered, checked_in, cd.c.inside == 0),
        "on_leave": and_(cd.c.shift == 1, cd.c.leave == 1),
        "outside": cd.c.outside > 0,
        "flagged": cd.c.flagged > 0,
    }


def checkin_counts(root: Organisation, first: date, last: date) -> dict[tuple[int, int, date], dict]:
    """Per (member, org, duty date) from `first` to `last`: the six counts of COUNTED, as kept in duty_days (the
    month report reads a month of them)."""
    d = DutyDay
    stmt = (
        select(d.member_id, d.org_id, d.duty_date, *(getattr(d, n) for n in COUNTED))
        .join(Organisation, d.org_id == Organisation.id)
        .where(subtree_clause(root), d.duty_date.between(first, last))
    )
    return {(m, o, day): dict(zip(COUNTED, counts, strict=True)) for m, o, day, *counts in db.session.execute(stmt)}


def day_status(rostered: bool, on_leave: bool, n: dict) -> dict:
    checked_in = n["checkins"] > 0
    return {
        "rostered": rostered,
        "on_leave": on_leave,
        "present": rostered and n["inside"] > 0,
        "late": rostered and checked_in and n["on_time"] == 0 and n["late"] > 0,
        "absent": rostered and not checked_in,
        "unconfirmed": rostered and checked_in and n["inside"] == 0,
        "outside": n["outside"] > 0,
        "flagged": n["flagged"] > 0,
    }


def board(actor: Actor, org_id: int, day: date) -> dict:
    """The board of `org_id`'s subtree on `day` (a business date): the totals, and the counts under each direct
    child (with how many cadre rows each holds). The cadres themselves are listed by `cadres`. NotFound unless the
    actor administers the organisation (a department over it, its own secretary, the operator). Read-only."""
    root = _root(actor, org_id)
    cd = cadre_days(root, day)
    sums = [func.sum(case((cond, 1), else_=0)) for cond in statuses(cd).values()]
    # The path segment after the root's: the direct child a row is under ('' for the root's own cadres). A string
    # function per row, not a join of every row with every child (57 children under the city).
    below = func.substr(cd.c.path, len(root.path) + 1)
    segment = func.substr(below, 1, func.instr(below, "/") - 1)
    grouped = {
        seg: values for seg, *values in db.session.execute(select(segment, func.count(), *sums).group_by(segment))
    }
    ids = [int(seg) for seg in grouped if seg]
    orgs = {}
    if ids:
        stmt = select(Organisation.id, Organisation.name, Organisation.kind).where(Organisation.id.in_(ids))
        orgs = {row.id: row for row in db.session.execute(stmt)}
    totals, children, listed = dict.fromkeys(COUNTS, 0), [], 0
    for seg in sorted(grouped, key=lambda seg: int(seg) if seg else 0):
        n, *values = grouped[seg]
        counts = dict(zip(COUNTS, (int(v or 0) for v in values), strict=True))
        listed += n
        for key in COUNTS:
            totals[key] += counts[key]
        if seg:
            org = orgs[int(seg)]
            kind = getattr(org.kind, "value", org.kind)
            children.append({"org": {"id": org.id, "name": org.name, "kind": kind}, "cadres": n, **counts})
    return {"org": root, "date": day, "totals": totals, "cadres": listed, "children": children}


def cadres(actor: Actor, org_id: int, day: date, *, status: str | None = None, page: int = 1, per_page: int = 50):
    """One page of the subtree's cadres on `day` with their statuses and counts, ordered by village and name;
    only those with `status` (one of COUNTS) when given. NotFound as for `board`. Read-only."""
    root = _root(actor, org_id)
    cd = cadre_days(root, day)
    stmt = select(cd, Member.name).join(Member, Member.id == cd.c.member_id)
    if status is not None:
        stmt = stmt.where(statuses(cd)[status])
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    stmt = stmt.order_by(cd.c.path, Member.name, cd.c.member_id).limit(per_page).offset((page - 1) * per_page)
    items = [_cadre(row) for row in db.session.execute(stmt).mappings()]
    return Page(items=items, total=total, page=page, per_page=per_page)


def _root(actor: Actor, org_id: int) -> Organisation:
    root = get_org_for(actor, org_id)
    if not covers(actor, root):
        raise NotFound("组织不存在")
    return root


def _cadre(row) -> dict:
    counts = {k: row[k] for k in COUNTED}
    status = day_status(row["shift"] == 1 and row["leave"] == 0, row["shift"] == 1 and row["leave"] == 1, counts)
    return {
        "member": {"id": row["member_id"], "name": row["name"]},
        "org_id": row["org_id"],
        "org": {"id": row["org_id"], "name": row["org_name"]},
        **status,
        "checkins": counts["checkins"],
        "outside_count": counts["outside"],
        "flagged_count": counts["flagged"],
    }

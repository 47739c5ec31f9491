"""The daily presence board of a department's subtree: per village and per cadre, who was rostered, present, late,
absent, outside, flagged or on leave on one date. Two grouped statements over the subtree whatever its size.

Per cadre and village (an assignment in force that day):
- rostered: the weekly pattern has a shift that weekday and no approved exception covers the day;
- on_leave: it has a shift, but an approved exception (leave, business trip) covers the day; not rostered;
- present: rostered, with at least one check-in (kind checkin) inside a fence that day;
- late: rostered, checked in, but none of the day's check-ins was on time (or early) and one was late;
- absent: rostered, without any check-in that day (absence is derived, never stored);
- unconfirmed: rostered, checked in, but never inside (outside or uncertain only);
- outside: any check-in or check-out that day outside the fences (rostered or not);
- flagged: any check-in or check-out that day carrying a spoof signal.
So rostered = present + unconfirmed + absent. Check-ins belong to the day of their reading time (`duty_date`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, and_, case, cast, exists, func, or_, select

from models import (
    CheckinKind,
    CheckinResult,
    CheckinTiming,
    DutyAssignment,
    DutyCheckin,
    DutyException,
    DutyRoster,
    Member,
    Organisation,
    db,
)
from services.authz import Actor, covers, get_org_for, subtree_clause
from services.errors import NotFound

COUNTS = ("rostered", "present", "late", "absent", "unconfirmed", "on_leave", "outside", "flagged")


def _assignments(root: Organisation, day: date):
    """(member id, member name, org id, org name, state) of the assignments in force on `day`; state: 1 when the
    weekly pattern has a shift that weekday, plus 2 when an approved exception covers the day.

    The weekday's shift is an outer join (one row at most: unique per assignment and weekday), not a subquery per
    assignment; approved exceptions are rare, and their EXISTS probes an index. Five values a row, not seven: for a
    city the driver decodes every one of them (bench/duty_board.py)."""
    a = DutyAssignment
    on_leave = exists().where(
        DutyException.assignment_id == a.id, DutyException.starts_on <= day, DutyException.ends_on >= day
    )
    shift = and_(DutyRoster.assignment_id == a.id, DutyRoster.weekday == day.weekday())
    state = case((DutyRoster.id.is_(None), 0), else_=1) + case((on_leave, 2), else_=0)
    stmt = (
        select(a.member_id, Member.name, a.org_id, Organisation.name, state)
        .join(Organisation, a.org_id == Organisation.id)
        .join(Member, a.member_id == Member.id)
        .outerjoin(DutyRoster, shift)
        .where(subtree_clause(root), a.starts_on <= day, or_(a.ends_on.is_(None), a.ends_on >= day))
        .order_by(Organisation.path, a.org_id, Member.name, a.member_id)
    )
    return db.session.execute(stmt).all()


COUNT_KEYS = ("checkins", "inside", "on_time", "late", "outside", "flagged")
# The six counts of a group travel as one integer, 10 bits each: a city board groups ~11,000 rows and the driver
# (PyMySQL, pure Python) decodes every value, so one value instead of six halves the board's fetch. Each count is
# capped at 1,023 before packing (no carry into the next field): only "none", "some" and small numbers matter.
_BITS = 10
_CAP = (1 << _BITS) - 1


def checkin_counts(root: Organisation, first: date, last: date) -> dict[tuple[int, int, date], dict]:
    """Per (member, org, duty date) from `first` to `last`: check-ins, those inside, on time (or early), late,
    outside, flagged. One grouped statement over the subtree (the board reads a day, the month report a month)."""
    c = DutyCheckin
    is_checkin = c.kind == CheckinKind.CHECKIN

    def count_if(*conditions):
        total = func.sum(case((and_(*conditions), 1), else_=0))
        return case((total > _CAP, _CAP), else_=total)

    one_day = first == last
    # One day as an equality: with a range, MariaDB uses only the index's org_id and filters every day of history.
    days = c.duty_date == first if one_day else c.duty_date.between(first, last)

    counts = (
        count_if(is_checkin),
        count_if(is_checkin, c.result == CheckinResult.INSIDE),
        count_if(is_checkin, c.timing.in_((CheckinTiming.ON_TIME, CheckinTiming.EARLY))),
        count_if(is_checkin, c.timing == CheckinTiming.LATE),
        count_if(c.result == CheckinResult.OUTSIDE),
        count_if(c.flagged.is_(True)),
    )
    packed = cast(sum(n * (1 << (_BITS * i)) for i, n in enumerate(counts)), BigInteger)
    stmt = (
        select(c.member_id, c.org_id, packed)
        .join(Organisation, c.org_id == Organisation.id)
        .where(subtree_clause(root), days)
        .group_by(c.member_id, c.org_id, c.duty_date)
    )
    if not one_day:
        stmt = stmt.add_columns(c.duty_date)
    out = {}
    for m, o, value, *day in db.session.execute(stmt):
        value = int(value)
        out[(m, o, day[0] if day else first)] = {k: (value >> (_BITS * i)) & _CAP for i, k in enumerate(COUNT_KEYS)}
    return out


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
    """The board of `org_id`'s subtree on `day` (a business date). NotFound unless the actor administers the
    organisation (a department over it, its own secretary, the operator). Read-only."""
    root = get_org_for(actor, org_id)
    if not covers(actor, root):
        raise NotFound("组织不存在")
    empty = {"checkins": 0, "inside": 0, "on_time": 0, "late": 0, "outside": 0, "flagged": 0}
    counts = {(m, o): n for (m, o, _day), n in checkin_counts(root, day, day).items()}
    cadres, orgs, seen = [], {}, set()
    for member_id, member_name, oid, org_name, state in _assignments(root, day):
        if (member_id, oid) in seen:
            continue  # two assignments to one village on one day count once
        seen.add((member_id, oid))
        n = counts.get((member_id, oid), empty)
        has_shift, on_leave = bool(state & 1), bool(state & 2)
        status = day_status(has_shift and not on_leave, has_shift and on_leave, n)
        cadres.append({"member": {"id": member_id, "name": member_name}, "org_id": oid, **status, **_n(n)})
        _add(orgs.setdefault(oid, {"org": {"id": oid, "name": org_name}, **dict.fromkeys(COUNTS, 0)}), status)
    for (member_id, oid), n in counts.items():
        if (member_id, oid) not in seen:  # an assignment since shortened: still shown, never rostered
            status = day_status(False, False, n)
            cadres.append({"member": {"id": member_id, "name": None}, "org_id": oid, **status, **_n(n)})
            _add(orgs.setdefault(oid, {"org": {"id": oid, "name": None}, **dict.fromkeys(COUNTS, 0)}), status)
    totals = dict.fromkeys(COUNTS, 0)
    for row in orgs.values():
        for key in COUNTS:
            totals[key] += row[key]
    return {"org": root, "date": day, "totals": totals, "orgs": list(orgs.values()), "cadres": cadres}


def _n(n: dict) -> dict:
    return {"checkins": n["checkins"], "outside_count": n["outside"], "flagged_count": n["flagged"]}


def _add(row: dict, status: dict) -> None:
    for key in COUNTS:
        row[key] += int(status[key])

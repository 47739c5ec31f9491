"""Meeting statistics: for an organisation and a period, per meeting kind, what was required, held, reviewed and
flagged, for the organisation itself and for each direct child's subtree, and who is behind schedule.

Read-only: no writes, no audit entry.

Rules (decided with the issue, 4 item 6):
- The requested period is "2026-07", "2026Q3" or "2026"; the default is the current quarter in the business time
  zone. Only active kinds count.
- A kind counts its own periods (`Meeting.period`, the kind's cadence) that fall inside the request: a monthly kind
  in 2026Q3 counts 2026-07, 2026-08 and 2026-09, so it requires `times_per_period` × 3 meetings of each
  organisation it applies to. A kind coarser than the request counts its one period containing the request (a
  yearly kind in 2026Q3: 2026, `times_per_period` once).
- Branch kinds apply to active branches (支部, 联合支部); leadership kinds to active non-branch organisations at
  county level and up (county-and-up committees; townships and village committees/general branches hold no
  民主生活会). Meetings of an organisation a kind does not apply to, or of an inactive organisation, don't count.
- held = status other than planned; reviewed = status reviewed; flagged = held and flagged. held and reviewed are
  capped at `times_per_period` per organisation and kind period, so that one organisation's extra meetings never
  hide another's missing one; flagged is not capped.
- An organisation is behind on a kind when a kind period that has already ended (as of `now`) has fewer held
  meetings than `times_per_period`; a running period is never behind yet. A row's `behind` per kind counts its
  organisations behind on that kind, `total.behind` those behind on any kind. The `behind` list names at most
  `BEHIND_LIMIT` organisations, most missing kind periods first, `behind_total` all of them.
- rows[0] is the organisation itself (its own meetings only), then one row per active direct child covering the
  child's whole subtree; `subtree` sums the rows.
- Departments (and the super admin) see the organisations they cover; for anyone else, or an organisation out of
  scope, the statistics do not exist (NotFound).

Speed: the counts never read the meetings, nor group the subtree's tallies. They read what the writes keep
(services.meeting_tallies and services.meeting_rollups): the root's sums per child and kind for the requested
unit (month, quarter or year), with how many organisations have met every ended kind period; the root's own
tally rows; and, per organisation of the subtree, how many ended kind periods it has met (one column of the
organisation-years). With the subtree's active organisations by bucket and audience (one covering-index range of
the organisations), who is behind, and by how much, is worked out from these results. One more statement fetches
the names and missing periods of the first `BEHIND_LIMIT` organisations behind. bench/meeting_stats.py times it
at city scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Integer, String, and_, case, cast, func, literal, select
from sqlalchemy.orm import aliased

from models import (
    Cadence,
    KindAudience,
    MeetingKind,
    MeetingOrgYear,
    MeetingRollup,
    MeetingTally,
    Organisation,
    OrgKind,
    Role,
    db,
)
from models.base import utcnow
from models.meeting import (
    ANCESTOR_LEVELS,
    SLOTS,
    THRESHOLDS,
    ancestor_column,
    ended_mask,
    slot_column,
    threshold_column,
    unit_column,
)
from services.authz import Actor, covers
from services.errors import Invalid, NotFound
from services.meeting_tallies import slot_of
from services.meetings import LEADERSHIP_LEVELS

BEHIND_LIMIT = 200
COUNTS = ("required", "held", "reviewed", "flagged", "behind")
KIND_COUNTS = ("orgs", *COUNTS)
_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|Q([1-4]))?$")
_BRANCH_KINDS = (OrgKind.BRANCH, OrgKind.JOINT_BRANCH)
_LEADERSHIP_LEVELS = LEADERSHIP_LEVELS  # the same rule as planning a meeting


@dataclass(frozen=True)
class Period:
    """A requested period: its label and the months (of one year) it spans."""

    label: str
    year: int
    months: tuple[int, ...]


def parse_period(text: str) -> Period:
    """ "2026-07", "2026Q3" or "2026"; anything else is Invalid, naming the field `period`."""
    match = _PERIOD.match(text or "")
    if not match:
        raise Invalid("统计期格式应为2026-07、2026Q3或2026", fields={"period": ["应为2026-07、2026Q3或2026"]})
    year, month, quarter = int(match[1]), match[2], match[3]
    if month:
        return Period(text, year, (int(month),))
    if quarter:
        first = (int(quarter) - 1) * 3 + 1
        return Period(text, year, (first, first + 1, first + 2))
    return Period(text, year, tuple(range(1, 13)))


def current_quarter(now: datetime) -> Period:
    local = now.astimezone(_zone())
    return parse_period(f"{local.year}Q{(local.month - 1) // 3 + 1}")


def label_of(cadence: Cadence, year: int, month: int) -> str:
    """The kind period containing a month, spelt as services.meetings.period_of spells it."""
    if cadence == Cadence.MONTH:
        return f"{year}-{month:02d}"
    if cadence == Cadence.QUARTER:
        return f"{year}Q{(month - 1) // 3 + 1}"
    return str(year)


def kind_periods(cadence: Cadence, request: Period) -> list[str]:
    """The kind's periods that count for the request: those inside it, or the one containing it."""
    return list(dict.fromkeys(label_of(cadence, request.year, m) for m in request.months))


def period_end(label: str) -> datetime:
    """The first instant after a kind period, in the business time zone."""
    period = parse_period(label)
    year, month = period.year, period.months[-1] + 1
    if month > 12:
        year, month = year + 1, 1
    return datetime(year, month, 1, tzinfo=_zone())


def _zone():
    return current_app.config["SETTINGS"].zone


@dataclass
class KindPlan:
    kind: MeetingKind
    periods: list[str]  # the kind periods that count for the request
    ended: list[str]  # those of them that have ended

    @property
    def tpp(self) -> int:
        return self.kind.times_per_period


def meeting_stats(actor: Actor, org_id: int | None = None, period: str | None = None, *, now=None) -> dict:
    """The statistics of `org_id` (default: the actor's scope root) for `period` (default: the current quarter)
    as of `now` (default: the current time; tests pass another), as the API returns them."""
    now = now or utcnow()
    request = parse_period(period) if period is not None else current_quarter(now)
    root = _root_for(actor, org_id)
    plans = _plans(request, now)
    children = db.session.scalars(
        select(Organisation)
        .where(Organisation.parent_id == root.id, Organisation.active.is_(True))
        .order_by(Organisation.code)
    ).all()
    applicable = _applicable_orgs(root)
    counted, met = _count_meetings(root, plans, request, now) if plans else ({}, {})
    missing = _missing(plans, applicable, met)
    rows = [_row(root, 0, True, plans, applicable, counted, missing)]
    rows += [_row(child, child.id, False, plans, applicable, counted, missing) for child in children]
    first = sorted(missing, key=lambda org: (-missing[org], org))[:BEHIND_LIMIT]
    kinds_out = [
        {"id": p.kind.id, "code": p.kind.code, "name": p.kind.name, "cadence": p.kind.cadence.value} for p in plans
    ]
    return {
        "org": {"id": root.id, "name": root.name},
        "period": request.label,
        "as_of": now.astimezone(_zone()).isoformat(),
        "kinds": kinds_out,
        "rows": rows,
        "subtree": {
            "kinds": {
                p.kind.code: {c: sum(r["kinds"][p.kind.code][c] for r in rows) for c in KIND_COUNTS} for p in plans
            },
            "total": {c: sum(r["total"][c] for r in rows) for c in COUNTS},
        },
        "behind": _behind_entries(first, plans, request.year) if first else [],
        "behind_total": len(missing),
    }


def _plans(request: Period, now: datetime) -> list[KindPlan]:
    kinds = db.session.scalars(
        select(MeetingKind).where(MeetingKind.active.is_(True)).order_by(MeetingKind.sort_order, MeetingKind.id)
    )
    plans = []
    for k in kinds:
        periods = kind_periods(k.cadence, request)
        plans.append(KindPlan(k, periods, [p for p in periods if period_end(p) <= now]))
    return plans


def _root_for(actor: Actor, org_id: int | None) -> Organisation:
    if not (actor.is_super or actor.role == Role.DEPT_ADMIN):
        raise NotFound("组织不存在")
    if org_id is None:
        org = actor.scope_root() or db.session.scalar(
            select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id).limit(1)
        )
    else:
        org = db.session.get(Organisation, org_id)
    if org is None or not covers(actor, org):
        raise NotFound("组织不存在")
    return org


# --- SQL pieces -------------------------------------------------------------------------------------------------


def _subtree(org_table, root: Organisation):
    if not root.path.startswith("/"):
        raise RuntimeError(f"organisation {root.id} has no path")
    return and_(org_table.path.like(root.path + "%"), org_table.active.is_(True))


def _bucket(org_table, root: Organisation):
    """The id of the root's child whose subtree holds the organisation; 0 for the root itself."""
    rest = func.substr(org_table.path, len(root.path) + 1)
    child = cast(func.substr(rest, 1, func.instr(rest, "/") - 1), Integer)
    return case((org_table.id == root.id, literal(0)), else_=child)


def _audience(org_table):
    """Which kinds of meetings an organisation holds: 'branch', 'leadership' or NULL (none)."""
    return case(
        (org_table.kind.in_(_BRANCH_KINDS), literal(KindAudience.BRANCH.value)),
        (org_table.level.in_(_LEADERSHIP_LEVELS), literal(KindAudience.LEADERSHIP.value)),
        else_=None,
    )


def _ids(text: str | None, expected: int) -> list[str]:
    """A GROUP_CONCAT list, checked: MariaDB cuts it at group_concat_max_len (1 MiB, ~100k ids) with a warning."""
    items = text.split(",") if text else []
    if len(items) != expected:
        raise RuntimeError(f"group_concat returned {len(items)} of {expected} items; raise group_concat_max_len")
    return items


def _applicable_orgs(root: Organisation) -> dict[tuple[int, str], list[int]]:
    """Ids of the subtree's active organisations per (bucket, audience); one covering-index range scan."""
    o = Organisation
    bucket, audience = _bucket(o, root).label("bucket"), _audience(o).label("audience")
    stmt = (
        select(bucket, audience, func.count(), func.group_concat(o.id))
        .where(_subtree(o, root), audience.isnot(None))
        .group_by(bucket, audience)
    )
    return {(int(b), a): [int(i) for i in _ids(ids, n)] for b, a, n, ids in db.session.execute(stmt)}


# The tallies (services.meeting_tallies): one row per organisation, kind and year with a counter per kind period.
_T = MeetingTally.__table__


def _unit(request: Period) -> str:
    """The stored columns' unit of a request: "m07", "q3" or "y"."""
    if len(request.months) == 1:
        return f"m{request.months[0]:02d}"
    return f"q{(request.months[0] - 1) // 3 + 1}" if len(request.months) == 3 else "y"


def _threshold(request: Period, now: datetime) -> int | None:
    """The stored columns' threshold as of `now`: the largest of the unit's thresholds not above the months of
    the year ended by then (a kind period has ended once its last month has); None when no kind period counting
    for the request has ended."""
    local = now.astimezone(_zone())
    months = 12 if local.year > request.year else 0 if local.year < request.year else local.month - 1
    passed = [t for t in THRESHOLDS[_unit(request)] if t <= months]
    return passed[-1] if passed else None


_R, _O = MeetingRollup.__table__, MeetingOrgYear.__table__


def _count_meetings(root: Organisation, plans: list[KindPlan], request: Period, now: datetime):
    """Per (bucket, kind id) the capped held and reviewed counts, the flagged count and how many organisations
    have met every ended kind period; and per organisation that has met any ended kind period, how many. Three
    small reads: the root's sums per child (services.meeting_rollups), its own tallies, and one column of its
    subtree's organisation-years."""
    unit, threshold = _unit(request), _threshold(request, now)
    columns = [unit_column(metric, unit) for metric in ("held", "reviewed", "flagged")]
    by_id = {p.kind.id: p for p in plans}
    done = _R.c[threshold_column("done", unit, threshold)] if threshold else literal(0)
    sums = select(_R.c.bucket_id, _R.c.kind_id, *(_R.c[c] for c in columns), done).where(
        _R.c.year == request.year, _R.c.ancestor_id == root.id, _R.c.kind_id.in_(by_id)
    )
    counted = {
        (bucket, kind_id): {"held": h, "reviewed": r, "flagged": f, "complete": n}
        for bucket, kind_id, h, r, f, n in db.session.execute(sums)
    }
    own = select(_T.c.kind_id, _T.c.audience, *(_T.c[c] for c in columns), _T.c.met_mask).where(
        _T.c.org_id == root.id, _T.c.year == request.year, _T.c.kind_id.in_(by_id), _T.c.active.is_(True)
    )
    for kind_id, audience, h, r, f, mask in db.session.execute(own):
        p = by_id[kind_id]
        if audience == p.kind.audience.value:
            em = ended_mask(p.kind.cadence.value, unit, threshold) if threshold else 0
            complete = int(bool(em) and mask & em == em)
            counted[(0, kind_id)] = {"held": h, "reviewed": r, "flagged": f, "complete": complete}
    if threshold is None:
        return counted, {}
    met = _O.c[threshold_column("met", unit, threshold)]
    if root.depth < ANCESTOR_LEVELS:  # a subtree is a range of the organisation-years' subtree index
        scope = [_O.c[ancestor_column(d)] == a for d, a in enumerate(root.ancestor_ids)]
    else:
        scope = [_O.c.path.like(root.path + "%")]
    pair = cast(_O.c.org_id, String) + ":" + cast(met, String)
    stmt = select(func.count(), func.group_concat(pair)).where(_O.c.year == request.year, *scope, met > 0)
    n, pairs = db.session.execute(stmt).one()
    return counted, {int(o): int(k) for o, k in (item.split(":") for item in _ids(pairs, n))}


def _ended_for(plans: list[KindPlan], audience: str) -> int:
    """Ended kind periods over all kinds of an audience: what an organisation of that audience must have met."""
    return sum(len(p.ended) for p in plans if p.kind.audience.value == audience)


def _missing(plans: list[KindPlan], applicable: dict, met: dict[int, int]) -> dict[int, int]:
    """The organisations behind, each with the number of ended kind periods it has not met."""
    out = {}
    for (_bucket_id, audience), org_ids in applicable.items():
        due = _ended_for(plans, audience)
        for org_id in org_ids:
            if (n := due - met.get(org_id, 0)) > 0:
                out[org_id] = n
    return out


def _row(org: Organisation, bucket_id: int, is_self: bool, plans, applicable, counted, missing) -> dict:
    bucket = bucket_id
    kinds = {}
    for p in plans:
        orgs = len(applicable.get((bucket, p.kind.audience.value), ()))
        got = counted.get((bucket, p.kind.id), {})
        kinds[p.kind.code] = {
            "orgs": orgs,
            "required": orgs * p.tpp * len(p.periods),
            "held": got.get("held", 0),
            "reviewed": got.get("reviewed", 0),
            "flagged": got.get("flagged", 0),
            "behind": orgs - got.get("complete", 0) if p.ended else 0,
        }
    total = {c: sum(k[c] for k in kinds.values()) for c in COUNTS}
    total["behind"] = sum(org_id in missing for a in KindAudience for org_id in applicable.get((bucket, a.value), ()))
    head = {"id": org.id, "name": org.name, "level": org.level.value, "kind": org.kind.value}
    return {"org": head, "self": is_self, "kinds": kinds, "total": total}


def _behind_entries(org_ids: list[int], plans: list[KindPlan], year: int) -> list[dict]:
    """The organisations, in the given order, with their parent's name and the ended kind periods they miss: one
    statement over the organisations and their tallies."""
    o, parent = Organisation, aliased(Organisation)
    ended = [p for p in plans if p.ended]
    held = [_T.c[slot_column("held", i)] for i in range(1, SLOTS + 1)]
    tallies = and_(_T.c.org_id == o.id, _T.c.year == year, _T.c.kind_id.in_([p.kind.id for p in ended]))
    stmt = (
        select(o.id, o.name, o.kind, parent.name, _T.c.kind_id, *held)
        .outerjoin(parent, parent.id == o.parent_id)
        .outerjoin(_T, tallies)
        .where(o.id.in_(org_ids))
    )
    names, counts = {}, {}
    for org_id, name, kind, parent_name, kind_id, *per_slot in db.session.execute(stmt):
        names[org_id] = (name, kind, parent_name)
        if kind_id is not None:
            counts[org_id, kind_id] = per_slot
    # What each audience must have held, worked out once: (kind id, code, name, required, period, slot index).
    due = {
        audience: [
            (p.kind.id, p.kind.code, p.kind.name, p.tpp, label, slot_of(label)[1] - 1)
            for p in ended
            if p.kind.audience == audience
            for label in p.ended
        ]
        for audience in KindAudience
    }
    none = [0] * SLOTS
    out = []
    for org_id in org_ids:
        name, kind, parent_name = names[org_id]
        audience = KindAudience.BRANCH if kind in _BRANCH_KINDS else KindAudience.LEADERSHIP
        gaps = []
        for kind_id, code, kind_name, required, label, index in due[audience]:
            n = counts.get((org_id, kind_id), none)[index]
            if n < required:
                gaps.append({"kind": code, "name": kind_name, "period": label, "required": required, "held": n})
        out.append({"org": {"id": org_id, "name": name, "parent_name": parent_name}, "missing": gaps})
    return out

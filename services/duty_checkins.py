"""Duty check-ins and check-outs: the verdict on arrival, the history and the per-cadre summary.

`record_checkin` decides, once, when a check-in arrives:
- where: the position is converted to WGS-84 and compared with the village's active fences (services.geo.presence):
  inside, outside (with the distance) or uncertain (accuracy worse than DUTY_MAX_ACCURACY_M, or the accuracy circle
  straddles the edge). Without a fence the village's activity venue stands in as a 200 m circle; without that
  either the check-in is uncertain and says why;
- when: timing against the roster (services.duty_roster.timing_of);
- what looks faked: the spoof signals (services.duty_signals), plus reused_photo from the optional live photo.
A check-in outside is kept with the cadre's remark, never refused. Refused, with the field named: an impossible
position or accuracy, a reading time in the future or older than DUTY_MAX_BACKDATE_DAYS, a village the cadre is
not assigned to on that day. A retry with the same `client_id` answers with the stored row, even when the retries
race each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import lazyload

from models import (
    CheckinKind,
    CheckinResult,
    CheckinTiming,
    CoordSys,
    DutyAssignment,
    DutyCheckin,
    DutyException,
    DutyExceptionKind,
    DutyRoster,
    EvidenceSubject,
    Member,
    Organisation,
    db,
)
from models.base import utcnow
from models.duty import in_force
from services import audit, evidence
from services.authz import Actor, can_see_org, covers, subtree_clause
from services.coords import to_wgs84
from services.duty_fences import fences_for_checkin, fences_of
from services.duty_roster import shift_on, timing_of
from services.duty_signals import SIGNALS
from services.duty_signals import judge as judge_signals
from services.duty_supervision import answer_request, open_request_for
from services.errors import Conflict, Invalid, NotFound
from services.evidence import Capture, Expectation
from services.geo import check_accuracy, check_position, presence
from services.listing import Page, paginate

FUTURE_SKEW = timedelta(minutes=5)  # a phone clock this far ahead is tolerated


@dataclass(frozen=True)
class Photo:
    stream: object
    declared_type: str | None


def _settings():
    return current_app.config["SETTINGS"]


def find_existing(member_id: int, client_id: str) -> DutyCheckin | None:
    stmt = select(DutyCheckin).where(DutyCheckin.member_id == member_id, DutyCheckin.client_id == client_id)
    # The member is the actor, already in the identity map: not joined in again.
    return db.session.scalar(stmt.options(lazyload(DutyCheckin.member)))


def _same_checkin(row: DutyCheckin, data: dict) -> DutyCheckin:
    if row.org_id != data["org_id"] or row.kind != data.get("kind", CheckinKind.CHECKIN):
        message = "该签到编号已用于另一次签到"
        raise Conflict(message, code="client_id_reused", fields={"client_id": [message]})
    return row


def _check_input(data: dict, now: datetime) -> None:
    problems = {
        {"lat": "latitude", "lng": "longitude"}[k]: v
        for k, v in check_position(data.get("latitude"), data.get("longitude")).items()
    }
    if check_accuracy(data.get("accuracy")):
        problems["accuracy"] = ["应为大于0的数（米）"]
    read_at = data["read_at"]
    if read_at > now + FUTURE_SKEW:
        problems["read_at"] = ["定位时间不能晚于当前时间"]
    elif read_at < now - timedelta(days=_settings().duty_max_backdate_days):
        problems["read_at"] = [f"定位时间不能早于{_settings().duty_max_backdate_days}天前"]
    if problems:
        field, reasons = next(iter(problems.items()))
        raise Invalid(f"{field}：{reasons[0]}", fields=problems)


class Village(NamedTuple):
    """The columns of the village a check-in reads (duck-types Organisation for can_see_org and the fences)."""

    id: int
    name: str
    path: str
    venue_lat: float | None
    venue_lng: float | None
    venue_coord_sys: CoordSys | None


class Shift(NamedTuple):
    starts_at: time
    ends_at: time


class Leave(NamedTuple):
    kind: DutyExceptionKind


class Duty(NamedTuple):
    """The cadre's duty at a village on a day: the assignment, that weekday's shift (None: not a duty day) and an
    approved exception covering the day (None: none), as services.duty_roster.timing_of reads them."""

    village: Village
    assignment_id: int
    shift: Shift | None
    exception: Leave | None


_O, _A, _R, _E = Organisation, DutyAssignment, DutyRoster, DutyException
_DUTY = (
    select(_O.id, _O.name, _O.path, _O.venue_lat, _O.venue_lng, _O.venue_coord_sys)
    .add_columns(_A.id, _A.starts_on, _A.ends_on, _R.starts_at, _R.ends_at, _E.kind)
    .outerjoin(_A, and_(_A.org_id == _O.id, _A.member_id == bindparam("member_id")))
    .outerjoin(_R, and_(_R.assignment_id == _A.id, _R.weekday == bindparam("weekday")))
    .outerjoin(_E, and_(_E.assignment_id == _A.id, _E.starts_on <= bindparam("day"), _E.ends_on >= bindparam("day")))
    .where(_O.id == bindparam("org_id"))
    .order_by(_A.starts_on.desc(), _E.id)
)  # built once: the check-in's hot path (its cache key is memoized)


def _duty(actor: Actor, org_id: int, day) -> Duty:
    """The village and the cadre's duty there on `day`, in one statement of the columns needed (the check-in's hot
    path: PyMySQL's cost grows with the columns). NotFound when the village is out of the cadre's sight and the
    cadre was never assigned there; Invalid (org_id) when assigned, but not on that day."""
    params = {"org_id": org_id, "member_id": actor.id, "weekday": day.weekday(), "day": day}
    rows = db.session.connection().execute(_DUTY, params).all()  # Core: no ORM result processing
    if not rows:
        raise NotFound("组织不存在")
    village = Village(*rows[0][:6])
    if rows[0][6] is None and not can_see_org(actor, village):
        raise NotFound("组织不存在")
    for *_village, assignment_id, starts_on, ends_on, shift_start, shift_end, leave in rows:
        # the latest assignment in force that day, as services.duty_roster.active_assignment
        if assignment_id is not None and in_force(starts_on, ends_on, day):
            shift = Shift(shift_start, shift_end) if shift_start is not None else None
            return Duty(village, assignment_id, shift, Leave(leave) if leave is not None else None)
    message = f"{day.month}月{day.day}日你未被派驻到{village.name}"
    raise Invalid(message, fields={"org_id": [message]})


def _where(fences: tuple[list, list], data: dict) -> tuple[CheckinResult, float | None, int | None, str]:
    """(result, distance, fence id, Chinese reason) of the position in `data` against `fences`, the (rows, shapes)
    of services.duty_fences.fences_for_checkin."""
    rows, shapes = fences
    if not shapes:
        return CheckinResult.UNCERTAIN, None, None, "该村尚未设置签到范围，无法判断是否在村"
    accuracy = data["accuracy"]
    max_accuracy = _settings().duty_max_accuracy_m
    point = (data["latitude"], data["longitude"])
    result, where = presence(point, accuracy, shapes, coord_sys=data["coord_sys"], max_accuracy_m=max_accuracy)
    fence = rows[where.fence_index]
    name = f"“{fence.name}”" if fence is not None else "村活动场所"
    if result == "inside":
        reason = f"在{name}范围内"
    elif result == "outside":
        reason = f"在{name}范围外{where.distance_m:.0f}米"
    elif accuracy > max_accuracy:
        reason = f"定位精度{accuracy:.0f}米，低于要求的{max_accuracy:g}米，无法确认在村"
    else:
        reason = f"定位精度{accuracy:.0f}米，距{name}边界{where.edge_distance_m:.0f}米，无法确定是否在范围内"
    return CheckinResult(result), round(where.distance_m, 1), fence.id if fence is not None else None, reason


def record_checkin(actor: Actor, data: dict, photo: Photo | None = None) -> tuple[DutyCheckin, bool]:
    """Stores one check-in (or check-out) with its verdict; returns (row, created). A retry returns the stored row.

    `data`: client_id, org_id, kind, latitude, longitude, accuracy, coord_sys, read_at (aware), remark, device_id,
    request_id (answers a department's photo-check request; needs the photo).
    With `photo`, the live photo goes through services.evidence (files written, an Evidence row added). Writes the
    check-in and an audit row (flushed, not committed).

    Retries are caught by the unique (member, client_id) key at the insert, so a first attempt (nearly every one)
    costs no lookup; a retry the checks would now refuse (sent again days later, the request since answered) is
    looked up before the refusal is raised.
    """
    try:
        row, org, shapes, request = _judged(actor, data, photo)
    except (Invalid, NotFound):
        existing = find_existing(actor.id, data["client_id"])
        if existing is None:
            raise
        return _same_checkin(existing, data), False
    # A live photo is stored after the check-in (it needs the id) and may be refused: then nothing of the check-in
    # stays. Without a photo there is nothing to undo, so no savepoint (two round trips fewer on the hot path).
    savepoint = db.session.begin_nested() if photo is not None else None
    try:
        db.session.add(row)
        db.session.flush()
    except (IntegrityError, OperationalError):
        # A retry, or the same check-in raced in on another connection and won. As in services.evidence.store_photo:
        # roll the whole transaction back (it held only reads), then a fresh read finds the stored one, committed.
        db.session.rollback()
        stored = find_existing(actor.id, data["client_id"])
        if stored is None:
            raise
        return _same_checkin(stored, data), False
    if photo is not None:
        try:
            _attach_photo(actor, row, org, shapes, photo)
            if request is not None:
                answer_request(request, row)
        except Exception:
            savepoint.rollback()  # a refused photo leaves no check-in behind (the check-in needs the photo's id)
            raise
        savepoint.commit()
    audit.record(
        actor,
        f"duty.{row.kind.value}",
        "duty_checkin",
        row.id,
        {"org_id": org.id, "result": row.result.value, "timing": row.timing.value, "flags": row.flag_list},
    )
    return row, True


def _judged(actor: Actor, data: dict, photo: Photo | None) -> tuple[DutyCheckin, Village, list, object]:
    """The check-in row, not yet added, with its verdict; its village; the fence shapes it was judged against (the
    live photo is checked against them too); the photo-check request it answers (or None).
    Raises Invalid or NotFound for what is refused (module docstring)."""
    now = utcnow()
    _check_input(data, now)
    coord_sys = data["coord_sys"].value if hasattr(data["coord_sys"], "value") else data["coord_sys"]
    read_at = data["read_at"]
    day = read_at.astimezone(_settings().zone).date()
    org, assignment_id, shift, exception = _duty(actor, data["org_id"], day)
    request = None
    if data.get("request_id") is not None:
        if photo is None:
            raise Invalid("回复抽查须附现场照片", fields={"file": ["回复抽查须附现场照片"]})
        request = open_request_for(actor, data["request_id"], org.id)
    kind = CheckinKind(data.get("kind", CheckinKind.CHECKIN))
    fences = fences_for_checkin(org)
    result, distance, fence_id, where_reason = _where(fences, {**data, "coord_sys": coord_sys})
    timing, timing_reason = timing_of(kind, read_at, day, shift, exception)
    wgs_lat, wgs_lng = to_wgs84(data["latitude"], data["longitude"], coord_sys)
    row = DutyCheckin(
        member_id=actor.id,
        org_id=org.id,
        assignment_id=assignment_id,
        client_id=data["client_id"],
        kind=kind,
        latitude=data["latitude"],
        longitude=data["longitude"],
        accuracy_m=data["accuracy"],
        coord_sys=CoordSys(coord_sys),
        wgs_lat=wgs_lat,
        wgs_lng=wgs_lng,
        read_at=read_at,
        received_at=now,
        duty_date=day,
        result=result,
        distance_m=distance,
        fence_id=fence_id,
        timing=timing,
        remark=data.get("remark"),
        device_id=data.get("device_id"),
    )
    _set_flags(row, judge_signals(row), where_reason, timing_reason)
    return row, org, fences[1], request


def _set_flags(row: DutyCheckin, flags: dict, where_reason: str, timing_reason: str) -> None:
    names = [name for name in SIGNALS if name in flags]
    row.flags = ",".join(names) or None
    row.flagged = bool(names)
    row.reasons = {"result": where_reason, "timing": timing_reason, "flags": {n: flags[n] for n in names}}


def _attach_photo(actor: Actor, row: DutyCheckin, org: Village, shapes: list, photo: Photo) -> None:
    zone = _settings().zone
    stamp = f"{row.read_at.astimezone(zone):%Y-%m-%d %H:%M}"
    stored, _created = evidence.store_photo(
        actor.member,
        subject_type=EvidenceSubject.DUTY_CHECKIN,
        subject_id=row.id,
        org_id=org.id,
        client_id=f"duty-{row.client_id}",
        upload=photo.stream,
        declared_type=photo.declared_type,
        capture=Capture(row.latitude, row.longitude, row.accuracy_m, row.coord_sys.value, row.read_at),
        expect=Expectation(fences=tuple(shapes), watermark_lines=(org.name, actor.member.name, stamp)),
    )
    row.evidence_id = stored.id
    if "reused_photo" in (stored.flags or []):
        reasons = row.reasons
        reused = stored.verdict.get("reasons", {}).get("reused_photo", "疑似重复使用的照片")
        _set_flags(row, {**reasons["flags"], "reused_photo": reused}, reasons["result"], reasons["timing"])


# ---------------------------------------------------------------------------------------------------------------
# History and summary


def _scope(actor: Actor, filters: dict) -> list:
    """WHERE clauses (on DutyCheckin joined to its Organisation) for what the actor may list.

    With `org_id`: a village or subtree the actor administers (with `descendants`), or, for a cadre, their own
    check-ins at a village they were assigned to; NotFound otherwise. Without: the actor's own and its scope's.
    """
    clauses = []
    if filters.get("org_id") is not None:
        org = db.session.get(Organisation, filters["org_id"])
        if org is not None and covers(actor, org):
            clauses.append(subtree_clause(org) if filters.get("descendants") else DutyCheckin.org_id == org.id)
        elif org is not None and _ever_assigned(actor, org.id):
            clauses += [DutyCheckin.org_id == org.id, DutyCheckin.member_id == actor.id]
        else:
            raise NotFound("组织不存在")
    elif not actor.is_super:
        root = actor.scope_root()
        own = DutyCheckin.member_id == actor.id
        clauses.append(or_(own, subtree_clause(root)) if root is not None else own)
    if filters.get("member_id") is not None:
        clauses.append(DutyCheckin.member_id == filters["member_id"])
    if filters.get("from") is not None:
        clauses.append(DutyCheckin.duty_date >= filters["from"])
    if filters.get("to") is not None:
        clauses.append(DutyCheckin.duty_date <= filters["to"])
    return clauses


def _ever_assigned(actor: Actor, org_id: int) -> bool:
    stmt = select(DutyAssignment.id).where(DutyAssignment.member_id == actor.id, DutyAssignment.org_id == org_id)
    return actor.member is not None and db.session.scalar(stmt.limit(1)) is not None


def list_checkins(actor: Actor, filters: dict, page: int, per_page: int) -> Page:
    """Check-ins newest first. Filters beyond the scope: member_id, from/to (duty dates), result, timing, flagged,
    flag (one signal name)."""
    stmt = select(DutyCheckin).join(Organisation, DutyCheckin.org_id == Organisation.id).where(*_scope(actor, filters))
    if filters.get("result") is not None:
        stmt = stmt.where(DutyCheckin.result == filters["result"])
    if filters.get("timing") is not None:
        stmt = stmt.where(DutyCheckin.timing == filters["timing"])
    if filters.get("flagged"):
        stmt = stmt.where(DutyCheckin.flagged.is_(True))
    if filters.get("flag"):
        stmt = stmt.where(DutyCheckin.flags.like(f"%{filters['flag']}%"))  # signal names never contain each other
    return paginate(stmt.order_by(DutyCheckin.read_at.desc(), DutyCheckin.id.desc()), page, per_page)


def summarise(actor: Actor, filters: dict) -> list[dict]:
    """Per cadre, over the same scope as the history: check-ins, each result and timing, flagged, and each
    signal's count; one grouped statement. Ordered by flagged count, then name."""

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    columns = [count_if(DutyCheckin.result == r).label(r.value) for r in CheckinResult] + [
        count_if(DutyCheckin.timing == t).label(t.value) for t in CheckinTiming
    ]
    columns += [count_if(DutyCheckin.flags.like(f"%{name}%")).label(name) for name in SIGNALS]
    stmt = (
        select(DutyCheckin.member_id, func.count().label("total"), count_if(DutyCheckin.flagged).label("flagged"))
        .add_columns(*columns)
        .join(Organisation, DutyCheckin.org_id == Organisation.id)
        .where(*_scope(actor, filters))
        .group_by(DutyCheckin.member_id)
    )
    rows = [dict(r._mapping) for r in db.session.execute(stmt)]
    ids = [r["member_id"] for r in rows]
    names = dict(db.session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all()) if ids else {}
    out = []
    for r in rows:
        out.append(
            {
                "member": {"id": r["member_id"], "name": names.get(r["member_id"])},
                "checkins": r["total"],
                "flagged": int(r["flagged"] or 0),
                "results": {x.value: int(r[x.value] or 0) for x in CheckinResult},
                "timing": {x.value: int(r[x.value] or 0) for x in CheckinTiming},
                "flags": {name: int(r[name] or 0) for name in SIGNALS},
            }
        )
    out.sort(key=lambda x: (-x["flagged"], x["member"]["name"] or ""))
    return out


def today_for(actor: Actor) -> list[dict]:
    """The cadre's duty today, per village assigned: the assignment, today's shift and approved exception, the
    fences to draw, and today's check-ins there. Read-only."""
    from services.duty_roster import local_today

    day = local_today()
    stmt = (
        select(DutyAssignment)
        .where(DutyAssignment.member_id == actor.id, DutyAssignment.starts_on <= day)
        .where(or_(DutyAssignment.ends_on.is_(None), DutyAssignment.ends_on >= day))
        .order_by(DutyAssignment.id)
    )
    out = []
    for assignment in db.session.scalars(stmt):
        shift, exception = shift_on(assignment, day)
        fences = fences_of(assignment.org_id)
        checkins = db.session.scalars(
            select(DutyCheckin)
            .where(DutyCheckin.member_id == actor.id, DutyCheckin.org_id == assignment.org_id)
            .where(DutyCheckin.duty_date == day)
            .order_by(DutyCheckin.read_at)
        )
        out.append(
            {
                "date": day,
                "assignment": assignment,
                "shift": shift,
                "exception": exception,
                "fences": fences,
                "checkins": list(checkins),
            }
        )
    return out

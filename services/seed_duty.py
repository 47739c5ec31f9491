"""The demo city's resident cadres (issue 5): assignments with weekly rosters, approved leave and business trips,
fences around the villages' venues, and a week of check-ins up to now. Called by services.seed.seed_demo after the
members exist; deterministic apart from dates relative to today.

Cadres are existing members of agency, school and enterprise branches (as real 第一书记 and 驻村工作队员 are),
preferably of the village's own county, assigned to village branches: at city scale CITY_CADRES of them, a first
secretary in every village and team members spread over them; at small scale one or two per village. The two demo
villages get three cadres each whose check-ins go through the real judging code (services.duty_checkins' verdict
and services.duty_signals), stored one by one in the order they arrived, so their flags are genuine: one cadre
replays a virtual-location app's fixed position and accuracy, two share a phone, one uploads hours late, one
checks out in the county town minutes after checking in (SCRIPTS). Everyone else's check-ins are judged in memory
by the same geometry and timing functions (services.geo.presence, services.duty_roster.timing_of) and written in
bulk; they are generated never to trip a spoof signal (tests/test_seed_duty.py re-judges them).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import func, insert, select

from models import (
    AccountStatus,
    CheckinKind,
    CheckinResult,
    CoordSys,
    DutyAssignment,
    DutyCheckin,
    DutyException,
    DutyExceptionKind,
    DutyRole,
    DutyRoster,
    FenceKind,
    Geofence,
    Member,
    Organisation,
    OrgLevel,
    Role,
    db,
)
from models.base import utcnow
from services import duty_days
from services.accounts import set_password_directly
from services.coords import to_gcj02, to_wgs84
from services.duty_checkins import _set_flags, _where
from services.duty_fences import fences_for_checkin, to_shape
from services.duty_roster import shift_on, timing_of
from services.duty_signals import judge as judge_signals
from services.geo import check_polygon, distance_m, presence
from services.seed_meetings import _reviewer_of, _reviewers

SEED = 20261204
CITY_CADRES = 11_300
HISTORY_DAYS = 7  # today and the six days before
BATCH = 5000
WEEKDAYS = (0, 1, 2, 3, 4)
# Weekly patterns (weekday → local start, end) and their shares: most cadres Monday to Friday.
PATTERNS = (
    (0.7, {d: (time(8, 30), time(17, 30)) for d in WEEKDAYS}),
    (0.2, {**{d: (time(8, 30), time(17, 30)) for d in WEEKDAYS}, 5: (time(9, 0), time(12, 0))}),
    (0.1, {d: (time(9, 0), time(17, 0)) for d in (0, 1, 2, 3)}),
)
OUTSIDE_REMARKS = (
    "到镇政府参加乡村振兴工作会议",
    "到县里汇报驻村工作",
    "陪同农户到镇卫生院看病",
    "到产业基地查看项目进度",
    "入户走访，山里信号差",
)
# The showcased cadres of the two demo villages (A, B), each judged on arrival by the real code.
SCRIPTS = {
    "a1": "A's first secretary, a demo login: late once, outside once (with a remark) on the latest duty day",
    "a2": "a virtual-location app: the same position and accuracy every time (repeated_position, constant_accuracy)",
    "a3": "shares a phone with b3 (shared_device); a one-day business trip",
    "b1": "B's first secretary, a demo login: one check-in uploaded three hours after it was read (late_upload)",
    "b2": "approved leave from yesterday to tomorrow (on_leave on today's board)",
    "b3": "shares a phone with a3; checks out in the county town minutes after checking in (impossible_speed)",
}
LEAVE_REASONS = ((DutyExceptionKind.LEAVE, "家中有事请假"), (DutyExceptionKind.BUSINESS_TRIP, "参加县驻村干部培训"))


@dataclass
class Village:
    id: int
    name: str
    path: str
    parent_id: int | None
    venue_wgs: tuple[float, float]
    fences: list[dict] = field(default_factory=list)  # the inserted rows
    shapes: list = field(default_factory=list)
    office: tuple[float, float] | None = None  # centre of the first fence, WGS-84 (a GCJ-02 inverse: computed once)


@dataclass
class Cadre:
    member_id: int
    village: Village
    role: DutyRole
    assignment_id: int = 0
    shifts: dict = field(default_factory=dict)  # weekday → SimpleNamespace(starts_at, ends_at)
    leave: list = field(default_factory=list)  # SimpleNamespace(kind, starts_on, ends_on, reason)
    device_id: str = ""
    script: str | None = None  # a showcased cadre's story: a key of SCRIPTS


def seed_duty(demo_villages: tuple[int, int], scale: str) -> tuple[dict, list[dict]]:
    """Writes the cadres' assignments, rosters, leave, fences and check-ins, commits, gives the two showcased cadres
    of the demo villages the demo password, and returns (counts, their account entries)."""
    rng = random.Random(SEED)
    zone = current_app.config["SETTINGS"].zone
    now = utcnow()
    today = now.astimezone(zone).date()
    villages = _villages()
    if not villages:
        return {"cadres": 0, "fences": 0, "checkins": 0}, []
    cadres = _draw_cadres(rng, villages, demo_villages, scale)
    if not cadres:
        return {"cadres": 0, "fences": 0, "checkins": 0}, []
    admins = _reviewers()
    _write_assignments(rng, cadres, admins, today, now)
    fences = _write_fences(rng, {c.village.id: c.village for c in cadres}, demo_villages, admins, now)
    visits = _plan_visits(rng, cadres, today, now, zone)
    judged = [v for v in visits if v["cadre"].script is not None]
    bulk = [_judged_in_memory(v, zone) for v in visits if v["cadre"].script is None]
    for i in range(0, len(bulk), BATCH):
        db.session.execute(insert(DutyCheckin.__table__), bulk[i : i + BATCH])
    duty_days.rebuild(db.session.connection())  # the bulk rows bypassed the ORM's flush listener
    for visit in sorted(judged, key=lambda v: v["received_at"]):
        _judge_and_store(visit, zone)
    accounts = _accounts(cadres)
    db.session.commit()
    counts = {"cadres": len(cadres), "fences": fences, "checkins": len(bulk) + len(judged)}
    return counts, accounts


# ---------------------------------------------------------------------------------------------------------------
# Who goes where


def _villages() -> list[Village]:
    """Village-level branches of villages (not urban communities), with their venue in WGS-84."""
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.path, Organisation.parent_id)
        .add_columns(Organisation.venue_lat, Organisation.venue_lng, Organisation.venue_coord_sys)
        .where(Organisation.level == OrgLevel.VILLAGE, Organisation.active.is_(True))
        .where(Organisation.kind.in_(("branch", "joint_branch")), Organisation.venue_lat.is_not(None))
        .order_by(Organisation.id)
    ).all()
    return [
        Village(r.id, r.name, r.path, r.parent_id, to_wgs84(r.venue_lat, r.venue_lng, r.venue_coord_sys or "wgs84"))
        for r in rows
        if "社区" not in r.name
    ]


def _county_key(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 2 else "city"


def _pools(rng: random.Random) -> dict[str, list[int]]:
    """Plain members of agency, school and enterprise branches (no demo account, not floating, not retired), per
    county; shuffled."""
    rows = db.session.execute(
        select(Member.id, Organisation.path)
        .join(Organisation, Member.org_id == Organisation.id)
        .where(Member.role == Role.MEMBER, Member.password_hash.is_(None), Member.is_floating.is_(False))
        .where(Member.status == AccountStatus.ACTIVE, Organisation.level != OrgLevel.VILLAGE)
        .where(~Organisation.name.contains("离退休"))
        .order_by(Member.id)
    ).all()
    pools: dict[str, list[int]] = {}
    for member_id, path in rows:
        pools.setdefault(_county_key(path), []).append(member_id)
    for pool in pools.values():
        rng.shuffle(pool)
    return pools


def _draw_cadres(rng: random.Random, villages: list[Village], demo: tuple[int, int], scale: str) -> list[Cadre]:
    """A first secretary per village, three cadres in each demo village, team members over the rest."""
    pools = _pools(rng)

    def take(village: Village) -> int | None:
        for key in (_county_key(village.path), "city", *sorted(pools)):
            if pools.get(key):
                return pools[key].pop()
        return None

    by_id = {v.id: v for v in villages}
    showcased = [by_id[i] for i in demo if i in by_id]
    others = [v for v in villages if v.id not in demo]
    cadres: list[Cadre] = []

    def add(village: Village, role: DutyRole, script: str | None = None) -> bool:
        member_id = take(village)
        if member_id is not None:
            cadres.append(Cadre(member_id, village, role, script=script))
        return member_id is not None

    for village, scripts in zip(showcased, (tuple(SCRIPTS)[:3], tuple(SCRIPTS)[3:]), strict=False):
        for n, script in enumerate(scripts):
            add(village, DutyRole.FIRST_SECRETARY if n == 0 else DutyRole.RESIDENT_CADRE, script)
    for village in others:
        add(village, DutyRole.FIRST_SECRETARY)
    target = CITY_CADRES if scale == "city" else len(cadres) + len(others) // 3
    while len(cadres) < target and others and add(rng.choice(others), DutyRole.RESIDENT_CADRE):
        pass
    return cadres


# ---------------------------------------------------------------------------------------------------------------
# Assignments, rosters, leave and fences (bulk)


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _write_assignments(rng: random.Random, cadres: list[Cadre], admins, today: date, now: datetime) -> None:
    first = _next_id(DutyAssignment)
    assignments, rosters, exceptions = [], [], []
    for n, c in enumerate(cadres):
        c.assignment_id = first + n
        c.device_id = f"seed-{rng.getrandbits(48):012x}"
        admin = _reviewer_of(admins, c.village.path)
        assignments.append(
            {
                "id": c.assignment_id,
                "member_id": c.member_id,
                "org_id": c.village.id,
                "role": c.role,
                "starts_on": today - timedelta(days=rng.randint(45, 540)),
                "ends_on": None,
                "created_by": admin,
                "created_at": now,
                "updated_at": now,
            }
        )
        pattern = PATTERNS[0][1] if c.script else rng.choices([p for _, p in PATTERNS], [w for w, _ in PATTERNS])[0]
        if c.script == "a1":
            pattern = PATTERNS[1][1]  # the demo's first secretary also holds Saturday mornings
        for weekday, (start, end) in pattern.items():
            c.shifts[weekday] = SimpleNamespace(starts_at=start, ends_at=end)
            rosters.append({"assignment_id": c.assignment_id, "weekday": weekday, "starts_at": start, "ends_at": end})
        leave = _leave_of(rng, c, today)
        if leave is not None and admin is not None:
            c.leave.append(leave)
            exceptions.append(
                {
                    "assignment_id": c.assignment_id,
                    "kind": leave.kind,
                    "starts_on": leave.starts_on,
                    "ends_on": leave.ends_on,
                    "reason": leave.reason,
                    "approved_by": admin,
                    "approved_at": now - timedelta(days=(today - leave.starts_on).days + 1),
                }
            )
    for model, rows in ((DutyAssignment, assignments), (DutyRoster, rosters), (DutyException, exceptions)):
        for i in range(0, len(rows), BATCH):
            db.session.execute(insert(model.__table__), rows[i : i + BATCH])


def _leave_of(rng: random.Random, c: Cadre, today: date) -> SimpleNamespace | None:
    """Approved leave around today for one demo cadre (b2) and ~3 % of the others; a business trip for a3."""
    if c.script == "b2":
        kind, reason = LEAVE_REASONS[0]
        return SimpleNamespace(
            kind=kind, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1), reason=reason
        )
    if c.script == "a3":
        kind, reason = LEAVE_REASONS[1]
        day = today - timedelta(days=3)
        return SimpleNamespace(kind=kind, starts_on=day, ends_on=day, reason=reason)
    if c.script is not None or rng.random() >= 0.03:
        return None
    kind, reason = rng.choice(LEAVE_REASONS)
    start = today - timedelta(days=rng.randint(0, HISTORY_DAYS))
    return SimpleNamespace(kind=kind, starts_on=start, ends_on=start + timedelta(days=rng.randint(0, 3)), reason=reason)


def _write_fences(rng: random.Random, villages: dict[int, Village], demo, admins, now: datetime) -> int:
    """Per village: the committee office (a circle of 150–300 m, or a polygon drawn around it) and, now and then, a
    second site. Drawn on the phone map (GCJ-02) mostly, typed in as surveyed WGS-84 coordinates sometimes."""
    rows = []
    next_id = _next_id(Geofence)
    for village in villages.values():
        # The demo villages' office is a circle: the demo logins check in at its centre.
        kind = "circle" if village.id in demo or rng.random() < 0.8 else "polygon"
        specs = [("村委会", kind, _jitter(rng, village.venue_wgs, 40))]
        if rng.random() < 0.15:
            specs.append(("产业基地", "circle", _jitter(rng, village.venue_wgs, rng.uniform(700, 1500), at_least=True)))
        for name, kind, centre in specs:
            coord_sys = CoordSys.GCJ02 if rng.random() < 0.85 else CoordSys.WGS84
            row = _fence_row(rng, next_id, village, name, kind, centre, coord_sys, _reviewer_of(admins, village.path))
            row["created_at"] = row["updated_at"] = now
            rows.append(row)
            village.fences.append(row)
            next_id += 1
    for i in range(0, len(rows), BATCH):
        db.session.execute(insert(Geofence.__table__), rows[i : i + BATCH])
    for village in villages.values():
        village.shapes = [to_shape(SimpleNamespace(**_shape_fields(r))) for r in village.fences]
    return len(rows)


def _fence_row(rng, fence_id, village, name, kind, centre_wgs, coord_sys, admin) -> dict:
    row = {
        "id": fence_id,
        "org_id": village.id,
        "name": name,
        "kind": FenceKind.CIRCLE,
        "center_lat": None,
        "center_lng": None,
        "radius_m": None,
        "points": None,
        "coord_sys": coord_sys,
        "active": True,
        "created_by": admin,
    }
    if kind == "circle":
        lat, lng = _in_system(centre_wgs, coord_sys)
        row.update(center_lat=round(lat, 6), center_lng=round(lng, 6), radius_m=float(rng.randrange(150, 301, 10)))
        return row
    while True:  # a star-shaped ring around the centre: simple by construction, checked all the same
        n = rng.randint(5, 7)
        ring = []
        for k in range(n):
            angle = (k + rng.uniform(-0.25, 0.25)) * 2 * math.pi / n
            point = _offset(centre_wgs, rng.uniform(170, 290), angle)
            ring.append([round(v, 6) for v in _in_system(point, coord_sys)])
        if not check_polygon(ring):
            row.update(kind=FenceKind.POLYGON, points=ring)
            return row


def _shape_fields(row: dict) -> dict:
    fields = ("kind", "center_lat", "center_lng", "radius_m", "points", "coord_sys")
    return {k: row[k] for k in fields}


# ---------------------------------------------------------------------------------------------------------------
# Positions


def _offset(point: tuple[float, float], metres: float, angle: float) -> tuple[float, float]:
    """`metres` from `point` (WGS-84) in direction `angle` (radians from east, counter-clockwise)."""
    lat, lng = point
    d_north, d_east = metres * math.sin(angle), metres * math.cos(angle)
    return lat + d_north / 110_800.0, lng + d_east / (111_320.0 * math.cos(math.radians(lat)))


def _jitter(rng, point, metres: float, at_least: bool = False) -> tuple[float, float]:
    distance = metres if at_least else metres * math.sqrt(rng.random())
    return _offset(point, distance, rng.uniform(0, 2 * math.pi))


def _in_system(point_wgs: tuple[float, float], coord_sys) -> tuple[float, float]:
    return to_gcj02(point_wgs[0], point_wgs[1], "wgs84") if coord_sys == CoordSys.GCJ02 else point_wgs


def _office_wgs(village: Village) -> tuple[float, float]:
    """Centre of the village's first fence, in WGS-84."""
    if village.office is None:
        row = village.fences[0]
        if row["kind"] == FenceKind.CIRCLE:
            village.office = to_wgs84(row["center_lat"], row["center_lng"], row["coord_sys"])
        else:
            lats, lngs = zip(*row["points"], strict=True)
            village.office = to_wgs84(sum(lats) / len(lats), sum(lngs) / len(lngs), row["coord_sys"])
    return village.office


# ---------------------------------------------------------------------------------------------------------------
# A week of check-ins


def _plan_visits(rng: random.Random, cadres: list[Cadre], today: date, now: datetime, zone) -> list[dict]:
    """What each cadre's phone sent over the last HISTORY_DAYS days, up to a few minutes ago."""
    visits = []
    for c in cadres:
        days = [today - timedelta(days=back) for back in range(HISTORY_DAYS - 1, -1, -1)]
        days = [d for d in days if d.weekday() in c.shifts and not any(x.starts_on <= d <= x.ends_on for x in c.leave)]
        past = [d for d in days if d < today]
        for day in days:
            # A showcased cadre's story happens on the n-th latest past duty day (0: the latest), whatever today is.
            nth = len(past) - 1 - past.index(day) if day in past else None
            visits += _day_of(rng, c, day, c.shifts[day.weekday()], nth, zone)
    visits = [v for v in visits if v["received_at"] <= now - timedelta(minutes=1)]
    for n, v in enumerate(visits):
        v["client_id"] = f"seed-{v['cadre'].member_id}-{v['read_at']:%Y%m%d%H%M}-{n}"
    return visits


def _day_of(rng: random.Random, c: Cadre, day: date, shift, nth: int | None, zone) -> list[dict]:
    start = datetime.combine(day, shift.starts_at, tzinfo=zone)
    end = datetime.combine(day, shift.ends_at, tzinfo=zone)
    script = c.script or ""
    roll = rng.random()
    if not script and roll < 0.06:
        return []  # absent
    late = (not script and roll < 0.16) or (script == "a1" and nth == 2)
    read = start + timedelta(minutes=rng.uniform(20, 80) if late else rng.uniform(-35, 8))
    outside = (not script and rng.random() < 0.06) or (script == "a1" and nth == 0)
    morning = _visit(rng, c, CheckinKind.CHECKIN, read, outside=outside)
    if script == "a2":  # a virtual-location app: the same numbers every day
        lat, lng = _in_system(_office_wgs(c.village), CoordSys.GCJ02)
        morning.update(latitude=round(lat, 7), longitude=round(lng, 7), coord_sys="gcj02", accuracy=30.0)
    if script == "b1" and nth == 1:  # read in a dead zone, sent when the phone found a network
        morning["received_at"] = morning["read_at"] + timedelta(hours=3, minutes=10)
    visits = [morning]
    if script == "b3" and nth == 0:  # checked in at the village, checked out minutes later in the county town
        visits.append(_far_checkout(rng, c, morning))
    elif rng.random() < (0.75 if not script else 0.9):
        early = not script and rng.random() < 0.05
        leave_at = (
            end - timedelta(minutes=rng.uniform(30, 120)) if early else end + timedelta(minutes=rng.uniform(0, 45))
        )
        evening = _visit(rng, c, CheckinKind.CHECKOUT, leave_at, outside=False)
        if script == "a2":
            evening.update({k: morning[k] for k in ("latitude", "longitude", "coord_sys", "accuracy")})
        visits.append(evening)
    return visits


def _visit(rng: random.Random, c: Cadre, kind: CheckinKind, read_at: datetime, outside: bool) -> dict:
    village = c.village
    centre = _office_wgs(village)
    if outside:
        point, accuracy = _jitter(rng, centre, rng.uniform(900, 4000), at_least=True), rng.uniform(8, 40)
    else:
        point, accuracy = _jitter(rng, centre, 90), rng.uniform(5, 35)
        if not c.script and rng.random() < 0.03:
            accuracy = rng.uniform(120, 260)  # a poor fix indoors: uncertain
    coord_sys = "gcj02" if rng.random() < 0.7 else "wgs84"
    lat, lng = _in_system(point, CoordSys(coord_sys))
    delay = timedelta(seconds=rng.uniform(2, 40)) if rng.random() < 0.95 else timedelta(minutes=rng.uniform(2, 20))
    return {
        "cadre": c,
        "kind": kind,
        "latitude": round(lat, 7),
        "longitude": round(lng, 7),
        "accuracy": round(accuracy, 1),
        "coord_sys": coord_sys,
        "read_at": read_at,
        "received_at": read_at + delay,
        "remark": rng.choice(OUTSIDE_REMARKS) if outside else None,
        "device_id": "seed-shared-phone" if c.script in ("a3", "b3") else c.device_id,
    }


def _far_checkout(rng: random.Random, c: Cadre, morning: dict) -> dict:
    """A check-out read at the county seat a few minutes after the check-in at the village: ~300 km/h."""
    county_seat = _county_seat_wgs(c.village)
    centre = _office_wgs(c.village)
    apart = distance_m(centre, county_seat)
    read_at = morning["read_at"] + timedelta(seconds=max(90.0, apart / (300 / 3.6)))
    visit = _visit(rng, c, CheckinKind.CHECKOUT, read_at, outside=True)
    lat, lng = _in_system(_jitter(rng, county_seat, 150), CoordSys(visit["coord_sys"]))
    visit.update(latitude=round(lat, 7), longitude=round(lng, 7), remark="临时到县里办事")
    return visit


def _county_seat_wgs(village: Village) -> tuple[float, float]:
    county = db.session.get(Organisation, int(village.path.strip("/").split("/")[1]))
    if county is None or county.venue_lat is None or county.id == village.id:
        return _offset(village.venue_wgs, 15_000, 0.7)
    seat = to_wgs84(county.venue_lat, county.venue_lng, county.venue_coord_sys or "wgs84")
    return seat if math.dist(seat, village.venue_wgs) > 0.05 else _offset(village.venue_wgs, 15_000, 0.7)


# ---------------------------------------------------------------------------------------------------------------
# Judging


def _judge_and_store(v: dict, zone) -> DutyCheckin:
    """As services.duty_checkins.record_checkin judges a check-in arriving at `received_at` (verdict, timing, spoof
    signals against the cadre's earlier check-ins), without the input checks that compare with the real clock."""
    c: Cadre = v["cadre"]
    org = db.session.get(Organisation, c.village.id)
    assignment = db.session.get(DutyAssignment, c.assignment_id)
    day = v["read_at"].astimezone(zone).date()
    result, distance, fence_id, where_reason = _where(fences_for_checkin(org), v)
    timing, timing_reason = timing_of(v["kind"], v["read_at"], day, *shift_on(assignment, day))
    row = DutyCheckin(**_row(v, day, result, distance, fence_id, timing))
    _set_flags(row, judge_signals(row), where_reason, timing_reason)
    db.session.add(row)
    db.session.flush()
    return row


def _judged_in_memory(v: dict, zone) -> dict:
    """The same verdict and timing from the village's fences in memory (bulk rows carry no spoof signal)."""
    c: Cadre = v["cadre"]
    day = v["read_at"].astimezone(zone).date()
    max_accuracy = current_app.config["SETTINGS"].duty_max_accuracy_m
    # Converted once (the GCJ-02 inverse is iterative): presence would convert the same way before comparing.
    v["wgs"] = to_wgs84(v["latitude"], v["longitude"], v["coord_sys"])
    result, where = presence(v["wgs"], v["accuracy"], c.village.shapes, max_accuracy_m=max_accuracy)
    fence = c.village.fences[where.fence_index]
    name = f"“{fence['name']}”"
    if result == "inside":
        reason = f"在{name}范围内"
    elif result == "outside":
        reason = f"在{name}范围外{where.distance_m:.0f}米"
    elif v["accuracy"] > max_accuracy:
        reason = f"定位精度{v['accuracy']:.0f}米，低于要求的{max_accuracy:g}米，无法确认在村"
    else:
        reason = f"定位精度{v['accuracy']:.0f}米，距{name}边界{where.edge_distance_m:.0f}米，无法确定是否在范围内"
    timing, timing_reason = timing_of(v["kind"], v["read_at"], day, c.shifts.get(day.weekday()), None)
    row = _row(v, day, CheckinResult(result), round(where.distance_m, 1), fence["id"], timing)
    return {**row, "flags": None, "flagged": False, "reasons": {"result": reason, "timing": timing_reason, "flags": {}}}


def _row(v: dict, day: date, result, distance, fence_id, timing) -> dict:
    c: Cadre = v["cadre"]
    wgs_lat, wgs_lng = v.get("wgs") or to_wgs84(v["latitude"], v["longitude"], v["coord_sys"])
    return {
        "member_id": c.member_id,
        "org_id": c.village.id,
        "assignment_id": c.assignment_id,
        "client_id": v["client_id"],
        "kind": v["kind"],
        "latitude": v["latitude"],
        "longitude": v["longitude"],
        "accuracy_m": v["accuracy"],
        "coord_sys": CoordSys(v["coord_sys"]),
        "wgs_lat": wgs_lat,
        "wgs_lng": wgs_lng,
        "read_at": v["read_at"],
        "received_at": v["received_at"],
        "duty_date": day,
        "result": result,
        "distance_m": distance,
        "fence_id": fence_id,
        "timing": timing,
        "remark": v["remark"],
        "device_id": v["device_id"],
        "evidence_id": None,
    }


# ---------------------------------------------------------------------------------------------------------------
# The demo logins


def _accounts(cadres: list[Cadre]) -> list[dict]:
    """The first secretaries of the two demo villages (siblings under one township) get the demo password."""
    from services.seed import DEMO_PASSWORD

    out = []
    for c in cadres:
        if c.script not in ("a1", "b1"):
            continue
        member = db.session.get(Member, c.member_id)
        set_password_directly(member, DEMO_PASSWORD)
        out.append(
            {
                "username": member.mobile,
                "password": DEMO_PASSWORD,
                "role": "cadre",
                "org_id": c.village.id,
                "org_level": OrgLevel.VILLAGE.value,
                "name": member.name,
                "org_name": c.village.name,
            }
        )
    return out

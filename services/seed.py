"""Demo data: the organisation tree and the members of the fictional city 黔州, at "small" or real "city" scale.

`seed_demo` writes into an empty database with Core executemany batches (explicit ids and materialized paths, no
ORM object per bulk row), commits, and gives the ten demo accounts a real password. Generation is deterministic
(fixed random seed) apart from the Fernet IVs of the encrypted ID-card numbers and dates relative to today.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice

import click
from flask import current_app
from sqlalchemy import func, insert, select, update

from models import AccountStatus, CoordSys, Gender, Member, Organisation, OrgKind, OrgLevel, PartyStatus, Role, db
from models.base import utcnow
from services import idcard
from services import seed_names as names
from services.accounts import set_password_directly
from services.errors import Conflict, Invalid
from services.orgs import recount_members
from services.passwords import policy_problem

SCALES = ("small", "city")
CITY_ORGS, CITY_MEMBERS = 7531, 141_929
DEMO_PASSWORD = "Demo@2026"
RANDOM_SEED = 20260101
BATCH = 5000
MIN_BRANCH_SIZE = 3  # a secretary, and room for the demo accounts of agency branches
GUIZHOU_LAT, GUIZHOU_LNG = (24.6, 29.2), (103.6, 109.6)


@dataclass(slots=True, eq=False)
class PlannedOrg:
    id: int
    parent: PlannedOrg | None
    name: str
    code: str
    kind: OrgKind
    level: OrgLevel
    lat: float
    lng: float
    profile: str  # how its members look: village, community, agency, school, enterprise, retiree
    region: str  # ID-card region code of members born locally
    path: str
    depth: int
    size: int = 0  # members (branches only)


@dataclass
class Plan:
    rng: random.Random
    orgs: list[PlannedOrg] = field(default_factory=list)
    # Where the demo accounts sit: "city", "county_a", "township_a", "village_a"… → org; "…_agency" → branch.
    demo: dict[str, PlannedOrg] = field(default_factory=dict)

    def add(self, parent, name, code, kind, level, pos, profile, region=None) -> PlannedOrg:
        new_id = len(self.orgs) + 1
        lat, lng = _clamp(pos)
        org = PlannedOrg(
            new_id,
            parent,
            name,
            code,
            kind,
            level,
            lat,
            lng,
            profile,
            region or (parent.region if parent else names.CITY_REGION),
            (parent.path if parent else "/") + f"{new_id}/",
            parent.depth + 1 if parent else 0,
        )
        self.orgs.append(org)
        return org

    def branch(self, parent, name, code, level, profile, kind=OrgKind.BRANCH, spread=0.02) -> PlannedOrg:
        return self.add(parent, name, code, kind, level, self.near((parent.lat, parent.lng), spread), profile)

    def near(self, pos, spread: float) -> tuple[float, float]:
        return pos[0] + self.rng.gauss(0, spread), pos[1] + self.rng.gauss(0, spread * 1.1)

    @property
    def branches(self) -> list[PlannedOrg]:
        return [o for o in self.orgs if o.kind.is_branch]


def _clamp(pos) -> tuple[float, float]:
    lat = min(max(pos[0], GUIZHOU_LAT[0]), GUIZHOU_LAT[1])
    lng = min(max(pos[1], GUIZHOU_LNG[0]), GUIZHOU_LNG[1])
    return round(lat, 6), round(lng, 6)


def _profile_of(unit: str) -> str:
    if "离退休" in unit:
        return "retiree"
    if any(w in unit for w in ("学校", "中学", "小学", "学院")) and "机关" not in unit:
        return "school"
    if any(w in unit for w in ("公司", "集团", "银行", "供电", "联社", "合作社")):
        return "enterprise"
    return "agency"


def _place(plan: Plan, used: set[str]) -> str:
    while True:
        word = plan.rng.choice(names.PLACE_FIRST) + plan.rng.choice(names.PLACE_SECOND)
        if word not in used and word[0] != word[1]:
            used.add(word)
            return word


# ---------------------------------------------------------------------------------------------------- the tree


def plan_small(rng: random.Random) -> Plan:
    """Root, its agency branch, 2 counties × 2 townships × 3 village branches of 6–10 members, agency branches."""
    plan = Plan(rng)
    root = plan.add(None, f"{names.CITY}市委", "QZ", OrgKind.COMMITTEE, OrgLevel.CITY, names.CITY_CENTRE, "agency")
    plan.demo["city"] = root
    plan.demo["city_agency"] = plan.branch(root, "市委组织部机关党支部", "QZJ001", OrgLevel.CITY, "agency")
    for ci, (county_name, offset) in enumerate(names.COUNTIES[:2]):
        seat = (names.CITY_CENTRE[0] + offset[0], names.CITY_CENTRE[1] + offset[1])
        code = f"QZ{ci + 1:02d}"
        county = plan.add(
            root, f"{county_name}委", code, OrgKind.COMMITTEE, OrgLevel.COUNTY, seat, "agency", f"5229{ci + 1:02d}"
        )
        agency = plan.branch(county, f"{county_name}委组织部机关党支部", code + "J001", OrgLevel.COUNTY, "agency")
        used: set[str] = set()
        for ti in range(2):
            township = _add_township(plan, county, f"{code}{ti + 1:02d}", _place(plan, used) + "镇", street=False)
            tagency = plan.branch(
                township,
                f"{township.name.removesuffix('党委')}机关党支部",
                township.code + "J01",
                OrgLevel.TOWNSHIP,
                "agency",
            )
            villages = [
                plan.branch(
                    township,
                    f"{_place(plan, used)}村党支部",
                    f"{township.code}{vi + 1:03d}",
                    OrgLevel.VILLAGE,
                    "village",
                    spread=0.04,
                )
                for vi in range(3)
            ]
            for v in villages:
                v.size = rng.randint(6, 10)
            tagency.size = rng.randint(4, 6)
            if ci == 0:
                plan.demo[f"township_{'ab'[ti]}"], plan.demo[f"township_{'ab'[ti]}_agency"] = township, tagency
                if ti == 0:
                    plan.demo["village_a"], plan.demo["village_b"] = villages[0], villages[1]
        agency.size = rng.randint(4, 6)
        plan.demo[f"county_{'ab'[ci]}"], plan.demo[f"county_{'ab'[ci]}_agency"] = county, agency
    plan.demo["city_agency"].size = rng.randint(5, 7)
    return plan


def _add_township(plan: Plan, county: PlannedOrg, code: str, name: str, street: bool) -> PlannedOrg:
    kind = OrgKind.WORKING_COMMITTEE if street else OrgKind.COMMITTEE
    suffix = "党工委" if street else "党委"
    pos = plan.near((county.lat, county.lng), 0.12)
    return plan.add(county, name + suffix, code, kind, OrgLevel.TOWNSHIP, pos, "agency")


def plan_city(rng: random.Random) -> Plan:
    """Exactly CITY_ORGS organisations: 10 counties/districts, 2 development zones, ~15 townships each."""
    plan = Plan(rng)
    root = plan.add(None, f"{names.CITY}市委", "QZ", OrgKind.COMMITTEE, OrgLevel.CITY, names.CITY_CENTRE, "agency")
    plan.demo["city"] = root
    plan.demo["city_agency"] = plan.branch(root, "市委组织部机关党支部", "QZJ001", OrgLevel.CITY, "agency")
    for ui, unit in enumerate(names.CITY_UNITS):
        plan.branch(root, f"{unit}党支部", f"QZJ{ui + 2:03d}", OrgLevel.CITY, _profile_of(unit))
    counties = names.COUNTIES + names.DEV_ZONES
    for ci, (county_name, offset) in enumerate(counties):
        county = _plan_county(plan, root, ci, county_name, offset, zone=ci >= len(names.COUNTIES))
        if ci < 2:
            plan.demo[f"county_{'ab'[ci]}"] = county
    _fill(plan, CITY_ORGS - len(plan.orgs))
    return plan


def _plan_county(plan: Plan, root: PlannedOrg, ci: int, county_name: str, offset, zone: bool) -> PlannedOrg:
    rng = plan.rng
    seat = (names.CITY_CENTRE[0] + offset[0], names.CITY_CENTRE[1] + offset[1])
    code = f"QZ{ci + 1:02d}"
    if zone:
        county = plan.add(
            root,
            f"{county_name}党工委",
            code,
            OrgKind.WORKING_COMMITTEE,
            OrgLevel.COUNTY,
            seat,
            "agency",
            f"5229{ci + 1:02d}",
        )
        agency_name, units = f"{county_name}党工委党群工作部机关党支部", ("管委会办公室机关", "经济发展局机关")
    else:
        county = plan.add(
            root, f"{county_name}委", code, OrgKind.COMMITTEE, OrgLevel.COUNTY, seat, "agency", f"5229{ci + 1:02d}"
        )
        agency_name = f"{county_name}委组织部机关党支部"
        units = tuple(rng.sample(names.COUNTY_UNITS, rng.randint(16, 24)))
    agency = plan.branch(county, agency_name, code + "J001", OrgLevel.COUNTY, "agency")
    if ci < 2:
        plan.demo[f"county_{'ab'[ci]}_agency"] = agency
    for ui, unit in enumerate(units):
        plan.branch(county, f"{county_name}{unit}党支部", f"{code}J{ui + 2:03d}", OrgLevel.COUNTY, _profile_of(unit))
    used: set[str] = set()
    district = county_name.endswith("区")
    n_townships = rng.randint(4, 6) if zone else rng.randint(13, 17)
    for ti in range(n_townships):
        street = rng.random() < (0.7 if district or zone else 0.2)
        if ci == 0 and ti < 2:
            street = False  # the demo townships are towns with villages
        tname = _place(plan, used) + ("街道" if street else rng.choice(("镇", "镇", "乡")))
        township = _add_township(plan, county, f"{code}{ti + 1:02d}", tname, street)
        _plan_township(plan, township, used, street, demo=ci == 0 and ti < 2, ti=ti)
    return county


def _plan_township(plan: Plan, township: PlannedOrg, used: set[str], street: bool, demo: bool, ti: int) -> None:
    rng = plan.rng
    base = township.name.removesuffix("党工委").removesuffix("党委")
    agency = plan.branch(township, f"{base}机关党支部", township.code + "J01", OrgLevel.TOWNSHIP, "agency")
    for ui, unit in enumerate(rng.sample(names.TOWNSHIP_UNITS, rng.randint(0, 2))):
        plan.branch(
            township,
            f"{base}{unit}党支部",
            f"{township.code}J{ui + 2:02d}",
            OrgLevel.TOWNSHIP,
            _profile_of(unit) if unit != "卫生院" else "agency",
        )
    n = rng.randint(8, 16) if street else rng.randint(18, 30)
    for vi in range(n):
        village = _place(plan, used) + ("社区" if street else "村")
        profile = "community" if street else "village"
        vcode = f"{township.code}{vi + 1:03d}"
        r = rng.random() if not (demo and vi < 2) else 0.0  # the demo villages are plain branches
        if r < 0.70:
            org = plan.branch(township, f"{village}党支部", vcode, OrgLevel.VILLAGE, profile, spread=0.04)
            if demo and ti == 0 and vi < 2:
                plan.demo[f"village_{'ab'[vi]}"] = org
            continue
        if r < 0.94:
            kind, subs = OrgKind.GENERAL_BRANCH, rng.randint(2, 4)
        else:
            kind, subs = OrgKind.COMMITTEE, rng.randint(3, 5)
        head = plan.add(
            township,
            f"{village}{kind.label}",
            vcode,
            kind,
            OrgLevel.VILLAGE,
            plan.near((township.lat, township.lng), 0.04),
            profile,
        )
        for si in range(subs):
            plan.branch(
                head,
                f"{village}{names.SUB_BRANCHES[si]}党支部",
                f"{vcode}-{si + 1}",
                OrgLevel.VILLAGE,
                profile,
                spread=0.004,
            )
    if demo:
        plan.demo[f"township_{'ab'[ti]}"], plan.demo[f"township_{'ab'[ti]}_agency"] = township, agency


def _fill(plan: Plan, missing: int) -> None:
    """Tops the tree up to the exact size with non-public enterprise branches (两新组织) under townships/counties."""
    if missing < 0:
        raise RuntimeError(f"the city plan overshoots by {-missing} organisations")
    rng = plan.rng
    hosts = [o for o in plan.orgs if o.level in (OrgLevel.COUNTY, OrgLevel.TOWNSHIP) and not o.kind.is_branch]
    counters: dict[int, int] = {}
    for _ in range(missing):
        host = rng.choice(hosts)
        counters[host.id] = n = counters.get(host.id, 0) + 1
        unit = rng.choice(names.PLACE_FIRST) + rng.choice(names.PLACE_SECOND) + rng.choice(names.ENTERPRISE_SUFFIXES)
        joint = rng.random() < 0.15
        label = (
            f"{host.name.removesuffix('党工委').removesuffix('党委').removesuffix('委')}非公企业第{n}联合党支部"
            if joint
            else f"{unit}党支部"
        )
        plan.branch(
            host,
            label,
            f"{host.code}Q{n:03d}",
            host.level,
            "enterprise",
            kind=OrgKind.JOINT_BRANCH if joint else OrgKind.BRANCH,
            spread=0.03,
        )


_SIZE_MEDIAN = {"village": 26, "community": 20, "agency": 14, "school": 18, "enterprise": 9, "retiree": 30}


def size_branches(plan: Plan, total: int) -> None:
    """Spreads exactly `total` members over the branches: log-normal per kind, then nudged to the exact sum."""
    rng = plan.rng
    branches = plan.branches
    # A branch under a village 党总支/党委 holds one part of the village: smaller than a village's only branch.
    raw = [
        _SIZE_MEDIAN[b.profile] * (0.6 if b.parent.level == OrgLevel.VILLAGE else 1.0) * rng.lognormvariate(0, 0.45)
        for b in branches
    ]
    scale = total / sum(raw)
    for b, r in zip(branches, raw, strict=True):
        b.size = max(MIN_BRANCH_SIZE, round(r * scale))
    diff = total - sum(b.size for b in branches)
    while diff:
        b = rng.choice(branches)
        if diff > 0:
            b.size, diff = b.size + 1, diff - 1
        elif b.size > MIN_BRANCH_SIZE:
            b.size, diff = b.size - 1, diff + 1


# ------------------------------------------------------------------------------------------------- the members

# Ages by profile: (youngest, span, beta a, beta b). Villages are old (the young work away), offices younger.
_AGE = {
    "village": (18, 72, 3.0, 2.0),
    "community": (18, 72, 2.4, 2.4),
    "agency": (22, 38, 2.2, 2.2),
    "school": (22, 38, 2.0, 2.4),
    "enterprise": (20, 40, 2.0, 2.8),
    "retiree": (58, 32, 1.8, 2.2),
}
_MALE_SHARE = {"village": 0.74, "community": 0.55, "agency": 0.62, "school": 0.45, "enterprise": 0.66, "retiree": 0.68}
_FLOATING_SHARE = {"village": 0.05, "community": 0.03}  # others: 0.5 %; ~4 % in all
_PROBATIONARY_SHARE = 0.03


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28) + timedelta(days=1)


def mobile_of(member_id: int) -> str:
    """Deterministic and unique per id: the 8-digit suffix is a bijection of the id modulo 10^8."""
    prefix = names.MOBILE_PREFIXES[(member_id * 7919) % len(names.MOBILE_PREFIXES)]
    return f"{prefix}{(member_id * 73939133 + 2718281) % 10**8:08d}"


class MemberFactory:
    """One member row at a time (a dict for Core executemany); remembers the ID-card numbers it handed out."""

    def __init__(self, rng: random.Random, today: date, now, key: str):
        self.rng, self.today, self.now, self.key = rng, today, now, key
        self.surnames = [s for s, _ in names.SURNAMES]
        self.weights = [w for _, w in names.SURNAMES]
        self.used_ids: set[str] = set()

    def name(self, male: bool, born: int) -> str:
        rng = self.rng
        surname = rng.choices(self.surnames, weights=self.weights)[0]
        if male:
            pool = names.GIVEN_MALE_OLD if born < 1975 else names.GIVEN_MALE_NEW
        else:
            pool = names.GIVEN_FEMALE_OLD if born < 1975 else names.GIVEN_FEMALE_NEW
        length = 1 if len(surname) == 2 or rng.random() < 0.3 else 2
        return surname + "".join(rng.sample(pool, length))

    def id_card(self, region: str, birth: date, male: bool) -> str:
        head = region + birth.strftime("%Y%m%d")
        while True:
            first17 = f"{head}{self.rng.randrange(500) * 2 + male:03d}"  # odd sequence: a man
            if first17 not in self.used_ids:
                self.used_ids.add(first17)
                return first17 + idcard.check_digit(first17)

    def joined(self, birth: date) -> tuple[PartyStatus, date]:
        rng, today = self.rng, self.today
        adult = _add_years(birth, 18)
        full_before = today - timedelta(days=366)  # the probation year is over
        if rng.random() < _PROBATIONARY_SHARE or full_before < adult:
            lo = max(adult, today - timedelta(days=364))
            return PartyStatus.PROBATIONARY, lo + timedelta(days=rng.randint(0, (today - lo).days))
        span = (full_before - adult).days
        return PartyStatus.FULL, adult + timedelta(days=int(span * rng.betavariate(1.3, 3.5)))

    def row(self, member_id: int, branch: PlannedOrg, role: Role) -> dict:
        rng = self.rng
        lo, span, a, b = _AGE[branch.profile]
        birth = self.today - timedelta(days=int(min(90.0, lo + 0.05 + span * rng.betavariate(a, b)) * 365.2425))
        male = rng.random() < _MALE_SHARE[branch.profile]
        region = branch.region if branch.region != names.CITY_REGION else f"5229{rng.randint(1, 12):02d}"
        if rng.random() < 0.15:
            region = rng.choice(names.GUIZHOU_REGIONS)
        number = self.id_card(region, birth, male)
        status, joined_on = self.joined(birth)
        floating = rng.random() < _FLOATING_SHARE.get(branch.profile, 0.005)
        return {
            "id": member_id,
            "member_no": f"DY{member_id:08d}",
            "name": self.name(male, birth.year),
            "gender": Gender.MALE if male else Gender.FEMALE,
            "birth_date": birth,
            "mobile": mobile_of(member_id),
            "id_card_cipher": idcard.encrypt(number, self.key),
            "id_card_digest": idcard.digest(number, self.key),
            "party_status": status,
            "joined_on": joined_on,
            "org_id": branch.id,
            "is_floating": floating,
            "floating_to": rng.choice(names.FLOATING_TO) if floating else None,
            "role": role,
            "managed_org_id": None,
            "can_view_id_card": False,
            "status": AccountStatus.ACTIVE,
            "password_hash": None,
            "initial_password_digest": None,
            "initial_password_expires_at": None,
            "must_change_password": False,
            "password_changed_at": None,
            "created_at": self.now,
            "updated_at": self.now,
        }


# -------------------------------------------------------------------------------------------------- the writing

# The demo accounts, in output order: (label, where the member sits, index in that branch, role, org shown).
_DEMO = (
    ("super_admin", "city_agency", 1, Role.SUPER_ADMIN, "city"),
    ("dept_admin", "city_agency", 2, Role.DEPT_ADMIN, "city"),
    ("dept_admin", "county_a_agency", 1, Role.DEPT_ADMIN, "county_a"),
    ("dept_admin", "county_b_agency", 1, Role.DEPT_ADMIN, "county_b"),
    ("dept_admin", "township_a_agency", 1, Role.DEPT_ADMIN, "township_a"),
    ("dept_admin", "township_b_agency", 1, Role.DEPT_ADMIN, "township_b"),
    ("secretary", "village_a", 0, Role.SECRETARY, "village_a"),
    ("secretary", "village_b", 0, Role.SECRETARY, "village_b"),
    ("member", "village_a", 1, Role.MEMBER, "village_a"),
    ("member", "village_b", 1, Role.MEMBER, "village_b"),
)


def seed_demo(scale: str, accounts_out: str | None = None, progress: bool = True) -> dict:
    """Writes the demo organisations, members and accounts into an empty database and commits.

    Raises Conflict when organisations exist. Writes the demo accounts (JSON) to `accounts_out` when given.
    """
    if scale not in SCALES:
        raise Invalid(f"未知的规模：{scale}（可选 small、city）")
    if db.session.scalar(select(Organisation.id).limit(1)) is not None:
        raise Conflict("数据库中已有组织，请先清空")
    started = time.perf_counter()
    settings = current_app.config["SETTINGS"]
    rng = random.Random(RANDOM_SEED)
    plan = plan_city(rng) if scale == "city" else plan_small(rng)
    if scale == "city":
        size_branches(plan, CITY_MEMBERS)
    now = utcnow()
    today = now.astimezone(settings.zone).date()

    _insert(Organisation, (_org_row(o, rng, now) for o in plan.orgs), len(plan.orgs), "组织", progress)
    first_member: dict[int, int] = {}
    total = 0
    for b in plan.branches:
        first_member[b.id], total = total + 1, total + b.size
    factory = MemberFactory(rng, today, now, settings.data_key)
    _insert(Member, _member_rows(plan, factory, _demo_overrides(plan)), total, "党员", progress)
    db.session.execute(update(Organisation), [{"id": b.id, "secretary_id": first_member[b.id]} for b in plan.branches])
    recount_members()  # the bulk insert bypassed the services that keep the counters
    accounts = _demo_accounts(plan, first_member)
    db.session.commit()
    from services.seed_meetings import seed_meetings

    villages = (plan.demo["village_a"].id, plan.demo["village_b"].id)
    meetings = seed_meetings(villages, full_attendance=scale != "city")
    from services.seed_duty import seed_duty

    duty, cadre_accounts = seed_duty(villages, scale)
    accounts += cadre_accounts
    from services.seed_learning import seed_learning

    learning = seed_learning([plan.demo["township_a"].id, plan.demo["township_b"].id], scale)
    if accounts_out:
        with open(accounts_out, "w", encoding="utf-8") as fh:
            json.dump({"accounts": accounts}, fh, ensure_ascii=False, indent=2)
    orgs = db.session.scalar(select(func.count()).select_from(Organisation))
    return {
        "organisations": orgs,
        "members": total,
        "meetings": meetings,
        "duty": duty,
        "learning": learning,
        "seconds": round(time.perf_counter() - started, 2),
        "accounts": accounts,
    }


def _batches(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _insert(model, rows: Iterable[dict], total: int, label: str, progress: bool) -> None:
    with click.progressbar(length=total, label=label, hidden=not progress, show_pos=True) as bar:
        for batch in _batches(rows, BATCH):
            # The Table, not the entity: ORM bulk insert splits a batch by which values are None (~500 statements
            # per 5,000 members); Core sends each batch as one executemany.
            db.session.execute(insert(model.__table__), batch)
            bar.update(len(batch))


def _org_row(o: PlannedOrg, rng: random.Random, now) -> dict:
    phone = f"0859-{rng.randint(2000000, 8999999)}" if o.level != OrgLevel.VILLAGE or rng.random() < 0.6 else None
    return {
        "id": o.id,
        "name": o.name,
        "code": o.code,
        "kind": o.kind,
        "level": o.level,
        "parent_id": o.parent.id if o.parent else None,
        "path": o.path,
        "depth": o.depth,
        "secretary_id": None,
        "contact_phone": phone,
        "venue_lat": o.lat,
        "venue_lng": o.lng,
        # Most venues were picked on a phone map (GCJ-02); surveyed ones are WGS-84.
        "venue_coord_sys": CoordSys.GCJ02 if rng.random() < 0.8 else CoordSys.WGS84,
        "active": True,
        "created_at": now,
        "updated_at": now,
    }


def _member_rows(plan: Plan, factory: MemberFactory, overrides: dict) -> Iterator[dict]:
    member_id = 0
    for b in plan.branches:
        for j in range(b.size):
            member_id += 1
            row = factory.row(member_id, b, Role.SECRETARY if j == 0 else Role.MEMBER)
            extra = overrides.get((b.id, j))
            if extra:
                row.update(extra)
            yield row


def _demo_overrides(plan: Plan) -> dict[tuple[int, int], dict]:
    out = {}
    for _label, where, index, role, shown in _DEMO:
        branch = plan.demo[where]
        if branch.size <= index:
            raise RuntimeError(f"demo branch {branch.name} is too small")
        if role in (Role.SUPER_ADMIN, Role.DEPT_ADMIN):
            out[(branch.id, index)] = {
                "role": role,
                "is_floating": False,
                "floating_to": None,
                "managed_org_id": plan.demo[shown].id if role == Role.DEPT_ADMIN else None,
                "can_view_id_card": shown == "city" or role == Role.SUPER_ADMIN,
            }
        elif role == Role.MEMBER:
            out[(branch.id, index)] = {"is_floating": False, "floating_to": None}
    return out


def _demo_accounts(plan: Plan, first_member: dict[int, int]) -> list[dict]:
    """Gives the demo members their password (argon2, the only slow step) and lists them."""
    accounts = []
    for label, where, index, _role, shown in _DEMO:
        member = db.session.get(Member, first_member[plan.demo[where].id] + index)
        problem = policy_problem(
            DEMO_PASSWORD, personal=(member.mobile, member.member_no, member.birth_date.strftime("%Y%m%d"))
        )
        if problem:
            raise RuntimeError(f"demo password refused by the policy: {problem}")
        set_password_directly(member, DEMO_PASSWORD)
        org = plan.demo[shown]
        accounts.append(
            {
                "username": member.mobile,
                "password": DEMO_PASSWORD,
                "role": label,
                "org_id": org.id,
                "org_level": org.level.value,
                "name": member.name,
                "org_name": org.name,
            }
        )
    return accounts

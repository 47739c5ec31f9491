"""Meeting statistics: the numbers match a brute-force count on a generated tree, the cap, "behind" only for ended
periods, scope, period validation and the endpoint's JSON."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from models import Meeting, MeetingKind, MeetingStatus, Organisation, OrgKind, OrgLevel, db
from services import meeting_stats, meeting_tallies
from services.authz import SYSTEM, Actor
from services.errors import Invalid, NotFound
from services.meetings import period_of
from tests.factories import org

COUNTS = ("required", "held", "reviewed", "flagged", "behind")
STATUSES = list(MeetingStatus)


def local(app, *args) -> datetime:
    return datetime(*args, tzinfo=app.config["SETTINGS"].zone)


def kinds_by_code() -> dict[str, MeetingKind]:
    return {k.code: k for k in db.session.scalars(select(MeetingKind))}


def add_meetings(app, world, specs) -> None:
    """specs: (org, kind code, period label, status, flagged); inserted in bulk, bypassing the service's rules."""
    kinds, rows = kinds_by_code(), []
    for o, code, label, status, flagged in specs:
        start = _start_of(app, label)
        rows.append(
            {
                "org_id": o.id,
                "kind_id": kinds[code].id,
                "title": f"{code} {label}",
                "starts_at": start,
                "ends_at": start + timedelta(hours=2),
                "period": label,
                "status": status,
                "flagged": flagged,
                "created_by": world.super.id,
                "created_at": start,
                "updated_at": start,
            }
        )
    if rows:
        db.session.execute(insert(Meeting), rows)
    meeting_tallies.rebuild()  # as the seeder does after a bulk insert
    db.session.commit()


def _start_of(app, label: str) -> datetime:
    year = int(label[:4])
    month = int(label[5:]) if "-" in label else (int(label[5]) - 1) * 3 + 1 if "Q" in label else 1
    return local(app, year, month, 10, 9, 30)


# --- the brute force: the rules spelt out over Python objects, nothing shared with the service but period_of ---


def _months(app, label: str) -> list[datetime]:
    year = int(label[:4])
    if "-" in label:
        months = [int(label[5:])]
    elif "Q" in label:
        months = [(int(label[5]) - 1) * 3 + i for i in (1, 2, 3)]
    else:
        months = list(range(1, 13))
    return [local(app, year, m, 15, 12) for m in months]


def applies(kind: MeetingKind, o: Organisation) -> bool:
    if kind.audience.value == "branch":
        return o.kind.is_branch
    return not o.kind.is_branch and o.level in (OrgLevel.CITY, OrgLevel.COUNTY)


def snapshot():
    """Everything the brute force reads, loaded once: organisations, active kinds, meeting counts per slot."""
    orgs = db.session.scalars(select(Organisation)).all()
    kinds = db.session.scalars(
        select(MeetingKind).where(MeetingKind.active.is_(True)).order_by(MeetingKind.sort_order, MeetingKind.id)
    ).all()
    count = Counter()
    for m in db.session.scalars(select(Meeting)):
        is_held = m.status != MeetingStatus.PLANNED
        count[m.org_id, m.kind_id, m.period, "held"] += is_held
        count[m.org_id, m.kind_id, m.period, "reviewed"] += m.status == MeetingStatus.REVIEWED
        count[m.org_id, m.kind_id, m.period, "flagged"] += is_held and m.flagged
    return orgs, kinds, count


def brute_force(app, root: Organisation, label: str, now: datetime, snap=None) -> dict:
    orgs, kinds, count = snap or snapshot()
    children = defaultdict(list)
    for o in orgs:
        children[o.parent_id].append(o)

    def below(o):
        return [o] + [d for c in children[o.id] for d in below(c)]

    parents = {o.id: o for o in orgs}
    buckets = [(root, [root])] + [(c, below(c)) for c in sorted(children[root.id], key=lambda c: c.code) if c.active]
    rows, missing = [], defaultdict(list)
    for head, members in buckets:
        kinds_out, behind_any = {}, set()
        for k in kinds:
            periods = list(dict.fromkeys(period_of(k.cadence, m) for m in _months(app, label)))
            running = period_of(k.cadence, now)
            cell = dict.fromkeys(COUNTS, 0)
            behind = set()
            apply_to = [o for o in members if o.active and applies(k, o)]
            for o in apply_to:
                for p in periods:
                    held = count[o.id, k.id, p, "held"]
                    cell["held"] += min(held, k.times_per_period)
                    cell["reviewed"] += min(count[o.id, k.id, p, "reviewed"], k.times_per_period)
                    cell["flagged"] += count[o.id, k.id, p, "flagged"]
                    if p < running and held < k.times_per_period:  # ended: an earlier label of the same cadence
                        behind.add(o.id)
                        gap = {"kind": k.code, "name": k.name, "period": p, "required": k.times_per_period}
                        missing[o.id].append({**gap, "held": held})
            cell.update(orgs=len(apply_to), required=len(apply_to) * k.times_per_period * len(periods))
            cell["behind"] = len(behind)
            behind_any |= behind
            kinds_out[k.code] = cell
        total = {c: sum(cell[c] for cell in kinds_out.values()) for c in COUNTS}
        total["behind"] = len(behind_any)
        head_out = {"id": head.id, "name": head.name, "level": head.level.value, "kind": head.kind.value}
        rows.append({"org": head_out, "self": head is root, "kinds": kinds_out, "total": total})
    subtree = {
        "kinds": {k.code: {c: sum(r["kinds"][k.code][c] for r in rows) for c in ("orgs", *COUNTS)} for k in kinds},
        "total": {c: sum(r["total"][c] for r in rows) for c in COUNTS},
    }
    parent_name = {o.id: parents[o.parent_id].name if o.parent_id else None for o in orgs}
    behind = {
        oid: {"org": {"id": oid, "name": parents[oid].name, "parent_name": parent_name[oid]}, "missing": gaps}
        for oid, gaps in missing.items()
    }
    return {"kinds": [k.code for k in kinds], "rows": rows, "subtree": subtree, "behind": behind}


def assert_matches(app, got: dict, root, label, now, snap) -> None:
    want = brute_force(app, root, label, now, snap)
    assert [k["code"] for k in got["kinds"]] == want["kinds"]
    assert got["rows"] == want["rows"], (root.name, label, now)
    assert got["subtree"] == want["subtree"]
    assert got["behind_total"] == len(want["behind"]) == got["subtree"]["total"]["behind"]
    assert len(got["behind"]) == min(len(want["behind"]), meeting_stats.BEHIND_LIMIT)
    assert got["behind"] == sorted(got["behind"], key=lambda b: -len(b["missing"]))  # most missing first
    for entry in got["behind"]:
        assert entry == want["behind"][entry["org"]["id"]]


# --- a generated tree ---


def grow(world, rng: random.Random) -> list[Organisation]:
    """Adds a random tree below the world's townships and a third county; some leaf branches revoked."""
    V, T, C = OrgLevel.VILLAGE, OrgLevel.TOWNSHIP, OrgLevel.COUNTY
    county_c = org(world.city, "丙县委", OrgKind.COMMITTEE, C)
    org(county_c, "丙县机关党总支", OrgKind.GENERAL_BRANCH, C)
    towns = [world.town_a1, world.town_a2, world.town_b1]
    towns += [org(county_c, f"丙{i}街道党工委", OrgKind.WORKING_COMMITTEE, T) for i in range(2)]
    leaves = []
    for ti, town in enumerate(towns):
        for vi in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.5:
                leaves.append(org(town, f"镇{ti}村{vi}党支部", rng.choice([OrgKind.BRANCH, OrgKind.JOINT_BRANCH]), V))
                continue
            kind = OrgKind.GENERAL_BRANCH if r < 0.8 else OrgKind.COMMITTEE  # a village committee: no 民主生活会
            head = org(town, f"镇{ti}村{vi}{kind.label}", kind, V)
            leaves += [org(head, f"镇{ti}村{vi}第{si}支部", OrgKind.BRANCH, V) for si in range(rng.randint(1, 3))]
    for leaf in rng.sample(leaves, 3):
        leaf.active = False
    db.session.commit()
    return db.session.scalars(select(Organisation)).all()


def generate_meetings(app, world, orgs, rng: random.Random) -> None:
    """0–3 meetings per organisation, kind and kind period of 2025 (and some of 2024/2026), any status, some
    flagged; now and then a kind the organisation does not hold."""
    kinds, specs = kinds_by_code().values(), []
    days = [local(app, 2024, 12, 20)] + [local(app, 2025, m, 10) for m in range(1, 13)] + [local(app, 2026, 1, 9)]
    for o in orgs:
        for k in kinds:
            if not applies(k, o) and rng.random() > 0.1:
                continue
            for label in dict.fromkeys(period_of(k.cadence, d) for d in days):
                n = rng.choices([0, 1, 2, 3], weights=[30, 45, 15, 10])[0]
                specs += [(o, k.code, label, rng.choice(STATUSES), rng.random() < 0.2) for _ in range(n)]
    add_meetings(app, world, specs)


@pytest.mark.parametrize("seed", [7, 2026])
def test_statistics_match_a_brute_force_count(app, world, seed):
    rng = random.Random(seed)
    kinds = kinds_by_code()
    kinds["party_lecture"].times_per_period = 2  # the cap is times_per_period, not 1
    kinds["member_appraisal"].active = False  # a retired kind does not count
    generate_meetings(app, world, grow(world, rng), rng)
    snap = snapshot()
    roots = [world.city, world.county_a, world.town_a1, world.county_b, world.v1]
    nows = [local(app, 2025, 8, 15, 12), local(app, 2026, 3, 1)]
    for now in nows:
        for label in ("2025-03", "2025-08", "2025Q2", "2025Q3", "2025"):
            for root in roots:
                got = meeting_stats.meeting_stats(SYSTEM, root.id, label, now=now)
                assert_matches(app, got, root, label, now, snap)
    # The generated data exercises every rule: extra meetings capped, flags, reviews, organisations behind.
    year = meeting_stats.meeting_stats(SYSTEM, world.city.id, "2025", now=nows[1])["subtree"]["total"]
    held_meetings = db.session.scalar(
        select(func.count()).where(Meeting.status != MeetingStatus.PLANNED, Meeting.period.like("2025%"))
    )
    assert 0 < year["reviewed"] < year["held"] < min(year["required"], held_meetings)
    assert year["flagged"] > 0 and year["behind"] > 0


def test_the_behind_list_is_cut_most_missing_first(app, world, monkeypatch):
    rng = random.Random(11)
    generate_meetings(app, world, grow(world, rng), rng)
    now = local(app, 2026, 2, 1)
    want = brute_force(app, world.city, "2025", now)["behind"]
    assert len(want) > 3
    monkeypatch.setattr(meeting_stats, "BEHIND_LIMIT", 3)
    got = meeting_stats.meeting_stats(SYSTEM, world.city.id, "2025", now=now)
    assert got["behind_total"] == len(want) and len(got["behind"]) == 3
    top = sorted((len(b["missing"]) for b in want.values()), reverse=True)[:3]
    assert [len(b["missing"]) for b in got["behind"]] == top


def test_counts_are_a_constant_number_of_statements(app, world):
    rng = random.Random(3)
    generate_meetings(app, world, grow(world, rng), rng)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        meeting_stats.meeting_stats(SYSTEM, world.city.id, "2025", now=local(app, 2026, 2, 1))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # root, kinds, children, the organisations by bucket, the sums per child, the root's own tallies, the
    # organisation-years' met column, the behind list with its gaps
    assert len(statements) <= 8, statements


def test_extra_meetings_never_hide_a_missing_one(app, world):
    flagged_extra = [(world.v1, "branch_committee", "2025-07", MeetingStatus.REVIEWED, True)] * 3
    planned = [(world.v3, "branch_committee", "2025-07", MeetingStatus.PLANNED, True)]  # not held: no flag either
    add_meetings(app, world, flagged_extra + planned)
    got = meeting_stats.meeting_stats(Actor(world.county_a_admin), None, "2025-07", now=local(app, 2025, 9, 1))
    cell = got["subtree"]["kinds"]["branch_committee"]
    branches = 6  # v1, v2, v3, the county agency and the two township agencies
    assert cell == {"orgs": branches, "required": branches, "held": 1, "reviewed": 1, "flagged": 3, "behind": 5}
    assert got["org"]["id"] == world.county_a.id  # the department's own organisation by default
    town_a1 = next(r for r in got["rows"] if r["org"]["id"] == world.town_a1.id)
    assert town_a1["kinds"]["branch_committee"]["held"] == 1 and town_a1["kinds"]["branch_committee"]["behind"] == 2


def test_only_ended_periods_are_behind(app, world):
    add_meetings(app, world, [(world.v1, "branch_committee", "2025-07", MeetingStatus.HELD, False)])
    kinds = ("branch_committee", "party_group", "theme_day", "branch_general", "party_lecture")

    def behind_of_v1(label, now):
        got = meeting_stats.meeting_stats(SYSTEM, world.v1.id, label, now=now)
        return [(g["kind"], g["period"]) for b in got["behind"] for g in b["missing"] if g["kind"] in kinds]

    assert behind_of_v1("2025Q3", local(app, 2025, 7, 31, 23, 59)) == []  # nothing has ended yet
    assert behind_of_v1("2025Q3", local(app, 2025, 8, 1)) == [("party_group", "2025-07"), ("theme_day", "2025-07")]
    assert set(behind_of_v1("2025Q3", local(app, 2025, 10, 1))) == {
        ("branch_committee", "2025-08"),
        ("branch_committee", "2025-09"),
        *((k, p) for k in ("party_group", "theme_day") for p in ("2025-07", "2025-08", "2025-09")),
        ("branch_general", "2025Q3"),
        ("party_lecture", "2025Q3"),
    }
    yearly = meeting_stats.meeting_stats(SYSTEM, world.v1.id, "2025Q3", now=local(app, 2025, 12, 31))
    assert yearly["rows"][0]["kinds"]["org_life"] == {
        "orgs": 1,
        "required": 1,  # a yearly kind in a quarter: its year, once
        "held": 0,
        "reviewed": 0,
        "flagged": 0,
        "behind": 0,  # the year is still running
    }


def test_period_parsing():
    from models import Cadence

    q3 = meeting_stats.parse_period("2026Q3")
    assert meeting_stats.kind_periods(Cadence.MONTH, q3) == ["2026-07", "2026-08", "2026-09"]
    assert meeting_stats.kind_periods(Cadence.YEAR, q3) == ["2026"]
    assert meeting_stats.kind_periods(Cadence.QUARTER, meeting_stats.parse_period("2026-11")) == ["2026Q4"]
    assert len(meeting_stats.kind_periods(Cadence.MONTH, meeting_stats.parse_period("2026"))) == 12
    for bad in ("2026-13", "2026-7", "2026Q5", "2026Q0", "26Q1", "Q3", "2026-", "", " 2026", "2026q3"):
        with pytest.raises(Invalid) as err:
            meeting_stats.parse_period(bad)
        assert "period" in err.value.fields


def test_period_ends_in_the_business_time_zone(app):
    assert meeting_stats.period_end("2026Q4") == local(app, 2027, 1, 1)
    assert meeting_stats.period_end("2026-02") == local(app, 2026, 3, 1)


def test_scope(app, world):
    ok = [(world.super, world.v1), (world.city_admin, world.v4), (world.town_a1_admin, world.town_a1)]
    for member, target in ok:
        assert meeting_stats.meeting_stats(Actor(member), target.id, "2025")["org"]["id"] == target.id
    refused = [
        (world.town_a2_admin, world.town_a1),  # a sibling township's department
        (world.county_b_admin, world.v1),
        (world.town_a1_admin, world.county_a),  # above its own organisation
        (world.sec_v2, world.v1),  # a foreign branch's secretary
        (world.sec_v1, world.v1),  # a secretary, even of the branch itself: statistics are for departments
        (world.member_v1, world.v1),
    ]
    for member, target in refused:
        with pytest.raises(NotFound):
            meeting_stats.meeting_stats(Actor(member), target.id, "2025")
    with pytest.raises(NotFound):
        meeting_stats.meeting_stats(SYSTEM, 10**9, "2025")
    assert meeting_stats.meeting_stats(Actor(world.super))["org"]["id"] == world.city.id


# --- the endpoint ---


def test_endpoint_json(app, client, world, login_as):
    add_meetings(app, world, [(world.v1, "branch_committee", "2025-07", MeetingStatus.SUBMITTED, True)])
    r = client.get(f"/api/stats/meetings?org_id={world.town_a1.id}&period=2025Q3", headers=login_as(world.city_admin))
    assert r.status_code == 200, r.json
    body = r.json
    assert set(body) == {"org", "period", "as_of", "kinds", "rows", "subtree", "behind", "behind_total"}
    assert body["org"] == {"id": world.town_a1.id, "name": world.town_a1.name} and body["period"] == "2025Q3"
    assert datetime.fromisoformat(body["as_of"]).utcoffset() == timedelta(hours=8)
    assert set(body["kinds"][0]) == {"id", "code", "name", "cadence"} and len(body["kinds"]) == 8
    assert [row["org"]["id"] for row in body["rows"]] == [
        world.town_a1.id,
        world.town_a1_agency.id,
        world.v1.id,
        world.v2.id,
    ]
    assert [row["self"] for row in body["rows"]] == [True, False, False, False]
    assert set(body["rows"][0]["org"]) == {"id", "name", "level", "kind"}
    v1 = body["rows"][2]
    assert v1["kinds"]["branch_committee"] == {
        "orgs": 1,
        "required": 3,
        "held": 1,
        "reviewed": 0,
        "flagged": 1,
        "behind": 1,  # August and September are missing (run now, those have ended)
    }
    assert set(body["subtree"]) == {"kinds", "total"} and set(body["subtree"]["total"]) == set(COUNTS)
    assert body["behind_total"] == 3  # the three branches
    entry = next(b for b in body["behind"] if b["org"]["id"] == world.v1.id)
    assert entry["org"] == {"id": world.v1.id, "name": world.v1.name, "parent_name": world.town_a1.name}
    assert set(entry["missing"][0]) == {"kind", "name", "period", "required", "held"}


def test_endpoint_defaults_and_refusals(app, client, world, login_as):
    r = client.get("/api/stats/meetings", headers=login_as(world.county_a_admin))
    assert r.status_code == 200, r.json
    today = datetime.now(app.config["SETTINGS"].zone)
    assert r.json["period"] == f"{today.year}Q{(today.month - 1) // 3 + 1}" and r.json["org"]["id"] == world.county_a.id
    for bad in ("2026-13", "2026Q5", "26"):
        r = client.get(f"/api/stats/meetings?period={bad}", headers=login_as(world.county_a_admin))
        assert r.status_code == 422 and "period" in r.json["error"]["fields"], r.json
    url = f"/api/stats/meetings?org_id={world.town_a1.id}"
    for outsider in (world.town_a2_admin, world.sec_v2, world.member_v1):
        r = client.get(url, headers=login_as(outsider))
        assert r.status_code == 404 and set(r.json) == {"error"}, (outsider.name, r.json)
    assert client.get(url).status_code == 401

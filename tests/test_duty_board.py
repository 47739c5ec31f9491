"""The daily presence board: a worked day through the API, scope, and the grouped statements against a brute-force
count over generated data."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from models import (
    CheckinKind,
    CheckinResult,
    CheckinTiming,
    DutyAssignment,
    DutyCheckin,
    DutyException,
    DutyExceptionKind,
    DutyRole,
    DutyRoster,
    Organisation,
    Role,
    db,
)
from models.base import utcnow
from services import duty_roster
from services.authz import Actor
from services.duty_board import COUNTS
from tests.factories import member
from tests.test_duty_support import VILLAGE, circle_fence, east, local_at, local_yesterday, make_cadre, post_checkin


def test_a_worked_day(client, world, login_as, app):
    app.config["SETTINGS"].duty_late_upload_minutes = 10**6
    day = local_yesterday(app)
    circle_fence(world)
    on_time, late, absent, away, off = (make_cadre(world, n) for n in ("准时", "迟到", "缺勤", "外出", "请假"))
    assignment = duty_roster.active_assignment(off.id, world.v1.id, day)
    duty_roster.add_exception(
        Actor(world.county_a_admin), assignment, {"kind": "leave", "starts_on": day, "ends_on": day}
    )
    db.session.commit()
    post_checkin(client, login_as(on_time), world, VILLAGE, read_at=local_at(app, day, 8, 20))
    post_checkin(client, login_as(late), world, VILLAGE, read_at=local_at(app, day, 9, 30))
    post_checkin(client, login_as(away), world, east(VILLAGE, 2000), read_at=local_at(app, day, 8, 25))
    r = client.get(f"/api/duty/board?org_id={world.town_a1.id}&date={day}", headers=login_as(world.town_a1_admin))
    assert r.status_code == 200, r.json
    assert r.json["totals"] == {
        "rostered": 4,
        "present": 2,
        "late": 1,
        "absent": 1,
        "unconfirmed": 1,
        "on_leave": 1,
        "outside": 1,
        "flagged": 0,
    }
    assert [c["org"]["id"] for c in r.json["children"]] == [world.v1.id] and r.json["date"] == day.isoformat()
    assert r.json["cadres"] == 5 and r.json["children"][0]["cadres"] == 5
    listed = client.get(
        f"/api/duty/board/cadres?org_id={world.town_a1.id}&date={day}", headers=login_as(world.town_a1_admin)
    )
    assert listed.status_code == 200 and listed.json["meta"]["total"] == 5
    by_name = {c["member"]["name"]: c for c in listed.json["items"]}
    assert by_name["迟到"]["present"] and by_name["迟到"]["late"] and not by_name["准时"]["late"]
    assert by_name["缺勤"]["absent"] and by_name["请假"]["on_leave"] and not by_name["请假"]["rostered"]
    assert by_name["外出"]["unconfirmed"] and by_name["外出"]["outside"]
    absent = client.get(
        f"/api/duty/board/cadres?org_id={world.town_a1.id}&date={day}&status=absent",
        headers=login_as(world.town_a1_admin),
    ).json
    assert [c["member"]["name"] for c in absent["items"]] == ["缺勤"] and absent["meta"]["total"] == 1


@pytest.mark.parametrize("path", ["/api/duty/board", "/api/duty/board/cadres"])
def test_board_scope(client, world, login_as, path):
    make_cadre(world)
    url = f"{path}?org_id={world.v1.id}"
    for name in ("sec_v2", "town_a2_admin", "county_b_admin", "member_v2", "member_v1"):
        r = client.get(url, headers=login_as(getattr(world, name)))
        assert r.status_code == 404 and set(r.json) == {"error"}, name
    for name in ("sec_v1", "town_a1_admin", "county_a_admin", "city_admin"):
        r = client.get(url, headers=login_as(getattr(world, name)))
        assert r.status_code == 200, name
        listed = r.json["cadres"] if path.endswith("board") else r.json["meta"]["total"]
        assert listed == 1, name
    r = client.get(path, headers=login_as(world.city_admin))
    assert r.status_code == 422 and "org_id" in r.json["error"]["fields"]


def test_a_bad_status_names_the_field(client, world, login_as):
    url = f"/api/duty/board/cadres?org_id={world.v1.id}&status=asleep"
    r = client.get(url, headers=login_as(world.town_a1_admin))
    assert r.status_code == 422 and "status" in r.json["error"]["fields"]


# ---------------------------------------------------------------------------------------------------------------
# Brute force over generated data


def _generate(world, rng: random.Random, first_day, days: int):
    villages = [world.v1, world.v2, world.v3, world.v4]
    homes = [world.county_a_agency, world.county_b_agency, world.city_agency]
    cadres = [member(rng.choice(homes), f"干部{i:02d}", Role.MEMBER, password=None) for i in range(24)]
    db.session.flush()
    for cadre in cadres:
        for village in rng.sample(villages, rng.choice((1, 1, 2))):
            starts = first_day + timedelta(days=rng.randint(-5, days))
            ends = rng.choice((None, starts + timedelta(days=rng.randint(0, days))))
            a = DutyAssignment(member_id=cadre.id, org_id=village.id, role=DutyRole.RESIDENT_CADRE, starts_on=starts)
            a.ends_on = ends
            db.session.add(a)
            db.session.flush()
            for weekday in rng.sample(range(7), rng.randint(0, 7)):
                db.session.add(DutyRoster(assignment_id=a.id, weekday=weekday, starts_at=time(8), ends_at=time(17)))
            if rng.random() < 0.4:
                leave_from = first_day + timedelta(days=rng.randint(0, days))
                db.session.add(
                    DutyException(
                        assignment_id=a.id,
                        kind=rng.choice(list(DutyExceptionKind)),
                        starts_on=leave_from,
                        ends_on=leave_from + timedelta(days=rng.randint(0, 3)),
                        approved_by=world.county_a_admin.id,
                    )
                )
            for offset in range(days):
                day = first_day + timedelta(days=offset)
                if not a.covers(day):
                    continue
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                    _checkin(rng, a, day)
    db.session.commit()


def _checkin(rng, a, day):
    read_at = utcnow() - timedelta(days=30)  # not read by the board: it goes by duty_date
    db.session.add(
        DutyCheckin(
            member_id=a.member_id,
            org_id=a.org_id,
            assignment_id=a.id,
            client_id=f"gen-{rng.getrandbits(48):012x}",
            kind=rng.choice((CheckinKind.CHECKIN, CheckinKind.CHECKIN, CheckinKind.CHECKOUT)),
            latitude=VILLAGE[0],
            longitude=VILLAGE[1],
            accuracy_m=10.0,
            coord_sys="wgs84",
            wgs_lat=VILLAGE[0],
            wgs_lng=VILLAGE[1],
            read_at=read_at,
            received_at=read_at,
            duty_date=day,
            result=rng.choice(list(CheckinResult)),
            timing=rng.choice(list(CheckinTiming)),
            flagged=rng.random() < 0.2,
            reasons={},
        )
    )


def _brute_force(root: Organisation, day) -> dict:
    """The board's totals from every row loaded and looked at one by one."""
    in_tree = {o.id for o in db.session.scalars(select(Organisation)) if o.path.startswith(root.path)}
    rosters, leaves = defaultdict(set), defaultdict(list)
    for r in db.session.scalars(select(DutyRoster)):
        rosters[r.assignment_id].add(r.weekday)
    for e in db.session.scalars(select(DutyException)):
        leaves[e.assignment_id].append((e.starts_on, e.ends_on))
    checkins = defaultdict(list)
    for c in db.session.scalars(select(DutyCheckin)):
        if c.org_id in in_tree and c.duty_date == day:
            checkins[(c.member_id, c.org_id)].append(c)
    totals, seen = dict.fromkeys(COUNTS, 0), set()
    assignments = [a for a in db.session.scalars(select(DutyAssignment)) if a.org_id in in_tree and a.covers(day)]
    for a in sorted(assignments, key=lambda a: a.id):
        key = (a.member_id, a.org_id)
        if key in seen:
            continue
        seen.add(key)
        shift = day.weekday() in rosters[a.id]
        leave = any(s <= day <= e for s, e in leaves[a.id])
        rows = checkins.get(key, [])
        ins = [c for c in rows if c.kind == CheckinKind.CHECKIN]
        rostered = shift and not leave
        totals["rostered"] += rostered
        totals["on_leave"] += shift and leave
        totals["present"] += rostered and any(c.result == CheckinResult.INSIDE for c in ins)
        totals["absent"] += rostered and not ins
        totals["unconfirmed"] += rostered and bool(ins) and all(c.result != CheckinResult.INSIDE for c in ins)
        punctual = any(c.timing in (CheckinTiming.ON_TIME, CheckinTiming.EARLY) for c in ins)
        totals["late"] += rostered and not punctual and any(c.timing == CheckinTiming.LATE for c in ins)
    for rows in checkins.values():
        totals["outside"] += any(c.result == CheckinResult.OUTSIDE for c in rows)
        totals["flagged"] += any(c.flagged for c in rows)
    return totals


def test_the_board_matches_a_brute_force_count(client, world, login_as):
    rng = random.Random(20261204)
    first_day = utcnow().date() - timedelta(days=10)
    _generate(world, rng, first_day, days=7)
    headers = login_as(world.city_admin)
    compared = 0
    for root in (world.city, world.county_a, world.town_a1, world.v4):
        for offset in (0, 2, 3, 5, 6):
            day = first_day + timedelta(days=offset)
            r = client.get(f"/api/duty/board?org_id={root.id}&date={day}", headers=headers)
            assert r.status_code == 200
            assert r.json["totals"] == _brute_force(root, day), (root.name, day)
            listed = _all_cadres(client, headers, root, day)
            assert len(listed) == r.json["cadres"]
            per_child, own = defaultdict(lambda: dict.fromkeys(COUNTS, 0)), dict.fromkeys(COUNTS, 0)
            paths = {o.id: o.path for o in db.session.scalars(select(Organisation))}
            for cadre in listed:
                below = paths[cadre["org_id"]][len(root.path) :].split("/")[0]
                for key in COUNTS:
                    (per_child[int(below)] if below else own)[key] += int(cadre[key])
            assert {c["org"]["id"]: {k: c[k] for k in COUNTS} for c in r.json["children"]} == dict(per_child)
            assert {k: own[k] + sum(c[k] for c in per_child.values()) for k in COUNTS} == r.json["totals"]
            for status in ("absent", "flagged", "on_leave"):
                only = _all_cadres(client, headers, root, day, status=status)
                assert len(only) == r.json["totals"][status] and all(c[status] for c in only)
            compared += r.json["totals"]["rostered"]
    assert compared > 20  # the generated data exercised the board


def _all_cadres(client, headers, root, day, status=None) -> list[dict]:
    """Every page of the board's cadre list, checked to be in order (village path, then name) without repeats."""
    items, page = [], 1
    while True:
        url = f"/api/duty/board/cadres?org_id={root.id}&date={day}&per_page=7&page={page}"
        r = client.get(url + (f"&status={status}" if status else ""), headers=headers)
        assert r.status_code == 200, r.json
        items += r.json["items"]
        if page * 7 >= r.json["meta"]["total"]:
            assert len(items) == r.json["meta"]["total"]
            break
        page += 1
    assert len({(c["member"]["id"], c["org_id"]) for c in items}) == len(items)
    return items


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday"])
def test_a_bad_date_names_the_field(client, world, login_as, bad):
    r = client.get(f"/api/duty/board?org_id={world.v1.id}&date={bad}", headers=login_as(world.town_a1_admin))
    assert r.status_code == 422 and "date" in r.json["error"]["fields"]


def test_the_month_report_adds_up_the_boards(client, world, login_as):
    rng = random.Random(7)
    today = utcnow().astimezone(world_zone()).date()
    first_day = today - timedelta(days=10)
    _generate(world, rng, first_day, days=9)
    headers = login_as(world.county_a_admin)
    month = f"{first_day:%Y-%m}"
    r = client.get(f"/api/duty/report?org_id={world.county_a.id}&month={month}", headers=headers)
    assert r.status_code == 200, r.json
    expected = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    day = first_day.replace(day=1)
    while day.strftime("%Y-%m") == month and day <= today:
        for cadre in _all_cadres(client, headers, world.county_a, day):
            for key in COUNTS:
                expected[(cadre["member"]["id"], cadre["org_id"])][key] += int(cadre[key])
        day += timedelta(days=1)
    got = {(row["member"]["id"], row["org"]["id"]): {k: row[k] for k in COUNTS} for row in r.json["rows"]}
    assert {k: v for k, v in got.items() if any(v.values())} == {k: v for k, v in expected.items() if any(v.values())}
    assert sum(v["rostered"] for v in got.values()) > 5


def test_the_month_report_as_xlsx(client, world, login_as):
    from io import BytesIO

    from openpyxl import load_workbook

    make_cadre(world, "表格干部")
    month = f"{utcnow():%Y-%m}"
    r = client.get(
        f"/api/duty/report?org_id={world.town_a1.id}&month={month}&format=xlsx", headers=login_as(world.town_a1_admin)
    )
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(BytesIO(r.data)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("姓名", "派驻村", "身份", "应值班天数", "在岗天数")
    assert rows[1][0] == "表格干部" and rows[1][1] == world.v1.name and rows[1][2] == "第一书记"
    for name in ("sec_v2", "county_b_admin", "member_v1"):
        r = client.get(f"/api/duty/report?org_id={world.v1.id}&month={month}", headers=login_as(getattr(world, name)))
        assert r.status_code == 404, name
    r = client.get(f"/api/duty/report?org_id={world.v1.id}&month=2026-13", headers=login_as(world.town_a1_admin))
    assert r.status_code == 422 and "month" in r.json["error"]["fields"]


def world_zone():
    from flask import current_app

    return current_app.config["SETTINGS"].zone

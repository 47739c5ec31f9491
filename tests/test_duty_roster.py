"""Assignments, weekly rosters and approved exceptions over HTTP; the cadre's own view; the geofence API."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, DutyAssignment, Geofence, Role, db
from models.base import utcnow
from tests.factories import member
from tests.test_duty_support import VILLAGE, circle_fence, make_cadre, post_checkin

SHIFTS = [{"weekday": d, "starts_at": "08:30", "ends_at": "17:30"} for d in range(5)]


def _assign(client, headers, world, cadre, **extra):
    body = {"member_id": cadre.id, "org_id": world.v1.id, "role": "first_secretary", "starts_on": "2026-11-01"}
    return client.post("/api/duty/assignments", json={**body, **extra}, headers=headers)


@pytest.fixture
def county(world, login_as):
    return login_as(world.county_a_admin)


@pytest.fixture
def cadre(world):
    m = member(world.county_a_agency, "派驻干部", Role.MEMBER)
    db.session.commit()
    return m


def test_a_department_assigns_a_cadre_with_a_weekly_roster(client, world, county, cadre):
    r = _assign(client, county, world, cadre, roster=SHIFTS)
    assert r.status_code == 201, r.json
    assert r.json["role_label"] == "第一书记" and r.json["org"]["id"] == world.v1.id
    assert [s["weekday"] for s in r.json["roster"]] == [0, 1, 2, 3, 4] and r.json["roster"][0]["starts_at"] == "08:30"
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "duty_assignment")))
    assert actions == {"duty.assign", "duty.roster.set"}


def test_assignment_refusals(client, world, county, cadre, login_as):
    r = _assign(client, county, world, cadre, org_id=world.town_a1.id)
    assert r.status_code == 422 and "org_id" in r.json["error"]["fields"]
    r = _assign(client, county, world, cadre, ends_on="2026-10-01")
    assert r.status_code == 422 and "ends_on" in r.json["error"]["fields"]
    r = _assign(client, county, world, cadre, roster=[SHIFTS[0], SHIFTS[0]])
    assert r.status_code == 422 and "roster.1.weekday" in r.json["error"]["fields"]
    r = _assign(client, county, world, cadre, roster=[{"weekday": 1, "starts_at": "18:00", "ends_at": "08:00"}])
    assert r.status_code == 422 and "roster.0.ends_at" in r.json["error"]["fields"]
    r = _assign(client, county, world, cadre, roster=[{"weekday": 7, "starts_at": "8点", "ends_at": "17:00"}])
    assert set(r.json["error"]["fields"]) == {"roster.0.weekday", "roster.0.starts_at"}
    assert db.session.scalar(select(DutyAssignment.id)) is None
    assert _assign(client, county, world, cadre).status_code == 201
    again = _assign(client, county, world, cadre, starts_on="2026-12-01")
    assert again.status_code == 409 and again.json["error"]["code"] == "already_assigned"
    # The village's secretary sees the village but does not assign cadres.
    assert _assign(client, login_as(world.sec_v1), world, world.member_v1).status_code == 403
    # A township sees only members of its own subtree: the county agency's cadre does not exist for it.
    assert _assign(client, login_as(world.town_a1_admin), world, cadre).status_code == 404
    assert _assign(client, login_as(world.town_a1_admin), world, world.member_v2).status_code == 201


def test_roster_exceptions_and_ending(client, world, county, cadre):
    a = _assign(client, county, world, cadre).json
    r = client.put(f"/api/duty/assignments/{a['id']}/roster", json={"roster": SHIFTS[:2]}, headers=county)
    assert r.status_code == 200 and len(r.json["roster"]) == 2
    leave = {"kind": "business_trip", "starts_on": "2026-12-02", "ends_on": "2026-12-04", "reason": "县里培训"}
    r = client.post(f"/api/duty/assignments/{a['id']}/exceptions", json=leave, headers=county)
    assert r.status_code == 201 and r.json["kind_label"] == "出差" and r.json["approved_by"] == world.county_a_admin.id
    bad = {**leave, "ends_on": "2026-12-01"}
    assert client.post(f"/api/duty/assignments/{a['id']}/exceptions", json=bad, headers=county).status_code == 422
    before = {**leave, "starts_on": "2026-10-01", "ends_on": "2026-10-02"}
    r = client.post(f"/api/duty/assignments/{a['id']}/exceptions", json=before, headers=county)
    assert r.status_code == 422 and "starts_on" in r.json["error"]["fields"]
    r = client.patch(f"/api/duty/assignments/{a['id']}", json={"ends_on": "2026-12-31"}, headers=county)
    assert r.status_code == 200 and r.json["ends_on"] == "2026-12-31" and len(r.json["exceptions"]) == 1


def test_the_cadre_sees_their_own_assignments_and_today(client, world, login_as, app):
    circle_fence(world)
    cadre = make_cadre(world)
    other = make_cadre(world, "别人", org=world.v2)
    headers = login_as(cadre)
    listed = client.get("/api/duty/assignments", headers=headers).json["items"]
    assert [i["member"]["id"] for i in listed] == [cadre.id]
    assert client.get(f"/api/duty/assignments/{listed[0]['id']}", headers=headers).status_code == 200
    theirs = db.session.scalar(select(DutyAssignment.id).where(DutyAssignment.member_id == other.id))
    assert client.get(f"/api/duty/assignments/{theirs}", headers=headers).status_code == 404
    assert client.patch(f"/api/duty/assignments/{listed[0]['id']}", json={}, headers=headers).status_code == 403
    post_checkin(client, headers, world, VILLAGE)
    today = client.get("/api/duty/today", headers=headers).json["items"]
    assert len(today) == 1 and today[0]["assignment"]["org"]["id"] == world.v1.id
    assert today[0]["shift"]["starts_at"] == "08:30" and len(today[0]["fences"]) == 1
    assert len(today[0]["checkins"]) == 1 and today[0]["checkins"][0]["result"] == "inside"
    # The fences of the village are readable by the cadre (for the map), although the village is outside their branch.
    assert client.get(f"/api/orgs/{world.v1.id}/geofences", headers=headers).status_code == 200
    assert client.get(f"/api/orgs/{world.v3.id}/geofences", headers=headers).status_code == 404


def test_history_and_summary_for_the_cadre_and_the_department(client, world, login_as):
    circle_fence(world)
    a, b = make_cadre(world, "甲干部"), make_cadre(world, "乙干部", org=world.v3)
    circle_fence(world, org=world.v3)
    post_checkin(client, login_as(a), world, VILLAGE, device_id="shared-phone")
    post_checkin(client, login_as(a), world, (VILLAGE[0] + 0.02, VILLAGE[1]))
    post_checkin(client, login_as(b), world, VILLAGE, org=world.v3, device_id="shared-phone")
    mine = client.get("/api/duty/checkins", headers=login_as(a)).json
    assert mine["meta"]["total"] == 2 and {i["member"]["id"] for i in mine["items"]} == {a.id}
    town = login_as(world.town_a1_admin)
    assert client.get("/api/duty/checkins", headers=town).json["meta"]["total"] == 2  # v3 is in township A2
    county = login_as(world.county_a_admin)
    url = f"/api/duty/checkins?org_id={world.county_a.id}&descendants=1"
    assert client.get(url, headers=county).json["meta"]["total"] == 3
    flagged = client.get(url + "&flag=shared_device", headers=county).json["items"]
    assert [i["member"]["id"] for i in flagged] == [b.id]
    outside = client.get(url + "&result=outside", headers=county).json["items"]
    assert [i["member"]["id"] for i in outside] == [a.id]
    rows = client.get(f"/api/duty/summary?org_id={world.county_a.id}&descendants=1", headers=county).json["items"]
    by_name = {r["member"]["name"]: r for r in rows}
    assert by_name["甲干部"]["checkins"] == 2 and by_name["甲干部"]["results"] == {
        "inside": 1,
        "outside": 1,
        "uncertain": 0,
    }
    assert by_name["乙干部"]["flagged"] == 1 and by_name["乙干部"]["flags"]["shared_device"] == 1
    assert rows[0]["member"]["name"] == "乙干部"  # the flagged first
    own = client.get("/api/duty/summary", headers=login_as(a)).json["items"]
    assert [r["member"]["id"] for r in own] == [a.id]


# ---------------------------------------------------------------------------------------------------------------
# Geofences


def _fence_url(world, org=None):
    return f"/api/orgs/{(org or world.v1).id}/geofences"


def test_geofence_lifecycle_by_the_secretary(client, world, login_as):
    sec = login_as(world.sec_v1)
    circle = {
        "kind": "circle",
        "center": {"latitude": 26.58, "longitude": 106.71, "coord_sys": "gcj02"},
        "radius_m": 300,
    }
    r = client.post(_fence_url(world), json={"name": "村委会", **circle}, headers=sec)
    assert r.status_code == 201 and r.json["center"]["coord_sys"] == "gcj02" and r.json["radius_m"] == 300
    fid = r.json["id"]
    square = [{"latitude": 26.58, "longitude": 106.71}, [26.58, 106.712], [26.582, 106.712], [26.582, 106.71]]
    poly = client.post(_fence_url(world), json={"kind": "polygon", "points": square, "coord_sys": "wgs84"}, headers=sec)
    assert poly.status_code == 201 and len(poly.json["points"]) == 4 and poly.json["name"] == "签到范围"
    r = client.patch(f"{_fence_url(world)}/{fid}", json={"radius_m": 150, "name": "村委会大院"}, headers=sec)
    assert r.status_code == 200 and r.json["radius_m"] == 150 and r.json["center"]["latitude"] == 26.58
    r = client.delete(f"{_fence_url(world)}/{fid}", headers=sec)
    assert r.status_code == 200 and r.json["active"] is False
    assert [f["id"] for f in client.get(_fence_url(world), headers=sec).json["items"]] == [poly.json["id"]]
    everything = client.get(_fence_url(world) + "?include_inactive=1", headers=sec).json["items"]
    assert len(everything) == 2 and db.session.get(Geofence, fid) is not None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "geofence"))
    assert sorted(actions) == ["geofence.create", "geofence.create", "geofence.deactivate", "geofence.update"]
    assert client.post(_fence_url(world), json=circle, headers=login_as(world.member_v1)).status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {"kind": "circle", "center": {"latitude": 95, "longitude": 106.7, "coord_sys": "wgs84"}, "radius_m": 100},
            "center.latitude",
        ),
        (
            {"kind": "circle", "center": {"latitude": 26.5, "longitude": 2.0, "coord_sys": "wgs84"}, "radius_m": 100},
            "center.longitude",
        ),
        (
            {"kind": "circle", "center": {"latitude": 26.5, "longitude": 106.7, "coord_sys": "wgs84"}, "radius_m": 0},
            "radius_m",
        ),
        (
            {
                "kind": "circle",
                "center": {"latitude": 26.5, "longitude": 106.7, "coord_sys": "wgs84"},
                "radius_m": 9000,
            },
            "radius_m",
        ),
        ({"kind": "circle", "center": {"latitude": 26.5, "longitude": 106.7}, "radius_m": 100}, "center.coord_sys"),
        ({"kind": "circle", "radius_m": 100}, "center"),
        ({"kind": "polygon", "points": [[26.5, 106.7], [26.51, 106.7]], "coord_sys": "wgs84"}, "points"),
        (
            {
                "kind": "polygon",
                "points": [[26.5, 106.7], [26.51, 106.71], [26.5, 106.71], [26.51, 106.7]],
                "coord_sys": "wgs84",
            },
            "points",
        ),  # a bow tie
        (
            {"kind": "polygon", "points": [[26.5, 106.7], [26.51, 106.7], [26.51, 106.71]], "coord_sys": "bd09"},
            "coord_sys",
        ),
        ({"kind": "hexagon"}, "kind"),
    ],
)
def test_geofence_refusals_name_the_field(client, world, login_as, body, field):
    r = client.post(_fence_url(world), json=body, headers=login_as(world.town_a1_admin))
    assert r.status_code == 422 and field in r.json["error"]["fields"], r.json
    assert db.session.scalar(select(Geofence.id)) is None


def test_an_assignment_dated_in_the_future_is_not_yet_in_force(client, world, login_as):
    circle_fence(world)
    later = make_cadre(world, "下月到岗", starts_on=utcnow().date() + timedelta(days=30))
    r = post_checkin(client, login_as(later), world)
    assert r.status_code == 422 and "org_id" in r.json["error"]["fields"]
    assert date.fromisoformat(
        client.get("/api/duty/assignments", headers=login_as(later)).json["items"][0]["starts_on"]
    )


def test_the_home_page_reminds_a_cadre_and_opens_the_board(client, world, login_as):
    circle_fence(world)
    cadre = make_cadre(
        world, roster=[{"weekday": d, "starts_at": time(0, 0), "ends_at": time(23, 59)} for d in range(7)]
    )
    home = client.get("/api/home", headers=login_as(cadre)).json
    due = [i for i in home["due"] if i["key"] == f"duty_checkin_{world.v1.id}"]
    keys = {e["key"] for e in home["entries"]}
    assert "duty_checkin" in keys and due and due[0]["level"] == "warning"
    post_checkin(client, login_as(cadre), world, VILLAGE, read_at=utcnow())
    home = client.get("/api/home", headers=login_as(cadre)).json
    assert not [i for i in home["due"] if i["key"].startswith("duty_checkin")]
    town = client.get("/api/home", headers=login_as(world.town_a1_admin)).json
    assert "duty_board" in {e["key"] for e in town["entries"]}
    plain = client.get("/api/home", headers=login_as(world.member_v2)).json
    assert not {"duty_board", "duty_checkin"} & {e["key"] for e in plain["entries"]}

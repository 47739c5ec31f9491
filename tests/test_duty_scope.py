"""Every duty endpoint that names an object of village v1, tried by actors who must not reach it (as in
tests/test_scope_matrix.py): the secretary of sibling branch v2, the admin of sibling township A2, the admin of
sibling county B and a plain member of v2 each get 404 and learn nothing; nothing is written. Township A1's admin
gets through."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEntry, DutyAssignment, db
from tests.test_duty_support import checkin_body, circle_fence, make_cadre

OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"]


@pytest.fixture
def setup(world):
    fence = circle_fence(world)
    cadre = make_cadre(world, org=world.v1)
    assignment = db.session.scalar(select(DutyAssignment).where(DutyAssignment.member_id == cadre.id))
    return {"fence": fence.id, "assignment": assignment.id, "cadre": cadre.id}


CIRCLE = {"kind": "circle", "center": {"latitude": 26.58, "longitude": 106.71, "coord_sys": "wgs84"}, "radius_m": 100}
LEAVE = {"kind": "leave", "starts_on": "2026-12-01", "ends_on": "2026-12-02"}
ENDPOINTS = [
    ("fence list", "get", lambda w, s: f"/api/orgs/{w.v1.id}/geofences", None),
    ("fence create", "post", lambda w, s: f"/api/orgs/{w.v1.id}/geofences", lambda w, s: CIRCLE),
    ("fence update", "patch", lambda w, s: f"/api/orgs/{w.v1.id}/geofences/{s['fence']}", lambda w, s: {"name": "x"}),
    ("fence deactivate", "delete", lambda w, s: f"/api/orgs/{w.v1.id}/geofences/{s['fence']}", None),
    ("assignment list", "get", lambda w, s: f"/api/duty/assignments?org_id={w.v1.id}", None),
    (
        "assignment create",
        "post",
        lambda w, s: "/api/duty/assignments",
        lambda w, s: {
            "member_id": w.member_v1.id,
            "org_id": w.v1.id,
            "role": "resident_cadre",
            "starts_on": "2026-12-01",
        },
    ),
    ("assignment detail", "get", lambda w, s: f"/api/duty/assignments/{s['assignment']}", None),
    ("assignment update", "patch", lambda w, s: f"/api/duty/assignments/{s['assignment']}", lambda w, s: {}),
    ("roster", "put", lambda w, s: f"/api/duty/assignments/{s['assignment']}/roster", lambda w, s: {"roster": []}),
    ("exception", "post", lambda w, s: f"/api/duty/assignments/{s['assignment']}/exceptions", lambda w, s: LEAVE),
    ("checkin", "post", lambda w, s: "/api/duty/checkins", lambda w, s: checkin_body(w, org=w.v1)),
    ("checkin list", "get", lambda w, s: f"/api/duty/checkins?org_id={w.v1.id}", None),
    ("checkin list subtree", "get", lambda w, s: f"/api/duty/checkins?org_id={w.town_a1.id}&descendants=1", None),
    ("summary", "get", lambda w, s: f"/api/duty/summary?org_id={w.v1.id}", None),
]
# In scope, yet refused for a reason of their own when the insider (town A1's admin) calls them.
INSIDER_REFUSALS = {
    "checkin": 422,  # the admin is not assigned to v1 (org_id named)
}


def _writes():
    return db.session.scalar(select(func.count(AuditEntry.id)))


@pytest.mark.parametrize("actor_name", OUTSIDERS)
@pytest.mark.parametrize("name, method, url, body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_outsiders_get_404(client, world, setup, login_as, actor_name, name, method, url, body):
    headers = login_as(getattr(world, actor_name))
    before = _writes()
    payload = body(world, setup) if body else None
    r = getattr(client, method)(url(world, setup), json=payload, headers=headers)
    assert r.status_code == 404, (name, actor_name, r.status_code, r.json)
    assert r.json["error"]["code"] == "not_found" and set(r.json) == {"error"}
    assert _writes() == before


@pytest.mark.parametrize("name, method, url, body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_insider_gets_through(client, world, setup, login_as, name, method, url, body):
    payload = body(world, setup) if body else None
    r = getattr(client, method)(url(world, setup), json=payload, headers=login_as(world.town_a1_admin))
    expected = INSIDER_REFUSALS.get(name)
    if expected:
        assert r.status_code == expected, (name, r.status_code, r.json)
    else:
        assert r.status_code in (200, 201), (name, r.status_code, r.json)


def test_lists_without_an_org_are_scoped(client, world, setup, login_as):
    from tests.test_duty_support import post_checkin

    post_checkin(client, login_as(db.session.get(type(world.member_v1), setup["cadre"])), world)
    for name in OUTSIDERS:
        headers = login_as(getattr(world, name))
        assert client.get("/api/duty/checkins", headers=headers).json["meta"]["total"] == 0, name
        assert client.get("/api/duty/assignments", headers=headers).json["meta"]["total"] == 0, name
        assert client.get("/api/duty/summary", headers=headers).json["items"] == [], name
    town = login_as(world.town_a1_admin)
    assert client.get("/api/duty/checkins", headers=town).json["meta"]["total"] == 1
    assert client.get("/api/duty/assignments", headers=town).json["meta"]["total"] == 1

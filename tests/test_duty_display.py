"""What the mini-program's map draws: every fence also comes in GCJ-02 (`display`), whatever system it is stored in,
checked with the published WGS-84 → GCJ-02 vectors; and the fence list says whether the caller may edit fences."""

from __future__ import annotations

import pytest

from tests.test_duty_support import circle_fence, make_cadre, polygon_fence

# Published vectors (docs: TECH-NOTES.md), Shanghai and Shenzhen.
WGS_SH, GCJ_SH = (31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)
WGS_SZ, GCJ_SZ = (22.543847, 113.912316), (22.540796131694766, 113.9171764808363)


def _fences(client, world, headers):
    r = client.get(f"/api/orgs/{world.v1.id}/geofences", headers=headers)
    assert r.status_code == 200, r.json
    return r.json


def test_a_wgs84_circle_is_drawn_at_its_gcj02_place(client, world, login_as):
    circle_fence(world, center=WGS_SH, radius=150, coord_sys="wgs84")
    fence = _fences(client, world, login_as(world.town_a1_admin))["items"][0]
    assert fence["center"] == {"latitude": WGS_SH[0], "longitude": WGS_SH[1], "coord_sys": "wgs84"}  # as stored
    display = fence["display"]
    assert display["coord_sys"] == "gcj02" and display["points"] is None
    assert (display["center"]["latitude"], display["center"]["longitude"]) == pytest.approx(GCJ_SH, abs=1e-7)
    assert fence["radius_m"] == 150


def test_a_gcj02_circle_is_drawn_where_it_was_picked(client, world, login_as):
    circle_fence(world, center=GCJ_SZ, radius=80, coord_sys="gcj02")
    display = _fences(client, world, login_as(world.town_a1_admin))["items"][0]["display"]
    assert display["center"] == {"latitude": round(GCJ_SZ[0], 7), "longitude": round(GCJ_SZ[1], 7)}


def test_a_wgs84_polygon_is_drawn_point_by_point_in_gcj02(client, world, login_as):
    d = 0.001
    square = [(WGS_SZ[0] - d, WGS_SZ[1] - d), (WGS_SZ[0] - d, WGS_SZ[1] + d), (WGS_SZ[0] + d, WGS_SZ[1] + d)]
    square.append((WGS_SZ[0] + d, WGS_SZ[1] - d))
    polygon_fence(world, square, coord_sys="wgs84")
    fence = _fences(client, world, login_as(world.town_a1_admin))["items"][0]
    display = fence["display"]
    assert display["center"] is None and len(display["points"]) == len(fence["points"]) == 4
    # The square's centre moves by the published vector; each corner by (nearly) the same offset.
    lat_shift, lng_shift = GCJ_SZ[0] - WGS_SZ[0], GCJ_SZ[1] - WGS_SZ[1]
    for stored, drawn in zip(fence["points"], display["points"], strict=True):
        assert drawn["latitude"] - stored["latitude"] == pytest.approx(lat_shift, abs=2e-5)
        assert drawn["longitude"] - stored["longitude"] == pytest.approx(lng_shift, abs=2e-5)
    mid_lat = sum(p["latitude"] for p in display["points"]) / 4
    mid_lng = sum(p["longitude"] for p in display["points"]) / 4
    assert (mid_lat, mid_lng) == pytest.approx(GCJ_SZ, abs=2e-6)


def test_a_created_fence_answers_with_its_display_geometry_too(client, world, login_as):
    body = {"kind": "circle", "center": {"latitude": WGS_SH[0], "longitude": WGS_SH[1], "coord_sys": "wgs84"}}
    r = client.post(
        f"/api/orgs/{world.v1.id}/geofences", json={**body, "radius_m": 100}, headers=login_as(world.town_a1_admin)
    )
    assert r.status_code == 201, r.json
    center = r.json["display"]["center"]
    assert (center["latitude"], center["longitude"]) == pytest.approx(GCJ_SH, abs=1e-7)


@pytest.mark.parametrize(
    "actor_name, can_edit",
    [("town_a1_admin", True), ("county_a_admin", True), ("sec_v1", True), ("member_v1", False)],
)
def test_can_edit_follows_who_may_place_fences(client, world, login_as, actor_name, can_edit):
    circle_fence(world)
    assert _fences(client, world, login_as(getattr(world, actor_name)))["can_edit"] is can_edit


def test_the_assigned_cadre_reads_the_fences_but_may_not_edit(client, world, login_as):
    circle_fence(world)
    cadre = make_cadre(world)
    body = _fences(client, world, login_as(cadre))
    assert body["can_edit"] is False and body["items"][0]["display"]["coord_sys"] == "gcj02"


@pytest.mark.parametrize("actor_name", ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"])
def test_outsiders_still_get_404(client, world, login_as, actor_name):
    circle_fence(world)
    r = client.get(f"/api/orgs/{world.v1.id}/geofences", headers=login_as(getattr(world, actor_name)))
    assert r.status_code == 404 and set(r.json) == {"error"}

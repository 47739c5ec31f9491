"""Coordinates and fences: GCJ-02 ⇄ WGS-84, distances, locate() against circles and polygons, fence validation.

Pure functions, no app. Every point is (lat, lng). Shapes are built around the city (lat 26.6, lng 106.7).
"""

from __future__ import annotations

import random

import pytest
from geopy.distance import geodesic, great_circle

from models.org import CoordSys
from services.coords import gcj02_to_wgs84, in_china_box, to_gcj02, to_wgs84, wgs84_to_gcj02
from services.geo import (
    CircleFence,
    PolygonFence,
    check_accuracy,
    check_circle,
    check_coord_sys,
    check_polygon,
    distance_m,
    fast_distance_m,
    locate,
)

CITY = (26.6, 106.7)
# Published WGS-84 → GCJ-02 vectors (TECH-NOTES, "Coordinates and distances").
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]
# Mainland China, 1° × 2° grid, filtered to the box the formula applies in.
CHINA_GRID = [(lat, lng) for lat in range(18, 54) for lng in range(74, 135, 2) if in_china_box(lat, lng)]


def move(point, bearing_deg, metres):
    """The point `metres` away from `point` along `bearing_deg` (0 = north), on the WGS-84 geodesic."""
    p = geodesic(meters=metres).destination(point, bearing_deg)
    return p.latitude, p.longitude


def shift(point, north_m, east_m):
    return move(move(point, 0, north_m), 90, east_m)


def square(centre, half_m):
    """Corners of a square of side 2·half_m around `centre`, counter-clockwise from south-west."""
    return [
        shift(centre, n, e) for n, e in ((-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m))
    ]


def midpoint(a, b):
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


# --- conversion -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wgs, gcj", VECTORS)
def test_forward_matches_published_vectors(wgs, gcj):
    lat, lng = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-9) and lng == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize("wgs, gcj", VECTORS)
def test_inverse_recovers_published_vectors(wgs, gcj):
    lat, lng = gcj02_to_wgs84(*gcj)
    assert lat == pytest.approx(wgs[0], abs=1e-9) and lng == pytest.approx(wgs[1], abs=1e-9)


def test_round_trips_across_china_stay_under_a_centimetre():
    worst = 0.0
    for point in CHINA_GRID:
        worst = max(worst, distance_m(point, gcj02_to_wgs84(*wgs84_to_gcj02(*point))))
        worst = max(worst, distance_m(point, wgs84_to_gcj02(*gcj02_to_wgs84(*point))))
    assert worst < 0.01


def test_a_single_inverse_step_would_be_metres_off():
    """Why the inverse iterates: the one-step shortcut most copies use is off by metres."""
    worst = 0.0
    for point in CHINA_GRID:
        g = wgs84_to_gcj02(*point)
        f = wgs84_to_gcj02(*g)
        worst = max(worst, distance_m(point, (2 * g[0] - f[0], 2 * g[1] - f[1])))
    assert worst > 1.0


def test_offset_in_china_is_30_to_700_metres():
    offsets = [distance_m(p, wgs84_to_gcj02(*p)) for p in CHINA_GRID]
    assert min(offsets) > 30 and max(offsets) < 700


@pytest.mark.parametrize(
    "place", [(35.6762, 139.6503), (51.5074, -0.1278), (-33.8688, 151.2093), (40.7128, -74.006), (0.5, 100.0)]
)
def test_identity_outside_china(place):
    assert not in_china_box(*place)
    assert wgs84_to_gcj02(*place) == place and gcj02_to_wgs84(*place) == place


def test_box_edges_are_inclusive():
    assert in_china_box(0.8293, 72.004) and in_china_box(55.8271, 137.8347)
    assert not in_china_box(0.8292, 100) and not in_china_box(30, 137.8348)


def test_coord_sys_takes_the_enum_or_its_string():
    gcj = wgs84_to_gcj02(*CITY)
    assert to_wgs84(*gcj, CoordSys.GCJ02) == to_wgs84(*gcj, "gcj02") == gcj02_to_wgs84(*gcj)
    assert to_wgs84(*CITY, CoordSys.WGS84) == to_wgs84(*CITY, "wgs84") == CITY
    assert to_gcj02(*CITY, "wgs84") == gcj and to_gcj02(*gcj, CoordSys.GCJ02) == gcj
    for bad in ("WGS84", "bd09", None):
        with pytest.raises(ValueError):
            to_wgs84(*CITY, bad)


# --- distances --------------------------------------------------------------------------------------------------


def test_fast_distance_is_within_a_millimetre_of_geodesic_up_to_5_km():
    """5,000 random pairs at latitudes 18–53°, 0–5 km apart; plain haversine misses the metre on the same pairs."""
    rng = random.Random(20240626)
    fast_worst = haversine_worst = 0.0
    for _ in range(5000):
        a = (rng.uniform(18, 53), rng.uniform(97, 125))
        b = move(a, rng.uniform(0, 360), rng.uniform(0, 5000))
        reference = distance_m(a, b)
        fast_worst = max(fast_worst, abs(fast_distance_m(a, b) - reference))
        haversine_worst = max(haversine_worst, abs(great_circle(a, b).meters - reference))
    assert fast_worst < 0.001
    assert haversine_worst > 1.0


def test_distances_are_symmetric_and_zero_at_a_point():
    other = shift(CITY, 1200, -800)
    assert fast_distance_m(CITY, CITY) == 0.0 == distance_m(CITY, CITY)
    assert fast_distance_m(CITY, other) == pytest.approx(fast_distance_m(other, CITY), abs=1e-9)
    assert fast_distance_m(CITY, other) == pytest.approx(distance_m(CITY, other), abs=0.001)


# --- circles ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metres, inside, distance, edge, uncertain",
    [
        (0, True, 0, 300, False),
        (100, True, 0, 200, False),
        (290, True, 0, 10, True),
        (310, False, 10, 10, True),
        (400, False, 100, 100, False),
    ],
)
def test_circle_inside_outside_uncertain(metres, inside, distance, edge, uncertain):
    result = locate(move(CITY, 57, metres), 20, [CircleFence(*CITY, 300)])
    assert (result.inside, result.uncertain, result.fence_index) == (inside, uncertain, 0)
    assert result.distance_m == pytest.approx(distance, abs=0.01)
    assert result.edge_distance_m == pytest.approx(edge, abs=0.01)


@pytest.mark.parametrize("bearing", [0, 45, 90, 180, 271])
def test_circle_edge_counts_as_inside(bearing):
    fence = [CircleFence(*CITY, 300)]
    on_edge = locate(move(CITY, bearing, 300), 5, fence)
    assert on_edge.inside and on_edge.distance_m == 0 and on_edge.edge_distance_m < 0.01 and on_edge.uncertain
    assert not locate(move(CITY, bearing, 300.05), 5, fence).inside


# --- polygons ---------------------------------------------------------------------------------------------------


def test_polygon_inside_outside_and_distance():
    fence = [PolygonFence(square(CITY, 200))]
    centre = locate(CITY, 10, fence)
    assert centre.inside and not centre.uncertain and centre.edge_distance_m == pytest.approx(200, abs=0.05)
    outside = locate(shift(CITY, 0, 250), 10, fence)
    assert not outside.inside and outside.distance_m == pytest.approx(50, abs=0.05) and not outside.uncertain
    near = locate(shift(CITY, 195, 0), 10, fence)
    assert near.inside and near.uncertain and near.distance_m == 0


def test_polygon_vertices_and_mid_edges_count_as_inside():
    corners = square(CITY, 200)
    fence = [PolygonFence(corners)]
    for a, b in zip(corners, corners[1:] + corners[:1]):
        for point in (a, midpoint(a, b)):
            result = locate(point, 5, fence)
            assert result.inside and result.edge_distance_m < 0.01 and result.uncertain


def test_just_past_a_polygon_edge_is_outside():
    corners = square(CITY, 200)
    top_middle = midpoint(corners[2], corners[3])
    result = locate(move(top_middle, 0, 0.1), 5, [PolygonFence(corners)])
    assert not result.inside and result.distance_m == pytest.approx(0.1, abs=0.005)


def test_nearest_vertex_distance_matches_geodesic_far_out():
    apex = shift(CITY, 300, 0)
    fence = [PolygonFence([apex, shift(CITY, -300, -200), shift(CITY, -300, 200)])]
    point = move(apex, 0, 3000)
    assert locate(point, 10, fence).distance_m == pytest.approx(distance_m(point, apex), abs=0.01)


def test_concave_polygon():
    """A U open to the north: the notch is outside although it is within the bounding box."""
    u = [(-300, -300), (-300, 300), (300, 300), (300, 100), (-100, 100), (-100, -100), (300, -100), (300, -300)]
    fence = [PolygonFence([shift(CITY, n, e) for n, e in u])]
    notch = locate(shift(CITY, 100, 0), 10, fence)
    assert not notch.inside and notch.distance_m == pytest.approx(100, abs=0.05)
    assert locate(shift(CITY, 200, 200), 10, fence).inside  # an arm
    assert locate(shift(CITY, -200, 0), 10, fence).inside  # the base
    # On the latitude of the notch's corners, so the crossing test's ray passes through vertices.
    assert locate(shift(CITY, 100, -200), 10, fence).inside
    assert not locate(shift(CITY, 100, -400), 10, fence).inside


def test_polygon_is_normalised():
    corners = square(CITY, 200)
    closed = PolygonFence([*corners, corners[0]])
    with_repeats = PolygonFence([corners[0], corners[0], *corners[1:]])
    assert closed == with_repeats == PolygonFence(corners) and len(closed.points) == 4
    with pytest.raises(ValueError):
        PolygonFence([corners[0], corners[1], corners[0]])


# --- the coordinate-system trap ---------------------------------------------------------------------------------

VENUE_WGS = (26.6132, 106.6871)
VENUE_GCJ = wgs84_to_gcj02(*VENUE_WGS)


def test_offset_at_the_venue_is_hundreds_of_metres():
    assert 300 < distance_m(VENUE_WGS, VENUE_GCJ) < 700


@pytest.mark.parametrize(
    "fence",
    [
        CircleFence(*VENUE_GCJ, 100, CoordSys.GCJ02),
        PolygonFence([wgs84_to_gcj02(*p) for p in square(VENUE_WGS, 80)], "gcj02"),
    ],
)
def test_gcj_fence_and_gps_position_of_the_same_place_agree(fence):
    """A fence picked on the mini-program map (GCJ-02) and a GPS fix (WGS-84) at the venue: inside, with margin."""
    result = locate(VENUE_WGS, 15, [fence])
    assert result.inside and not result.uncertain and result.edge_distance_m > 79
    # Same answer when the phone reports GCJ-02 instead.
    assert locate(VENUE_GCJ, 15, [fence], coord_sys=CoordSys.GCJ02).inside
    # The trap: the GPS numbers read as if they were GCJ-02 land hundreds of metres away.
    assert locate(VENUE_WGS, 15, [fence], coord_sys="gcj02").distance_m > 200


def test_gcj_numbers_mistaken_for_wgs_are_outside():
    mislabelled = CircleFence(*VENUE_GCJ, 100, "wgs84")
    assert locate(VENUE_WGS, 15, [mislabelled]).distance_m > 200
    assert locate(VENUE_WGS, 15, [CircleFence(*VENUE_GCJ, 100, "gcj02")]).inside


def test_long_gcj_edge_keeps_its_points_on_the_edge():
    """Converting only the vertices would bow a 3 km GCJ-02 edge by decimetres; the fence is converted densely."""
    corners = [wgs84_to_gcj02(*p) for p in square(VENUE_WGS, 1500)]
    fence = [PolygonFence(corners, "gcj02")]
    for a, b in zip(corners, corners[1:] + corners[:1]):
        for t in (0.25, 0.5, 0.6):
            point = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
            result = locate(point, 5, fence, coord_sys="gcj02")
            assert result.inside and result.edge_distance_m < 0.01


# --- several fences ---------------------------------------------------------------------------------------------


def test_several_fences_pick_the_containing_then_the_nearest():
    east, west = CircleFence(*shift(CITY, 0, 1000), 200), CircleFence(*shift(CITY, 0, -1000), 200)
    inside_west = locate(shift(CITY, 0, -1100), 10, [east, west])
    assert inside_west.inside and inside_west.fence_index == 1
    nearer_east = locate(shift(CITY, 0, 300), 10, [east, west])
    assert not nearer_east.inside and nearer_east.fence_index == 0
    assert nearer_east.distance_m == pytest.approx(500, abs=0.05)


def test_overlapping_fences_take_the_deepest():
    small, large = CircleFence(*CITY, 100), CircleFence(*CITY, 500)
    result = locate(move(CITY, 0, 95), 10, [small, large])
    assert result.inside and result.fence_index == 1 and not result.uncertain


def test_locate_refuses_nonsense():
    fence = [CircleFence(*CITY, 100)]
    for accuracy in (0, -1, float("nan"), None):
        with pytest.raises(ValueError):
            locate(CITY, accuracy, fence)
    with pytest.raises(ValueError):
        locate(CITY, 10, [])


# --- validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lat, lng, radius, bad",
    [
        (26.6, 106.7, 300, set()),
        (26.6, 106.7, 5000, set()),
        (26.6, 106.7, 0, {"radius_m"}),
        (26.6, 106.7, -5, {"radius_m"}),
        (26.6, 106.7, 5000.1, {"radius_m"}),
        (26.6, 106.7, float("nan"), {"radius_m"}),
        (26.6, 106.7, True, {"radius_m"}),
        (26.6, 106.7, "300", {"radius_m"}),
        (999, 106.7, 300, {"lat"}),
        (0, 0, 300, {"lat", "lng"}),
        (51.5, -0.12, 300, {"lat", "lng"}),
    ],
)
def test_check_circle(lat, lng, radius, bad):
    assert set(check_circle(lat, lng, radius)) == bad


def test_check_circle_messages_and_prefix():
    assert check_circle(0, 0, 0, prefix="fence_") == {
        "fence_lat": ["不在中国境内"],
        "fence_lng": ["不在中国境内"],
        "fence_radius_m": ["应为大于0且不超过5000的数（米）"],
    }


def _square_points(half_m=200):
    return [list(p) for p in square(CITY, half_m)]


def _offsets(pairs):
    return [list(shift(CITY, n, e)) for n, e in pairs]


@pytest.mark.parametrize(
    "points, message",
    [
        (_square_points(), None),
        (_square_points() + [_square_points()[0]], None),  # closed
        (_offsets([(0, 0), (0, 400), (400, 400), (400, 300), (100, 300), (100, 0)]), None),  # concave L
        (_offsets([(0, 0), (0, 400), (0, 400), (0, 0)]), "至少需要3个不同的点"),
        (_offsets([(0, 0), (400, 400), (0, 400), (400, 0)]), "多边形的边不能相交或重叠"),  # bow tie
        ([[26.6, 106.70], [26.6, 106.71], [26.6, 106.705]], "多边形的边不能相交或重叠"),  # collinear, zero area
        ([[26.60, 106.7], [26.61, 106.7], [26.62, 106.7], [26.6, 106.7]], "多边形的边不能相交或重叠"),
        (_offsets([(0, 0), (0, 400), (400, 400), (400, 200), (600, 200), (400, 200)]), "多边形的边不能相交或重叠"),
        (
            _offsets([(0, 0), (0, 200), (200, 200), (200, 400), (400, 400), (400, 200), (200, 200), (200, 0)]),
            "多边形的边不能相交或重叠",  # two squares touching at one vertex
        ),
        (_offsets([(0, 0), (0, 12000), (100, 0)]), "范围不能超过10公里"),
        ([[26.6, 106.7]] * 202, "最多200个点"),
        ("26.6,106.7", "应为[纬度, 经度]点的列表"),
    ],
)
def test_check_polygon(points, message):
    assert check_polygon(points, prefix="fence_") == ({} if message is None else {"fence_points": [message]})


def test_check_polygon_names_each_bad_point():
    points = _square_points()
    points[1] = [999, 106.7]
    points[2] = [26.6]
    points[3] = [0, 0]
    assert check_polygon(points)["points"] == [
        "第2个点的纬度应为-90到90之间的数",
        "第3个点应为[纬度, 经度]",
        "第4个点不在中国境内",
    ]


@pytest.mark.parametrize(
    "accuracy, ok",
    [(5, True), (0.5, True), (0, False), (-3, False), (float("inf"), False), (None, False), (True, False)],
)
def test_check_accuracy(accuracy, ok):
    assert (check_accuracy(accuracy) == {}) is ok
    if not ok:
        assert check_accuracy(accuracy) == {"accuracy_m": ["应为大于0的数（米）"]}


@pytest.mark.parametrize("value, ok", [("wgs84", True), (CoordSys.GCJ02, True), ("WGS84", False), ("bd09", False)])
def test_check_coord_sys(value, ok):
    assert (check_coord_sys(value) == {}) is ok

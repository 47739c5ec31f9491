"""Geodesy helpers shared by every feature that stores a position: sanity checks, distances and fences.

Points are (lat, lng) in degrees, latitude first, everywhere in this module. Conversions between WGS-84 and
GCJ-02 live in services.coords; `locate` applies them, so callers pass positions in whatever system they came in.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from geopy.distance import geodesic

from services.coords import WGS84, coord_sys_name, in_china_box, to_wgs84


def check_position(lat, lng, *, prefix: str = "") -> dict:
    """Field errors (Chinese) for an impossible latitude/longitude; an empty dict when both are sane."""
    problems = {}
    for name, value, bound in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or abs(value) > bound:
            problems[prefix + name] = [f"应为-{bound:g}到{bound:g}之间的数"]
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Distances. Every point is a (lat, lng) pair in degrees, latitude first, like geopy and services.coords.

LatLng = tuple[float, float]

# WGS-84: fences and positions are compared in WGS-84 (services.coords converts GCJ-02 first).
_WGS84_A = 6378137.0
_WGS84_F = 1 / 298.257223563
_WGS84_E2 = _WGS84_F * (2 - _WGS84_F)


def distance_m(a: LatLng, b: LatLng) -> float:
    """Geodesic distance in metres on WGS-84 (Karney, via geopy): the reference, ~100 µs a call.

    Use it off the hot path (reports, tests, the benchmark); `fast_distance_m` agrees with it to a millimetre
    over the distances fences deal in.
    """
    return geodesic(a, b).meters


def _metres_per_radian(lat: float) -> tuple[float, float]:
    """(east, north) metres per radian of longitude and latitude at `lat`: N·cos φ and M, WGS-84 radii.

    Using the ellipsoid's own radii of curvature instead of one mean Earth radius is what takes the flat-Earth
    approximation from haversine's 0.44 % down to millimetres at ≤ 5 km.
    """
    phi = math.radians(lat)
    sin_phi = math.sin(phi)
    w = 1.0 - _WGS84_E2 * sin_phi * sin_phi
    prime_vertical = _WGS84_A / math.sqrt(w)
    meridional = prime_vertical * (1.0 - _WGS84_E2) / w
    return prime_vertical * math.cos(phi), meridional


def _delta_lng(a_lng: float, b_lng: float) -> float:
    return (b_lng - a_lng + 180.0) % 360.0 - 180.0


def fast_distance_m(a: LatLng, b: LatLng) -> float:
    """Distance in metres for the hot path, < 1 µs: ellipsoidal flat-Earth at the pair's mean latitude.

    Within 0.3 mm of the geodesic for pairs ≤ 5 km apart at latitudes 18–53° (tests/test_coords.py proves it
    over random pairs; bench/geometry.py prints the figures). Not for long distances: the relative error grows
    with the square of the distance (6e-6 at 50 km, 6e-4 at 500 km).
    """
    east, north = _metres_per_radian((a[0] + b[0]) / 2.0)
    return math.hypot(east * math.radians(_delta_lng(a[1], b[1])), north * math.radians(b[0] - a[0]))


# ---------------------------------------------------------------------------------------------------------------
# Fences. A fence is stored with the coordinate system it was picked in; `locate` converts both the fence and the
# position to WGS-84 before comparing them, so a GCJ-02 fence from the mini-program map and a WGS-84 GPS fix
# are never compared as raw numbers (they would be 30–700 m apart).

MAX_RADIUS_M = 5000.0
MAX_FENCE_SPAN_M = 10_000.0  # a polygon wider than a 5 km circle is not a village; it also bounds the planar error
MAX_POLYGON_POINTS = 200
# Within this distance of a fence edge counts as on it, hence inside. Edges are known to a few millimetres only
# (float rounding, GCJ-02 edges converted piecewise); 1 cm is far under any GPS accuracy.
ON_EDGE_M = 0.01
# GCJ-02 polygon edges are straight on the map, but the GCJ→WGS offset is not linear: converting only the vertices
# would bow a 2 km edge by up to 0.36 m. Converting a point every 200 m keeps that under 4 mm.
DENSIFY_STEP_M = 200.0


@dataclass(frozen=True)
class CircleFence:
    """A circle around (lat, lng) in `coord_sys`; `radius_m` is metres on the ground.

    The radius is not converted: in GCJ-02 the map's scale differs from the ground's by up to 0.55 % around
    the city, so the circle drawn on the map may sit that fraction of the radius (1.6 m at 300 m) away from
    this one — far below GPS accuracy.
    """

    lat: float
    lng: float
    radius_m: float
    coord_sys: str = WGS84

    def __post_init__(self):
        object.__setattr__(self, "coord_sys", coord_sys_name(self.coord_sys))


@dataclass(frozen=True)
class PolygonFence:
    """A simple polygon of (lat, lng) vertices in `coord_sys`, open or closed (a repeated first point is dropped).

    Edges are straight in latitude/longitude, which is how the map draws them at village scale. Consecutive
    duplicate vertices are dropped; fewer than three left is a ValueError. Self-intersection is not checked
    here (it is O(n²)): run `check_polygon` before storing one.
    """

    points: tuple[LatLng, ...]
    coord_sys: str = WGS84

    def __post_init__(self):
        object.__setattr__(self, "coord_sys", coord_sys_name(self.coord_sys))
        object.__setattr__(self, "points", _distinct_ring(self.points))
        if len(self.points) < 3:
            raise ValueError("a polygon fence needs at least 3 distinct points")


def _distinct_ring(points) -> tuple[LatLng, ...]:
    """The ring without consecutive repeats and without the closing repeat of the first point."""
    ring: list[LatLng] = []
    for lat, lng in points:
        point = (float(lat), float(lng))
        if not ring or ring[-1] != point:
            ring.append(point)
    while len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    return tuple(ring)


Fence = CircleFence | PolygonFence


@dataclass(frozen=True)
class FenceResult:
    """Where a position is relative to a set of fences.

    inside: within at least one fence, edges included (within ON_EDGE_M of an edge counts as on it).
    distance_m: how far outside, in metres; 0 when inside. What the API reports.
    edge_distance_m: distance to the chosen fence's edge, ≥ 0 on either side.
    uncertain: the accuracy circle straddles that edge (edge_distance_m < accuracy_m), so the verdict could go
        either way.
    fence_index: the chosen fence: when inside, the containing fence whose edge is farthest (the most certain
        verdict); when outside, the nearest fence.
    """

    inside: bool
    distance_m: float
    edge_distance_m: float
    uncertain: bool
    fence_index: int


def locate(point: LatLng, accuracy_m: float, fences, *, coord_sys=WGS84) -> FenceResult:
    """Whether `point` (lat, lng) in `coord_sys`, known to within `accuracy_m` metres, lies inside any fence.

    `fences` is a sequence of CircleFence / PolygonFence, each in its own coordinate system; `fence_index` in the
    result indexes it. ValueError for an empty sequence or an accuracy that is not a positive number (a caller
    without a reported accuracy, e.g. EXIF without GPSHPositioningError, passes its own default).
    Uncertainty is judged against the chosen fence alone, which errs towards "uncertain" where two fences touch.
    Fence conversions are cached (fences are immutable), so a GCJ-02 fence costs its conversion once.
    """
    if not (_is_number(accuracy_m) and accuracy_m > 0):
        raise ValueError(f"accuracy_m must be a positive number, not {accuracy_m!r}")
    lat, lng = to_wgs84(point[0], point[1], coord_sys)
    best = None
    for index, fence in enumerate(fences):
        inside, edge = _measure(_in_wgs84(fence), lat, lng)
        rank = (inside, edge if inside else -edge)
        if best is None or rank > best[0]:
            best = (rank, index, inside, edge)
    if best is None:
        raise ValueError("locate needs at least one fence")
    _, index, inside, edge = best
    return FenceResult(
        inside=inside,
        distance_m=0.0 if inside else edge,
        edge_distance_m=edge,
        uncertain=edge < accuracy_m,
        fence_index=index,
    )


def presence(
    point: LatLng, accuracy_m: float, fences, *, coord_sys=WGS84, max_accuracy_m: float
) -> tuple[str, FenceResult]:
    """The verdict every presence check shares (meeting sign-in and photos, duty check-in): "inside", "outside"
    or "uncertain", with the FenceResult behind it.

    Outside only when the whole accuracy circle is outside; inside only when the whole circle is inside and the
    fix is at least `max_accuracy_m` good (a 500 m fix cannot prove presence in a 200 m fence); uncertain otherwise.
    """
    where = locate(point, accuracy_m, fences, coord_sys=coord_sys)
    if not where.inside and not where.uncertain:
        return "outside", where
    if where.inside and not where.uncertain and accuracy_m <= max_accuracy_m:
        return "inside", where
    return "uncertain", where


@functools.lru_cache(maxsize=4096)
def _in_wgs84(fence: Fence) -> Fence:
    if fence.coord_sys == WGS84:
        return fence
    if isinstance(fence, CircleFence):
        lat, lng = to_wgs84(fence.lat, fence.lng, fence.coord_sys)
        return CircleFence(lat, lng, fence.radius_m, WGS84)
    return PolygonFence(tuple(to_wgs84(lat, lng, fence.coord_sys) for lat, lng in _densified(fence.points)), WGS84)


def _densified(ring: tuple[LatLng, ...]) -> list[LatLng]:
    """The ring with extra vertices so that no edge is longer than DENSIFY_STEP_M."""
    out = []
    for a, b in zip(ring, ring[1:] + ring[:1]):
        steps = max(1, math.ceil(fast_distance_m(a, b) / DENSIFY_STEP_M))
        out.extend((a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps) for k in range(steps))
    return out


def _measure(fence: Fence, lat: float, lng: float) -> tuple[bool, float]:
    """(inside, distance to the edge in metres) for a WGS-84 fence and point."""
    if isinstance(fence, CircleFence):
        from_centre = fast_distance_m((lat, lng), (fence.lat, fence.lng))
        return from_centre - fence.radius_m <= ON_EDGE_M, abs(from_centre - fence.radius_m)
    return _measure_polygon(fence.points, lat, lng)


def _measure_polygon(ring: tuple[LatLng, ...], lat: float, lng: float) -> tuple[bool, float]:
    """Crossing-number test and nearest edge point in a local east/north plane in metres centred on the point.

    The plane is linear in latitude and longitude (scaled by the WGS-84 radii at the point), so the straight
    lat/lng edges stay exactly straight and inside/outside is exact; its scale is exact at the point and off by
    ~1e-4 two km away. The nearest edge point found in it is then measured with `fast_distance_m`.
    """
    east, north = _metres_per_radian(lat)
    east, north = math.radians(east), math.radians(north)  # metres per degree
    xy = [(_delta_lng(lng, p_lng) * east, (p_lat - lat) * north) for p_lat, p_lng in ring]
    inside, nearest_sq, nearest = False, math.inf, (0.0, 0.0)
    for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1]):
        dx, dy = x2 - x1, y2 - y1
        t = min(1.0, max(0.0, -(x1 * dx + y1 * dy) / (dx * dx + dy * dy)))
        px, py = x1 + t * dx, y1 + t * dy
        if px * px + py * py < nearest_sq:
            nearest_sq, nearest = px * px + py * py, (px, py)
        if (y1 > 0.0) != (y2 > 0.0) and x1 - y1 * dx / dy > 0.0:
            inside = not inside
    edge = fast_distance_m((lat, lng), (lat + nearest[1] / north, lng + nearest[0] / east))
    return inside or edge <= ON_EDGE_M, edge


# ---------------------------------------------------------------------------------------------------------------
# Validation: field errors in Chinese, keyed like check_position's, an empty dict when all is well.

_COLLINEAR_M = 1e-6  # a vertex this close to another edge's line is on it


def check_coord_sys(value, *, prefix: str = "") -> dict:
    """Field error unless `value` is 'wgs84' or 'gcj02' (or the matching `CoordSys`)."""
    try:
        coord_sys_name(value)
    except ValueError:
        return {prefix + "coord_sys": ["应为wgs84或gcj02"]}
    return {}


def check_accuracy(accuracy_m, *, prefix: str = "") -> dict:
    """Field error unless the reported accuracy is a positive number of metres."""
    if not (_is_number(accuracy_m) and accuracy_m > 0):
        return {prefix + "accuracy_m": ["应为大于0的数（米）"]}
    return {}


def check_circle(lat, lng, radius_m, *, prefix: str = "") -> dict:
    """Field errors for a circular fence: a position in China and 0 < radius ≤ 5000 m."""
    problems = _check_fence_position(lat, lng, prefix)
    if not (_is_number(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
        problems[prefix + "radius_m"] = [f"应为大于0且不超过{MAX_RADIUS_M:g}的数（米）"]
    return problems


def check_polygon(points, *, prefix: str = "") -> dict:
    """Field errors for a polygon fence given as [[lat, lng], ...], open or closed, all under `prefix + 'points'`.

    Refused: a point that is not a sane position in China, fewer than 3 distinct points, more than 200, a span
    (bounding-box diagonal) over 10 km, and edges that cross, touch or overlap — the inside of a self-intersecting
    ring is ambiguous, so whoever drew it must redraw it rather than have us guess.
    """
    key = prefix + "points"
    if not isinstance(points, list | tuple):
        return {key: ["应为[纬度, 经度]点的列表"]}
    if len(points) > MAX_POLYGON_POINTS + 1:  # +1: a closed ring repeats its first point
        return {key: [f"最多{MAX_POLYGON_POINTS}个点"]}
    errors = []
    for number, point in enumerate(points, start=1):
        if not (isinstance(point, list | tuple) and len(point) == 2):
            errors.append(f"第{number}个点应为[纬度, 经度]")
            continue
        problems = check_position(*point)
        errors.extend(f"第{number}个点的{'纬度' if field == 'lat' else '经度'}{m[0]}" for field, m in problems.items())
        if not problems and not in_china_box(*point):
            errors.append(f"第{number}个点不在中国境内")
    if errors:
        return {key: errors}
    ring = _distinct_ring(points)
    if len(ring) < 3:
        return {key: ["至少需要3个不同的点"]}
    lats, lngs = [p[0] for p in ring], [p[1] for p in ring]
    if fast_distance_m((min(lats), min(lngs)), (max(lats), max(lngs))) > MAX_FENCE_SPAN_M:
        return {key: [f"范围不能超过{MAX_FENCE_SPAN_M / 1000:g}公里"]}
    if _self_intersects(ring):
        return {key: ["多边形的边不能相交或重叠"]}
    return {}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_fence_position(lat, lng, prefix: str) -> dict:
    """check_position, and in China's box: a village fence elsewhere is a typo or a (0, 0) from a failed fix."""
    problems = check_position(lat, lng, prefix=prefix)
    if not problems and not in_china_box(lat, lng):
        problems = {prefix + "lat": ["不在中国境内"], prefix + "lng": ["不在中国境内"]}
    return problems


def _self_intersects(ring: tuple[LatLng, ...]) -> bool:
    """Whether any two edges of the ring meet other than adjacent edges at their shared vertex.

    Worked in a plane linear in lat/lng around the first vertex: a linear map keeps straight edges straight and
    which side of a line a point lies on, so the answer is the same as on the map.
    """
    east, north = (math.radians(k) for k in _metres_per_radian(ring[0][0]))
    xy = [(_delta_lng(ring[0][1], lng) * east, (lat - ring[0][0]) * north) for lat, lng in ring]
    n = len(xy)
    edges = [(xy[i], xy[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            (a, b), (c, d) = edges[i], edges[j]
            if j == i + 1:  # b is c: they overlap if either far end lies on the other edge
                if _on_segment(d, a, b) or _on_segment(a, c, d):
                    return True
            elif i == 0 and j == n - 1:  # a is d
                if _on_segment(c, a, b) or _on_segment(b, c, d):
                    return True
            elif _segments_meet(a, b, c, d):
                return True
    return False


def _side(a, b, p) -> int:
    """+1 / -1 for p left / right of the line a→b, 0 within _COLLINEAR_M of it."""
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    if abs(cross) <= _COLLINEAR_M * math.hypot(b[0] - a[0], b[1] - a[1]):
        return 0
    return 1 if cross > 0 else -1


def _on_segment(p, a, b) -> bool:
    if _side(a, b, p) != 0:
        return False
    return all(min(a[k], b[k]) - _COLLINEAR_M <= p[k] <= max(a[k], b[k]) + _COLLINEAR_M for k in (0, 1))


def _segments_meet(a, b, c, d) -> bool:
    s1, s2, s3, s4 = _side(a, b, c), _side(a, b, d), _side(c, d, a), _side(c, d, b)
    if s1 * s2 < 0 and s3 * s4 < 0:
        return True
    return _on_segment(c, a, b) or _on_segment(d, a, b) or _on_segment(a, c, d) or _on_segment(b, c, d)

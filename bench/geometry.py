"""Geometry on the hot path: µs per call, and how far the fast distance strays from the geodesic.

    .venv/bin/python bench/geometry.py [--pairs 100000] [--seed 1]

Timed (best of 5 runs, single thread): geopy's geodesic and great_circle, a plain haversine, services.geo's
fast_distance_m, both GCJ-02 conversions, and locate() against a circle and a 12-point polygon (WGS-84 fences, a
GCJ-02 fence once cached and on its first use). Then the error of fast_distance_m, great_circle and haversine
against the geodesic over random pairs within 5 km of each other near the city (lat 26.6, lng 106.7).
Prints figures only; the tests make no timing assertions.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geopy.distance import geodesic, great_circle  # noqa: E402

from services.coords import gcj02_to_wgs84, wgs84_to_gcj02  # noqa: E402
from services.geo import CircleFence, PolygonFence, fast_distance_m, locate  # noqa: E402

CITY = (26.6, 106.7)
MEAN_EARTH_RADIUS_M = 6371008.8  # IUGG mean radius, what a plain haversine uses


def haversine_m(a, b) -> float:
    """The textbook formula on a sphere, for comparison: what fast_distance_m replaces."""
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * MEAN_EARTH_RADIUS_M * math.asin(math.sqrt(h))


def random_pairs(count: int, rng: random.Random) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Pairs up to ~5 km apart, uniform over a disc, their first point within half a degree of the city."""
    pairs = []
    for _ in range(count):
        a = (CITY[0] + rng.uniform(-0.5, 0.5), CITY[1] + rng.uniform(-0.5, 0.5))
        r, theta = 5000 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        b = (
            a[0] + r * math.cos(theta) / 110_800,
            a[1] + r * math.sin(theta) / (111_320 * math.cos(math.radians(a[0]))),
        )
        pairs.append((a, b))
    return pairs


def per_call_us(label: str, fn, args: list, runs: int = 5) -> None:
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        for arg in args:
            fn(*arg)
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<44} {best / len(args) * 1e6:9.2f} µs")


def ring(centre, radius_m: float, corners: int) -> list[tuple[float, float]]:
    """A star-shaped (concave) ring of `corners` points around `centre`, alternating radius and 60 % of it."""
    points = []
    for k in range(corners):
        r = radius_m if k % 2 == 0 else 0.6 * radius_m
        p = geodesic(meters=r).destination(centre, 360 * k / corners)
        points.append((p.latitude, p.longitude))
    return points


def move_point(rng: random.Random) -> tuple[float, float]:
    """A position within ~600 m of the city centre: inside, near and outside the fences timed."""
    return CITY[0] + rng.uniform(-0.0055, 0.0055), CITY[1] + rng.uniform(-0.006, 0.006)


def bench_speed(rng: random.Random) -> None:
    pairs = random_pairs(2000, rng)
    circle = [CircleFence(*CITY, 300)]
    polygon = [PolygonFence(ring(CITY, 400, 12))]
    gcj_polygon = [PolygonFence([wgs84_to_gcj02(*p) for p in polygon[0].points], "gcj02")]
    near = [(move_point(rng), 20, circle) for _ in range(2000)]
    print("µs per call (best of 5):")
    per_call_us("geopy geodesic", lambda a, b: geodesic(a, b).meters, pairs[:500])
    per_call_us("geopy great_circle", lambda a, b: great_circle(a, b).meters, pairs)
    per_call_us("haversine (pure Python)", haversine_m, pairs)
    per_call_us("fast_distance_m", fast_distance_m, pairs)
    per_call_us("wgs84_to_gcj02", wgs84_to_gcj02, [a for a, _ in pairs])
    per_call_us("gcj02_to_wgs84 (iterated to 1e-9°)", gcj02_to_wgs84, [a for a, _ in pairs])
    per_call_us("locate, circle (WGS-84)", locate, near)
    per_call_us("locate, 12-point polygon (WGS-84)", locate, [(p, 20, polygon) for (p, _, _) in near])
    per_call_us("locate, 12-point polygon (GCJ-02, cached)", locate, [(p, 20, gcj_polygon) for (p, _, _) in near])
    per_call_us(
        "locate, GCJ-02 point, 12-point GCJ-02 polygon",
        lambda p, acc, fences: locate(p, acc, fences, coord_sys="gcj02"),
        [(p, 20, gcj_polygon) for (p, _, _) in near],
    )
    # Distinct fences, so that every call converts its fence (the conversion cache misses).
    fresh = [[PolygonFence([(lat + k * 1e-7, lng) for lat, lng in gcj_polygon[0].points], "gcj02")] for k in range(500)]
    per_call_us("locate, 12-point polygon (GCJ-02, first use)", locate, [(CITY, 20, f) for f in fresh], runs=1)


def bench_error(count: int, rng: random.Random) -> None:
    pairs = random_pairs(count, rng)
    errors = {"fast_distance_m": [], "great_circle": [], "haversine": []}
    relative = []
    for a, b in pairs:
        reference = geodesic(a, b).meters
        errors["fast_distance_m"].append(abs(fast_distance_m(a, b) - reference))
        errors["great_circle"].append(abs(great_circle(a, b).meters - reference))
        errors["haversine"].append(abs(haversine_m(a, b) - reference))
        if reference > 100:
            relative.append(abs(fast_distance_m(a, b) - reference) / reference)
    print(f"\nError against the geodesic, {count:,} random pairs 0–5 km apart near lat {CITY[0]}, lng {CITY[1]}:")
    for label, values in errors.items():
        print(f"  {label:<18} max {max(values) * 1000:10.3f} mm   mean {statistics.fmean(values) * 1000:10.3f} mm")
    print(f"  fast_distance_m max relative error (pairs > 100 m): {max(relative):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000, help="random pairs for the error figures")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bench_speed(rng)
    bench_error(args.pairs, rng)


if __name__ == "__main__":
    main()

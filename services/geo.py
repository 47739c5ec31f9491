"""Geodesy helpers shared by every feature that stores a position."""

from __future__ import annotations

import math


def check_position(lat, lng, *, prefix: str = "") -> dict:
    """Field errors (Chinese) for an impossible latitude/longitude; an empty dict when both are sane."""
    problems = {}
    for name, value, bound in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or abs(value) > bound:
            problems[prefix + name] = [f"应为-{bound:g}到{bound:g}之间的数"]
    return problems

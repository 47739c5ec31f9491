"""GCJ-02 ⇄ WGS-84: the two coordinate systems a phone in China reports positions in.

ARGUMENT ORDER IS ALWAYS (lat, lng) — latitude first, in and out — like geopy and unlike the GCJ code it was
ported from, which is (lng, lat). The PyPI converters disagree with each other on this; here nothing is (lng, lat).

GPS, photo EXIF and `wx.getLocation` give WGS-84; every Chinese map (the mini-program `<map>`, `wx.chooseLocation`,
`type: 'gcj02'`) gives GCJ-02. The two differ by 30–700 m in China, so every stored point carries its system and
positions are converted to one system (WGS-84, see `services.geo.locate`) before they are compared.

Forward (WGS-84 → GCJ-02) is the published Krasovsky-ellipsoid formula, reproducing the published vectors to
1e-9°. Inverse (GCJ-02 → WGS-84) has no closed form: it iterates `w ← w − (f(w) − g)`. The offset changes by at
most ~0.65 % of any move, so each step shrinks the error ~150-fold and 4–5 steps reach the 1e-9° (0.1 mm) stop;
the single step most copies of this code stop at is off by metres (up to 4.9 m on a 0.5° grid over the box).

China's bounding box (`in_china_box`): lng 72.004–137.8347, lat 0.8293–55.8271, edges inclusive — the box every
copy of the formula uses, so our GCJ-02 agrees with the maps' GCJ-02 near its edges as well. Outside it GCJ-02 is
WGS-84 (the maps do not offset there) and both conversions are the identity. The box is coarse (it holds parts
of Mongolia, Korea, Japan's west coast and South-East Asia); that does not matter for a city at lat 26.6.
"""

from __future__ import annotations

import math

WGS84 = "wgs84"
GCJ02 = "gcj02"
COORD_SYSTEMS = (WGS84, GCJ02)

# Krasovsky 1940, the ellipsoid the GCJ-02 formula is written against.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

CHINA_LNG = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)

_INVERSE_TOLERANCE_DEG = 1e-9  # ≈ 0.1 mm
_INVERSE_MAX_STEPS = 10


def coord_sys_name(coord_sys) -> str:
    """'wgs84' or 'gcj02' for a string or `models.org.CoordSys` member; ValueError otherwise.

    Taking the StrEnum by value keeps this module free of model imports, so it loads without the app.
    """
    name = coord_sys.value if hasattr(coord_sys, "value") else coord_sys
    if name not in COORD_SYSTEMS:
        raise ValueError(f"unknown coordinate system {coord_sys!r}; expected one of {COORD_SYSTEMS}")
    return name


def in_china_box(lat: float, lng: float) -> bool:
    """True where the GCJ-02 offset applies (the box in the module docstring, edges inclusive)."""
    return CHINA_LNG[0] <= lng <= CHINA_LNG[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) in WGS-84 → (lat, lng) in GCJ-02; the identity outside China's box."""
    if not in_china_box(lat, lng):
        return lat, lng
    x, y = lng - 105.0, lat - 35.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (_offset_lat(x, y) * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    dlng = (_offset_lng(x, y) * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) in GCJ-02 → (lat, lng) in WGS-84, to 1e-9° (round trip < 1 mm); the identity outside the box.

    Fixed-point iteration on the forward formula: start at the GCJ point and move by the residual until the
    step is under 1e-9° in both axes. The forward formula is identity outside the box, so a point whose GCJ
    position is just inside the box while its WGS position is just outside converges to the identity too.
    """
    w_lat, w_lng = lat, lng
    for _ in range(_INVERSE_MAX_STEPS):
        f_lat, f_lng = wgs84_to_gcj02(w_lat, w_lng)
        step_lat, step_lng = f_lat - lat, f_lng - lng
        w_lat, w_lng = w_lat - step_lat, w_lng - step_lng
        if abs(step_lat) < _INVERSE_TOLERANCE_DEG and abs(step_lng) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lat, w_lng


def to_wgs84(lat: float, lng: float, coord_sys) -> tuple[float, float]:
    """(lat, lng) given in `coord_sys` ('wgs84'/'gcj02' or `CoordSys`) → (lat, lng) in WGS-84."""
    if coord_sys_name(coord_sys) == GCJ02:
        return gcj02_to_wgs84(lat, lng)
    return lat, lng


def to_gcj02(lat: float, lng: float, coord_sys) -> tuple[float, float]:
    """(lat, lng) given in `coord_sys` ('wgs84'/'gcj02' or `CoordSys`) → (lat, lng) in GCJ-02."""
    if coord_sys_name(coord_sys) == WGS84:
        return wgs84_to_gcj02(lat, lng)
    return lat, lng

"""EXIF facts of an uploaded photo: when it was taken, where, with what camera.

Read from the original file before re-encoding (the stored copies carry no EXIF). Photos picked in the
mini-program usually have none: EXIF is extra evidence next to the time and position sent with the upload, so a
missing or malformed block gives empty fields, never a refusal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9011, 0x9012
_GPS_LAT_REF, _GPS_LAT, _GPS_LNG_REF, _GPS_LNG = 0x0001, 0x0002, 0x0003, 0x0004
_GPS_TIME, _GPS_DATE = 0x0007, 0x001D
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
# Pillow's EXIF parser raises a handful of types on hostile or broken blocks; none of them may refuse a photo.
_BROKEN_EXIF = (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, OverflowError, OSError, SyntaxError)


@dataclass(frozen=True)
class PhotoExif:
    """What the camera recorded. `taken_at` is local wall-clock time as written; `utc_offset` when the camera said.

    GPS in EXIF is WGS-84 (not the GCJ-02 of Chinese maps): compare it with fences in the same system.
    """

    taken_at: datetime | None = None
    utc_offset: timedelta | None = None
    gps_lat: float | None = None
    gps_lng: float | None = None
    gps_time_utc: datetime | None = None
    make: str | None = None
    model: str | None = None
    orientation: int = 1

    coordinate_system = "wgs84"

    @property
    def taken_at_aware(self) -> datetime | None:
        """`taken_at` as an aware datetime, when the offset is known."""
        if self.taken_at is None or self.utc_offset is None:
            return None
        return self.taken_at.replace(tzinfo=timezone(self.utc_offset))

    @property
    def has_gps(self) -> bool:
        return self.gps_lat is not None and self.gps_lng is not None


def read_exif(im: Image.Image) -> PhotoExif:
    """The EXIF facts of an opened (not yet re-encoded) image; empty fields where absent or unreadable."""
    try:
        exif = im.getexif()
        if not exif:
            return PhotoExif()
        taken_at, offset = _taken_at(exif.get_ifd(EXIF_IFD))
        lat, lng, gps_time = _gps(exif.get_ifd(GPS_IFD))
    except _BROKEN_EXIF:
        return PhotoExif()
    return PhotoExif(
        taken_at=taken_at,
        utc_offset=offset,
        gps_lat=lat,
        gps_lng=lng,
        gps_time_utc=gps_time,
        make=_text(exif.get(_MAKE)),
        model=_text(exif.get(_MODEL)),
        orientation=_orientation(exif.get(_ORIENTATION)),
    )


def _orientation(value) -> int:
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _taken_at(ifd) -> tuple[datetime | None, timedelta | None]:
    """DateTimeOriginal (else DateTimeDigitized) and its offset. IFD0 DateTime is skipped: editors rewrite it."""
    for stamp_tag, offset_tag in ((_DATETIME_ORIGINAL, _OFFSET_ORIGINAL), (_DATETIME_DIGITIZED, _OFFSET_DIGITIZED)):
        stamp = _parse_stamp(ifd.get(stamp_tag))
        if stamp is not None:
            return stamp, _parse_offset(ifd.get(offset_tag))
    return None, None


def _parse_stamp(value) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and friends: cameras without a clock


def _parse_offset(value) -> timedelta | None:
    match = _OFFSET.match(_text(value) or "")
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return -delta if sign == "-" else delta


def _gps(ifd) -> tuple[float | None, float | None, datetime | None]:
    """Signed decimal degrees; (0, 0) and out-of-range values count as no fix."""
    lat = _degrees(ifd.get(_GPS_LAT), _text(ifd.get(_GPS_LAT_REF)), "S", 90)
    lng = _degrees(ifd.get(_GPS_LNG), _text(ifd.get(_GPS_LNG_REF)), "W", 180)
    if lat is None or lng is None or (lat == 0 and lng == 0):
        lat = lng = None
    return lat, lng, _gps_time(ifd.get(_GPS_DATE), ifd.get(_GPS_TIME))


def _degrees(dms, ref: str | None, negative_ref: str, limit: float) -> float | None:
    if not dms or len(dms) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value) or not 0 <= value <= limit:
        return None
    return -value if (ref or "").upper().startswith(negative_ref) else value


def _gps_time(date_value, time_value) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp, which are UTC by definition: a check on the camera's own clock."""
    date_text = _text(date_value)
    if not date_text or not time_value or len(time_value) != 3:
        return None
    try:
        day = datetime.strptime(date_text[:10], "%Y:%m:%d")
        hours, minutes, seconds = (float(part) for part in time_value)
        return day + timedelta(hours=hours, minutes=minutes, seconds=seconds)
    except ValueError:
        return None


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ")
    return value or None

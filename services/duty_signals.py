"""Spoof signals of a duty check-in: patterns one record cannot show, judged against the cadre's other check-ins.

Each signal is a flag with a Chinese reason, stored on the check-in; none refuses it. Thresholds are settings:
- repeated_position: within DUTY_REPEAT_POSITION_M of the cadre's position on another day. Real fixes wander by
  metres from day to day; a virtual-location app replays the same numbers.
- constant_accuracy: the last DUTY_CONSTANT_ACCURACY_COUNT check-ins (this one included) report exactly the same
  accuracy. Real receivers report a different figure nearly every time.
- impossible_speed: the distance to the previous (or, for a late upload, the next) check-in by reading time, less
  both accuracies, needs more than DUTY_MAX_SPEED_KMH. Measured with the geodesic: these gaps can be long.
- shared_device: the device id was used for check-ins by another cadre.
- late_upload: arrived more than DUTY_LATE_UPLOAD_MINUTES after the position was read.
- reused_photo: the live photo repeats a stored one (services.evidence decides; see duty_checkins).
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, distinct, func, literal, select, union_all

from models import DutyCheckin, db
from services.geo import distance_m, fast_distance_m

FLAG_LABELS = {
    "repeated_position": "多日位置完全相同",
    "constant_accuracy": "定位精度始终不变",
    "impossible_speed": "移动速度不可能",
    "shared_device": "多人共用设备",
    "late_upload": "延迟上传",
    "reused_photo": "照片重复使用",
}
SIGNALS = tuple(FLAG_LABELS)
_MOVES = (DutyCheckin.read_at, DutyCheckin.accuracy_m, DutyCheckin.wgs_lat, DutyCheckin.wgs_lng, DutyCheckin.duty_date)
_METRES_PER_DEGREE_LAT = 110_574.0  # the smallest (at the equator): the box below is never too small


def _local(dt) -> str:
    return dt.astimezone(current_app.config["SETTINGS"].zone).strftime("%m月%d日 %H:%M")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes}分钟"
    hours = minutes / 60
    return f"{hours:.1f}小时" if hours < 48 else f"{hours / 24:.1f}天"


def judge(row: DutyCheckin) -> dict[str, str]:
    """{flag: reason} for a check-in not yet stored (its fields set, `wgs_lat`/`wgs_lng` included). Read-only.

    What the signals need of the cadre's other check-ins is read in one statement (`_history`)."""
    s = current_app.config["SETTINGS"]
    history = _history(row, s)
    reasons: dict[str, str] = {}
    for found in (
        _repeated_position(row, s, history.nearby),
        _constant_accuracy(row, s, history.earlier),
        _impossible_speed(row, s, (history.earlier[0] if history.earlier else None, history.later)),
        _shared_device(row, s),
        _late_upload(row, s),
    ):
        if found:
            reasons[found[0]] = found[1]
    return reasons


class History(NamedTuple):
    earlier: list  # the last check-ins read at or before this one's reading time, newest first
    later: object  # the first one read after it (a late upload lands between two), or None
    nearby: list  # those on other days within the repeat distance's bounding box


def _history(row: DutyCheckin, s) -> History:
    """The cadre's check-ins the signals compare with, in one statement (`_history_statement`)."""
    d_lat = s.duty_repeat_position_m / _METRES_PER_DEGREE_LAT
    d_lng = d_lat / max(math.cos(math.radians(row.wgs_lat)), 0.01)
    params = {
        "member_id": row.member_id,
        "read_at": row.read_at,
        "duty_date": row.duty_date,
        "lat_low": row.wgs_lat - d_lat,
        "lat_high": row.wgs_lat + d_lat,
        "lng_low": row.wgs_lng - d_lng,
        "lng_high": row.wgs_lng + d_lng,
    }
    parts: tuple[list, list, list] = ([], [], [])
    stmt = _history_statement(max(s.duty_constant_accuracy_count - 1, 1) + 1)
    for found in db.session.connection().execute(stmt, params):  # Core: no ORM result processing
        parts[found.part].append(found)
    parts[0].sort(key=lambda m: (m.read_at, m.id), reverse=True)
    return History(parts[0], parts[1][0] if parts[1] else None, parts[2])


@cache
def _history_statement(earlier_n: int):
    """A UNION ALL of three indexed reads on (member, read_at), built once per setting (the check-in's hot path):
    - part 0, earlier: constant_accuracy needs DUTY_CONSTANT_ACCURACY_COUNT - 1 of them, one more as one may share
      the reading time; impossible_speed takes the newest;
    - part 1, later: impossible_speed for a late upload;
    - part 2, nearby: repeated_position, narrowed in SQL to a box a little larger than the distance, exactly in
      Python.
    Columns, not entities: an entity would bring its member along, joined."""
    c = DutyCheckin
    mine, read_at = c.member_id == bindparam("member_id"), bindparam("read_at")

    def part(n: int, *where, order=(), limit=None):
        stmt = select(literal(n).label("part"), c.id, *_MOVES).where(mine, *where).order_by(*order).limit(limit)
        return select(stmt.subquery())  # a derived table: SQLite takes no ORDER BY/LIMIT on a UNION member

    return union_all(
        part(0, c.read_at <= read_at, order=(c.read_at.desc(), c.id.desc()), limit=earlier_n),
        part(1, c.read_at > read_at, order=(c.read_at,), limit=1),
        part(
            2,
            c.duty_date != bindparam("duty_date"),
            c.wgs_lat.between(bindparam("lat_low"), bindparam("lat_high")),
            c.wgs_lng.between(bindparam("lng_low"), bindparam("lng_high")),
        ),
    )


def _repeated_position(row: DutyCheckin, s, nearby: list):
    near = s.duty_repeat_position_m
    days, closest = set(), None
    for other in nearby:
        apart = fast_distance_m((row.wgs_lat, row.wgs_lng), (other.wgs_lat, other.wgs_lng))
        if apart <= near:
            days.add(other.duty_date)
            closest = apart if closest is None else min(closest, apart)
    if not days:
        return None
    last = max(days)
    reason = (
        f"与另外{len(days)}天（最近{last.month}月{last.day}日）的签到位置相同（相差{closest:.2f}米）；"
        "真实定位每天会有数米漂移"
    )
    return "repeated_position", reason


def _constant_accuracy(row: DutyCheckin, s, earlier: list):
    needed = s.duty_constant_accuracy_count - 1
    if needed < 1:
        return None
    accuracies = [c.accuracy_m for c in earlier if c.read_at < row.read_at][:needed]
    if len(accuracies) < needed or any(a != row.accuracy_m for a in accuracies):
        return None
    return "constant_accuracy", f"连续{needed + 1}次签到的定位精度都是{row.accuracy_m:g}米；真实定位每次都不同"


def _impossible_speed(row: DutyCheckin, s, neighbours: tuple):
    for other in neighbours:
        if other is None:
            continue
        apart = distance_m((row.wgs_lat, row.wgs_lng), (other.wgs_lat, other.wgs_lng))
        moved = max(0.0, apart - row.accuracy_m - other.accuracy_m)
        seconds = max(abs((row.read_at - other.read_at).total_seconds()), 1.0)
        kmh = moved / 1000 / (seconds / 3600)
        if kmh > s.duty_max_speed_kmh:
            reason = (
                f"与{_local(other.read_at)}的签到相距{apart / 1000:.1f}公里，间隔{_duration(seconds)}，"
                f"折合时速{kmh:.0f}公里，超过{s.duty_max_speed_kmh:g}公里"
            )
            return "impossible_speed", reason
    return None


def _shared_device(row: DutyCheckin, s):
    if not row.device_id:
        return None
    stmt = select(func.count(distinct(DutyCheckin.member_id))).where(
        DutyCheckin.device_id == row.device_id, DutyCheckin.member_id != row.member_id
    )
    others = db.session.scalar(stmt) or 0
    if not others:
        return None
    return "shared_device", f"该设备还被另外{others}名干部用于签到"


def _late_upload(row: DutyCheckin, s):
    delay = row.received_at - row.read_at
    if delay <= timedelta(minutes=s.duty_late_upload_minutes):
        return None
    return "late_upload", f"定位读取于{_local(row.read_at)}，{_duration(delay.total_seconds())}后才上传"

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

from flask import current_app
from sqlalchemy import distinct, func, select

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
_MOVES = (DutyCheckin.read_at, DutyCheckin.accuracy_m, DutyCheckin.wgs_lat, DutyCheckin.wgs_lng)
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

    The cadre's check-ins just before this one's reading time are read once, for constant_accuracy and
    impossible_speed both."""
    s = current_app.config["SETTINGS"]
    earlier = _earlier(row, max(s.duty_constant_accuracy_count - 1, 1) + 1)  # +1: one may share the reading time
    reasons: dict[str, str] = {}
    for found in (
        _repeated_position(row, s),
        _constant_accuracy(row, s, earlier),
        _impossible_speed(row, s, earlier[0] if earlier else None),
        _shared_device(row, s),
        _late_upload(row, s),
    ):
        if found:
            reasons[found[0]] = found[1]
    return reasons


def _earlier(row: DutyCheckin, n: int) -> list:
    """The cadre's last `n` check-ins read at or before this one's reading time, newest first (the columns the
    signals read, not entities: an entity would bring its member along, joined)."""
    stmt = (
        select(*_MOVES)
        .where(DutyCheckin.member_id == row.member_id, DutyCheckin.read_at <= row.read_at)
        .order_by(DutyCheckin.read_at.desc(), DutyCheckin.id.desc())
        .limit(n)
    )
    return db.session.execute(stmt).all()


def _repeated_position(row: DutyCheckin, s):
    near = s.duty_repeat_position_m
    d_lat = near / _METRES_PER_DEGREE_LAT
    d_lng = d_lat / max(math.cos(math.radians(row.wgs_lat)), 0.01)
    stmt = (
        select(DutyCheckin.duty_date, DutyCheckin.wgs_lat, DutyCheckin.wgs_lng)
        .where(DutyCheckin.member_id == row.member_id, DutyCheckin.duty_date != row.duty_date)
        .where(DutyCheckin.wgs_lat.between(row.wgs_lat - d_lat, row.wgs_lat + d_lat))
        .where(DutyCheckin.wgs_lng.between(row.wgs_lng - d_lng, row.wgs_lng + d_lng))
    )
    days, closest = set(), None
    for day, lat, lng in db.session.execute(stmt):
        apart = fast_distance_m((row.wgs_lat, row.wgs_lng), (lat, lng))
        if apart <= near:
            days.add(day)
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


def _impossible_speed(row: DutyCheckin, s, before):
    after = (
        select(*_MOVES)
        .where(DutyCheckin.member_id == row.member_id, DutyCheckin.read_at > row.read_at)
        .order_by(DutyCheckin.read_at)
        .limit(1)
    )
    for other in (before, db.session.execute(after).first()):
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

"""Photo evidence, shared by every feature that asks someone to prove where and when something happened.

`store_photo` takes an upload with the position and time the phone read at capture, and:
1. answers a retry (same uploader, same `client_id`) with the photo already stored, never a second row;
2. refuses what is not a whole JPEG/PNG/HEIC photo of sane size (services.photos), before anything is written;
3. stores the original as uploaded plus display, thumbnail and watermarked copies (none with EXIF);
4. gives it a verdict: flags with a Chinese reason each, the distance outside the fence, and the stored photos it
   repeats. The photo is kept whatever the verdict: the flags are for the reviewer.

Flags: outside_venue, uncertain_position, no_position, time_outside_window, exif_mismatch, no_exif, reused_photo,
late_upload. SERIOUS_FLAGS are the ones that mark the subject (a meeting) as flagged for its reviewer; the rest are
information (mini-program photos usually lose their EXIF; a photo taken offline arrives late by design).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, union_all
from sqlalchemy.exc import IntegrityError, OperationalError

from models import Evidence, EvidenceSubject, Member, db
from models.base import hamming_distance, utcnow
from services import photos
from services.coords import to_wgs84
from services.errors import Conflict, Invalid, NotFound
from services.geo import fast_distance_m, presence
from services.photo_hashes import SIMILAR_PHASH_DISTANCE
from services.storage import storage

SERIOUS_FLAGS = frozenset({"outside_venue", "time_outside_window", "exif_mismatch", "reused_photo"})
FLAG_LABELS = {
    "outside_venue": "不在会场范围",
    "uncertain_position": "定位精度不足",
    "no_position": "未提供拍摄位置",
    "time_outside_window": "拍摄时间不在会议时段",
    "exif_mismatch": "照片信息与上报不符",
    "no_exif": "照片无拍摄信息",
    "reused_photo": "疑似重复使用的照片",
    "late_upload": "离线拍摄延迟上传",
}
EXIF_TIME_TOLERANCE = timedelta(minutes=10)  # camera clocks drift; the phone's clock is network-set
EXIF_DISTANCE_MIN_M = 200.0  # EXIF GPS and the reported fix disagree beyond max(this, 2 × reported accuracy)
FUTURE_SKEW = timedelta(minutes=5)  # a phone clock this far ahead is tolerated
FILE_URL_SECONDS = 3600
VARIANTS = ("thumb", "display", "watermarked", "original")


@dataclass(frozen=True)
class Capture:
    """What the phone says about the moment of capture; position fields are all None or all set."""

    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    coord_sys: str | None
    taken_at: datetime | None


@dataclass(frozen=True)
class Expectation:
    """What the subject expects of its photos: where (fences, possibly none) and when (a window, possibly open)."""

    fences: tuple = ()
    window: tuple[datetime, datetime] | None = None
    watermark_lines: tuple[str, ...] = ()


@dataclass
class Verdict:
    flags: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    distance_m: float | None = None
    position: str | None = None  # inside / outside / uncertain / None (not checked)
    matches: list[dict] = field(default_factory=list)

    def flag(self, name: str, reason: str) -> None:
        if name not in self.flags:
            self.flags.append(name)
        self.reasons[name] = reason

    def as_json(self) -> dict:
        return {"position": self.position, "reasons": self.reasons, "matches": self.matches}


def check_capture(capture: Capture, now: datetime | None = None) -> None:
    """Refuses a capture time in the future (beyond clock skew); positions are range-checked by the schema."""
    now = now or utcnow()
    if capture.taken_at is not None and capture.taken_at > now + FUTURE_SKEW:
        raise Invalid("拍摄时间不能晚于当前时间", fields={"taken_at": ["拍摄时间不能晚于当前时间"]})


def find_existing(uploader_id: int, client_id: str) -> Evidence | None:
    """The photo this uploader already sent under `client_id`."""
    stmt = select(Evidence).where(Evidence.uploaded_by == uploader_id, Evidence.client_id == client_id)
    return db.session.scalar(stmt)


def store_photo(
    uploader: Member,
    *,
    subject_type: EvidenceSubject,
    subject_id: int,
    org_id: int,
    client_id: str,
    upload,
    declared_type: str | None,
    capture: Capture,
    expect: Expectation,
    received_at: datetime | None = None,
) -> tuple[Evidence, bool]:
    """Stores one photo and its verdict; returns (evidence, created). A retry returns the stored row, created False.

    `upload` is a binary stream or bytes. Raises PhotoRejected (422/413) for an unusable file with nothing stored,
    Invalid for a capture time in the future, Conflict when the client id was used for another subject. The row
    is added to the session (not committed); the files are written first under fresh keys, so a failed commit
    leaves only unreferenced files behind, never a row without its files. `received_at` is now, except for the
    demo seed, which back-fills photos of past meetings.
    """
    existing = find_existing(uploader.id, client_id)
    if existing is not None:
        return _same_subject(existing, subject_type, subject_id), False
    check_capture(capture)
    max_bytes = current_app.config["SETTINGS"].max_upload_bytes
    raw = upload if isinstance(upload, bytes) else upload.read(max_bytes + 1)
    processed = photos.process(
        raw, watermark_lines=expect.watermark_lines, max_bytes=max_bytes, declared_type=declared_type
    )
    received = received_at or utcnow()
    keys = _write_files(org_id, raw, processed, received)
    evidence = Evidence(
        subject_type=subject_type,
        subject_id=subject_id,
        org_id=org_id,
        uploaded_by=uploader.id,
        client_id=client_id,
        content_type=f"image/{processed.kind}",
        byte_size=processed.byte_size,
        width=processed.width,
        height=processed.height,
        sha256=processed.sha256,
        phash=photos.to_signed64(processed.phash),
        dhash=photos.to_signed64(processed.dhash),
        latitude=capture.latitude,
        longitude=capture.longitude,
        accuracy_m=capture.accuracy_m,
        coord_sys=capture.coord_sys,
        taken_at=capture.taken_at,
        received_at=received,
        exif_taken_at=_exif_time(processed.exif),
        exif_latitude=processed.exif.gps_lat,
        exif_longitude=processed.exif.gps_lng,
        camera=_camera(processed.exif),
        **keys,
    )
    evidence.phash_c0, evidence.phash_c1, evidence.phash_c2, evidence.phash_c3 = photos.hash_chunks(processed.phash)
    verdict = judge(evidence, processed.exif, capture, expect, received)
    evidence.flags, evidence.verdict, evidence.distance_m = verdict.flags, verdict.as_json(), verdict.distance_m
    try:
        with db.session.begin_nested():
            db.session.add(evidence)
    except (IntegrityError, OperationalError):
        # The same upload raced in on another connection and won (its insert committed first; MariaDB may instead
        # pick this one as a deadlock victim when several wait on the key). The whole transaction is rolled back:
        # its snapshot would hide the winner's row and its duplicate-key lock would deadlock a locking read. It
        # held only reads so far. A fresh read then finds the winner, committed.
        for key in keys.values():
            storage().delete(key)
        db.session.rollback()
        raced = find_existing(uploader.id, client_id)
        if raced is None:
            raise
        return _same_subject(raced, subject_type, subject_id), False
    return evidence, True


def _same_subject(evidence: Evidence, subject_type, subject_id: int) -> Evidence:
    if evidence.subject_type != subject_type or evidence.subject_id != subject_id:
        message = "该上传编号已用于另一条记录"
        raise Conflict(message, code="client_id_reused", fields={"client_id": [message]})
    return evidence


def _write_files(org_id: int, raw: bytes, processed, received: datetime) -> dict:
    prefix = f"evidence/{org_id}/{received:%Y%m}/{secrets.token_hex(12)}"
    ext = {"jpeg": "jpg", "png": "png", "heic": "heic"}[processed.kind]
    # The original is kept byte for byte (with its EXIF, so it is never served); the copies have no EXIF.
    keys = {
        "original_key": f"{prefix}/original.{ext}",
        "display_key": f"{prefix}/display.jpg",
        "thumb_key": f"{prefix}/thumb.jpg",
        "watermarked_key": f"{prefix}/watermarked.jpg",
    }
    store = storage()
    store.put_bytes(keys["original_key"], raw, f"image/{processed.kind}", overwrite=False)
    store.put_bytes(keys["display_key"], processed.display_jpeg, "image/jpeg", overwrite=False)
    store.put_bytes(keys["thumb_key"], processed.thumb_jpeg, "image/jpeg", overwrite=False)
    store.put_bytes(keys["watermarked_key"], processed.watermarked_jpeg, "image/jpeg", overwrite=False)
    return keys


def _exif_time(exif) -> datetime | None:
    """EXIF time in UTC: with its recorded offset, else read as wall-clock time of the business time zone."""
    if exif.gps_time_utc is not None:
        return exif.gps_time_utc
    if exif.taken_at is None:
        return None
    aware = exif.taken_at_aware or exif.taken_at.replace(tzinfo=current_app.config["SETTINGS"].zone)
    return aware.astimezone(utcnow().tzinfo)


def _camera(exif) -> str | None:
    name = " ".join(p for p in (exif.make, exif.model) if p)
    return name[:100] or None


# ---------------------------------------------------------------------------------------------------------------
# The verdict


def judge(evidence: Evidence, exif, capture: Capture, expect: Expectation, received: datetime) -> Verdict:
    settings = current_app.config["SETTINGS"]
    verdict = Verdict()
    _judge_position(verdict, capture, expect, settings.position_max_accuracy_m)
    _judge_time(verdict, capture, exif, expect, received, settings.photo_late_upload_minutes)
    _judge_exif(verdict, capture, evidence)
    _judge_reuse(verdict, evidence)
    return verdict


def _judge_position(verdict: Verdict, capture: Capture, expect: Expectation, max_accuracy: float) -> None:
    if capture.latitude is None:
        verdict.flag("no_position", "上传时未提供拍摄位置，无法核验是否在会场")
        return
    if not expect.fences:
        return  # nowhere to compare with: the subject has no venue
    accuracy = capture.accuracy_m or max_accuracy
    point = (capture.latitude, capture.longitude)
    result, where = presence(point, accuracy, expect.fences, coord_sys=capture.coord_sys, max_accuracy_m=max_accuracy)
    verdict.position, verdict.distance_m = result, round(where.distance_m, 1)
    if result == "outside":
        verdict.flag("outside_venue", f"拍摄位置在会场范围外{where.distance_m:.0f}米")
    elif result == "uncertain":
        reason = f"定位精度{accuracy:.0f}米，距会场边界{where.edge_distance_m:.0f}米，无法确定是否在会场"
        verdict.flag("uncertain_position", reason)


def _local(dt: datetime) -> str:
    return dt.astimezone(current_app.config["SETTINGS"].zone).strftime("%m月%d日 %H:%M")


def _judge_time(verdict: Verdict, capture: Capture, exif, expect: Expectation, received: datetime, late_min: int):
    taken = capture.taken_at or _exif_time(exif)
    if taken is None:
        return
    if expect.window is not None:
        start, end = expect.window
        if not start <= taken <= end:
            verdict.flag(
                "time_outside_window", f"拍摄于{_local(taken)}，会议时段为{_local(start)}至{_local(end)}（含前后余量）"
            )
    if capture.taken_at is not None and received - capture.taken_at > timedelta(minutes=late_min):
        hours = (received - capture.taken_at).total_seconds() / 3600
        verdict.flag("late_upload", f"拍摄后{hours:.1f}小时才上传（离线拍摄）")


def _judge_exif(verdict: Verdict, capture: Capture, evidence: Evidence) -> None:
    if evidence.exif_taken_at is None and evidence.exif_latitude is None:
        verdict.flag("no_exif", "照片不含拍摄时间和位置信息（小程序选图常见），以上报的位置和时间为准")
        return
    problems = []
    if evidence.exif_taken_at is not None and capture.taken_at is not None:
        gap = abs(evidence.exif_taken_at - capture.taken_at)
        if gap > EXIF_TIME_TOLERANCE:
            problems.append(f"照片记录的拍摄时间与上报相差{gap.total_seconds() / 60:.0f}分钟")
    if evidence.exif_latitude is not None and capture.latitude is not None:
        reported = to_wgs84(capture.latitude, capture.longitude, capture.coord_sys)
        apart = fast_distance_m(reported, (evidence.exif_latitude, evidence.exif_longitude))
        if apart > max(EXIF_DISTANCE_MIN_M, 2 * (capture.accuracy_m or 0)):
            problems.append(f"照片记录的位置与上报相距{apart:.0f}米")
    if problems:
        verdict.flag("exif_mismatch", "；".join(problems))


def similar_photos(phash_value: int, dhash_value: int, limit: int = 50) -> list[tuple[Evidence, str]]:
    """Stored photos within the lookup radius of these (unsigned) hashes: (evidence, "same"|"similar").

    A photo within SIMILAR_PHASH_DISTANCE bits shares one of the four 16-bit chunks with at most two flips
    (pigeonhole), so the candidates are the rows whose chunk is in that chunk's probe list (about 1,700 of 200,000
    stored photos). Each chunk's index also holds the pHash, so the distance filter (models.base.hamming_distance)
    runs inside four index-only lookups, UNIONed; only the matching rows are then read from the table.
    """
    probes = photos.chunk_probes(phash_value)
    signed = photos.to_signed64(phash_value)
    near = hamming_distance(Evidence.phash, signed) <= SIMILAR_PHASH_DISTANCE
    columns = (Evidence.phash_c0, Evidence.phash_c1, Evidence.phash_c2, Evidence.phash_c3)
    lookups = [select(Evidence.id).where(col.in_(values), near) for col, values in zip(columns, probes)]
    ids = set(db.session.scalars(union_all(*lookups)))
    if not ids:
        return []
    found = []
    for row in db.session.scalars(select(Evidence).where(Evidence.id.in_(sorted(ids)[: limit * 4]))):
        stored = photos.from_signed64(row.phash), photos.from_signed64(row.dhash)
        level = photos.compare(phash_value, dhash_value, *stored)
        if level is not None:
            found.append((row, level))
    found.sort(key=lambda pair: (pair[1] != photos.SAME, pair[0].id))
    return found[:limit]


def _judge_reuse(verdict: Verdict, evidence: Evidence) -> None:
    """Flags a photo that repeats one stored for another subject, organisation or person; a second shot of the
    same scene by the same person for the same meeting is no reuse."""
    ph, dh = photos.from_signed64(evidence.phash), photos.from_signed64(evidence.dhash)
    elsewhere = []
    for other, level in similar_photos(ph, dh):
        if other.id == evidence.id:
            continue
        same_place = (
            other.subject_type == evidence.subject_type
            and other.subject_id == evidence.subject_id
            and other.uploaded_by == evidence.uploaded_by
        )
        if not same_place:
            elsewhere.append((other, level))
    if not elsewhere:
        return
    verdict.matches = [
        {"photo_id": o.id, "subject_type": o.subject_type.value, "subject_id": o.subject_id, "level": level}
        for o, level in elsewhere[:10]
    ]
    first, level = elsewhere[0]
    how = "同一张照片" if level == photos.SAME else "高度相似的照片（疑似翻拍）"
    verdict.flag("reused_photo", f"与{_local(first.received_at)}上传的另一条记录中的照片为{how}")


# ---------------------------------------------------------------------------------------------------------------
# Reading the files back: signed URLs that work without a login header (the mini-program's <image src>).


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SETTINGS"].secret_key, salt="evidence-file")


def file_urls(evidence: Evidence) -> dict:
    """URLs of the derived copies, valid for an hour: the storage's own (Qiniu) or signed app URLs (local)."""
    urls = {}
    for variant in ("thumb", "display", "watermarked"):
        key = getattr(evidence, f"{variant}_key")
        direct = storage().url(key, expires=FILE_URL_SECONDS) if key else None
        urls[variant] = direct or f"/api/files/{_serializer().dumps([evidence.id, variant])}"
    return urls


def open_signed(token: str) -> tuple[Evidence, str]:
    """The evidence and variant a signed URL names; NotFound for a bad, expired or dangling token."""
    try:
        evidence_id, variant = _serializer().loads(token, max_age=FILE_URL_SECONDS)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("文件不存在或链接已过期") from None
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or variant not in VARIANTS or not getattr(evidence, f"{variant}_key"):
        raise NotFound("文件不存在或链接已过期")
    return evidence, variant

"""Meetings, attendance, photos and reviews as the API returns them (see docs/api-meetings.md)."""

from __future__ import annotations

from blueprints.schemas import iso_local
from models import Evidence, EvidenceSubject, Meeting, MeetingAttendee, MeetingKind, Review
from services import evidence
from services.evidence import FLAG_LABELS

DECISION_LABELS = {"pass": "通过", "return": "退回", "comment": "评论"}
ATTENDANCE_LABELS = {"expected": "未签到", "present": "出席", "absent": "缺席"}


def kind_json(k: MeetingKind) -> dict:
    return {
        "id": k.id,
        "code": k.code,
        "name": k.name,
        "cadence": k.cadence.value,
        "cadence_label": k.cadence.label,
        "times_per_period": k.times_per_period,
        "audience": k.audience.value,
        "needs_lecturer": k.needs_lecturer,
        "fixed_day": k.fixed_day,
        "sort_order": k.sort_order,
        "active": k.active,
    }


def _person(member) -> dict | None:
    return {"id": member.id, "name": member.name} if member is not None else None


def meeting_json(m: Meeting, attendance: dict, photo_count: int) -> dict:
    venue = None
    if m.venue_lat is not None:
        venue = {
            "name": m.venue_name,
            "latitude": m.venue_lat,
            "longitude": m.venue_lng,
            "coord_sys": m.venue_coord_sys.value if m.venue_coord_sys else None,
            "radius_m": m.venue_radius_m,
        }
    return {
        "id": m.id,
        "org_id": m.org_id,
        "org_name": m.org.name,
        "kind": {"id": m.kind.id, "code": m.kind.code, "name": m.kind.name, "cadence": m.kind.cadence.value},
        "title": m.title,
        "topic": m.topic,
        "starts_at": iso_local(m.starts_at),
        "ends_at": iso_local(m.ends_at),
        "period": m.period,
        "status": m.status.value,
        "status_label": m.status.label,
        "late_entry": m.late_entry,
        "flagged": m.flagged,
        "venue_name": m.venue_name,
        "venue": venue,
        "lecturer_name": m.lecturer_name,
        "self_score": m.self_score,
        "review_score": m.review_score,
        "attendance": attendance,
        "photo_count": photo_count,
        "held_recorded_at": iso_local(m.held_recorded_at),
        "submitted_at": iso_local(m.submitted_at),
        "reviewed_at": iso_local(m.reviewed_at),
        "created_at": iso_local(m.created_at),
        "updated_at": iso_local(m.updated_at),
    }


def attendee_json(a: MeetingAttendee, result: str | None = None) -> dict:
    out = {
        "member_id": a.member_id,
        "name": a.member.name,
        "status": a.status.value,
        "status_label": ATTENDANCE_LABELS[a.status.value],
        "absence_reason": a.absence_reason.value if a.absence_reason else None,
        "absence_reason_label": a.absence_reason.label if a.absence_reason else None,
        "absence_note": a.absence_note,
        "signed_at": iso_local(a.signed_at),
        "distance_m": a.distance_m,
        "flags": [f for f in (a.flags or "").split(",") if f],
        "proxy": a.proxy_by is not None,
        "rating": a.rating,
    }
    if result is not None:
        out["result"] = result
    return out


def photo_json(e: Evidence, uploader_names: dict[int, str]) -> dict:
    verdict = e.verdict or {}
    return {
        "id": e.id,
        "client_id": e.client_id,
        "purpose": "minutes" if e.subject_type == EvidenceSubject.MEETING_MINUTES else "scene",
        "content_type": e.content_type,
        "width": e.width,
        "height": e.height,
        "taken_at": iso_local(e.taken_at),
        "received_at": iso_local(e.received_at),
        "latitude": e.latitude,
        "longitude": e.longitude,
        "accuracy": e.accuracy_m,
        "coord_sys": e.coord_sys.value if e.coord_sys else None,
        "uploaded_by": {"id": e.uploaded_by, "name": uploader_names.get(e.uploaded_by)},
        "urls": evidence.file_urls(e),
        "exif": {
            "taken_at": iso_local(e.exif_taken_at),
            "latitude": e.exif_latitude,
            "longitude": e.exif_longitude,
            "camera": e.camera,
        },
        "verdict": {
            "flags": list(e.flags or []),
            "flag_labels": {f: FLAG_LABELS.get(f, f) for f in e.flags or []},
            "distance_m": e.distance_m,
            "position": verdict.get("position"),
            "reasons": verdict.get("reasons", {}),
            "matches": verdict.get("matches", []),
        },
    }


def review_json(r: Review, reviewer_names: dict[int, str]) -> dict:
    return {
        "id": r.id,
        "reviewer": {"id": r.reviewer_id, "name": reviewer_names.get(r.reviewer_id)},
        "decision": r.decision.value,
        "decision_label": DECISION_LABELS[r.decision.value],
        "comment": r.comment,
        "score": r.score,
        "created_at": iso_local(r.created_at),
    }

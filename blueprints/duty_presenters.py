"""Duty check-in objects as the API returns them (contract: docs/api-duty.md)."""

from __future__ import annotations

from blueprints.schemas import iso_local
from models import Evidence, db
from models.base import utcnow
from services import duty_roster
from services.duty_signals import FLAG_LABELS
from services.evidence import file_urls

RESULT_LABELS = {"inside": "在范围内", "outside": "不在范围内", "uncertain": "无法确定"}
TIMING_LABELS = {"on_time": "正常", "early": "早到/早退", "late": "迟到", "off_roster": "非值班时间"}
CHECK_STATUS_LABELS = {"pending": "待回复", "answered": "已按时回复", "late": "超时回复", "missed": "未回复"}


def day_iso(d):
    return d.isoformat() if d else None


def shift_json(s) -> dict:
    return {"weekday": s.weekday, "starts_at": f"{s.starts_at:%H:%M}", "ends_at": f"{s.ends_at:%H:%M}"}


def exception_json(e) -> dict:
    return {
        "id": e.id,
        "kind": e.kind.value,
        "kind_label": e.kind.label,
        "starts_on": day_iso(e.starts_on),
        "ends_on": day_iso(e.ends_on),
        "reason": e.reason,
        "approved_by": e.approved_by,
        "approved_at": iso_local(e.approved_at),
    }


def assignment_json(a, detail: bool = False) -> dict:
    out = {
        "id": a.id,
        "member": {"id": a.member.id, "name": a.member.name},
        "org": {"id": a.org.id, "name": a.org.name},
        "role": a.role.value,
        "role_label": a.role.label,
        "starts_on": day_iso(a.starts_on),
        "ends_on": day_iso(a.ends_on),
    }
    if detail:
        out["roster"] = [shift_json(s) for s in duty_roster.roster_of(a)]
        out["exceptions"] = [exception_json(e) for e in duty_roster.exceptions_of(a)]
    return out


def checkin_json(c, with_photo: bool = False) -> dict:
    reasons = c.reasons or {}
    out = {
        "id": c.id,
        "client_id": c.client_id,
        "org_id": c.org_id,
        "member": {"id": c.member.id, "name": c.member.name},
        "kind": c.kind.value,
        "latitude": c.latitude,
        "longitude": c.longitude,
        "accuracy": c.accuracy_m,
        "coord_sys": c.coord_sys.value,
        "read_at": iso_local(c.read_at),
        "received_at": iso_local(c.received_at),
        "duty_date": day_iso(c.duty_date),
        "result": c.result.value,
        "result_label": RESULT_LABELS[c.result.value],
        "result_reason": reasons.get("result"),
        "distance_m": c.distance_m,
        "fence_id": c.fence_id,
        "timing": c.timing.value,
        "timing_label": TIMING_LABELS[c.timing.value],
        "timing_reason": reasons.get("timing"),
        "flags": c.flag_list,
        "flag_labels": {f: FLAG_LABELS[f] for f in c.flag_list},
        "flag_reasons": reasons.get("flags", {}),
        "remark": c.remark,
        "device_id": c.device_id,
        "photo_id": c.evidence_id,
    }
    if with_photo and c.evidence_id is not None:
        photo = db.session.get(Evidence, c.evidence_id)
        out["photo"] = {"id": photo.id, "urls": file_urls(photo), "flags": photo.flags}
    return out


def inspection_json(i) -> dict:
    return {
        "id": i.id,
        "org_id": i.org_id,
        "inspector_id": i.inspector_id,
        "member_id": i.member_id,
        "visited_at": iso_local(i.visited_at),
        "cadre_present": i.cadre_present,
        "notes": i.notes,
    }


def photo_check_json(r) -> dict:
    status = r.status(utcnow())
    return {
        "id": r.id,
        "org_id": r.org_id,
        "member_id": r.member_id,
        "requested_by": r.requested_by,
        "requested_at": iso_local(r.requested_at),
        "due_at": iso_local(r.due_at),
        "note": r.note,
        "status": status,
        "status_label": CHECK_STATUS_LABELS[status],
        "checkin_id": r.checkin_id,
        "answered_at": iso_local(r.answered_at),
    }

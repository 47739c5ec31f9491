"""Turning models into the JSON the API returns. Codes in English, labels in Chinese, times in local time."""

from __future__ import annotations

from blueprints.schemas import iso_local
from models import ExportStatus, Member, MemberExport, Organisation
from models.member import GENDER_LABELS, PARTY_STATUS_LABELS, ROLE_LABELS
from services.authz import Actor
from services.members import id_card_of


def org_json(org: Organisation) -> dict:
    venue = None
    if org.venue_lat is not None:
        venue = {"latitude": org.venue_lat, "longitude": org.venue_lng, "coord_sys": org.venue_coord_sys.value}
    return {
        "id": org.id,
        "name": org.name,
        "code": org.code,
        "kind": org.kind.value,
        "kind_label": org.kind.label,
        "level": org.level.value,
        "level_label": org.level.label,
        "parent_id": org.parent_id,
        "depth": org.depth,
        "path": org.path,
        "secretary_id": org.secretary_id,
        "contact_phone": org.contact_phone,
        "venue": venue,
        "active": org.active,
        "created_at": iso_local(org.created_at),
        "updated_at": iso_local(org.updated_at),
    }


def member_json(actor: Actor, m: Member) -> dict:
    return {
        "id": m.id,
        "member_no": m.member_no,
        "name": m.name,
        "gender": m.gender.value,
        "gender_label": GENDER_LABELS[m.gender],
        "birth_date": m.birth_date.isoformat() if m.birth_date else None,
        "mobile": m.mobile,
        "id_card": id_card_of(actor, m),
        "party_status": m.party_status.value,
        "party_status_label": PARTY_STATUS_LABELS[m.party_status],
        "joined_on": m.joined_on.isoformat() if m.joined_on else None,
        "org_id": m.org_id,
        "org_name": m.org.name,
        "is_floating": m.is_floating,
        "floating_to": m.floating_to,
        "role": m.role.value,
        "role_label": ROLE_LABELS[m.role],
        "managed_org_id": m.managed_org_id,
        "can_view_id_card": m.can_view_id_card,
        "status": m.status.value,
        "must_change_password": m.must_change_password,
        "created_at": iso_local(m.created_at),
        "updated_at": iso_local(m.updated_at),
    }


def export_json(e: MemberExport) -> dict:
    return {
        "id": e.id,
        "org_id": e.org_id,
        "status": e.status.value,
        "row_count": e.row_count,
        "error": e.error,
        "created_at": iso_local(e.created_at),
        "finished_at": iso_local(e.finished_at),
        "download_url": f"/api/members/exports/{e.id}/file" if e.status == ExportStatus.DONE else None,
    }

"""The audit log, read-only: /api/audit."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from sqlalchemy import select

from blueprints.schemas import PageQuery, iso_local, page_out
from blueprints.security import current_actor, login_required
from models import AuditEntry, Role
from services.authz import require_role
from services.listing import paginate

bp = APIBlueprint("audit", __name__, url_prefix="/api/audit", tag="审计")


class AuditQuery(PageQuery):
    object_type = fields.String(validate=validators.Length(max=32))
    object_id = fields.String(validate=validators.Length(max=64))
    actor_id = fields.Integer()
    action = fields.String(validate=validators.Length(max=64))


def entry_json(e: AuditEntry) -> dict:
    return {
        "id": e.id,
        "actor_id": e.actor_id,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "ip": e.ip,
        "created_at": iso_local(e.created_at),
        "detail": e.detail,
    }


@bp.get("")
@login_required
@bp.input(AuditQuery, location="query")
@bp.doc(summary="审计日志（系统管理员）")
def list_entries(query_data):
    require_role(current_actor(), Role.SUPER_ADMIN)
    stmt = select(AuditEntry)
    for key in ("object_type", "object_id", "actor_id", "action"):
        if query_data.get(key) is not None:
            stmt = stmt.where(getattr(AuditEntry, key) == query_data[key])
    return page_out(
        paginate(stmt.order_by(AuditEntry.id.desc()), query_data["page"], query_data["per_page"]), entry_json
    )

"""Append an audit entry for a write. Called by services inside the caller's transaction (flush only)."""

from __future__ import annotations

from models import AuditEntry, db
from services.authz import Actor


def record(actor: Actor, action: str, object_type: str, object_id, detail: dict | None = None) -> AuditEntry:
    """Writes one audit row (added to the session; committed with the change it describes)."""
    entry = AuditEntry(
        actor_id=actor.id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip=actor.ip,
        detail=detail,
    )
    db.session.add(entry)
    return entry

"""Jobs that build roster exports."""

from __future__ import annotations

from tasks import job


@job(queue="exports", timeout=1800)
def build_member_export(export_id: int) -> None:
    """Builds the .xlsx of one MemberExport row and stores it. A finished export is left alone (rerun-safe)."""
    from services.exports import run_export

    run_export(export_id)

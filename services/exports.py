"""Roster export to .xlsx: the request row, the job body, and the spreadsheet writer.

ID-card numbers are always masked in exports: a file leaves the system's access control once downloaded.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from models import AccountStatus, ExportStatus, Member, MemberExport, Organisation, db
from models.base import utcnow
from models.member import GENDER_LABELS, PARTY_STATUS_LABELS
from services import audit, idcard
from services.authz import Action, Actor, authorize_org, can_see_org, get_org_for
from services.errors import Conflict, NotFound
from services.orgs import subtree_clause
from services.storage import storage

HEADERS = [
    "党员编号",
    "姓名",
    "性别",
    "出生日期",
    "手机号",
    "身份证号",
    "党员类别",
    "入党日期",
    "所属组织",
    "组织编码",
    "是否流动党员",
    "流动去向",
    "账号状态",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Text that Excel would run as a formula is prefixed with an apostrophe (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def create_export(actor: Actor, org_id: int) -> MemberExport:
    org = get_org_for(actor, org_id, Action.EXPORT)
    export = MemberExport(requested_by_id=actor.id, org_id=org.id, status=ExportStatus.QUEUED)
    db.session.add(export)
    db.session.flush()
    audit.record(actor, "member.export", "organisation", org.id, {"export_id": export.id})
    return export


def get_export_for(actor: Actor, export_id: int, ready: bool = False) -> MemberExport:
    """An export is visible to the one who asked for it only."""
    export = db.session.get(MemberExport, export_id)
    if export is None or export.requested_by_id != actor.id:
        raise NotFound("导出任务不存在")
    # Scope is checked again on every read: a department whose area shrank loses its old files too.
    org = db.session.get(Organisation, export.org_id)
    if not can_see_org(actor, org):
        raise NotFound("导出任务不存在")
    authorize_org(actor, Action.EXPORT, org)
    if ready and export.status != ExportStatus.DONE:
        raise Conflict("导出尚未完成", code="export_not_ready")
    return export


def open_file(e: MemberExport):
    return storage().open(e.storage_key)


def file_name(e: MemberExport) -> str:
    return f"党员名册-{e.org_id}-{e.id}.xlsx"


def run_export(export_id: int) -> None:
    """The job body: writes the file, stores it, marks the row done; on failure marks it failed and re-raises."""
    export = db.session.get(MemberExport, export_id)
    if export is None or export.status == ExportStatus.DONE:
        return
    export.status = ExportStatus.RUNNING
    db.session.commit()
    actor = Actor(db.session.get(Member, export.requested_by_id))
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        org = db.session.get(Organisation, export.org_id)
        authorize_org(actor, Action.EXPORT, org)  # scope may have changed since the request
        count = write_members_xlsx(org, path)
        key = f"exports/members-{export.id}.xlsx"
        storage().put_file(key, path)
        export.storage_key, export.row_count, export.status = key, count, ExportStatus.DONE
        export.finished_at = utcnow()
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        export = db.session.get(MemberExport, export_id)
        export.status, export.error, export.finished_at = ExportStatus.FAILED, "导出失败：" + str(exc)[:200], utcnow()
        db.session.commit()
        raise
    finally:
        os.unlink(path)


def write_members_xlsx(org: Organisation, path: str, progress: Callable[[int], None] | None = None) -> int:
    """Streams every active member of `org`'s subtree into a write-only workbook; returns the row count."""
    from flask import current_app

    key = current_app.config["SETTINGS"].data_key
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员名册")
    ws.append(HEADERS)
    stmt = (
        select(Member)
        .join(Member.org)
        .options(contains_eager(Member.org))
        .where(subtree_clause(org), Member.status == AccountStatus.ACTIVE)
        .order_by(Organisation.path, Member.id)
        .execution_options(yield_per=2000)
    )
    count = 0
    for m in db.session.scalars(stmt):
        number = idcard.decrypt(m.id_card_cipher, key) if m.id_card_cipher else None
        ws.append(
            [
                safe_cell(v)
                for v in (
                    m.member_no,
                    m.name,
                    GENDER_LABELS[m.gender],
                    m.birth_date,
                    m.mobile,
                    idcard.mask(number) if number else "",
                    PARTY_STATUS_LABELS[m.party_status],
                    m.joined_on,
                    m.org.name,
                    m.org.code,
                    "是" if m.is_floating else "否",
                    m.floating_to or "",
                    "正常" if m.status == AccountStatus.ACTIVE else "停用",
                )
            ]
        )
        count += 1
        if progress and count % 2000 == 0:
            progress(2000)
    wb.save(path)
    if progress:
        progress(count % 2000)
    return count

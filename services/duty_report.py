"""The month report per cadre and village: days rostered, present, late, absent, unconfirmed, on leave, with a check-in
outside and flagged — the basis of the allowance — as JSON or an .xlsx file.

Each day is judged exactly as on the board (services.duty_board.day_status); days after today do not count yet.
Three statements whatever the subtree's size: the assignments overlapping the month with their rosters and
exceptions, and the check-ins grouped by cadre, village and day; the days are then walked in Python (11,300 cadres ×
31 days is 350k cheap steps).
"""

from __future__ import annotations

import calendar
import io
from collections import defaultdict
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import or_, select

from models import (
    DutyAssignment,
    DutyException,
    DutyRoster,
    Member,
    Organisation,
    db,
)
from services import audit
from services.authz import Actor, covers, get_org_for, subtree_clause
from services.duty_board import COUNT_KEYS, checkin_counts, day_status
from services.duty_roster import local_today
from services.errors import Invalid, NotFound
from services.exports import safe_cell

DAY_COUNTS = ("rostered", "present", "late", "absent", "unconfirmed", "on_leave", "outside", "flagged")
HEADERS = ("姓名", "派驻村", "身份", "应值班天数", "在岗天数", "迟到天数", "缺勤天数", "未确认天数", "请假出差天数")
HEADERS += ("范围外签到天数", "异常标记天数")
_EMPTY = dict.fromkeys(COUNT_KEYS, 0)


def month_span(month: str) -> tuple[date, date]:
    """First and last day of "YYYY-MM"; Invalid (field `month`) otherwise."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise Invalid("月份格式应为YYYY-MM", fields={"month": ["应为YYYY-MM"]}) from None
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def _assignments(root: Organisation, first: date, last: date):
    a = DutyAssignment
    stmt = (
        select(a, Member.name, Organisation.name)
        .join(Organisation, a.org_id == Organisation.id)
        .join(Member, a.member_id == Member.id)
        .where(subtree_clause(root), a.starts_on <= last, or_(a.ends_on.is_(None), a.ends_on >= first))
        .order_by(Organisation.path, Member.name, a.member_id, a.id)
    )
    rows = db.session.execute(stmt).all()
    ids = [row[0].id for row in rows]
    weekdays, leaves = defaultdict(set), defaultdict(list)
    if ids:
        for aid, weekday in db.session.execute(
            select(DutyRoster.assignment_id, DutyRoster.weekday).where(DutyRoster.assignment_id.in_(ids))
        ):
            weekdays[aid].add(weekday)
        exceptions = select(DutyException.assignment_id, DutyException.starts_on, DutyException.ends_on).where(
            DutyException.assignment_id.in_(ids), DutyException.starts_on <= last, DutyException.ends_on >= first
        )
        for aid, starts_on, ends_on in db.session.execute(exceptions):
            leaves[aid].append((starts_on, ends_on))
    return rows, weekdays, leaves


def month_report(actor: Actor, org_id: int, month: str) -> dict:
    """Per cadre and village of `org_id`'s subtree, the month's day counts. NotFound unless the actor administers
    the organisation. Read-only."""
    root = get_org_for(actor, org_id)
    if not covers(actor, root):
        raise NotFound("组织不存在")
    first, last = month_span(month)
    last_counted = min(last, local_today())
    rows, weekdays, leaves = _assignments(root, first, last)
    counts = checkin_counts(root, first, last)
    by_key: dict[tuple[int, int], dict] = {}
    judged: set[tuple[int, int, date]] = set()  # two assignments to one village on one day count once
    for assignment, member_name, org_name in rows:
        key = (assignment.member_id, assignment.org_id)
        row = by_key.setdefault(
            key,
            {
                "member": {"id": assignment.member_id, "name": member_name},
                "org": {"id": assignment.org_id, "name": org_name},
                "role": assignment.role.value,
                "role_label": assignment.role.label,
                **dict.fromkeys(DAY_COUNTS, 0),
            },
        )
        day = max(first, assignment.starts_on)
        end = min(last_counted, assignment.ends_on or last_counted)
        while day <= end:
            if (*key, day) not in judged:
                judged.add((*key, day))
                shift = day.weekday() in weekdays[assignment.id]
                leave = shift and any(s <= day <= e for s, e in leaves[assignment.id])
                status = day_status(shift and not leave, leave, counts.get((*key, day), _EMPTY))
                for name in DAY_COUNTS:
                    row[name] += int(status[name])
            day += timedelta(days=1)
    return {
        "org": {"id": root.id, "name": root.name},
        "month": month,
        "counted_until": last_counted,
        "rows": list(by_key.values()),
    }


def month_report_xlsx(actor: Actor, org_id: int, month: str) -> tuple[bytes, str]:
    """The month report as an .xlsx file and its file name. Audited (a personal-data export)."""
    report = month_report(actor, org_id, month)
    book = Workbook()
    sheet = book.active
    sheet.title = f"{month}值班"
    sheet.append(HEADERS)
    for r in report["rows"]:
        sheet.append(
            [safe_cell(r["member"]["name"]), safe_cell(r["org"]["name"]), r["role_label"]] + [r[k] for k in DAY_COUNTS]
        )
    out = io.BytesIO()
    book.save(out)
    audit.record(actor, "duty.report.export", "organisation", org_id, {"month": month, "rows": len(report["rows"])})
    return out.getvalue(), f"值班月报-{report['org']['name']}-{month}.xlsx"

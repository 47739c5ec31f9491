"""Reminders: /api/reminders (mine, a department's overdue list, the rules) and urges at /api/orgs/<id>/urges
(contract: docs/api-reminders.md)."""

from __future__ import annotations

import logging
import threading
import time

from apiflask import APIBlueprint, fields, validators

from blueprints.schemas import BaseSchema, PageQuery, iso_local, page_out
from blueprints.security import current_actor, login_required
from models import db
from models.reminders import OrgUrge, Reminder, ReminderRule, ReminderSubject
from services import notifications, reminder_rules
from services import reminders as service

log = logging.getLogger(__name__)

bp = APIBlueprint("reminders", __name__, url_prefix="/api/reminders", tag="提醒")
urges_bp = APIBlueprint("urges", __name__, url_prefix="/api/orgs", tag="提醒")


class MineQuery(PageQuery):
    status = fields.String(load_default="open", validate=validators.OneOf(["open", "closed"]))


class OverdueQuery(PageQuery):
    org_id = fields.Integer()
    subject = fields.String(validate=validators.OneOf([ReminderSubject.MEETING.value, ReminderSubject.DUTY.value]))


class RuleIn(BaseSchema):
    name = fields.String(validate=validators.Length(min=1, max=50))
    remind_days_before = fields.Integer(allow_none=True)
    overdue_after_hours = fields.Integer(allow_none=True)
    escalate_after_hours = fields.Integer(allow_none=True)
    enabled = fields.Boolean()


class UrgeIn(BaseSchema):
    reason = fields.String(required=True, validate=validators.Length(min=1, max=500))


def reminder_json(r: Reminder, escalated: bool | None = None) -> dict:
    out = {
        "id": r.id,
        "subject": r.subject.value,
        "subject_label": r.subject.label,
        "stage": r.stage.value,
        "stage_label": r.stage.label,
        "title": r.title,
        "period": r.period,
        "org": {"id": r.org_id, "name": r.org.name},
        "member_id": r.member_id,
        "due_at": iso_local(r.due_at),
        "opened_at": iso_local(r.created_at),
        "closed_at": iso_local(r.closed_at),
        "close_reason": r.close_reason,
    }
    if escalated is not None:
        out["escalated"] = escalated
    return out


def rule_json(r: ReminderRule) -> dict:
    fields_out = ("id", "code", "name", "cadence", "remind_days_before", "overdue_after_hours", "escalate_after_hours")
    return {**{f: getattr(r, f) for f in fields_out}, "subject": r.subject.value, "enabled": r.enabled}


def urge_json(u: OrgUrge) -> dict:
    return {
        "id": u.id,
        "org_id": u.org_id,
        "reason": u.reason,
        "urged_by": {"id": u.urged_by, "name": u.urger.name},
        "notified": u.notification_key is not None,
        "created_at": iso_local(u.created_at),
    }


@bp.get("")
@login_required
@bp.input(MineQuery, location="query")
@bp.doc(
    summary="我的提醒",
    description="本人的值班、学习提醒；书记另见本支部的组织生活提醒。status：open 未关闭，closed 已关闭。",
)
def my_reminders(query_data):
    page = service.list_mine(current_actor(), query_data["status"], query_data["page"], query_data["per_page"])
    return page_out(page, reminder_json)


@bp.get("/overdue")
@login_required
@bp.input(OverdueQuery, location="query")
@bp.doc(
    summary="逾期清单",
    description="组织部门查看本级及下级未按期开展组织生活的组织和值班未签到的干部（未关闭的逾期提醒），"
    "escalated 表示已上报更上一级。默认本部门所管组织。",
)
def overdue(query_data):
    root, page, escalated = service.list_overdue(
        current_actor(), query_data.get("org_id"), query_data.get("subject"), query_data["page"], query_data["per_page"]
    )
    out = page_out(page, lambda r: reminder_json(r, r.id in escalated))
    return {**out, "org": {"id": root.id, "name": root.name}}


@bp.get("/rules")
@login_required
@bp.doc(summary="提醒规则", description="何时提醒、何时算逾期、何时上报上级；市级组织部门可修改。")
def list_rules():
    return {"items": [rule_json(r) for r in reminder_rules.list_rules()]}


@bp.patch("/rules/<int:rule_id>")
@login_required
@bp.input(RuleIn)
@bp.doc(
    summary="修改提醒规则", description="提前天数、逾期与上报的小时数（留空表示不设此阶段）、启用或停用；记入审计日志。"
)
def update_rule(rule_id, json_data):
    rule = reminder_rules.update_rule(current_actor(), reminder_rules.get_rule(rule_id), json_data)
    db.session.commit()
    return rule_json(rule)


@urges_bp.post("/<int:org_id>/urges")
@login_required
@urges_bp.input(UrgeIn)
@urges_bp.doc(
    summary="督办下级组织", description="上级组织部门督办下级组织：记录督办人、时间和事由，并通知该组织书记。"
)
def urge(org_id, json_data):
    record, notification_id = service.urge_org(current_actor(), org_id, json_data["reason"])
    db.session.commit()
    notifications.enqueue_sends([notification_id] if notification_id else [])
    return urge_json(record), 201


@urges_bp.get("/<int:org_id>/urges")
@login_required
@urges_bp.input(PageQuery, location="query")
@urges_bp.doc(summary="督办记录", description="该组织收到的督办，新的在前；本组织书记和上级组织部门可查看。")
def list_urges(org_id, query_data):
    page = service.list_urges(current_actor(), org_id, query_data["page"], query_data["per_page"])
    return page_out(page, urge_json)


def register_reminders(app) -> None:
    """Mounts the blueprints and, when REMINDER_SCAN_IN_PROCESS is on (the embedded demo), starts the scan's
    timer thread on the first request — so CLI commands, which serve none, never start it."""
    app.register_blueprint(bp)
    app.register_blueprint(urges_bp)
    if app.config["SETTINGS"].reminder_scan_in_process:
        started = threading.Event()

        @app.before_request
        def start_scan_timer():
            if not started.is_set():
                started.set()
                threading.Thread(target=_scan_timer, args=(app,), name="reminder-scan", daemon=True).start()


def _scan_timer(app) -> None:
    """Scans every REMINDER_SCAN_MINUTES in this process, the first time a minute after start-up (the server is
    answering by then, so the sends reach the local sandboxes). A failed scan is logged and the next one runs."""
    from tasks.reminders import scan_reminders

    delay = 60
    while True:
        time.sleep(delay)
        delay = app.config["SETTINGS"].reminder_scan_minutes * 60
        with app.app_context():
            try:
                scan_reminders()
            except Exception:  # noqa: BLE001 - a thread that dies stops every later scan: log and go on
                log.exception("in-process reminder scan failed")
                db.session.rollback()
            finally:
                db.session.remove()

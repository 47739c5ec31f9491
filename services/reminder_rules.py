"""Reminder rules are reference data (seeded by the migration) that a city administrator tunes: how many days
before a deadline the reminder opens, how many hours after it the overdue alert and the escalation open, and
whether the rule is on. Which stage tells whom is fixed by the subject (services.reminder_scan)."""

from __future__ import annotations

from sqlalchemy import select

from models import db
from models.reminders import ReminderRule
from services import audit
from services.authz import Actor
from services.errors import Invalid, NotFound
from services.meeting_kinds import require_city_admin

FIELDS = ("name", "remind_days_before", "overdue_after_hours", "escalate_after_hours", "enabled")
NUMBERS = {"remind_days_before": 366, "overdue_after_hours": 24 * 366, "escalate_after_hours": 24 * 366}


def list_rules() -> list[ReminderRule]:
    return list(db.session.scalars(select(ReminderRule).order_by(ReminderRule.sort_order, ReminderRule.id)))


def get_rule(rule_id: int) -> ReminderRule:
    rule = db.session.get(ReminderRule, rule_id)
    if rule is None:
        raise NotFound("提醒规则不存在")
    return rule


def update_rule(actor: Actor, rule: ReminderRule, data: dict) -> ReminderRule:
    """Changes a rule's numbers or switches it on/off (city admins only); audited with the changed fields. New
    numbers apply from the next scan; reminders already opened stay as they are."""
    require_city_admin(actor)
    for name, top in NUMBERS.items():
        value = data.get(name)
        if value is not None and not 0 <= value <= top:
            raise Invalid("数值超出范围", fields={name: [f"应在0到{top}之间"]})
    overdue = data.get("overdue_after_hours", rule.overdue_after_hours)
    escalate = data.get("escalate_after_hours", rule.escalate_after_hours)
    if overdue is not None and escalate is not None and escalate < overdue:
        raise Invalid("上报上级应不早于逾期提醒", fields={"escalate_after_hours": ["应不小于逾期提醒的小时数"]})
    changed = {k: [getattr(rule, k), data[k]] for k in FIELDS if k in data and data[k] != getattr(rule, k)}
    for name in FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    db.session.flush()
    audit.record(actor, "reminder_rule.update", "reminder_rule", rule.id, {"changed": changed})
    return rule

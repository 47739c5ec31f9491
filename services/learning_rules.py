"""Point rules edited as data by the city's organisation department (and the platform operator).

A rule's points, daily cap, seconds per unit (time rules only) and on/off switch may change; its code and kind may
not: a rule that counts events never becomes a time rule or back. A change applies to grants from then on; the
ledger is append-only, so points already granted keep the value they were granted with, and a cap lowered during a
day counts what was granted earlier that day. The `correction` rule carries correction entries only and is not
editable. Every change is audited with the values before and after.
"""

from __future__ import annotations

from sqlalchemy import select

from models import PointRule, Role, db
from services import audit
from services.authz import Actor
from services.errors import Forbidden, Invalid, NotFound
from services.learning_points import CORRECTION

EDITABLE = ("points", "daily_cap", "unit_s", "active")


def is_city_admin(actor: Actor) -> bool:
    if actor.is_super:
        return True
    root = actor.scope_root()
    return actor.role == Role.DEPT_ADMIN and root is not None and root.parent_id is None


def get_rule(code: str) -> PointRule:
    rule = db.session.scalar(select(PointRule).where(PointRule.code == code))
    if rule is None or rule.code == CORRECTION:
        raise NotFound("积分规则不存在")
    return rule


def _check(values: dict, timed: bool) -> None:
    if values["daily_cap"] is not None and values["daily_cap"] < values["points"]:
        raise Invalid("每日上限不能小于每次的分值", fields={"daily_cap": [f"不能小于{values['points']}"]})
    if timed and values["unit_s"] is None:
        raise Invalid("计时规则须设置每单位秒数", fields={"unit_s": ["计时规则须设置每单位秒数"]})
    if not timed and values["unit_s"] is not None:
        raise Invalid("该规则按次计分，不设每单位秒数", fields={"unit_s": ["该规则按次计分，不设每单位秒数"]})


def update_rule(actor: Actor, code: str, data: dict) -> PointRule:
    """Changes a rule's points, daily cap (None: no cap), seconds per unit or active flag. City department only
    (403 for everyone else, who may read the rules). Checks everything before changing anything. Writes the rule and
    an audit entry with the changed values; an unchanged submission writes nothing."""
    if not is_city_admin(actor):
        raise Forbidden("只有市委组织部可以修改积分规则")
    rule = get_rule(code)
    before = {name: getattr(rule, name) for name in EDITABLE}
    after = {name: data.get(name, before[name]) for name in EDITABLE}
    _check(after, timed=before["unit_s"] is not None)
    changes = {name: [before[name], after[name]] for name in EDITABLE if before[name] != after[name]}
    if changes:
        for name in changes:
            setattr(rule, name, after[name])
        db.session.flush()
        audit.record(actor, "learning.point_rule.update", "point_rule", rule.id, {"code": code, "changes": changes})
    return rule

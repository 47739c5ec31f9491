"""Points: rules as data, an append-only ledger, daily caps that hold under concurrent requests.

Every grant names its rule, its source event and a unique key (e.g. "login:42:2026-12-04"): a retried or replayed
event finds its key and grants nothing. The daily cap is checked against `point_daily` while the member's grants are
serialized: on MariaDB by a locking read of the member's row (every grant of one member queues there, so the tally
read next is the latest committed one); on SQLite by taking the database's write lock before reading. A mistake is
never edited away: a correction is a new entry that points at the one it corrects, dated on that entry's day, so
rankings of that period are corrected too. Proxy study (done for a member by a secretary) earns points marked
`proxy`, kept out of rankings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from models import Member, PointDaily, PointEntry, PointRule, db
from models.base import utcnow
from services import audit
from services import learning_ranks as ranks
from services.authz import Action, Actor, get_member_for
from services.errors import Invalid, NotFound
from services.listing import Page, paginate

CORRECTION = "correction"


def business_day(at=None) -> date:
    return (at or utcnow()).astimezone(current_app.config["SETTINGS"].zone).date()


def rule_by_code(code: str) -> PointRule:
    rule = db.session.scalar(select(PointRule).where(PointRule.code == code))
    if rule is None:
        raise NotFound(f"积分规则 {code} 不存在")
    return rule


# The rules the migration seeds (code, name, points per unit, daily cap, seconds per unit, order), for databases
# built without it (tests empty every table; the demo).
DEFAULT_RULES = [
    ("login", "每日登录", 1, 1, None, 10),
    ("article_read", "阅读文章", 1, 6, None, 20),
    ("media_time", "视听学习", 1, 8, 240, 30),
    ("daily_quiz", "每日答题", 1, 6, None, 40),
    ("exam_pass", "通过测试", 5, 10, None, 50),
    (CORRECTION, "积分更正", 0, None, None, 90),
]


def ensure_default_rules() -> None:
    """Adds any missing default rule (flush only); existing rules are left as edited."""
    have = set(db.session.scalars(select(PointRule.code)))
    for code, name, pts, cap, unit_s, order in DEFAULT_RULES:
        if code not in have:
            db.session.add(PointRule(code=code, name=name, points=pts, daily_cap=cap, unit_s=unit_s, sort_order=order))
    db.session.flush()


def list_rules() -> list[PointRule]:
    return list(db.session.scalars(select(PointRule).order_by(PointRule.sort_order, PointRule.id)))


@dataclass
class Grant:
    points: int  # granted now (0 when capped, duplicate or inactive)
    outcome: str  # granted | capped | duplicate | inactive
    entry: PointEntry | None = None


def serialize_member(member_id: int) -> None:
    """Makes this transaction the only one granting points to (or crediting study of) `member_id` until it ends
    (see the module docstring)."""
    if db.session.get_bind().dialect.name == "sqlite":
        # A write statement takes SQLite's write lock (waiting for busy_timeout), even when it changes nothing.
        db.session.execute(text("UPDATE point_daily SET points = points WHERE 1 = 0"))
    else:
        db.session.execute(select(Member.id).where(Member.id == member_id).with_for_update())


def grant(
    member: Member,
    rule_code: str,
    *,
    unique_key: str,
    source_type: str,
    source_id: int | None = None,
    units: int = 1,
    day: date | None = None,
    proxy: bool = False,
    created_by: int | None = None,
) -> Grant:
    """Grants `units` of a rule's points to a member, up to what its daily cap leaves. Writes one ledger entry and the
    day's tally (flush only; the caller commits) — or nothing when the key was used before or the cap is reached."""
    rule = rule_by_code(rule_code)
    if not rule.active or units <= 0:
        return Grant(0, "inactive")
    day = day or business_day()
    serialize_member(member.id)
    if db.session.scalar(select(PointEntry.id).where(PointEntry.unique_key == unique_key).with_for_update()):
        return Grant(0, "duplicate")
    tally = db.session.scalar(
        select(PointDaily)
        .where(PointDaily.member_id == member.id, PointDaily.rule_id == rule.id, PointDaily.day == day)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    used = tally.points if tally else 0
    wanted = units * rule.points
    allowed = wanted if rule.daily_cap is None else max(0, min(wanted, rule.daily_cap - used))
    if allowed <= 0:
        return Grant(0, "capped")
    if tally is None:
        tally = PointDaily(member_id=member.id, rule_id=rule.id, day=day, points=0)
        db.session.add(tally)
    tally.points = used + allowed
    entry = PointEntry(
        member_id=member.id,
        org_id=member.org_id,
        rule_id=rule.id,
        points=allowed,
        day=day,
        source_type=source_type,
        source_id=source_id,
        unique_key=unique_key,
        proxy=proxy,
        created_by=created_by,
    )
    db.session.add(entry)
    db.session.flush()
    ranks.record(entry)  # the leaderboards' rollups, in this transaction
    return Grant(allowed, "granted", entry)


def daily_login(actor: Actor) -> Grant:
    """The day's login point (once per business day, whatever the number of logins)."""
    day = business_day()
    member = actor.member
    return grant(member, "login", unique_key=f"login:{member.id}:{day}", source_type="login", day=day)


def login_point(member_id: int) -> Grant:
    """The day's login point for a member who has just logged in (account or WeChat) or refreshed a token: the same
    key as `daily_login`, so whichever comes first grants it, once, even under concurrent logins (the grant holds the
    member's lock). Grants nothing without the rule or with it switched off; the grant runs in a savepoint. Writes
    the ledger entry and tally (flush only). There are no proxy sessions: proxy study runs in the secretary's own
    session, whose login point is the secretary's."""
    member = db.session.get(Member, member_id)
    if member is None or db.session.scalar(select(PointRule.id).where(PointRule.code == "login")) is None:
        return Grant(0, "inactive")
    # The lock first, outside the savepoint: on SQLite a savepoint opens a deferred transaction whose later write
    # would fail at once (not wait) when another login committed in between. Call it in a transaction that has not
    # yet written rows referencing the member: MariaDB holds a shared lock on the member for each, and two logins
    # upgrading theirs would deadlock.
    serialize_member(member.id)
    try:
        with db.session.begin_nested():
            return daily_login(Actor(member))
    except IntegrityError:  # a concurrent grant of the same key won: the point exists once
        return Grant(0, "duplicate")


def correct(actor: Actor, entry_id: int, points: int, note: str) -> PointEntry:
    """A department's correction of a ledger entry: a new entry of `points` (negative to take back) on the same day,
    organisation and proxy mark as the one corrected. Writes the entry; audited."""
    original = db.session.get(PointEntry, entry_id)
    if original is None:
        raise NotFound("积分记录不存在")
    member = get_member_for(actor, original.member_id)  # 404 out of scope
    try:
        get_member_for(actor, member.id, Action.MANAGE)
    except NotFound:
        raise NotFound("积分记录不存在") from None
    if points == 0:
        raise Invalid("更正分值不能为0", fields={"points": ["不能为0"]})
    if not (note or "").strip():
        raise Invalid("请说明更正原因", fields={"note": ["请说明更正原因"]})
    balance = original.points + (
        db.session.scalar(select(func.sum(PointEntry.points)).where(PointEntry.corrects_id == original.id)) or 0
    )
    if balance + points < 0:
        raise Invalid(f"更正后该记录积分不能为负（当前{balance}分）", fields={"points": [f"不能小于{-balance}"]})
    entry = PointEntry(
        member_id=original.member_id,
        org_id=original.org_id,
        rule_id=rule_by_code(CORRECTION).id,
        points=points,
        day=original.day,
        source_type=CORRECTION,
        source_id=original.id,
        unique_key=f"correction:{uuid.uuid4().hex}",
        proxy=original.proxy,
        corrects_id=original.id,
        note=note.strip(),
        created_by=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    ranks.record(entry)  # the leaderboards' rollups, in this transaction
    audit.record(actor, "learning.points.correct", "point_entry", entry.id, {"corrects": original.id, "points": points})
    return entry


def summary(member: Member) -> dict:
    """Total, today's total, and today's progress per rule against its cap."""
    day = business_day()
    total = db.session.scalar(select(func.sum(PointEntry.points)).where(PointEntry.member_id == member.id)) or 0
    today = (
        db.session.scalar(
            select(func.sum(PointEntry.points)).where(PointEntry.member_id == member.id, PointEntry.day == day)
        )
        or 0
    )
    tallies = dict(
        db.session.execute(
            select(PointDaily.rule_id, PointDaily.points).where(
                PointDaily.member_id == member.id, PointDaily.day == day
            )
        ).all()
    )
    rules = [r for r in list_rules() if r.active and r.code != CORRECTION]
    return {"total": int(total), "today": int(today), "day": day, "rules": [(r, tallies.get(r.id, 0)) for r in rules]}


def ledger(member: Member, page: int, per_page: int) -> Page:
    stmt = select(PointEntry).where(PointEntry.member_id == member.id).order_by(PointEntry.id.desc())
    return paginate(stmt, page, per_page)


def ledger_for(actor: Actor, member_id: int, page: int, per_page: int) -> Page:
    """Another member's ledger, for whoever may see that member (out of scope: 404)."""
    return ledger(get_member_for(actor, member_id), page, per_page)

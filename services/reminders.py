"""Reminders after the scan opened them: closing on evidence, telling people (one notification per recipient and
kind of notice, one daily digest per department admin), the lists the API shows, and departments' urges (督办).

Notifications go through services.notifications (`post` records one, unique by key; `cancel` withdraws unsent
ones); everything here flushes, the caller commits and then enqueues the sends.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import mysql, sqlite

from models import (
    AccountStatus,
    DutyDay,
    Lesson,
    LessonProgress,
    MeetingTally,
    Member,
    Organisation,
    Role,
    db,
)
from models.base import utcnow
from models.meeting import met
from models.reminders import OrgUrge, Reminder, ReminderStage, ReminderSubject
from services import audit
from services.authz import Actor, covers, subtree_clause
from services.errors import Forbidden, NotFound
from services.listing import Page, paginate

PAGE = 2000
LISTED = 3  # reminder titles named in one notification's body
# The title of a missed-duty notice, its body after the days it names, and its page.
DUTY_NOTICE = ("值班未签到", "。如已在岗请及时签到或向组织部门说明。", "/pages/duty/checkin")
MASK_BITS = 62  # candidates one notification's bit mask can name (a scan has a few dozen at most)
_R = Reminder.__table__
_T = MeetingTally.__table__


def _notifications():
    from services import notifications  # the delivery side; imported late so the scan module loads without it

    return notifications


def _zone():
    return current_app.config["SETTINGS"].zone


def _local(dt: datetime) -> datetime:
    return dt.astimezone(_zone())


def found(*where):
    """Whether a row matching `where` (correlated to the outer statement) exists, as a scalar subquery that every
    backend runs as an index probe per outer row. A correlated EXISTS is what it means, but MariaDB rewrites that
    into IN and materializes it: a scan of the whole table or index per statement, however few rows are asked."""
    return select(literal(1)).where(*where).limit(1).scalar_subquery().is_not(None)


# --- closing --------------------------------------------------------------------------------------------------------


def _duty_evidence(since):
    r, d = Reminder, DutyDay
    checked_in = found(d.duty_date == r.day, d.org_id == r.org_id, d.member_id == r.member_id, d.checkins > 0)
    return select(r.id, r.notification_key, r.org_id).where(
        r.closed_at.is_(None), r.subject == ReminderSubject.DUTY, r.day >= since, checked_in
    )


def _learning_evidence():
    r, p = Reminder, LessonProgress
    lessons = select(func.count(Lesson.id)).where(Lesson.course_id == r.subject_id).scalar_subquery()
    done = (
        select(func.count(p.id))
        .where(p.course_id == r.subject_id, p.member_id == r.member_id, p.completed_at.isnot(None))
        .scalar_subquery()
    )
    return select(r.id, r.notification_key, r.org_id).where(
        r.closed_at.is_(None), r.subject == ReminderSubject.LEARNING, done >= lessons
    )


def close_with_evidence(now: datetime, duty_since) -> int:
    """Closes the open duty and learning reminders whose evidence arrived (a check-in on the day, every lesson
    completed; duty days from `duty_since` on: an older day takes no more check-ins) and cancels the notifications
    that carried only closed reminders and are still unsent. Returns how many closed. One statement per subject:
    only what arrived since the last scan matches. Meeting reminders close as the meeting is written
    (`close_held`)."""
    conn = db.session.connection()
    return sum(
        _close(conn, conn.execute(stmt).all(), now) for stmt in (_duty_evidence(duty_since), _learning_evidence())
    )


def close_held(conn, keys=None, kind_ids=None, now: datetime | None = None) -> int:
    """Closes the open meeting reminders whose kind period now has its meetings (the tally's met bit, kept by
    services.meeting_tallies), and cancels the unsent notifications that carried only closed reminders; returns
    how many closed. Called in the transaction that changed the counts (services.meeting_tallies: its flush
    listener with the (organisation, kind, year) keys a flush changed, a kind's new cap with `kind_ids`, a rebuild
    with neither), so a reminder closes as the meeting is recorded and no scan has to look at every open one.
    `conn`: the flush's connection (a flush listener must not flush).

    The reads are locking reads (InnoDB reads the latest committed rows, not this transaction's snapshot): a scan
    that opened this period's reminder while this transaction waited for the tally row (the scan's INSERT …
    SELECT holds it shared) committed after the snapshot was taken, and its reminder must close all the same."""
    r = Reminder
    stmt = (
        select(r.id, r.notification_key, r.org_id)
        .join(_T, and_(_T.c.org_id == r.org_id, _T.c.kind_id == r.subject_id, _T.c.year == r.year))
        .where(r.closed_at.is_(None), r.subject == ReminderSubject.MEETING, met(r.slot) != 0)
        .with_for_update()
    )
    if keys is not None and not keys:
        return 0
    return _close(conn, conn.execute(_of_keys(stmt, keys, kind_ids)).all(), now or utcnow())


def _of_keys(stmt, keys, kind_ids):
    """`stmt` (on Reminder) narrowed to the (organisation, kind, year) `keys` and the `kind_ids`, each if given."""
    r = Reminder
    if keys is not None:
        stmt = stmt.where(tuple_(r.org_id, r.subject_id, r.year).in_(sorted(keys)))
    if kind_ids is not None:
        stmt = stmt.where(r.subject_id.in_(sorted(kind_ids)))
    return stmt


def reopen_unmet(conn, keys=None, kind_ids=None) -> int:
    """The reverse of `close_held`: reopens the meeting reminders closed on evidence whose kind period is no longer
    met (a held meeting's corrected date moved it to another period, a kind's cap was raised, meetings were
    removed before a rebuild); returns how many reopened. Called where close_held is, with the same arguments
    (for the flush's keys only where a count went down). A reopened reminder counts again in the secretary's
    list and the department's digest; nobody is told again (its notice went out, or was cancelled).
    Locking reads, as in close_held."""
    r = Reminder
    stmt = (
        select(r.id)
        .outerjoin(_T, and_(_T.c.org_id == r.org_id, _T.c.kind_id == r.subject_id, _T.c.year == r.year))
        .where(
            r.closed_at.isnot(None),
            r.close_reason == "evidence",
            r.subject == ReminderSubject.MEETING,
            func.coalesce(met(r.slot), 0) == 0,  # no tally row: nothing held
        )
        .with_for_update()
    )
    if keys is not None and not keys:
        return 0
    ids = conn.execute(_of_keys(stmt, keys, kind_ids)).scalars().all()
    for i in range(0, len(ids), PAGE):
        conn.execute(update(_R).where(_R.c.id.in_(ids[i : i + PAGE])).values(closed_at=None, close_reason=None))
    return len(ids)


def _close(conn, rows, now: datetime) -> int:
    """Closes these reminders (id, notification key, organisation) as having their evidence; cancels the
    notifications that now carry only closed reminders (a notification's reminders are all of one organisation:
    looked up through ix_reminders_org, with a locking read, as in `close_held`)."""
    keys, orgs = set(), set()
    for i in range(0, len(rows), PAGE):
        batch = rows[i : i + PAGE]
        conn.execute(
            update(_R).where(_R.c.id.in_([row[0] for row in batch])).values(closed_at=now, close_reason="evidence")
        )
        keys.update(key for _rid, key, _org in batch if key)
        orgs.update(org for _rid, key, org in batch if key)
    if keys:
        still = (
            select(_R.c.notification_key)
            .where(_R.c.org_id.in_(sorted(orgs)), _R.c.closed_at.is_(None), _R.c.notification_key.in_(keys))
            .with_for_update(read=True)
        )
        done = keys - set(conn.execute(still).scalars())
        if done:
            _notifications().cancel(sorted(done), conn)
    return len(rows)


# --- telling people ---------------------------------------------------------------------------------------------


def secretary_of(o=Organisation):
    """The organisation's secretary: the appointed one, else its lowest-numbered active member with the role."""
    m = Member
    fallback = (
        select(func.min(m.id))
        .where(m.org_id == o.id, m.role == Role.SECRETARY, m.status == AccountStatus.ACTIVE)
        .scalar_subquery()
    )
    return func.coalesce(o.secretary_id, fallback)


def _pending(subject_clause, group_column):
    r = Reminder

    def stmt(after):
        return (
            select(group_column, r.id, r.subject, r.stage, r.title, r.due_at, r.org_id)
            .where(r.notified_at.is_(None), r.closed_at.is_(None), subject_clause, group_column > after)
            .order_by(group_column, r.id)
        )

    return stmt


def notify_pending(now: datetime) -> None:
    """Posts one notification per recipient and kind of notice for the reminders not yet dealt with (created at
    `now`), and marks them (notified_at, notification_key). Meeting reminders go to the branch's secretary; duty
    and learning reminders to their person."""
    from services.reminder_scan import keyset_pages

    r = Reminder
    waiting = select(r.id).where(r.notified_at.is_(None), r.closed_at.is_(None)).limit(1)
    if db.session.scalar(waiting) is None:
        return  # the usual rerun: one probe of ix_reminders_pending instead of two ordered scans
    meeting = _pending(r.subject == ReminderSubject.MEETING, r.org_id)
    for page in keyset_pages(meeting, 0):
        orgs = _org_recipients({row.org_id for row in page})
        _notify_groups(page, lambda row, o=orgs: o.get(row.org_id, (None, None)), now)
    personal = _pending(r.subject.in_((ReminderSubject.DUTY, ReminderSubject.LEARNING)), r.member_id)
    for page in keyset_pages(personal, 0):
        names = _org_recipients({row.org_id for row in page})
        _notify_groups(page, lambda row, n=names: (row[0], n.get(row.org_id, (None, None))[1]), now)


def _org_recipients(org_ids) -> dict[int, tuple[int | None, str]]:
    o = Organisation
    rows = db.session.execute(select(o.id, secretary_of(o), o.name).where(o.id.in_(sorted(org_ids))))
    return {org_id: (secretary, name) for org_id, secretary, name in rows}


def _notify_groups(rows, recipient_of, now: datetime) -> None:
    """Posts the notices of one page of reminders and marks them."""
    groups: dict[tuple, list] = defaultdict(list)
    for row in rows:
        member_id, org_name = recipient_of(row)
        groups[(member_id, category_of(row.subject, row.stage), org_name)].append(row)
    messages, marks = [], []
    for (member_id, category, org_name), items in groups.items():
        key = None
        if member_id is not None:
            key = f"reminder:{items[0].id}"
            title, body, page = _message(category, org_name, items)
            due = min(i.due_at for i in items)
            messages.append(
                {"member_id": member_id, "key": key, "category": category, "title": title, "body": body}
                | {"page": page, "due_at": due, "org_name": org_name}
            )
        marks += [(i.id, key) for i in items]
    post_many(messages, now)
    # One UPDATE per 500 reminders (the drivers run an executemany of UPDATEs row by row).
    for start in range(0, len(marks), 500):
        chunk = marks[start : start + 500]
        keys = {rid: key for rid, key in chunk if key is not None}
        key_of = case(keys, value=_R.c.id, else_=None) if keys else None
        db.session.execute(
            update(_R).where(_R.c.id.in_([rid for rid, _key in chunk])).values(notified_at=now, notification_key=key_of)
        )


def post_many(messages: list[dict], now: datetime) -> None:
    """services.notifications.post for many messages at once (a scan at a period's end posts thousands; one
    post() is four round trips): the same checks and row (created at `now`, which is how the scan finds them
    again: services.reminder_scan.ScanResult), one multi-row insert that skips existing keys."""
    from models.notifications import Notification, NotificationStatus

    notifications = _notifications()
    if not messages:
        return
    for m in messages:
        if m["category"] not in notifications.CATEGORIES:
            raise ValueError(f"unknown notification category {m['category']!r}")
    table = Notification.__table__
    keys = [m["key"] for m in messages]
    existing = set(db.session.scalars(select(Notification.key).where(Notification.key.in_(keys))))
    rows = [
        m
        | {
            "title": m["title"][: notifications.TITLE_LENGTH],
            "org_name": (m["org_name"] or None) and m["org_name"][:100],
            "status": NotificationStatus.PENDING.value,
            "created_at": now,
            "updated_at": now,
        }
        for m in messages
        if m["key"] not in existing
    ]
    if not rows:
        return
    conn = db.session.connection()
    if conn.dialect.name == "mysql":
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update(key=stmt.inserted.key)  # a key raced in meanwhile: keep that row
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    conn.execute(stmt, rows)


class Item(NamedTuple):
    """What a notification's text names of one reminder it carries."""

    title: str
    due_at: datetime
    org_id: int
    stage: ReminderStage


def scan_stamp(now: datetime) -> str:
    """The scan's part of the keys of the notifications it posts for the meeting reminders it opens."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")


def post_meeting_notices(candidates, now: datetime) -> None:
    """Posts the notifications that the meeting reminders opened by this scan carry (services.reminder_scan wrote
    each row with the key of its notification: one per organisation and kind of notice, to the secretary), with
    one INSERT … SELECT: the rows are grouped by notification, each group's candidates read as a bit mask. A
    notification's text depends on its organisation and on that mask and count only (a scan has a few dozen to a
    few hundred distinct ones), so the texts are written here once per shape, as a table of literals the groups
    join. Neither the rows nor the tree are read into memory."""
    from models.notifications import Notification

    r, o, n = Reminder, Organisation, Notification
    listed = [c for c in candidates if c.stage != ReminderStage.ESCALATE][:MASK_BITS]
    if not listed:
        return
    bit = case(
        *[
            (and_(r.subject_id == c.kind.id, r.period == c.label, r.stage == c.stage), literal(1 << i))
            for i, c in enumerate(listed)
        ],
        else_=0,
    )
    groups = (
        select(r.org_id, r.notification_key.label("key"), func.sum(bit).label("mask"), func.count().label("n"))
        .where(r.subject == ReminderSubject.MEETING, r.notified_at == now, r.notification_key.isnot(None))
        .group_by(r.org_id, r.notification_key)
        .subquery()
    )
    g = groups.c
    shapes = db.session.execute(select(g.mask, g.n).where(g.mask > 0).distinct()).all()
    if not shapes:
        return
    texts = []
    for mask, count in shapes:
        items = [Item(c.title, c.due_at, 0, c.stage) for i, c in enumerate(listed) if int(mask) >> i & 1]
        category = category_of(ReminderSubject.MEETING, items[0].stage)
        title, tail = _meeting_text(category, items, count)
        texts.append(
            {
                "mask": literal(int(mask), Integer),
                "n": literal(count, Integer),
                "category": literal(category, String),
                "title": literal(title, String),
                "due_at": literal(min(i.due_at for i in items), n.due_at.type),
                "tail": literal(tail, String),
            }
        )
    t = literal_table(texts, "shapes")
    secretary = secretary_of(o)
    rows = (
        select(
            *select_columns(
                n.__table__,
                member_id=secretary,
                key=g.key,
                category=t.c.category,
                title=t.c.title,
                body=o.name + t.c.tail,
                page=literal("/pages/meetings/meetings?org_id=", String) + cast(o.id, String),
                due_at=t.c.due_at,
                org_name=o.name,
            )
        )
        .select_from(groups)
        .join(t, and_(t.c.mask == g.mask, t.c.n == g.n))
        .join(o, o.id == g.org_id)
        .where(secretary.isnot(None))
    )
    _post_selected(rows, now)


def post_duty_notices(now: datetime) -> None:
    """Posts the notifications that the duty reminders opened by this scan carry (services.reminder_scan keyed
    them: one per cadre and village), with one INSERT … SELECT grouping the rows by notification; the body names
    the missed days (all of them up to LISTED, else the first and how many)."""
    from models.notifications import Notification

    r, o = Reminder, Organisation
    groups = (
        select(
            r.notification_key.label("key"),
            r.member_id,
            r.org_id,
            func.count().label("n"),
            func.min(r.due_at).label("due_at"),
            func.min(r.title).label("first"),
            func.aggregate_strings(r.title, "、").label("titles"),
        )
        .where(r.subject == ReminderSubject.DUTY, r.notified_at == now, r.notification_key.isnot(None))
        .group_by(r.notification_key, r.member_id, r.org_id)
        .subquery()
    )
    g = groups.c
    named = case(
        (g.n <= LISTED, g.titles), else_=g.first + literal("等", String) + cast(g.n, String) + literal("项", String)
    )
    title, tail, page = DUTY_NOTICE
    rows = (
        select(
            *select_columns(
                Notification.__table__,
                member_id=g.member_id,
                key=g.key,
                category="duty_missed",
                title=title,
                body=named + literal(tail, String),
                page=page,
                due_at=g.due_at,
                org_name=o.name,
            )
        )
        .select_from(groups)
        .join(o, o.id == g.org_id)
    )
    _post_selected(rows, now)


def _post_selected(rows, now: datetime) -> None:
    """Posts the notifications that `rows` selects (member_id, key, category, title, body, page, due_at,
    org_name) as pending, created at `now`, skipping keys that exist.

    `rows` selects from this scan's reminders grouped by notification, then joins the organisations: read in
    that order (STRAIGHT_JOIN), since MariaDB otherwise starts from the organisations and regroups each one's
    reminders (a "lateral" derived table, an index read of every reminder of every organisation)."""
    from models.notifications import Notification, NotificationStatus

    n = Notification
    rows = rows.add_columns(
        *select_columns(n.__table__, status=NotificationStatus.PENDING.value, created_at=now, updated_at=now)
    ).prefix_with("STRAIGHT_JOIN", dialect="mysql")
    insert_select(n.__table__, rows)


def select_columns(table, **values) -> list:
    """The SELECT list of an INSERT … SELECT into `table`, in its column names: SQL expressions as they are,
    Python values as parameters of the column's type."""
    out = []
    for name, value in values.items():
        if hasattr(value, "__clause_element__"):
            value = value.__clause_element__()
        elif not isinstance(value, ColumnElement):
            value = literal(value, table.c[name].type) if value is not None else null()
        out.append(value.label(name))
    return out


def literal_table(rows: list[dict], name: str):
    """A table of literals, one row per dict of `rows` (a UNION ALL of one-row SELECTs), its columns named as the
    dicts' keys: SQL expressions as they are, Python values as bound literals."""
    selects = [
        select(*[(v if isinstance(v, ColumnElement) else literal(v)).label(k) for k, v in row.items()]) for row in rows
    ]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery(name)


def insert_select(table, select_stmt) -> int:
    """INSERT INTO table … SELECT into a table with a unique `key`, skipping keys that exist (a concurrent
    writer's). Returns the rows written."""
    names = [col.name for col in select_stmt.selected_columns]
    if db.session.connection().dialect.name == "mysql":
        stmt = mysql.insert(table).from_select(names, select_stmt)
        stmt = stmt.on_duplicate_key_update(key=table.c.key)  # a no-op: the row stays as it is
    else:
        if select_stmt.whereclause is None:  # SQLite reads a join's ON … ON CONFLICT ambiguously without a WHERE
            select_stmt = select_stmt.where(true())
        stmt = sqlite.insert(table).from_select(names, select_stmt).on_conflict_do_nothing(index_elements=["key"])
    return db.session.execute(stmt).rowcount


def category_of(subject: ReminderSubject, stage: ReminderStage) -> str:
    if subject == ReminderSubject.MEETING:
        return "meeting_due" if stage == ReminderStage.REMIND else "meeting_overdue"
    return "duty_missed" if subject == ReminderSubject.DUTY else "learning_due"


def _titles(items, count: int | None = None) -> str:
    count = len(items) if count is None else count
    names = "、".join(i.title for i in items[:LISTED])
    return names + (f"等{count}项" if count > LISTED else "")


def _meeting_text(category: str, items, count: int | None = None) -> tuple[str, str]:
    """The title of a meeting notice, and its body after the organisation's name."""
    if category == "meeting_due":
        last_day = _local(min(i.due_at for i in items) - timedelta(seconds=1))
        tail = f"：{_titles(items, count)}尚未开展，请于{last_day.month}月{last_day.day}日前完成并上传记录。"
        return "组织生活即将到期", tail
    return "组织生活已逾期", f"：{_titles(items, count)}未按期开展，已通报上级组织部门，请尽快补开并上传记录。"


def _message(category: str, org_name: str | None, items, count: int | None = None) -> tuple[str, str, str]:
    org_id = items[0].org_id
    if category in ("meeting_due", "meeting_overdue"):
        title, tail = _meeting_text(category, items, count)
        return title, f"{org_name}{tail}", f"/pages/meetings/meetings?org_id={org_id}"
    if category == "duty_missed":
        title, tail, page = DUTY_NOTICE
        return title, _titles(items, count) + tail, page
    due = _local(items[0].due_at)
    late = items[0].stage != ReminderStage.REMIND
    body = f"{_titles(items, count)}，完成期限{due.month}月{due.day}日{due:%H:%M}，请尽快完成学习。"
    return ("必修课程已逾期" if late else "必修课程即将截止"), body, "/pages/learning/home"


def post_digests(now: datetime) -> list[int]:
    """Once per business day, at the first scan from REMINDER_DIGEST_HOUR on: one digest per department admin of
    the alerts addressed to the department (organisations overdue, escalated ones, absent cadres), by count. An
    admin whose department has none gets nothing. Returns the ids of the notifications posted."""
    from models.notifications import Notification

    local = _local(now)
    if local.hour < current_app.config["SETTINGS"].reminder_digest_hour:
        return []
    m, r = Member, Reminder
    admins = db.session.execute(
        select(m.id, m.managed_org_id)
        .where(m.role == Role.DEPT_ADMIN, m.status == AccountStatus.ACTIVE, m.managed_org_id.isnot(None))
        .order_by(m.id)
    ).all()
    keys = {admin_id: f"digest:{admin_id}:{local.date().isoformat()}" for admin_id, _dept in admins}
    sent = set(db.session.scalars(select(Notification.key).where(Notification.key.in_(list(keys.values())))))
    admins = [(admin_id, dept_id) for admin_id, dept_id in admins if keys[admin_id] not in sent]
    if not admins:
        return []  # every scan of the day after the first: no grouping at all
    counts = db.session.execute(
        select(r.dept_org_id, r.subject, func.count(func.distinct(r.org_id)), func.count(func.distinct(r.member_id)))
        .where(r.closed_at.is_(None), r.dept_org_id.isnot(None))
        .group_by(r.dept_org_id, r.subject)
    ).all()
    per_dept: dict[int, dict[str, int]] = defaultdict(dict)
    for dept_id, subject, orgs, people in counts:
        per_dept[dept_id][ReminderSubject(subject).value] = people if subject == ReminderSubject.DUTY else orgs
    posted = []
    for admin_id, dept_id in admins:
        n = per_dept.get(dept_id)
        if not n:
            continue
        parts = []
        if n.get("meeting"):
            parts.append(f"{n['meeting']}个组织未按期开展组织生活")
        if n.get("duty"):
            parts.append(f"{n['duty']}名驻村干部值班未签到")
        body = f"截至{local.month}月{local.day}日{local:%H:%M}，下级" + "，".join(parts) + "。请查看逾期清单并督办。"
        nid = _notifications().post(
            admin_id,
            key=keys[admin_id],
            category="digest",
            title="组织生活与值班情况日报",
            body=body,
            page=f"/pages/reminders/overdue?org_id={dept_id}",
        )
        if nid is not None:
            posted.append(nid)
    return posted


# --- lists ------------------------------------------------------------------------------------------------------


def list_mine(actor: Actor, status: str, page: int, per_page: int) -> Page:
    """The actor's own reminders (as cadre or learner) and, for a secretary, its branch's meeting reminders."""
    me, r = actor.member, Reminder
    if me is None:
        raise NotFound("党员不存在")
    mine = r.member_id == me.id
    is_secretary = actor.role == Role.SECRETARY or me.org.secretary_id == me.id
    if is_secretary:
        mine = mine | and_(r.member_id.is_(None), r.org_id == me.org_id)
    state = r.closed_at.is_(None) if status == "open" else r.closed_at.isnot(None)
    return paginate(select(r).where(mine, state).order_by(r.id.desc()), page, per_page)


def department_root(actor: Actor, org_id: int | None) -> Organisation:
    """The organisation whose subtree a department reads: its own root by default; 404 outside its scope or for
    anyone but a department or the operator."""
    if not (actor.is_super or actor.role == Role.DEPT_ADMIN):
        raise NotFound("组织不存在")
    org = actor.scope_root() if org_id is None else db.session.get(Organisation, org_id)
    if org is None and actor.is_super:
        org = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id))
    if org is None or not covers(actor, org):
        raise NotFound("组织不存在")
    return org


def list_overdue(actor: Actor, org_id: int | None, subject: str | None, page: int, per_page: int) -> tuple:
    """Open OVERDUE reminders of the subtree (organisations behind, cadres absent), newest first, and the set of
    their ids already escalated."""
    root, r = department_root(actor, org_id), Reminder
    stmt = (
        select(r)
        .join(Organisation, Organisation.id == r.org_id)
        .where(subtree_clause(root), r.closed_at.is_(None), r.stage == ReminderStage.OVERDUE)
        .order_by(r.id.desc())
    )
    if subject:
        stmt = stmt.where(r.subject == ReminderSubject(subject))
    result = paginate(stmt, page, per_page)
    by_key = {rem.key.rsplit(":", 1)[0] + ":escalate": rem.id for rem in result.items}
    escalated = select(r.key).where(r.key.in_(list(by_key)), r.closed_at.is_(None)) if by_key else None
    return root, result, {by_key[k] for k in db.session.scalars(escalated)} if by_key else set()


# --- urges (督办) ------------------------------------------------------------------------------------------------


def _urgeable(actor: Actor, org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or not covers(actor, org):
        raise NotFound("组织不存在")
    return org


def urge_org(actor: Actor, org_id: int, reason: str) -> tuple[OrgUrge, int | None]:
    """A department urges a subordinate organisation: records who, when and why, and notifies its secretary
    (posted; the caller commits and enqueues the send). Audited. 404 outside the actor's subtree; 403 for its own
    organisation or for anyone but a department."""
    org = _urgeable(actor, org_id)
    if not (actor.is_super or actor.role == Role.DEPT_ADMIN):
        raise Forbidden("只有上级组织部门可以督办")
    root = actor.scope_root()
    if root is not None and org.id == root.id:
        raise Forbidden("只能督办下级组织")
    recipient = db.session.scalar(select(secretary_of(Organisation)).where(Organisation.id == org.id))
    urge = OrgUrge(org_id=org.id, urged_by=actor.id, reason=reason, recipient_id=recipient)
    db.session.add(urge)
    db.session.flush()
    nid = None
    if recipient is not None:
        urge.notification_key = f"urge:{urge.id}"
        by = root.name if root is not None else "上级组织部门"
        nid = _notifications().post(
            recipient,
            key=urge.notification_key,
            category="urge",
            title="上级督办",
            body=f"{by}督办{org.name}：{reason}",
            page=f"/pages/meetings/meetings?org_id={org.id}",
            org_name=org.name,
        )
    audit.record(actor, "org.urge", "organisation", org.id, {"urge_id": urge.id, "notified": recipient is not None})
    db.session.flush()
    return urge, nid


def list_urges(actor: Actor, org_id: int, page: int, per_page: int) -> Page:
    """The urges an organisation received, newest first: for its secretary and the departments above it."""
    org = _urgeable(actor, org_id)
    stmt = select(OrgUrge).where(OrgUrge.org_id == org.id).order_by(OrgUrge.id.desc())
    return paginate(stmt, page, per_page)

"""The compliance scan: over the whole city, opens the reminders that are due, closes the duty and learning ones
whose evidence arrived, and tells people — one notification per recipient and kind of notice, and one daily digest
per department admin. Meeting reminders close as the meeting is written (services.meeting_tallies calls
services.reminders.close_held in the same transaction), so the scan never rereads the open ones.

Who is told at each stage (the rules, services.reminder_rules, say when):
- meetings (per kind and kind period, read from the tallies of services.meeting_tallies): REMIND the branch
  secretary before the period ends; OVERDUE once it ended without enough meetings held — the secretary, and the
  branch's department (the nearest committee above it at township level or higher) in its digest; ESCALATE after
  the further delay — the department above that one, in its digest;
- duty (a rostered cadre without a check-in on the day, as the duty board counts absence): OVERDUE the cadre after
  the shift's end; ESCALATE the village's department, in its digest;
- learning (a compulsory course not completed): REMIND the member before the deadline (OVERDUE the member after
  it, when the rule sets hours).

Every row carries a unique key (subject, organisation or person, kind/assignment/course, period, stage) and is
inserted with ON CONFLICT DO NOTHING / ON DUPLICATE KEY UPDATE (no-op), so reruns and concurrent scans open
nothing twice; a statement asks "does this reminder exist" as one index probe per row (`_exists`), so a rerun reads
no rows it would only skip. Meeting reminders (the bulk: tens of thousands when a period ends) are built and
written by the database, one INSERT … SELECT for every candidate (kind, kind period, stage) at once, each row
already naming the notification that carries it; duty reminders likewise, one INSERT … SELECT per day and stage;
learning rows are built here, in keyset pages. Memory does not grow with the tree: not even the ids of the
notifications posted are held (`ScanResult.notification_id_pages` reads them back in pages after the commit).
Writes: reminders (insert, update), notifications (services.reminders.post_many / digests /
services.notifications.cancel), flush only; the caller commits, then enqueues the sends of each page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import aliased

from models import (
    AccountStatus,
    Cadence,
    Course,
    CourseAudience,
    CourseStatus,
    CourseTrack,
    DutyAssignment,
    DutyDay,
    DutyException,
    DutyRoster,
    KindAudience,
    LearningChannel,
    Lesson,
    LessonProgress,
    MeetingKind,
    MeetingTally,
    Member,
    MemberCategory,
    Organisation,
    OrgKind,
    OrgLevel,
    PartyStatus,
    db,
)
from models.base import utcnow
from models.meeting import met
from models.notifications import Notification
from models.reminders import Reminder, ReminderRule, ReminderStage, ReminderSubject
from services import reminders as lifecycle
from services.meeting_stats import label_of, period_end
from services.meeting_tallies import slot_of
from services.meetings import LEADERSHIP_LEVELS
from services.reminders import found

PAGE = 2000
GRACE = timedelta(days=3)  # a scheduler outage shorter than this still opens every ended period's stages
DUTY_DAYS = 3  # duty shifts of today and the two days before are looked at
DEPARTMENT_KINDS = (OrgKind.COMMITTEE, OrgKind.WORKING_COMMITTEE)
DEPARTMENT_LEVELS = (OrgLevel.CITY, OrgLevel.COUNTY, OrgLevel.TOWNSHIP)
_R = Reminder.__table__
_T = MeetingTally.__table__


@dataclass
class ScanResult:
    now: datetime
    opened: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in ReminderSubject})
    closed: int = 0
    notified: int = 0
    digests: int = 0
    posted_after: int = 0  # the highest notification id before the scan posted any
    digest_ids: list[int] = field(default_factory=list)  # one per department admin at most

    def summary(self) -> dict:
        return {"opened": self.opened, "closed": self.closed, "notified": self.notified, "digests": self.digests}

    def notices(self, after: int):
        """The WHERE clause of this scan's notices with ids above `after`: every notification the scan posts but
        the digests is created at its `now` (services.reminders.post_many and _post_selected)."""
        n = Notification
        return and_(n.id > after, n.created_at == self.now, n.category != "digest")

    def notification_id_pages(self, size: int = PAGE):
        """The ids of the notifications this scan posted, in pages of `size` (after the commit): the notices,
        then the digests. Memory stays flat however many a period's end posts."""
        after = self.posted_after
        if self.notified:
            while ids := db.session.scalars(
                select(Notification.id).where(self.notices(after)).order_by(Notification.id).limit(size)
            ).all():
                yield list(ids)
                after = ids[-1]
        if self.digest_ids:
            yield list(self.digest_ids)


def _zone():
    return current_app.config["SETTINGS"].zone


def run_scan(now: datetime | None = None) -> ScanResult:
    """One scan as of `now` (default: the current time; tests pass another). Flushes; the caller commits and then
    enqueues the sends of each of `notification_id_pages()`."""
    now = now or utcnow()
    result = ScanResult(now)
    rules = {r.code: r for r in db.session.scalars(select(ReminderRule).where(ReminderRule.enabled.is_(True)))}
    result.closed = lifecycle.close_with_evidence(now, _duty_since(now))
    depth = db.session.scalar(select(func.max(Organisation.depth))) or 0
    result.opened["meeting"], candidates = _open_meetings(rules, depth, now)
    duty = rules.get("duty_missed")
    result.opened["duty"] = _open_duty(duty, depth, now) if duty else 0
    learning = rules.get("learning_due")
    result.opened["learning"] = _insert(_learning_rows(learning, now)) if learning else 0
    result.posted_after = db.session.scalar(select(func.max(Notification.id))) or 0
    if result.opened["meeting"]:
        lifecycle.post_meeting_notices(candidates, now)
    if result.opened["duty"]:
        lifecycle.post_duty_notices(now)
    lifecycle.notify_pending(now)
    result.notified = db.session.scalar(select(func.count()).where(result.notices(result.posted_after)))
    result.digest_ids = lifecycle.post_digests(now)
    result.digests = len(result.digest_ids)
    return result


def _duty_since(now: datetime) -> date:
    """The first duty day whose reminders a check-in can still close (check-ins are refused
    DUTY_MAX_BACKDATE_DAYS after their reading time; a day's margin for the time zone)."""
    back = max(DUTY_DAYS, current_app.config["SETTINGS"].duty_max_backdate_days) + 1
    return now.astimezone(_zone()).date() - timedelta(days=back)


# --- writing ----------------------------------------------------------------------------------------------------


def _insert(rows) -> int:
    """Inserts the rows in batches, skipping keys that exist; returns how many were new."""
    conn = db.session.connection()
    if conn.dialect.name == "mysql":
        stmt = mysql.insert(_R)
        stmt = stmt.on_duplicate_key_update(key=stmt.inserted.key)  # a no-op: the row stays as it is
    else:
        stmt = sqlite.insert(_R).on_conflict_do_nothing(index_elements=["key"])
    new, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == PAGE:
            new += _run_batch(conn, stmt, batch)
            batch = []
    if batch:
        new += _run_batch(conn, stmt, batch)
    return new


def _insert_new(select_stmt) -> int:
    """Writes the reminder rows `select_stmt` selects (INSERT … SELECT), if it selects any; returns how many were
    new. Asked first as a plain read of one row: InnoDB runs the SELECT of an INSERT … SELECT as a locking read,
    about twice as slow, and most scans (every 15 minutes between period ends) have nothing new to write. The
    locks matter when there is: a meeting recorded meanwhile waits for this scan and then closes what it opened
    (services.reminders.close_held), or this scan waits for it and sees the meeting."""
    if (
        db.session.execute(select_stmt.with_only_columns(literal(1), maintain_column_froms=True).limit(1)).first()
        is None
    ):
        return 0
    return lifecycle.insert_select(_R, select_stmt)


def _run_batch(conn, stmt, batch) -> int:
    # The rowcount of a multi-row upsert differs between drivers (MySQL's FOUND_ROWS counts a kept duplicate):
    # count the keys that exist first, by the unique index.
    keys = {row["key"] for row in batch}
    existing = conn.execute(select(func.count()).select_from(_R).where(_R.c.key.in_(keys))).scalar()
    conn.execute(stmt, batch)
    return len(keys) - existing


def _row(rule, subject, stage, key, org_id, subject_id, period, due_at, title, now, **extra) -> dict:
    digest_only = stage == ReminderStage.ESCALATE
    return {
        "key": key,
        "rule_id": rule.id,
        "subject": subject.value,
        "stage": stage.value,
        "org_id": org_id,
        "member_id": extra.get("member_id"),
        "dept_org_id": extra.get("dept_org_id"),
        "subject_id": subject_id,
        "period": period,
        "year": extra.get("year"),
        "slot": extra.get("slot"),
        "day": extra.get("day"),
        "due_at": due_at,
        "title": title[:100],
        "created_at": now,
        "notified_at": now if digest_only else None,
    }


def keyset_pages(make_stmt, group_index: int):
    """Runs `make_stmt(after)` (ordered by the group column, then unique) page by page; a page never splits a
    group unless one group fills it. Yields lists of rows."""
    after = 0
    while True:
        rows = db.session.execute(make_stmt(after).limit(PAGE)).all()
        if not rows:
            return
        full = len(rows) == PAGE
        if full:
            tail = rows[-1][group_index]
            kept = [r for r in rows if r[group_index] != tail]
            rows = kept or rows
        yield rows
        if not full:
            return
        after = rows[-1][group_index]


# --- meetings -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    kind: MeetingKind
    rule: ReminderRule
    label: str
    stage: ReminderStage
    due_at: datetime

    @property
    def slot(self) -> tuple[int, int]:
        return slot_of(self.label)

    @property
    def title(self) -> str:
        return f"{self.kind.name}（{period_text(self.label)}）"[:100]


def _previous(cadence: Cadence, label: str) -> str:
    year, slot = slot_of(label)
    if cadence == Cadence.YEAR:
        return str(year - 1)
    if cadence == Cadence.QUARTER:
        return f"{year}Q{slot - 1}" if slot > 1 else f"{year - 1}Q4"
    return f"{year}-{slot - 1:02d}" if slot > 1 else f"{year - 1}-12"


def period_text(label: str) -> str:
    year, slot = slot_of(label)
    if len(label) == 4:
        return f"{year}年度"
    return f"{year}年第{slot}季度" if "Q" in label else f"{year}年{slot}月"


def meeting_candidates(rules: dict[str, ReminderRule], kinds, now: datetime) -> list[Candidate]:
    """The (kind, kind period, stage) due as of `now`: REMIND for the running period once within the rule's days;
    OVERDUE and ESCALATE for ended periods once their hours have passed (the last ended period always, earlier ones
    while their latest stage is younger than GRACE), except periods that ended before REMINDERS_SINCE (the
    platform's go-live: it holds no records of them). A period running on that day is judged: its earlier meetings
    can be entered late."""
    local = now.astimezone(_zone())
    since = current_app.config["SETTINGS"].reminders_since
    judged_after = datetime.combine(since, time(), tzinfo=_zone()) if since else None
    out = []
    for kind in kinds:
        rule = rules.get(f"meeting_{kind.cadence.value}")
        if rule is None:
            continue
        label = label_of(kind.cadence, local.year, local.month)
        end = period_end(label).astimezone(UTC)
        judged = judged_after is None or end > judged_after
        if judged and rule.remind_days_before is not None and end - timedelta(days=rule.remind_days_before) <= now:
            out.append(Candidate(kind, rule, label, ReminderStage.REMIND, end))
        stages = [
            (stage, hours)
            for stage, hours in (
                (ReminderStage.OVERDUE, rule.overdue_after_hours),
                (ReminderStage.ESCALATE, rule.escalate_after_hours),
            )
            if hours is not None
        ]
        latest = max((h for _s, h in stages), default=0)
        label = _previous(kind.cadence, label)
        first = True
        while stages:
            end = period_end(label).astimezone(UTC)
            if not first and end + timedelta(hours=latest) + GRACE < now:
                break
            if judged_after is not None and end <= judged_after:
                break  # this period and every earlier one ended before the go-live
            out += [Candidate(kind, rule, label, s, end) for s, h in stages if end + timedelta(hours=h) <= now]
            label, first = _previous(kind.cadence, label), False
    return out


def _audience(o):
    return case(
        (o.kind.in_((OrgKind.BRANCH, OrgKind.JOINT_BRANCH)), literal(KindAudience.BRANCH.value)),
        (o.level.in_(LEADERSHIP_LEVELS), literal(KindAudience.LEADERSHIP.value)),
        else_=None,
    )


def _open_meetings(rules, depth: int, now) -> tuple[int, list[Candidate]]:
    """Opens the meeting reminders due as of `now` with one INSERT … SELECT over every candidate (kind, kind
    period, stage), so the rows are built and written by the database (a period's end opens tens of thousands at
    once) and the tree is read once, not once per candidate. Each row is written already dealt with: the key of
    the notification that will carry it (services.reminders.post_meeting_notices posts them next), or none.
    Returns how many were new, and the candidates."""
    kinds = db.session.scalars(select(MeetingKind).where(MeetingKind.active.is_(True)).order_by(MeetingKind.id)).all()
    cands = meeting_candidates(rules, kinds, now)
    if not cands:
        return 0, cands
    return _insert_new(_meeting_select(cands, depth, now)), cands


def _candidate_tables(cands: list[Candidate]):
    """The candidates as two tables of literals: their (kind, tally year)s with the kind's audience, which the
    tallies are joined on (the stages and periods of a kind's year share its tally row), and the candidates, one
    row each, with the constant parts of the reminder rows they write."""
    kind_years, rows = {}, []
    for c in cands:
        year, slot = c.slot
        kind_years[(c.kind.id, year)] = {"kind_id": c.kind.id, "year": year, "audience": _text(c.kind.audience.value)}
        notice = None
        if c.stage != ReminderStage.ESCALATE:  # an escalation is carried by the digests only
            notice = f"reminder:{lifecycle.category_of(ReminderSubject.MEETING, c.stage)}:"
        rows.append(
            {
                "kind_id": c.kind.id,
                "year": year,
                "slot": slot,
                "period": _text(c.label),
                "stage": _text(c.stage.value),
                "rule_id": c.rule.id,
                "due_at": literal(c.due_at, _R.c.due_at.type),
                "title": _text(c.title),
                "key_tail": _text(f":{c.kind.id}:{c.label}:{c.stage.value}"),
                "notice": _text(notice) if notice else null(),
            }
        )
    return lifecycle.literal_table(list(kind_years.values()), "kind_years"), lifecycle.literal_table(rows, "candidates")


def _meeting_select(cands: list[Candidate], depth: int, now: datetime):
    """The reminder rows of the candidates: each active organisation, with each candidate of its audience whose
    tally of the period is short and whose reminder of that stage does not exist yet (a rerun reads index probes
    and inserts nothing). Joined in this order (STRAIGHT_JOIN), so that each lookup is made once: the
    organisations, their departments, the (kind, year)s of their audience, the tally of each, the candidates of
    each. MariaDB would otherwise read the tree again for each candidate."""
    o = Organisation
    ky, c = _candidate_tables(cands)
    stmt = select(o.id).select_from(o)
    stmt, nearest, second = _with_departments(stmt, depth)
    overdue, escalate = ReminderStage.OVERDUE.value, ReminderStage.ESCALATE.value
    stmt = (
        stmt.join(ky, ky.c.audience == _audience(o))
        .outerjoin(_T, and_(_T.c.org_id == o.id, _T.c.kind_id == ky.c.kind_id, _T.c.year == ky.c.year))
        .join(c, and_(c.c.kind_id == ky.c.kind_id, c.c.year == ky.c.year))
        .where(
            o.active.is_(True),
            func.coalesce(met(c.c.slot), 0) == 0,  # no tally row: nothing held
            ~_exists(o.id, c.c.kind_id, c.c.period, c.c.stage),
            or_(c.c.stage != escalate, second.isnot(None)),  # nobody above the department: nobody to escalate to
        )
        .with_hint(_T, "USE INDEX (ix_meeting_tallies_met)", "mysql")  # answered from the index alone
        .prefix_with("STRAIGHT_JOIN", dialect="mysql")
    )
    notice = type_coerce(c.c.notice, String) + cast(o.id, String) + _text(f":{lifecycle.scan_stamp(now)}")
    return stmt.with_only_columns(
        *lifecycle.select_columns(
            _R,
            key=_text("meeting:") + cast(o.id, String) + c.c.key_tail,
            rule_id=c.c.rule_id,
            subject=ReminderSubject.MEETING.value,
            stage=c.c.stage,
            org_id=o.id,
            member_id=None,
            dept_org_id=case((c.c.stage == overdue, nearest), (c.c.stage == escalate, second), else_=null()),
            subject_id=c.c.kind_id,
            period=c.c.period,
            year=c.c.year,
            slot=c.c.slot,
            day=None,
            due_at=c.c.due_at,
            title=c.c.title,
            created_at=now,
            notified_at=now,
            # one notification per organisation, kind of notice and scan, to its secretary (none without one)
            notification_key=case(
                (c.c.notice.is_(None), null()), (lifecycle.secretary_of(o).isnot(None), notice), else_=null()
            ),
        )
    )


def _text(value: str):
    return literal(value, String)


def _with_departments(stmt, depth: int):
    """Joins an organisation's ancestors (parent, grandparent, … up to `depth`) and returns the statement with the
    nearest department above it and the one above that (active committees at township level and up, the
    organisation itself excluded)."""
    joins, nearest, second = _ancestry(depth)
    for p, on in joins:
        stmt = stmt.outerjoin(p, on)
    return stmt, nearest, second


@cache
def _ancestry(depth: int):
    """The ancestor joins and department expressions of `_with_departments`, built once per depth: building the
    aliases and CASEs costs about 15 ms, a scan uses them a dozen times, and the statements built on the same
    objects share their compiled form."""
    prev, joins = Organisation, []
    for _ in range(depth):
        p = aliased(Organisation)
        joins.append((p, p.id == prev.parent_id))
        prev = p
    ancestors = [p for p, _on in joins]
    is_dept = [
        and_(p.active.is_(True), p.kind.in_(DEPARTMENT_KINDS), p.level.in_(DEPARTMENT_LEVELS)) for p in ancestors
    ]
    ids = [case((cond, p.id), else_=null()) for p, cond in zip(ancestors, is_dept, strict=True)]

    def first(exprs):
        if not exprs:
            return null()
        return exprs[0] if len(exprs) == 1 else func.coalesce(*exprs)

    if not ancestors:
        return joins, null(), null()
    whens = [(cond, first(ids[i + 1 :])) for i, cond in enumerate(is_dept[:-1])]
    second = case(*whens, else_=null()) if whens else null()
    return joins, first(ids), second


def _exists(org_id, subject_id, period, stage: ReminderStage, member_id=None):
    """Whether the reminder of this identity exists: one probe of ix_reminders_identity, named for MariaDB, whose
    statistics lag behind a table that a cold scan has just filled (it then probes ix_reminders_org and reads every
    reminder of the organisation)."""
    r = Reminder
    where = [r.org_id == org_id, r.subject_id == subject_id, r.period == period, r.stage == stage]
    if member_id is not None:
        where.append(r.member_id == member_id)
    probe = select(literal(1)).where(*where).with_hint(r, "USE INDEX (ix_reminders_identity)", "mysql")
    return probe.limit(1).scalar_subquery().is_not(None)


# --- duty -----------------------------------------------------------------------------------------------------------


def _open_duty(rule: ReminderRule, depth: int, now: datetime) -> int:
    """Opens the duty reminders of the last DUTY_DAYS days: rostered cadres without any check-in on the day, once
    their shift ended (OVERDUE) and the further delay passed (ESCALATE, to the village's nearest department). One
    INSERT … SELECT per day and stage, so the rows are built and written by the database; returns how many were
    new."""
    stages = [(ReminderStage.OVERDUE, rule.overdue_after_hours), (ReminderStage.ESCALATE, rule.escalate_after_hours)]
    shift_ends: dict[int, list[time]] = defaultdict(list)  # weekday → the shifts' end times (a city has a handful)
    for weekday, ends_at in db.session.execute(select(DutyRoster.weekday, DutyRoster.ends_at).distinct()):
        shift_ends[weekday].append(ends_at)
    zone = _zone()
    today = now.astimezone(zone).date()
    opened = 0
    for back in range(DUTY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        ends = {t: datetime.combine(day, t, tzinfo=zone).astimezone(UTC) for t in shift_ends[day.weekday()]}
        for stage, hours in stages:
            due = {t: end for t, end in ends.items() if hours is not None and end + timedelta(hours=hours) <= now}
            if due:
                opened += _insert_new(_duty_select(rule, stage, day, due, depth, now))
    return opened


def _duty_select(rule, stage: ReminderStage, day: date, due: dict[time, datetime], depth: int, now: datetime):
    """The reminder rows of one day and stage: each cadre rostered that day at an active village, in a shift whose
    end is in `due` (end time → the reminder's due_at), not on leave, without a check-in that day and without
    this stage's reminder (a rerun reads index probes only)."""
    a, r, o = DutyAssignment, DutyRoster, Organisation
    on_leave = found(DutyException.assignment_id == a.id, DutyException.starts_on <= day, DutyException.ends_on >= day)
    checked_in = found(  # one primary-key probe of the day's counts (services.duty_days)
        DutyDay.duty_date == day, DutyDay.org_id == a.org_id, DutyDay.member_id == a.member_id, DutyDay.checkins > 0
    )
    stmt = (
        select(a.id)
        .select_from(a)
        .join(r, and_(r.assignment_id == a.id, r.weekday == day.weekday(), r.ends_at.in_(sorted(due))))
        .join(o, and_(o.id == a.org_id, o.active.is_(True)))
        .where(
            a.starts_on <= day,
            or_(a.ends_on.is_(None), a.ends_on >= day),
            ~checked_in,  # first: most cadres checked in, and their other probes are skipped
            ~on_leave,
            ~_exists(a.org_id, a.id, day.isoformat(), stage),
        )
        # The assignments first, each probed for its day's check-in before anything else: MariaDB's own order
        # (the villages, then their assignments) reads half as fast.
        .prefix_with("STRAIGHT_JOIN", dialect="mysql")
    )
    dept = None
    if stage == ReminderStage.ESCALATE:
        stmt, dept, _second = _with_departments(stmt, depth)
        stmt = stmt.where(dept.isnot(None))  # no department above the village: nobody to escalate to
    label = f" {day.month}月{day.day}日值班未签到"
    member = cast(a.member_id, String)
    return stmt.with_only_columns(
        *lifecycle.select_columns(
            _R,
            key=_text("duty:") + member + _text(":") + cast(a.org_id, String) + _text(f":{day}:{stage.value}"),
            rule_id=rule.id,
            subject=ReminderSubject.DUTY.value,
            stage=stage.value,
            org_id=a.org_id,
            member_id=a.member_id,
            dept_org_id=dept,
            subject_id=a.id,
            period=day.isoformat(),
            year=None,
            slot=None,
            day=day,
            due_at=case({t: literal(end, _R.c.due_at.type) for t, end in due.items()}, value=r.ends_at),
            title=func.substr(o.name + _text(label), 1, 100),
            created_at=now,
            notified_at=now,
            notification_key=_duty_notice_key(stage, now),
        )
    )


def _duty_notice_key(stage: ReminderStage, now: datetime):
    """The key of the notification carrying a duty reminder: one per cadre, village and scan (none for an
    escalation: the digests carry those). services.reminders.post_duty_notices posts them."""
    if stage == ReminderStage.ESCALATE:
        return None
    a = DutyAssignment
    category = lifecycle.category_of(ReminderSubject.DUTY, stage)
    member, org = cast(a.member_id, String), cast(a.org_id, String)
    return _text(f"reminder:{category}:") + member + _text(":") + org + _text(f":{lifecycle.scan_stamp(now)}")


# --- learning -------------------------------------------------------------------------------------------------------


def _learning_rows(rule: ReminderRule, now: datetime):
    """Members meant to take a compulsory course (its audiences, as services.learning_content decides) who have
    not completed every lesson: REMIND within the rule's days before the deadline, OVERDUE after it."""
    stages = []
    if rule.remind_days_before is not None:
        stages.append((ReminderStage.REMIND, now, now + timedelta(days=rule.remind_days_before)))
    if rule.overdue_after_hours is not None:
        since = now - timedelta(hours=rule.overdue_after_hours)
        stages.append((ReminderStage.OVERDUE, since - GRACE, since))
    for stage, low, high in stages:
        for course_id, title, deadline in _courses_due(now, low, high, stage == ReminderStage.REMIND):
            yield from _learners(rule, stage, course_id, title, deadline, now)


def _courses_due(now: datetime, low: datetime, high: datetime, strictly_after: bool):
    c, ch = Course, LearningChannel
    local_today = now.astimezone(_zone()).date()
    after = c.deadline > low if strictly_after else c.deadline >= low
    stmt = (
        select(c.id, c.title, c.deadline)
        .join(ch, ch.id == c.channel_id)
        .where(
            c.track == CourseTrack.COMPULSORY,
            c.status == CourseStatus.PUBLISHED,
            ch.active.is_(True),
            or_(ch.starts_on.is_(None), ch.starts_on <= local_today),
            after,
            c.deadline <= high,
        )
        .order_by(c.id)
    )
    return db.session.execute(stmt).all()


def _learners(rule, stage, course_id: int, title: str, deadline: datetime, now: datetime):
    m, mo, ao, a = Member, Organisation, aliased(Organisation), CourseAudience
    category = or_(
        a.category.is_(None),
        and_(a.category == MemberCategory.FULL, m.party_status == PartyStatus.FULL),
        and_(a.category == MemberCategory.PROBATIONARY, m.party_status == PartyStatus.PROBATIONARY),
        and_(a.category == MemberCategory.FLOATING, m.is_floating.is_(True)),
    )
    meant = exists().where(a.course_id == course_id, ao.id == a.org_id, mo.path.like(ao.path + "%"), category)
    lessons = select(func.count(Lesson.id)).where(Lesson.course_id == course_id).scalar_subquery()
    done = (
        select(func.count(LessonProgress.id))
        .where(
            LessonProgress.course_id == course_id,
            LessonProgress.member_id == m.id,
            LessonProgress.completed_at.isnot(None),
        )
        .scalar_subquery()
    )

    label = deadline.astimezone(_zone()).date().isoformat()
    opened = _exists(m.org_id, course_id, label, stage, member_id=m.id)

    def stmt(after):
        return (
            select(m.id, m.org_id)
            .join(mo, mo.id == m.org_id)
            .where(m.id > after, m.status == AccountStatus.ACTIVE, meant, done < lessons, ~opened)
            .order_by(m.id)
        )

    for page in keyset_pages(stmt, 0):
        for member_id, org_id in page:
            yield _row(
                rule,
                ReminderSubject.LEARNING,
                stage,
                f"learning:{member_id}:{course_id}:{stage.value}",
                org_id,
                course_id,
                label,
                deadline,
                f"必修课程：{title}",
                now,
                member_id=member_id,
            )

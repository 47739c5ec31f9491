"""The compliance scan (services/reminder_scan.py) with time frozen by passing `now`: stages open by date and reach
the right people, a rerun opens and posts nothing, reminders close when the evidence arrives through the real
services (a meeting recorded as held, a check-in, a completed course) and their unsent notification is cancelled,
one digest per department admin and day, and the open meeting reminders equal a brute-force computation on a
generated tree."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select

from models import (
    DutyAssignment,
    DutyException,
    DutyExceptionKind,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Organisation,
    OrgKind,
    OrgLevel,
    db,
)
from models.base import utcnow
from models.notifications import Notification, NotificationStatus
from models.reminders import Reminder, ReminderRule, ReminderSubject
from services import learning_progress, meeting_tallies, meetings, notifications
from services.authz import Actor
from services.meeting_stats import period_end
from services.meeting_tallies import slot_of
from services.meetings import period_of
from services.reminder_scan import DUTY_DAYS, GRACE, run_scan
from tests.factories import member
from tests.test_duty_support import circle_fence, local_at, local_yesterday, make_cadre, post_checkin
from tests.test_learning_stats import channel, course
from tests.test_meeting_stats import applies, generate_meetings, grow

MONTHLY = ("branch_committee", "party_group", "theme_day")


def local(app, *args) -> datetime:
    return datetime(*args, tzinfo=app.config["SETTINGS"].zone)


def scan(now):
    result = run_scan(now)
    db.session.commit()
    return result


def open_keys(**where) -> set[str]:
    stmt = select(Reminder.key).where(Reminder.closed_at.is_(None))
    for name, value in where.items():
        stmt = stmt.where(getattr(Reminder, name) == value)
    return set(db.session.scalars(stmt))


def kinds() -> dict[str, MeetingKind]:
    return {k.code: k for k in db.session.scalars(select(MeetingKind))}


def notes(member_id, category=None) -> list[Notification]:
    stmt = select(Notification).where(Notification.member_id == member_id).order_by(Notification.id)
    if category:
        stmt = stmt.where(Notification.category == category)
    return list(db.session.scalars(stmt))


def hold(world, org, code, start, secretary):
    """Plans and records a meeting through the meeting service, as the branch secretary would."""
    actor = Actor(secretary)
    kind = kinds()[code]
    m = meetings.create_meeting(
        actor,
        {
            "org_id": org.id,
            "kind_id": kind.id,
            "title": kind.name,
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            "lecturer_name": "讲师" if kind.needs_lecturer else None,
        },
    )
    meetings.record_held(actor, m)
    db.session.commit()
    return m


def test_a_rerun_opens_and_posts_nothing(app, world):
    now = local(app, 2026, 11, 27, 9)
    first = scan(now)
    assert first.opened["meeting"] > 0 and first.notified > 0 and first.digests > 0
    rows = (select(func.count(Reminder.id)), select(func.count(Notification.id)))
    counts = [db.session.scalar(q) for q in rows]
    for later in (now, now + timedelta(minutes=15)):
        again = scan(later)
        assert again.summary() == {
            "opened": {"meeting": 0, "duty": 0, "learning": 0},
            "closed": 0,
            "notified": 0,
            "digests": 0,
        }
    assert [db.session.scalar(q) for q in rows] == counts


def test_the_ids_of_what_a_scan_posted_are_read_back_in_pages(app, world):
    """The scan holds no list of the notifications it posted: their ids come back in pages after the commit, every
    one exactly once (notices and digests), and nothing another writer posted meanwhile."""
    first = scan(local(app, 2026, 11, 27, 9))
    assert first.notified > 3 and first.digests > 0
    notifications.post(world.sec_v1.id, key="test:after-the-scan", category="digest", title="其他", body="其他")
    db.session.commit()
    pages = list(first.notification_id_pages(size=3))
    ids = [i for page in pages for i in page]
    assert all(len(page) <= 3 for page in pages[:-1]) and len(ids) == len(set(ids))
    n = Notification
    posted = select(n.id).where(n.id > first.posted_after, n.key != "test:after-the-scan")
    assert sorted(ids) == sorted(db.session.scalars(posted)) and len(ids) == first.notified + first.digests
    assert not list(scan(local(app, 2026, 11, 27, 9, 15)).notification_id_pages())  # a rerun: nothing


def test_meeting_stages_open_by_date_and_reach_the_right_departments(app, world):
    k = kinds()["branch_committee"]
    prefix = f"meeting:{world.v1.id}:{k.id}:2026-10:"
    scan(local(app, 2026, 10, 26, 23, 59))  # 5 days before 1 November minus a minute
    assert not open_keys(org_id=world.v1.id, period="2026-10")
    scan(local(app, 2026, 10, 27, 0, 0))
    assert prefix + "remind" in open_keys()
    scan(local(app, 2026, 10, 31, 23, 59))
    assert not {prefix + "overdue", prefix + "escalate"} & open_keys()
    scan(local(app, 2026, 11, 1, 0, 5))
    overdue = db.session.scalar(select(Reminder).where(Reminder.key == prefix + "overdue"))
    assert overdue.dept_org_id == world.town_a1.id and overdue.due_at == local(app, 2026, 11, 1).astimezone(UTC)
    assert prefix + "escalate" not in open_keys()
    scan(local(app, 2026, 11, 7, 23, 59))
    assert prefix + "escalate" not in open_keys()
    scan(local(app, 2026, 11, 8, 0, 0))  # 7 × 24 hours after the period's end
    escalate = db.session.scalar(select(Reminder).where(Reminder.key == prefix + "escalate"))
    assert escalate.dept_org_id == world.county_a.id and escalate.notified_at is not None
    # The secretary heard of it twice (due, then overdue), each time once for all the branch's monthly kinds.
    due, late = notes(world.sec_v1.id, "meeting_due"), notes(world.sec_v1.id, "meeting_overdue")
    assert [n.title for n in due] == ["组织生活即将到期"] and all(
        name in due[0].body for name in ("支部委员会会议", "党小组会")
    )
    assert len([n for n in late if "2026年10月" in n.body]) == 1


def test_periods_that_ended_before_the_go_live_are_not_judged(app, world):
    """REMINDERS_SINCE: the first scan of a city that went live on 15 October 2026 opens nothing for periods the
    platform holds no records of (the third quarter, 2025), and judges October, which ran on the go-live day."""
    settings, now = app.config["SETTINGS"], local(app, 2026, 11, 27, 9)
    meeting = select(Reminder.period, Reminder.stage).where(Reminder.subject == ReminderSubject.MEETING)
    settings.reminders_since = date(2026, 10, 15)
    try:
        scan(now)
    finally:
        settings.reminders_since = None
    judged = {(period, stage.value) for period, stage in db.session.execute(meeting)}
    assert {("2026-10", "overdue"), ("2026-10", "escalate"), ("2026-11", "remind")} <= judged
    assert {period for period, _stage in judged} <= {"2026-10", "2026-11", "2026Q4", "2026"}
    scan(now)  # unset: the same scan judges the earlier periods too
    before = {period for period, _stage in db.session.execute(meeting)} - {p for p, _s in judged}
    assert {"2026Q3", "2025"} <= before


def test_a_branch_under_a_county_reports_to_the_county_then_the_city(app, world):
    scan(local(app, 2026, 11, 8, 1))
    k = kinds()["branch_committee"]
    key = f"meeting:{world.county_a_agency.id}:{k.id}:2026-10:"
    rows = {r.stage.value: r for r in db.session.scalars(select(Reminder).where(Reminder.key.startswith(key)))}
    assert rows["overdue"].dept_org_id == world.county_a.id and rows["escalate"].dept_org_id == world.city.id


def test_one_notice_per_branch_and_kind_of_notice_carries_all_its_reminders(app, world):
    first = scan(local(app, 2026, 11, 8, 1))
    rows = db.session.scalars(select(Reminder).where(Reminder.org_id == world.v1.id, Reminder.subject == "meeting"))
    by_stage = {}
    for row in rows:
        by_stage.setdefault(row.stage.value, []).append(row)
        assert row.notified_at is not None
    assert all(row.notification_key is None for row in by_stage["escalate"])  # the digests carry those
    overdue = by_stage["overdue"]
    assert len(overdue) > 3 and len({row.notification_key for row in overdue}) == 1
    note = db.session.scalar(select(Notification).where(Notification.key == overdue[0].notification_key))
    assert (note.member_id, note.category) == (world.sec_v1.id, "meeting_overdue")
    assert f"等{len(overdue)}项" in note.body and any(note.id in ids for ids in first.notification_id_pages())
    assert note.body.startswith(f"{world.v1.name}：") and note.org_name == world.v1.name
    assert note.page == f"/pages/meetings/meetings?org_id={world.v1.id}"
    assert note.due_at == min(row.due_at for row in overdue) and note.title == "组织生活已逾期"
    assert len(notes(world.sec_v1.id)) == 1  # nothing was due on 8 November: the overdue notice only
    # A branch without a secretary (appointed or by role) is dealt with, and nobody is told.
    world.v2.secretary_id = None
    world.sec_v2.role = world.member_v1.role
    db.session.execute(delete(Reminder))
    db.session.commit()
    scan(local(app, 2026, 11, 8, 2))
    keys = db.session.scalars(select(Reminder.notification_key).where(Reminder.org_id == world.v2.id))
    assert set(keys) == {None}


def test_rule_numbers_and_switches_are_data(app, world):
    rule = db.session.scalar(select(ReminderRule).where(ReminderRule.code == "meeting_month"))
    rule.remind_days_before = 10
    db.session.commit()
    scan(local(app, 2026, 10, 22, 12))
    assert f"meeting:{world.v1.id}:{kinds()['theme_day'].id}:2026-10:remind" in open_keys()
    for r in db.session.scalars(select(ReminderRule)):
        r.enabled = False
    db.session.execute(delete(Reminder))
    db.session.commit()
    assert scan(local(app, 2026, 11, 20)).opened == {"meeting": 0, "duty": 0, "learning": 0}


def test_a_meeting_recorded_through_the_service_closes_its_reminders_and_cancels_the_notice(app, world):
    now = local(app, 2026, 11, 27, 9)
    scan(now)
    open_v1 = open_keys(org_id=world.v1.id, period="2026-11")
    assert {f"meeting:{world.v1.id}:{kinds()[c].id}:2026-11:remind" for c in MONTHLY} == open_v1
    notice = notes(world.sec_v1.id, "meeting_due")[0]
    hold(world, world.v1, "branch_committee", local(app, 2026, 11, 20, 9), world.sec_v1)
    # Closed as the meeting was recorded, before any scan: the next scan has nothing left to close.
    assert len(open_keys(org_id=world.v1.id, period="2026-11")) == 2
    closed = db.session.scalar(select(Reminder).where(Reminder.closed_at.isnot(None)))
    assert closed.subject_id == kinds()["branch_committee"].id and closed.close_reason == "evidence"
    assert scan(now + timedelta(minutes=15)).closed == 0
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.PENDING  # it still carries two open reminders
    hold(world, world.v1, "party_group", local(app, 2026, 11, 21, 9), world.sec_v1)
    hold(world, world.v1, "theme_day", local(app, 2026, 11, 22, 9), world.sec_v1)
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.CANCELLED
    assert not open_keys(org_id=world.v1.id, period="2026-11")
    assert notes(world.sec_v2.id, "meeting_due")[0].status == NotificationStatus.PENDING  # v2 held nothing


def test_a_late_meeting_closes_every_stage_of_its_period(app, world):
    scan(local(app, 2026, 11, 9))
    kind = kinds()["branch_committee"]
    assert len(open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")) == 2  # overdue and escalated
    hold(world, world.v1, "branch_committee", local(app, 2026, 10, 30, 9), world.sec_v1)  # a late entry for October
    assert not open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")
    assert scan(local(app, 2026, 11, 9, 0, 15)).opened["meeting"] == 0  # nor reopened


def test_a_meeting_recorded_while_a_scan_opens_its_reminder_closes_it(app, world):
    """The meeting's transaction took its snapshot before the scan opened the reminder, waits for the scan (which
    holds the tally row it read), and must still see and close what the scan committed."""
    if db.engine.dialect.name != "mysql":
        pytest.skip("SQLite serialises writers: the race needs MariaDB")
    kind = kinds()["branch_committee"]
    start = local(app, 2026, 11, 20, 9)
    meeting = Meeting(
        org_id=world.v1.id,
        kind_id=kind.id,
        title=kind.name,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        period="2026-11",
        status=MeetingStatus.PLANNED,
        created_by=world.sec_v1.id,
    )
    db.session.add(meeting)
    db.session.commit()
    snapshot_taken, scan_holds_locks, errors = threading.Event(), threading.Event(), []

    def record() -> None:
        with app.app_context():
            try:
                m = db.session.get(Meeting, meeting.id)  # the transaction's snapshot: no reminder yet
                snapshot_taken.set()
                assert scan_holds_locks.wait(timeout=10)
                m.status = MeetingStatus.HELD
                db.session.commit()  # waits for the scan's commit at the tally row
            except Exception as exc:  # reported below: a thread's failure must fail the test
                errors.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=record)
    thread.start()
    assert snapshot_taken.wait(timeout=10)
    run_scan(local(app, 2026, 11, 27, 9))
    scan_holds_locks.set()
    time.sleep(0.5)  # the meeting's flush is now waiting for this transaction
    db.session.commit()
    thread.join(timeout=30)
    assert errors == []
    db.session.expire_all()
    key = f"meeting:{world.v1.id}:{kind.id}:2026-11:remind"
    assert key not in open_keys()
    assert db.session.scalar(select(Reminder.close_reason).where(Reminder.key == key)) == "evidence"


def test_meetings_written_in_bulk_close_their_reminders_at_the_rebuild(app, world):
    scan(local(app, 2026, 11, 9))
    kind = kinds()["branch_committee"]
    assert len(open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")) == 2
    db.session.execute(  # as the seeder and imports write them: past the flush listener
        insert(Meeting).values(
            org_id=world.v1.id,
            kind_id=kind.id,
            title=kind.name,
            period="2026-10",
            starts_at=local(app, 2026, 10, 30, 9),
            ends_at=local(app, 2026, 10, 30, 11),
            status=MeetingStatus.HELD,
            created_by=world.sec_v1.id,
        )
    )
    assert len(open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")) == 2
    meeting_tallies.rebuild()
    db.session.commit()
    assert not open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")
    assert open_keys(org_id=world.v2.id, subject_id=kind.id, period="2026-10")  # v2 still held none


def test_a_lower_cap_closes_the_reminders_it_satisfies(app, world):
    kind = kinds()["branch_committee"]
    kind.times_per_period = 2
    db.session.commit()
    hold(world, world.v1, "branch_committee", local(app, 2026, 10, 20, 9), world.sec_v1)  # one of two
    scan(local(app, 2026, 11, 9))
    assert len(open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")) == 2
    kind.times_per_period = 1
    db.session.commit()
    assert not open_keys(org_id=world.v1.id, subject_id=kind.id, period="2026-10")
    assert open_keys(org_id=world.v2.id, subject_id=kind.id, period="2026-10")  # v2 held none


def test_a_meeting_moved_out_of_its_period_reopens_that_periods_reminders(app, world):
    """A held meeting's corrected date takes it to another period: the period it left is short again, and its
    reminders, closed on that meeting, open again (nothing new is created, nobody is told twice)."""
    scan(local(app, 2026, 11, 9))
    kind = kinds()["branch_committee"]
    october = {"org_id": world.v1.id, "subject_id": kind.id, "period": "2026-10"}
    meeting = hold(world, world.v1, "branch_committee", local(app, 2026, 10, 30, 9), world.sec_v1)
    assert not open_keys(**october)
    told = len(notes(world.sec_v1.id))
    moved = local(app, 2026, 11, 2, 9)
    meetings.update_meeting(Actor(world.sec_v1), meeting, {"starts_at": moved, "ends_at": moved + timedelta(hours=2)})
    db.session.commit()
    assert len(open_keys(**october)) == 2  # overdue and escalated, open again
    reopened = db.session.scalars(select(Reminder).where(Reminder.key.in_(open_keys(**october)))).all()
    assert {r.close_reason for r in reopened} == {None}
    assert scan(local(app, 2026, 11, 9, 0, 15)).opened["meeting"] == 0 and len(notes(world.sec_v1.id)) == told
    back = local(app, 2026, 10, 29, 9)
    meetings.update_meeting(Actor(world.sec_v1), meeting, {"starts_at": back, "ends_at": back + timedelta(hours=2)})
    db.session.commit()
    assert not open_keys(**october)  # back in October: closed again


def test_a_higher_cap_or_meetings_removed_in_bulk_reopen_reminders(app, world):
    kind = kinds()["branch_committee"]
    october = {"org_id": world.v1.id, "subject_id": kind.id, "period": "2026-10"}
    hold(world, world.v1, "branch_committee", local(app, 2026, 10, 20, 9), world.sec_v1)
    scan(local(app, 2026, 11, 9))
    assert not open_keys(**october)  # held once: met
    kind.times_per_period = 2
    db.session.commit()
    assert not open_keys(**october)  # nothing to reopen: never opened; the next scan opens them
    scan(local(app, 2026, 11, 9, 0, 15))
    assert len(open_keys(**october)) == 2
    kind.times_per_period = 1
    db.session.commit()
    assert not open_keys(**october)  # the lower cap closes them
    kind.times_per_period = 2
    db.session.commit()
    assert len(open_keys(**october)) == 2  # the higher one reopens them
    kind.times_per_period = 1
    db.session.commit()
    assert not open_keys(**october)
    db.session.execute(delete(Meeting).where(Meeting.org_id == world.v1.id, Meeting.kind_id == kind.id))
    meeting_tallies.rebuild()  # as after a bulk correction, past the flush listener
    db.session.commit()
    assert len(open_keys(**october)) == 2


def test_the_digest_is_one_per_admin_and_day(app, world):
    second_admin = member(world.town_a1_agency, "甲一镇组织干事", managed=world.town_a1, role=world.town_a1_admin.role)
    db.session.commit()
    scan(local(app, 2026, 11, 9, 7, 59))  # before REMINDER_DIGEST_HOUR
    assert not notes(world.town_a1_admin.id, "digest")
    scan(local(app, 2026, 11, 9, 8, 0))
    for later in (15, 30, 600):
        scan(local(app, 2026, 11, 9, 8, 0) + timedelta(minutes=later))
    for admin in (world.town_a1_admin, second_admin, world.county_a_admin, world.city_admin):
        assert len(notes(admin.id, "digest")) == 1, admin.name
    digest = notes(world.town_a1_admin.id, "digest")[0]
    assert "3个组织未按期开展组织生活" in digest.body  # v1, v2 and town A1's agency branch
    scan(local(app, 2026, 11, 10, 8, 0))
    assert len(notes(world.town_a1_admin.id, "digest")) == 2
    assert not notes(world.sec_v1.id, "digest") and not notes(world.member_v1.id)


def test_a_missed_check_in_alerts_the_cadre_then_the_department_and_closes_on_check_in(app, world, client, login_as):
    circle_fence(world)
    day = local_yesterday(app)
    cadre = make_cadre(world, starts_on=day)
    scan(local_at(app, day, 17, 29))
    assert not open_keys(subject="duty")
    scan(local_at(app, day, 17, 31))
    prefix = f"duty:{cadre.id}:{world.v1.id}:{day.isoformat()}:"
    assert open_keys(subject="duty") == {prefix + "overdue"}
    [note] = notes(cadre.id)
    assert (note.category, note.title, note.org_name, note.page) == (
        "duty_missed",
        "值班未签到",
        world.v1.name,
        "/pages/duty/checkin",
    )
    assert note.body == f"{world.v1.name} {day.month}月{day.day}日值班未签到。如已在岗请及时签到或向组织部门说明。"
    scan(local_at(app, day, 19, 31))
    row = db.session.scalar(select(Reminder).where(Reminder.key == prefix + "escalate"))
    assert row.dept_org_id == world.town_a1.id
    r = post_checkin(client, login_as(cadre), world, read_at=local_at(app, day, 19, 40))
    assert r.status_code == 201, r.json
    assert scan(local_at(app, day, 19, 45)).closed == 2
    assert not open_keys(subject="duty")
    assert notes(cadre.id)[0].status == NotificationStatus.CANCELLED


def test_a_cadre_absent_three_days_is_told_once_per_village_naming_each_day(app, world):
    today = local_yesterday(app) + timedelta(days=1)
    first = today - timedelta(days=DUTY_DAYS - 1)
    cadre = make_cadre(world, starts_on=first)
    make_cadre(world, name="另一驻村干部", org=world.v2, starts_on=first)
    scan(local_at(app, today, 23, 0))
    [note] = notes(cadre.id)
    days = [first + timedelta(days=i) for i in range(DUTY_DAYS)]
    assert sorted(note.body.removesuffix("。如已在岗请及时签到或向组织部门说明。").split("、")) == sorted(
        f"{world.v1.name} {d.month}月{d.day}日值班未签到" for d in days
    )
    assert note.due_at == local_at(app, first, 17, 30).astimezone(UTC)
    keys = db.session.scalars(select(Reminder.notification_key).where(Reminder.member_id == cadre.id)).all()
    assert len(keys) == 2 * DUTY_DAYS and {k for k in keys if k} == {note.key}  # escalations: the digests only


def test_approved_leave_opens_nothing(app, world):
    day = local_yesterday(app)
    cadre = make_cadre(world, starts_on=day)
    assignment = db.session.scalar(select(DutyAssignment).where(DutyAssignment.member_id == cadre.id))
    db.session.add(
        DutyException(
            assignment_id=assignment.id,
            kind=DutyExceptionKind.LEAVE,
            starts_on=day,
            ends_on=day,
            approved_by=world.county_a_admin.id,
        )
    )
    db.session.commit()
    scan(local_at(app, day, 23, 0))
    assert not open_keys(subject="duty")


def test_a_compulsory_course_reminds_until_completed(app, world):
    now = utcnow()
    c = course(world, channel(world), [(world.v1, None)], deadline=now + timedelta(days=2))
    course(world, channel(world), [(world.v2, None)], deadline=now + timedelta(days=4))  # not yet
    db.session.commit()
    scan(now)
    assert open_keys(subject="learning") == {f"learning:{m.id}:{c.id}:remind" for m in (world.sec_v1, world.member_v1)}
    assert [n.category for n in notes(world.member_v1.id)] == ["learning_due"]
    for lesson in c.lessons:
        progress, _token = learning_progress.start_lesson(Actor(world.member_v1), lesson.id)
        learning_progress.complete(progress, lesson, world.member_v1, now.date(), False)
    db.session.commit()
    assert scan(now + timedelta(minutes=15)).closed == 1
    assert open_keys(subject="learning") == {f"learning:{world.sec_v1.id}:{c.id}:remind"}
    assert notes(world.member_v1.id)[0].status == NotificationStatus.CANCELLED


# --- brute force --------------------------------------------------------------------------------------------------


def _departments_above(o: Organisation, by_id) -> list[int]:
    out, node = [], by_id.get(o.parent_id)
    while node is not None:
        if (
            node.active
            and node.kind in (OrgKind.COMMITTEE, OrgKind.WORKING_COMMITTEE)
            and node.level in (OrgLevel.CITY, OrgLevel.COUNTY, OrgLevel.TOWNSHIP)
        ):
            out.append(node.id)
        node = by_id.get(node.parent_id)
    return out


def brute_force(app, now: datetime) -> dict[str, int | None]:
    """Every meeting reminder that should be open as of `now`, with the department it alerts, from the meetings
    themselves: each period of 2024–2027 of each active kind, each active organisation holding it."""
    rules = {r.code: r for r in db.session.scalars(select(ReminderRule)) if r.enabled}
    orgs = db.session.scalars(select(Organisation)).all()
    by_id = {o.id: o for o in orgs}
    held = Counter(
        (m.org_id, m.kind_id, m.period)
        for m in db.session.scalars(select(Meeting))
        if m.status != MeetingStatus.PLANNED
    )
    expected = {}
    for k in db.session.scalars(select(MeetingKind).where(MeetingKind.active.is_(True))):
        rule = rules.get(f"meeting_{k.cadence.value}")
        if rule is None:
            continue
        zone = app.config["SETTINGS"].zone
        labels = list(
            dict.fromkeys(
                period_of(k.cadence, datetime(y, m, 2, tzinfo=zone))
                for y in (2024, 2025, 2026, 2027)
                for m in range(1, 13)
            )
        )
        ends = {label: period_end(label).astimezone(UTC) for label in labels}
        last_ended = max((label for label in labels if ends[label] <= now), key=lambda lb: ends[lb])
        latest = max(h for h in (rule.overdue_after_hours, rule.escalate_after_hours) if h is not None)
        for o in orgs:
            if not o.active or not applies(k, o):
                continue
            above = _departments_above(o, by_id)
            for label in labels:
                if held[o.id, k.id, label] >= k.times_per_period:
                    continue
                end = ends[label]
                key = f"meeting:{o.id}:{k.id}:{label}:"
                if end - timedelta(days=rule.remind_days_before) <= now < end:
                    expected[key + "remind"] = None
                if end > now or not (label == last_ended or end + timedelta(hours=latest) + GRACE >= now):
                    continue
                if end + timedelta(hours=rule.overdue_after_hours) <= now:
                    expected[key + "overdue"] = above[0] if above else None
                if end + timedelta(hours=rule.escalate_after_hours) <= now and len(above) > 1:
                    expected[key + "escalate"] = above[1]
    return expected


@pytest.mark.parametrize("seed", [11, 2026])
def test_open_meeting_reminders_match_a_brute_force(app, world, seed):
    rng = random.Random(seed)
    kinds()["party_lecture"].times_per_period = 2
    kinds()["member_appraisal"].active = False
    generate_meetings(app, world, grow(world, rng), rng)
    nows = [
        local(app, 2025, 3, 29, 10),  # remind window of March and of Q1
        local(app, 2025, 7, 3, 1),  # June and Q2 overdue, not escalated
        local(app, 2025, 7, 20, 12),  # escalated
        local(app, 2025, 12, 20),  # the year's remind window
        local(app, 2026, 1, 1, 0, 30),  # everything of 2025 just ended: two tally years
        local(app, 2026, 2, 15),
    ]
    stages = set()
    for now in nows:
        db.session.execute(delete(Reminder))
        db.session.commit()
        scan(now)
        got = dict(
            db.session.execute(select(Reminder.key, Reminder.dept_org_id).where(Reminder.subject == "meeting")).all()
        )
        expected = brute_force(app, now)
        assert got == expected, (now, set(got) ^ set(expected))
        stages |= {key.rsplit(":", 1)[1] for key in got}
    assert stages == {"remind", "overdue", "escalate"}


def test_slot_of_matches_the_reminder_periods():
    assert slot_of("2026-07") == (2026, 7) and slot_of("2026Q3") == (2026, 3) and slot_of("2026") == (2026, 1)

"""Meeting rules in the service layer: periods, defaults, late entries, the status cycle and who may review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, Cadence, MeetingAttendee, MeetingKind, MeetingStatus, ReviewDecision, db
from models.base import utcnow
from services import meetings
from services.authz import Actor
from services.errors import Conflict, Forbidden, Invalid, NotFound


def kind(code):
    return db.session.scalar(select(MeetingKind).where(MeetingKind.code == code))


def plan(world, actor=None, code="branch_committee", start=None, **extra):
    start = start or utcnow() - timedelta(hours=1)
    data = {
        "org_id": world.v1.id,
        "kind_id": kind(code).id,
        "title": "支部委员会会议",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        **extra,
    }
    meeting = meetings.create_meeting(Actor(actor or world.sec_v1), data)
    db.session.commit()
    return meeting


@pytest.mark.parametrize(
    "cadence, expected",
    [(Cadence.MONTH, "2027-01"), (Cadence.QUARTER, "2027Q1"), (Cadence.YEAR, "2027")],
)
def test_period_is_taken_in_the_business_time_zone(app, cadence, expected):
    new_year_in_beijing = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Asia/Shanghai
    assert meetings.period_of(cadence, new_year_in_beijing) == expected


def test_attendees_default_to_the_branch_and_venue_to_the_org(app, world):
    world.v1.venue_lat, world.v1.venue_lng, world.v1.venue_coord_sys = 26.6, 106.7, "gcj02"
    m = plan(world)
    attendees = db.session.scalars(select(MeetingAttendee.member_id).where(MeetingAttendee.meeting_id == m.id)).all()
    assert set(attendees) == {world.sec_v1.id, world.member_v1.id}
    assert (m.venue_lat, m.venue_lng, m.venue_coord_sys.value) == (26.6, 106.7, "gcj02")
    assert m.period == meetings.period_of(Cadence.MONTH, m.starts_at) and m.status == MeetingStatus.PLANNED
    assert not m.late_entry


def test_backdated_record_is_a_late_entry(app, world):
    assert plan(world, start=utcnow() - timedelta(days=8)).late_entry


def test_refusals_name_the_field(app, world):
    start = utcnow()
    cases = [
        ({"ends_at": start - timedelta(minutes=1), "starts_at": start}, "ends_at"),
        ({"code": "party_lecture"}, "lecturer_name"),
        ({"code": "democratic_life"}, "kind"),
        ({"host_id": world.member_v2.id}, "host_id"),
        ({"attendee_ids": [world.member_v1.id, world.member_v3.id]}, "attendee_ids"),
    ]
    for extra, field in cases:
        code = extra.pop("code", "branch_committee")
        with pytest.raises(Invalid) as err:
            plan(world, code=code, **extra)
        assert field in err.value.fields, (extra, err.value.fields)
        db.session.rollback()
    assert db.session.scalar(select(MeetingAttendee.id)) is None  # nothing half-written


def test_outsiders_cannot_plan_for_the_branch(app, world):
    for outsider in (world.sec_v2, world.town_a2_admin, world.member_v2):
        with pytest.raises(NotFound):
            plan(world, actor=outsider)
        db.session.rollback()
    with pytest.raises(Forbidden):
        plan(world, actor=world.member_v1)  # sees its branch, may not write its records


def test_cannot_be_held_before_it_starts(app, world):
    m = plan(world, start=utcnow() + timedelta(hours=3))
    with pytest.raises(Invalid, match="尚未开始"):
        meetings.record_held(Actor(world.sec_v1), m)


def test_review_cycle(app, world):
    m = plan(world)
    sec, town = Actor(world.sec_v1), Actor(world.town_a1_admin)
    meetings.record_held(sec, m, minutes="研究了村集体经济发展")
    with pytest.raises(Conflict):
        meetings.review(town, m, ReviewDecision.PASS, None, None)  # not submitted yet
    meetings.submit(sec, m)
    with pytest.raises(Conflict):
        meetings.check_editable(m)
    with pytest.raises(Forbidden):
        meetings.review(sec, m, ReviewDecision.PASS, None, None)  # a branch never reviews itself
    with pytest.raises(NotFound):
        meetings.review(Actor(world.town_a2_admin), m, ReviewDecision.PASS, None, None)
    with pytest.raises(Invalid):
        meetings.review(town, m, ReviewDecision.RETURN, "  ", None)
    meetings.review(town, m, ReviewDecision.RETURN, "缺少会议照片", None)
    assert m.status == MeetingStatus.RETURNED
    meetings.check_editable(m)
    meetings.submit(sec, m)
    meetings.review(town, m, ReviewDecision.PASS, "规范", 92)
    db.session.commit()
    assert m.status == MeetingStatus.REVIEWED and m.review_score == 92
    with pytest.raises(Conflict):
        meetings.check_editable(m)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "meeting")).all()
    assert actions == [
        "meeting.create",
        "meeting.held",
        "meeting.submit",
        "meeting.review.return",
        "meeting.submit",
        "meeting.review.pass",
    ]


def test_a_department_does_not_review_its_own_node(app, world):
    agency = world.town_a1_agency
    start = utcnow() - timedelta(hours=1)
    data = {
        "org_id": agency.id,
        "kind_id": kind("branch_committee").id,
        "title": "机关支委会",
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
    }
    m = meetings.create_meeting(Actor(world.town_a1_admin), data)
    meetings.record_held(Actor(world.town_a1_admin), m)
    meetings.submit(Actor(world.town_a1_admin), m)
    meetings.review(Actor(world.county_a_admin), m, ReviewDecision.PASS, None, None)
    assert m.status == MeetingStatus.REVIEWED

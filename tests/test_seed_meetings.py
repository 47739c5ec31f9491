"""The demo city's meetings (services.seed_meetings) on a migrated database, so the meeting kinds exist."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Evidence, Meeting, MeetingAttendee, MeetingStatus, Member, Organisation, Review, Role, db
from services.seed import seed_demo


@pytest.fixture
def seeded(app):
    return seed_demo("small", progress=False)


def test_every_branch_has_a_record_and_statuses_follow_age(app, seeded):
    counts = seeded["meetings"]
    assert counts["meetings"] == db.session.scalar(select(func.count(Meeting.id))) > 100
    branches = db.session.scalars(select(Organisation).where(Organisation.secretary_id.is_not(None))).all()
    with_meetings = set(db.session.scalars(select(Meeting.org_id).distinct()))
    assert {b.id for b in branches} == with_meetings
    statuses = dict(db.session.execute(select(Meeting.status, func.count()).group_by(Meeting.status)).all())
    assert {MeetingStatus.REVIEWED, MeetingStatus.SUBMITTED, MeetingStatus.HELD, MeetingStatus.RETURNED} <= set(
        statuses
    )
    assert counts["attendance"] == db.session.scalar(select(func.count(MeetingAttendee.id)))
    for m in db.session.scalars(select(Meeting)):
        assert m.starts_at < m.ends_at
        if m.status != MeetingStatus.PLANNED:
            assert m.held_recorded_at >= m.starts_at  # never held before its start


def test_reviews_come_from_a_department_above(app, seeded):
    reviewed = db.session.scalars(select(Meeting).where(Meeting.status == MeetingStatus.REVIEWED)).all()
    assert reviewed
    for m in reviewed:
        decisions = db.session.scalars(
            select(Review).where(Review.subject_type == "meeting", Review.subject_id == m.id).order_by(Review.id)
        ).all()
        assert decisions[-1].decision.value == "pass" and decisions[-1].score == m.review_score
        reviewer = db.session.get(Member, decisions[-1].reviewer_id)
        if reviewer.role == Role.DEPT_ADMIN:
            assert m.org.path.startswith(reviewer.managed_org.path) and reviewer.managed_org_id != m.org_id
        else:
            assert reviewer.role == Role.SUPER_ADMIN


def test_demo_villages_show_every_verdict(app, seeded):
    photos = db.session.scalars(select(Evidence).order_by(Evidence.id)).all()
    assert len(photos) == seeded["meetings"]["photos"] == 8
    flags = [set(p.flags) for p in photos]
    for flag in ("outside_venue", "time_outside_window", "exif_mismatch", "reused_photo", "late_upload", "no_exif"):
        assert any(flag in f for f in flags), flag
    assert set() in flags  # and a clean one
    reused = next(p for p in photos if "reused_photo" in p.flags)
    original = db.session.get(Evidence, reused.verdict["matches"][0]["photo_id"])
    assert original.org_id != reused.org_id
    flagged = db.session.scalars(select(Meeting).where(Meeting.flagged.is_(True))).all()
    assert {m.id for m in flagged} == {
        p.subject_id
        for p in photos
        if set(p.flags) & {"outside_venue", "time_outside_window", "exif_mismatch", "reused_photo"}
    }


def test_demo_photo_records_wait_in_the_review_queue(app, seeded):
    with_photos = set(db.session.scalars(select(Evidence.subject_id)))
    for meeting_id in with_photos:
        m = db.session.get(Meeting, meeting_id)
        assert m.status == MeetingStatus.SUBMITTED and m.reviewed_at is None
        passes = select(Review).where(Review.subject_id == m.id, Review.decision == "pass")
        assert db.session.scalars(passes).first() is None

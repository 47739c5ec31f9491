"""The meeting kinds arrive with the schema (reference data), and the new tables take their rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Cadence, Evidence, EvidenceSubject, Meeting, MeetingAttendee, MeetingKind, db
from models.base import utcnow


def test_meeting_kinds_are_seeded_by_the_migration(app):
    kinds = db.session.scalars(select(MeetingKind).order_by(MeetingKind.sort_order)).all()
    assert [k.name for k in kinds] == [
        "支部党员大会",
        "支部委员会会议",
        "党小组会",
        "党课",
        "主题党日",
        "组织生活会",
        "民主评议党员",
        "民主生活会",
    ]
    cadence = {k.code: k.cadence for k in kinds}
    assert cadence["branch_general"] == Cadence.QUARTER and cadence["branch_committee"] == Cadence.MONTH
    assert cadence["democratic_life"] == Cadence.YEAR
    assert [k.code for k in kinds if k.needs_lecturer] == ["party_lecture"]


def test_a_meeting_with_attendance_and_evidence_round_trips(app, world):
    kind = db.session.scalar(select(MeetingKind).where(MeetingKind.code == "branch_committee"))
    start = utcnow().replace(microsecond=0)
    meeting = Meeting(
        org_id=world.v1.id,
        kind_id=kind.id,
        title="十一月支部委员会会议",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        period="2026-11",
        created_by=world.sec_v1.id,
    )
    db.session.add(meeting)
    db.session.flush()
    db.session.add(MeetingAttendee(meeting_id=meeting.id, member_id=world.member_v1.id))
    db.session.add(
        Evidence(
            subject_type=EvidenceSubject.MEETING,
            subject_id=meeting.id,
            org_id=world.v1.id,
            uploaded_by=world.sec_v1.id,
            client_id="c-1",
            original_key="evidence/1/original.jpg",
            content_type="image/jpeg",
            byte_size=1234,
            sha256="0" * 64,
            phash=-(2**63),  # signed 64-bit range on both backends
            flags=["outside_venue"],
            verdict={"outside_venue": {"distance_m": 812.5}},
        )
    )
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting.id)
    assert stored.kind.name == "支部委员会会议" and stored.status.label == "已计划" and stored.starts_at == start
    evidence = db.session.scalar(select(Evidence))
    assert evidence.phash == -(2**63) and evidence.flags == ["outside_venue"]
    assert evidence.verdict["outside_venue"]["distance_m"] == 812.5

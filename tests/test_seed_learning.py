"""The demo city's learning (services.seed_learning): content with real media, a valid question bank and tests, and
a study history that keeps every daily cap, feeds the leaderboards and shows completion."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    ChannelKind,
    Course,
    CourseTrack,
    Exam,
    LearningChannel,
    Lesson,
    LessonKind,
    LessonProgress,
    Member,
    Organisation,
    PointDaily,
    PointEntry,
    PointRule,
    Question,
    db,
)
from models.learning import PointMemberDay, PointOrgDay
from services import learning_quiz as quiz
from services import learning_ranks as ranks
from services.learning_content import today
from services.seed import seed_demo
from services.storage import storage


@pytest.fixture
def seeded(app):
    return seed_demo("small", progress=False)["learning"]


def test_channels_courses_and_lessons(app, seeded):
    assert seeded["channels"] == 2 and seeded["courses"] == 4 and seeded["lessons"] == 13
    campaign = db.session.scalar(select(LearningChannel).where(LearningChannel.kind == ChannelKind.CAMPAIGN))
    assert campaign.starts_on <= today() <= campaign.ends_on
    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
    compulsory = db.session.scalars(select(Course).where(Course.track == CourseTrack.COMPULSORY)).all()
    assert len(compulsory) == 1 and compulsory[0].channel_id == campaign.id
    assert compulsory[0].deadline.date() > today() and [a.org_id for a in compulsory[0].audiences] == [root.id]
    for lesson in db.session.scalars(select(Lesson)):
        if lesson.kind == LessonKind.ARTICLE:
            assert len(lesson.body) > 100 and "党" in lesson.body and lesson.duration_s >= 60
            continue
        data = storage().open(lesson.media_key).read()
        assert len(data) == lesson.media_bytes
        if lesson.kind == LessonKind.AUDIO:
            assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and lesson.media_type == "audio/wav"
            assert abs(len(data) / 8000 - lesson.duration_s) < 1  # 8 kHz, 8-bit mono: the length it claims
        else:
            assert lesson.kind == LessonKind.SLIDES and data[:5] == b"%PDF-"


def test_question_bank_and_tests_are_valid(app, seeded):
    qs = db.session.scalars(select(Question)).all()
    assert len(qs) == seeded["questions"] == 40
    for q in qs:
        quiz._check_question(q.kind, q.options, q.answer)  # the rules the API applies
        assert q.explanation and q.stem
    exams = db.session.scalars(select(Exam)).all()
    assert sorted(e.daily_quiz for e in exams) == [False, True]
    for exam in exams:  # every draw rule can be satisfied by the bank
        for rule in exam.draw:
            assert sum(1 for q in qs if q.kind.value == rule["kind"]) >= rule["count"]


def test_history_keeps_the_caps_and_feeds_the_tallies(app, seeded):
    rules = {r.id: r for r in db.session.scalars(select(PointRule))}
    sums: dict = defaultdict(int)
    entries = db.session.scalars(select(PointEntry)).all()
    assert len(entries) == seeded["entries"] > 200
    for e in entries:
        sums[(e.member_id, e.rule_id, e.day)] += e.points
        assert today() - timedelta(days=29) <= e.day <= today()
        assert e.org_id == db.session.get(Member, e.member_id).org_id
    for (_m, rule_id, _d), total in sums.items():
        assert total <= (rules[rule_id].daily_cap or total)
    tallies = {(t.member_id, t.rule_id, t.day): t.points for t in db.session.scalars(select(PointDaily))}
    assert tallies == dict(sums)  # the caps of later grants read these
    assert any(e.proxy for e in entries) and not all(e.proxy for e in entries)


def test_rollups_match_the_ledger_and_the_boards_show_points(client, app, seeded):
    kept = (
        {(r.org_id, r.day, r.member_id): r.points for r in db.session.scalars(select(PointMemberDay))},
        {(r.org_id, r.day): r.points for r in db.session.scalars(select(PointOrgDay))},
    )
    ranks.rebuild()
    db.session.commit()
    db.session.expire_all()
    assert kept[1] == {(r.org_id, r.day): r.points for r in db.session.scalars(select(PointOrgDay))}
    assert len(kept[0]) == db.session.scalar(select(func.count()).select_from(PointMemberDay))
    from services.accounts import start_session

    admin = db.session.scalar(select(Member).where(Member.role == "super_admin"))
    token = start_session(admin, "127.0.0.1", "pytest")["access_token"]
    db.session.commit()
    r = client.get(
        "/api/learning/leaderboard",
        query_string={"period": "campaign", "unit": "counties", "org_id": admin.org.path.split("/")[1]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.json
    assert r.json["channel"]["name"] == "主题教育" and any(i["points"] > 0 for i in r.json["items"])


def test_some_members_completed_the_compulsory_course(app, seeded):
    course = db.session.scalar(select(Course).where(Course.track == CourseTrack.COMPULSORY))
    rows = db.session.scalars(select(LessonProgress).where(LessonProgress.course_id == course.id)).all()
    assert len(rows) == seeded["progress"]
    done_by_member: dict = defaultdict(int)
    for p in rows:
        lesson = db.session.get(Lesson, p.lesson_id)
        assert p.credited_s <= lesson.duration_s
        done_by_member[p.member_id] += p.completed_at is not None
    finished = [m for m, n in done_by_member.items() if n == len(course.lessons)]
    assert finished and len(finished) < seeded["learners"]


def test_a_demo_member_sees_the_course_and_plays_its_audio(client, app, seeded):
    from services.accounts import start_session

    course = db.session.scalar(select(Course).where(Course.track == CourseTrack.COMPULSORY))
    member = db.session.scalar(select(Member).where(Member.role == "member").order_by(Member.id))
    headers = {"Authorization": f"Bearer {start_session(member, '127.0.0.1', 'pytest')['access_token']}"}
    db.session.commit()
    r = client.get("/api/learning/courses", headers=headers)
    assert r.status_code == 200 and r.json["items"][0]["id"] == course.id  # compulsory first
    audio = next(ls for ls in course.lessons if ls.kind == LessonKind.AUDIO)
    r = client.get(f"/api/learning/lessons/{audio.id}", headers=headers)
    assert r.status_code == 200 and r.json["media_type"] == "audio/wav"
    media = client.get(r.json["media_url"])
    assert media.status_code == 200 and media.data[:4] == b"RIFF"

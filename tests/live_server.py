"""A throwaway server for the mini-program's tests: a fresh SQLite database with the standard test world, the app
with its WeChat sandbox on a free loopback port.

    .venv/bin/python tests/live_server.py

Prints one JSON line (`base_url`, `password`, `accounts`, and for the meeting tests `orgs` and the branches'
`venues`) and serves until its standard input closes or it is terminated. Nothing it writes outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _account(member, **extra) -> dict:
    return {
        "username": member.mobile,
        "id": member.id,
        "name": member.name,
        "org_id": member.org_id,
        "role": member.role.value,
        "must_change_password": member.must_change_password,
        **extra,
    }


def _build(app) -> dict:
    from flask_migrate import upgrade

    from models import db
    from services import members as member_service
    from services.authz import SYSTEM
    from tests.factories import PASSWORD, build_world

    upgrade()
    w = build_world()
    fresh, initial = member_service.create_member(
        SYSTEM, w.v1.id, {"name": "新党员", "gender": "female", "mobile": "13700000001"}
    )
    venues = _set_venues(w)
    db.session.commit()
    names = [
        "member_v1",
        "member_v2",
        "sec_v1",
        "sec_v2",
        "town_a1_admin",
        "town_a2_admin",
        "county_a_admin",
        "city_admin",
        "super",
    ]
    accounts = {name: _account(getattr(w, name)) for name in names}
    accounts["fresh_member"] = _account(fresh, password=initial)
    accounts["cadre_v3"] = _account(_duty_cadre(w))
    orgs = {name: {"id": getattr(w, name).id, "name": getattr(w, name).name} for name in _ORGS}
    learning = _learning_world(w)  # after the accounts: it commits
    return {"password": PASSWORD, "accounts": accounts, "orgs": orgs, "venues": venues, "learning": learning}


# Organisations the meeting tests address directly (the review queue of a township, statistics of a subtree).
_ORGS = ["city", "county_a", "town_a1", "town_a2", "v1", "v2", "v3"]


def _set_venues(w) -> dict:
    """Activity places of the village branches, in GCJ-02 as a secretary picks them on the map: meetings default
    to them and sign-ins and photos are checked against them."""
    from models import CoordSys
    from services.authz import SYSTEM
    from services.orgs import update_org

    venues = {"v1": (26.5812, 106.7153), "v2": (26.6012, 106.6953), "v3": (26.5412, 106.7553)}
    for name, (lat, lng) in venues.items():
        update_org(SYSTEM, getattr(w, name), {"venue_lat": lat, "venue_lng": lng, "venue_coord_sys": CoordSys.GCJ02})
    return {name: {"latitude": lat, "longitude": lng, "coord_sys": "gcj02"} for name, (lat, lng) in venues.items()}


def _duty_cadre(w):
    """Issue 5's duty check-in scene: a resident cadre (member of county A's agency) assigned by county A to
    三村 (v3) since a month ago, on duty every day from half an hour from now (so a check-in now is on time) to
    23:59 local, and a 300 m fence around v3's venue stored in WGS-84 (the map draws it from its GCJ-02 `display`).
    Only the duty e2e tests (miniprogram/tests/e2e/duty-*.test.js) log in as this cadre."""
    from datetime import datetime, time, timedelta

    from flask import current_app

    from models import DutyRole, Role, db
    from services import duty_fences, duty_roster
    from services.authz import Actor
    from services.coords import gcj02_to_wgs84
    from tests.factories import member

    cadre = member(w.county_a_agency, "驻村干部", Role.MEMBER)
    county = Actor(w.county_a_admin)
    now = datetime.now(current_app.config["SETTINGS"].zone)
    start = min(now + timedelta(minutes=30), now.replace(hour=23, minute=0, second=0, microsecond=0))
    shift = {"starts_at": time(start.hour, start.minute), "ends_at": time(23, 59)}
    roster = [{"weekday": day, **shift} for day in range(7)]
    data = {"member_id": cadre.id, "org_id": w.v3.id, "role": DutyRole.RESIDENT_CADRE, "roster": roster}
    duty_roster.create_assignment(county, {**data, "starts_on": now.date() - timedelta(days=30), "ends_on": None})
    lat, lng = gcj02_to_wgs84(26.5412, 106.7553)  # v3's venue (_set_venues) in WGS-84
    center = {"latitude": lat, "longitude": lng, "coord_sys": "wgs84"}
    duty_fences.create_fence(
        county, w.v3.id, {"name": "三村村委会", "kind": "circle", "center": center, "radius_m": 300}
    )
    db.session.commit()
    return cadre


def _learning_world(w) -> dict:
    """Issue 7's study scene for 二村党支部 (v2; the learning e2e tests study as member_v2): a compulsory course of
    town A1 (video, article and slides lessons, files stored), an elective campaign course (audio), a question bank,
    a test and a daily quiz. Returns their ids and, for grading checks only, each question's answer by its stem."""
    import io
    from datetime import date, timedelta

    from models import ChannelKind, CourseTrack, LessonKind, QuestionKind, db
    from models.base import utcnow
    from services import learning_content as content
    from services import learning_lessons as lessons
    from services import learning_quiz as quiz
    from services.authz import SYSTEM, Actor

    town = Actor(w.town_a1_admin)
    academy = content.create_channel(
        SYSTEM, {"code": "academy", "name": "网络学院", "kind": ChannelKind.ACADEMY, "org_id": w.city.id}
    )
    campaign = content.create_channel(
        SYSTEM,
        {
            "code": "history",
            "name": "党史学习教育",
            "kind": ChannelKind.CAMPAIGN,
            "org_id": w.city.id,
            "starts_on": date.today() - timedelta(days=10),
            "ends_on": date.today() + timedelta(days=80),
        },
    )
    audience = [{"org_id": w.v2.id}]
    course = content.create_course(
        town,
        {
            "channel_id": academy.id,
            "title": "学习党章",
            "summary": "逐章学习中国共产党章程。",
            "track": CourseTrack.COMPULSORY,
            "deadline": utcnow() + timedelta(days=30),
            "audience": audience,
        },
    )
    mp4, pdf, mp3 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, b"%PDF-1.4\n" + b"x" * 100, b"ID3" + b"\x00" * 200
    video = lessons.add_lesson(town, course, {"title": "党章总纲", "kind": LessonKind.VIDEO, "duration_s": 60})
    lessons.store_media(town, video, io.BytesIO(mp4))
    article = lessons.add_lesson(
        town, course, {"title": "党员的义务", "kind": LessonKind.ARTICLE, "body": "党员必须履行下列义务。" * 60}
    )
    slides = lessons.add_lesson(town, course, {"title": "组织制度", "kind": LessonKind.SLIDES, "duration_s": 120})
    lessons.store_media(town, slides, io.BytesIO(pdf))
    content.publish_course(town, course)
    elective = content.create_course(
        town, {"channel_id": campaign.id, "title": "党史故事", "track": CourseTrack.ELECTIVE, "audience": audience}
    )
    audio = lessons.add_lesson(town, elective, {"title": "红船精神", "kind": LessonKind.AUDIO, "duration_s": 120})
    lessons.store_media(town, audio, io.BytesIO(mp3))
    content.publish_course(town, elective)

    abcd = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]
    bank = [(QuestionKind.SINGLE, f"单选题{i}", abcd, ["ABC"[i]]) for i in range(3)]
    bank += [(QuestionKind.MULTIPLE, f"多选题{i}", abcd, ["A", "C"]) for i in range(2)]
    bank += [(QuestionKind.JUDGE, f"判断题{i}", [], ["T" if i else "F"]) for i in range(2)]
    answers = {}
    for kind, stem, options, answer in bank:
        body = {"kind": kind, "topic": "党章", "stem": stem, "options": options, "answer": answer}
        quiz.create_question(town, {**body, "explanation": f"{stem}的解析"})
        answers[stem] = answer
    draw = [
        {"kind": QuestionKind.SINGLE, "count": 2, "points": 2},
        {"kind": QuestionKind.MULTIPLE, "count": 1, "points": 3},
        {"kind": QuestionKind.JUDGE, "count": 1, "points": 1},
    ]
    exam = quiz.create_exam(
        town,
        {
            "title": "党章知识测试",
            "draw": draw,
            "time_limit_s": 600,
            "max_attempts": 3,
            "pass_score": 6,
            "audience_org_id": w.v2.id,
        },
    )
    daily = quiz.create_exam(
        town,
        {"title": "每日一练", "draw": draw[:1], "time_limit_s": 300, "daily_quiz": True, "audience_org_id": w.v2.id},
    )
    db.session.commit()
    return {
        "course_id": course.id,
        "elective_id": elective.id,
        "lessons": {"video": video.id, "article": article.id, "slides": slides.id, "audio": audio.id},
        "exam_id": exam.id,
        "quiz_id": daily.id,
        "answers": answers,
    }


def main() -> None:
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app
    from tests.live import LiveServer

    tmp = Path(tempfile.mkdtemp(prefix="party-live-"))
    app = create_app(
        {
            "app_env": "testing",
            "database_url": f"sqlite:///{tmp / 'live.db'}",
            "storage_dir": str(tmp / "storage"),
            "redis_url": None,
            "RATELIMIT_ENABLED": False,
            # Heartbeats a second apart earn credit, so the learning e2e tests need not wait 10 s between them.
            "learning_beat_min_gap_s": 1,
        }
    )
    with app.app_context():
        info = _build(app)
    server = LiveServer(app).start()
    print(json.dumps({"base_url": server.base_url, **info}, ensure_ascii=False), flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

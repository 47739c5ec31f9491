"""Study heartbeats on both paths (database directly; Redis then a flush job): only plausible time is credited.

The server's clock is a fake one the tests move; the phone's claims (elapsed, seq, visible) are whatever a test sends.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event, select

from models import FlushBatch, LessonKind, LessonProgress, PointEntry, StudyDay, db
from services import learning_flush as flush
from services import learning_points as points
from services import learning_progress as progress
from tasks.learning import flush_study_time
from tests.conftest import redis_test_url
from tests.test_learning_content import make_course

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000  # the fake clock's start (2027-01-15, 16:00 in Shanghai)


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def tick(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress, "now_s", c)
    return c


def _clear(conn) -> None:
    for key in conn.scan_iter("learning:*"):
        conn.delete(key)


@pytest.fixture(params=["db", "redis"])
def path(request, app, monkeypatch):
    """Which path heartbeats take: the database directly, or Redis (the suite's Redis db) and a flush."""
    scheduled = []
    monkeypatch.setattr("tasks.learning.schedule_flush", lambda delay: scheduled.append(delay))
    if request.param == "redis":
        conn = request.getfixturevalue("redis_conn")
        _clear(conn)
        monkeypatch.setitem(app.extensions, "redis", conn)
        yield type("Path", (), {"name": "redis", "conn": conn, "scheduled": scheduled})
        _clear(conn)
    else:
        monkeypatch.setitem(app.extensions, "redis", None)
        yield type("Path", (), {"name": "db", "conn": None, "scheduled": scheduled})


def settle(path) -> None:
    """Whatever the path, lets credited time reach the database."""
    if path.name == "redis":
        flush_study_time()
    db.session.commit()
    db.session.expire_all()


def start(client, headers, lesson_id, **body):
    r = client.post(f"/api/learning/lessons/{lesson_id}/start", json=body, headers=headers)
    assert r.status_code == 200, r.json
    return r.json["token"]


def beat(client, headers, lesson_id, token, seq, elapsed, *, position=0, visible=True, member_id=None, status=200):
    body = {"lesson_id": lesson_id, "token": token, "seq": seq, "position": position, "elapsed": elapsed}
    body["visible"] = visible
    if member_id:
        body["member_id"] = member_id
    r = client.post("/api/learning/heartbeats", json=body, headers=headers)
    assert r.status_code == status, r.json
    return r.json


def progress_row(member, lesson_id) -> LessonProgress:
    stmt = select(LessonProgress).where(LessonProgress.member_id == member.id, LessonProgress.lesson_id == lesson_id)
    return db.session.scalar(stmt)


def video(world, seconds=3600):
    course = make_course(world, kind=LessonKind.VIDEO, duration_s=seconds)
    return course.lessons[0].id


def test_credited_time_never_exceeds_the_wall_clock(client, world, login_as, clock, path):
    lesson_id = video(world)
    h = login_as(world.member_v1)
    token = start(client, h, lesson_id)
    began = clock.now
    # (seconds the clock moves, elapsed the phone claims, visible): honest beats, inflated claims, a burst,
    # a long silence, a background stretch.
    script = [(30, 30, True), (30, 300, True), (3, 30, True), (2, 30, True), (25, 30, True), (600, 600, True)]
    script += [(30, 30, False), (30, 30, True), (15, 3600, True)]
    credited = []
    for seq, (moved, elapsed, visible) in enumerate(script, start=1):
        clock.tick(moved)
        credited.append(beat(client, h, lesson_id, token, seq, elapsed, visible=visible)["credited_s"])
    # 30 honest; 30 of the 300 claimed; burst beats earn nothing (3 s, then 5 s after the last credited one), and
    # the next credits the 30 s since; 90 of a 600 s silence; background nothing; then 30, then 15.
    assert credited == [30, 30, 0, 0, 30, 90, 0, 30, 15]
    assert sum(credited) <= clock.now - began
    settle(path)
    assert progress_row(world.member_v1, lesson_id).credited_s == sum(credited) == 225
    assert db.session.get(StudyDay, (world.member_v1.id, points.business_day(_at(clock)))).media_s == 225


def _at(clock):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(clock.now, UTC)


def test_random_heartbeats_stay_within_the_wall_clock(client, world, login_as, clock, path):
    import random

    rng = random.Random(7)
    lesson_id = video(world)
    h = login_as(world.member_v1)
    token = start(client, h, lesson_id)
    began, credited = clock.now, 0
    for seq in range(1, 60):
        clock.tick(rng.choice([0, 1, 5, 9, 10, 30, 31, 60, 120, 400]))
        sent = seq if rng.random() > 0.15 else max(1, seq - rng.randint(1, 3))  # some replays and reorders
        out = beat(
            client, h, lesson_id, token, sent, rng.choice([0, 10, 30, 45, 100, 3600]), visible=rng.random() > 0.1
        )
        credited += out["credited_s"]
        assert credited <= clock.now - began
    settle(path)
    assert progress_row(world.member_v1, lesson_id).credited_s == credited


def test_duplicates_and_late_arrivals_are_ignored(client, world, login_as, clock, path):
    lesson_id = video(world)
    h = login_as(world.member_v1)
    token = start(client, h, lesson_id)
    clock.tick(30)
    assert beat(client, h, lesson_id, token, 2, 30)["credited_s"] == 30
    clock.tick(30)
    for seq in (2, 1):  # the same again, and one overtaken on the network
        out = beat(client, h, lesson_id, token, seq, 30)
        assert out["outcome"] == "duplicate" and out["credited_s"] == 0
    assert beat(client, h, lesson_id, token, 3, 30)["credited_s"] == 30
    settle(path)
    assert progress_row(world.member_v1, lesson_id).credited_s == 60


def test_one_lesson_at_a_time(client, world, login_as, clock, path):
    first, second = video(world), video(world)
    h = login_as(world.member_v1)
    token1 = start(client, h, first)
    token2 = start(client, h, second)  # the member switches lessons (or a second phone opens one)
    clock.tick(30)
    out = beat(client, h, first, token1, 1, 30, status=409)
    assert out["error"]["code"] == "session_superseded"
    assert beat(client, h, second, token2, 1, 30)["credited_s"] == 30
    token3 = start(client, h, second)  # the same lesson on another device takes over
    clock.tick(30)
    assert beat(client, h, second, token2, 2, 30, status=409)["error"]["code"] == "session_superseded"
    assert beat(client, h, second, token3, 1, 30)["credited_s"] == 30
    assert beat(client, h, first, "0" * 32, 5, 30, status=409)["error"]["code"] == "session_superseded"
    settle(path)
    assert progress_row(world.member_v1, first).credited_s == 0
    assert progress_row(world.member_v1, second).credited_s == 60


def test_heartbeat_for_a_lesson_never_started_or_not_assigned(client, world, login_as, clock, path):
    lesson_id = video(world)
    h = login_as(world.member_v2)  # v2 is outside the course's audience
    r = client.post(f"/api/learning/lessons/{lesson_id}/start", json={}, headers=h)
    assert r.status_code == 404
    beat(client, h, lesson_id, "a" * 32, 1, 30, status=409)
    r = client.post("/api/learning/heartbeats", json={"lesson_id": lesson_id, "token": "x"}, headers=h)
    assert r.status_code == 422 and {"token", "seq", "position", "elapsed"} <= set(r.json["error"]["fields"])


def test_article_completes_at_its_share_and_earns_one_point(client, world, login_as, clock, path, app):
    course = make_course(world)  # an article of 480 characters: 72 s of reading, complete at 90 %: 64 s
    lesson = course.lessons[0]
    assert lesson.duration_s == 72
    h = login_as(world.member_v1)
    token = start(client, h, lesson.id)
    for seq in range(1, 3):  # 2 × 30 s = 60 s, below 64 s
        clock.tick(30)
        out = beat(client, h, lesson.id, token, seq, 30)
    assert out["completed"] is False
    settle(path)
    assert progress_row(world.member_v1, lesson.id).completed_at is None
    clock.tick(30)
    out = beat(client, h, lesson.id, token, 3, 30)
    assert out["completed"] is True and out["lesson_credited_s"] == 90
    settle(path)
    assert progress_row(world.member_v1, lesson.id).completed_at is not None
    for seq in range(4, 7):  # reading on earns nothing more
        clock.tick(30)
        beat(client, h, lesson.id, token, seq, 30)
    settle(path)
    entries = db.session.scalars(select(PointEntry).where(PointEntry.member_id == world.member_v1.id)).all()
    assert [(e.rule.code, e.points, e.source_id) for e in entries] == [("article_read", 1, lesson.id)]
    r = client.get(f"/api/learning/courses/{course.id}", headers=h)
    assert r.json["completed_lessons"] == 1 and r.json["lessons"][0]["progress"]["percent"] == 100


def test_media_time_earns_a_point_per_four_minutes_up_to_the_cap(client, world, login_as, clock, path):
    lesson_id = video(world, seconds=4 * 3600)
    h = login_as(world.member_v1)
    token = start(client, h, lesson_id)
    for seq in range(1, 11):  # 10 × 30 s = 300 s: one unit of 240 s
        clock.tick(30)
        beat(client, h, lesson_id, token, seq, 30)
    settle(path)
    assert points.summary(world.member_v1)["total"] == 1
    for seq in range(11, 81):  # 2,400 s in all: ten units, capped at eight
        clock.tick(30)
        beat(client, h, lesson_id, token, seq, 30)
    settle(path)
    assert points.summary(world.member_v1)["total"] == 8
    keys = db.session.scalars(select(PointEntry.unique_key).order_by(PointEntry.id)).all()
    assert len(keys) == len(set(keys)) == 8


def test_proxy_study_is_marked(client, world, login_as, clock, path):
    course = make_course(world)
    lesson = course.lessons[0]
    sec = login_as(world.sec_v1)
    for who in (world.sec_v2, world.member_v2):  # not the member's branch: the member is out of their scope
        r = client.post(
            f"/api/learning/lessons/{lesson.id}/start", json={"member_id": world.member_v1.id}, headers=login_as(who)
        )
        assert r.status_code == 404
    token = start(client, sec, lesson.id, member_id=world.member_v1.id)
    mine = login_as(world.member_v1)
    clock.tick(30)
    # The member's own phone cannot feed the secretary's proxy session, nor the secretary without naming the member.
    beat(client, mine, lesson.id, token, 1, 30, status=409)
    beat(client, sec, lesson.id, token, 1, 30, status=409)
    for seq in range(1, 6):
        clock.tick(30)
        beat(client, sec, lesson.id, token, seq, 30, member_id=world.member_v1.id)
    settle(path)
    row = progress_row(world.member_v1, lesson.id)
    assert row.completed_at is not None and row.proxy_by == world.sec_v1.id
    entry = db.session.scalar(select(PointEntry).where(PointEntry.member_id == world.member_v1.id))
    assert entry.proxy is True and entry.rule.code == "article_read"
    assert db.session.scalar(select(PointEntry).where(PointEntry.member_id == world.sec_v1.id)) is None


# ---------------------------------------------------------------- the Redis path only


@pytest.fixture
def redis_path(path):
    if path.name != "redis":
        pytest.skip("Redis path only")
    return path


def test_the_hot_path_touches_only_redis(client, world, login_as, clock, redis_path, app):
    lesson_id = video(world)
    h = login_as(world.member_v1)
    token = start(client, h, lesson_id)
    from services.authz import Actor

    actor = Actor(world.member_v1)
    assert actor.id  # loaded, as login_required loads it before the view runs
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        for seq in range(1, 4):
            clock.tick(30)
            progress.heartbeat(actor, progress.Beat(lesson_id, token, seq, seq * 30, 30))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []
    assert redis_path.scheduled == [app.config["SETTINGS"].learning_flush_seconds]  # once per window
    assert progress_row(world.member_v1, lesson_id).credited_s == 0  # not yet in the database
    settle(redis_path)
    row = progress_row(world.member_v1, lesson_id)
    assert (row.credited_s, row.position_s) == (90, 90)


def test_a_flush_killed_midway_loses_nothing_and_doubles_nothing(client, world, login_as, clock, redis_path):
    lessons = [video(world) for _ in range(2)]
    members = [world.member_v1, world.sec_v1]
    tokens = {}
    for m in members:
        h = login_as(m)
        for lesson_id in lessons:
            tokens[(m.id, lesson_id)] = start(client, h, lesson_id)  # the second start supersedes the first
    for seq in (1, 2):
        clock.tick(30)
        for m in members:
            beat(client, login_as(m), lessons[1], tokens[(m.id, lessons[1])], seq, 30)
    db.session.commit()
    # First attempt: claims the batch, applies chunk 0 of 2, then "dies" before the rest and before releasing.
    flush.CHUNK_MEMBERS, saved = 1, flush.CHUNK_MEMBERS
    try:
        [batch] = flush.batches_to_apply()
        chunks = flush.chunks(batch)
        assert len(chunks) == 2
        assert flush.apply_chunk(chunks[0])
        db.session.commit()
        claimed = redis_path.conn.hgetall(f"learning:processing:{batch}:seconds")
        # Meanwhile heartbeats go on into a fresh pending hash.
        clock.tick(30)
        beat(client, login_as(world.member_v1), lessons[1], tokens[(world.member_v1.id, lessons[1])], 3, 30)
        # The next run finishes the dead run's batch (skipping chunk 0), then the new pending time.
        assert flush_study_time() == 2
        # A replay of the finished batch (e.g. RQ re-running the job after a kill) changes nothing.
        redis_path.conn.hset(f"learning:processing:{batch}:seconds", mapping=claimed)
        assert flush_study_time() == 0
    finally:
        flush.CHUNK_MEMBERS = saved
    db.session.expire_all()
    assert progress_row(world.member_v1, lessons[1]).credited_s == 90
    assert progress_row(world.sec_v1, lessons[1]).credited_s == 60
    assert db.session.scalar(select(FlushBatch.rows).where(FlushBatch.batch_id == f"{batch}-0")) >= 1
    assert list(redis_path.conn.scan_iter("learning:processing:*")) == []


def test_a_real_worker_flushes_on_real_redis(client, world, login_as, clock, redis_path, app):
    from rq import Queue

    lesson_id = video(world)
    h = login_as(world.member_v1)
    token = start(client, h, lesson_id)
    clock.tick(30)
    beat(client, h, lesson_id, token, 1, 30)
    db.session.commit()
    Queue("default", connection=redis_path.conn).enqueue(flush_study_time)
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_KEY", "FLASK_APP", "STORAGE")}
    s = app.config["SETTINGS"]
    env.update(
        APP_ENV="testing",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_test_url(),
        STORAGE_DIR=s.storage_dir,
        SECRET_KEY=s.secret_key,
    )
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "worker", "--burst", "default"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    db.session.rollback()
    assert progress_row(world.member_v1, lesson_id).credited_s == 30

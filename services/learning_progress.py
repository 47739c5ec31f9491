"""Study progress from heartbeats: only plausible time is credited.

A member opens a lesson with `start_lesson`, which checks that the lesson is meant for them and hands out a session
token; opening another lesson (or the same one on another device) supersedes it: one lesson at a time per member.
While the lesson is open the phone sends heartbeats {token, seq, position, elapsed, visible}. `decide` is the rule,
the same on both paths:

- a heartbeat of an unknown or superseded session earns nothing and is refused (409), so the phone stops;
- a seq not above the last accepted one (a duplicate, or one overtaken on the network) is ignored;
- one sooner than `LEARNING_BEAT_MIN_GAP_S` after the last credited one (a burst) earns nothing;
- otherwise the credit is min(elapsed claimed, wall-clock seconds since the last credited heartbeat,
  `LEARNING_BEAT_MAX_GAP_S`) — nothing for a background tab — and the clock moves on.

So the credits of a session never add up to more than the wall-clock time it was open.

Without Redis the state is a `learning_sessions` row and each heartbeat writes the database. With Redis the whole
decision is one Lua script on Redis (state, pending seconds, last position) and nothing touches the database; a job
(services/learning_flush.py) moves pending seconds to the database in batches.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import LessonKind, LessonProgress, Member, StudyDay, StudySession, db
from services import learning_lessons as lessons
from services import learning_points as points
from services.authz import Action, Actor, get_member_for
from services.errors import Conflict, Forbidden

STATE_KEY = "learning:study:{member}"
PENDING_KEY = "learning:pending"
POSITIONS_KEY = "learning:positions"
FLUSH_MARK_KEY = "learning:flush-scheduled"
STATE_TTL_S = 4 * 3600
_BEAT_LUA = (Path(__file__).parent / "data" / "learning_beat.lua").read_text()


def now_s() -> int:
    """Whole seconds of server time (tests replace this clock)."""
    return int(datetime.now(UTC).timestamp())


def _settings():
    return current_app.config["SETTINGS"]


def _redis():
    from tasks import redis_client

    return redis_client()


@dataclass
class Beat:
    lesson_id: int
    token: str
    seq: int
    position: int
    elapsed: int
    visible: bool = True


@dataclass
class BeatResult:
    outcome: str  # ok | background | too_soon | duplicate
    credited: int
    lesson_credited_s: int
    completed: bool


def decide(state: dict, beat: Beat, now: int, min_gap: int, max_gap: int) -> tuple[str, int, dict]:
    """The credit rule (mirrored by data/learning_beat.lua): (outcome, seconds credited, state changes)."""
    if beat.seq <= state["seq"]:
        return "duplicate", 0, {}
    gap = now - state["last"]
    if gap < min_gap:
        return "too_soon", 0, {"seq": beat.seq}
    credit = max(0, min(beat.elapsed, gap, max_gap)) if beat.visible else 0
    return ("ok" if beat.visible else "background"), credit, {"seq": beat.seq, "last": now}


def _learner(actor: Actor, member_id: int | None) -> tuple[Member, int | None]:
    """The member who studies, and who acts for them when that is someone else (proxy study)."""
    if member_id is None or member_id == actor.id:
        return actor.member, None
    member = get_member_for(actor, member_id)  # out of scope: 404
    if actor.member is None or actor.member.org_id != member.org_id:
        raise Forbidden("只能为本支部的党员代学")
    get_member_for(actor, member_id, Action.UPDATE)
    return member, actor.id


def start_lesson(actor: Actor, lesson_id: int, member_id: int | None = None) -> tuple[LessonProgress, str]:
    """Opens a lesson for study (for oneself, or for a member of one's own branch as proxy study) and supersedes any
    other open lesson of that member. Writes the progress row if new and, without Redis, the session row; with
    Redis the session state goes to Redis."""
    member, proxy_by = _learner(actor, member_id)
    lesson = lessons.get_lesson_for(Actor(member), lesson_id)
    progress = _progress_row(member, lesson, proxy_by)
    token, now = uuid.uuid4().hex, now_s()
    conn = _redis()
    if conn is not None:
        state = {
            "lesson": lesson.id,
            "token": token,
            "seq": 0,
            "last": now,
            "by": actor.id,
            "proxy": 1 if proxy_by else 0,
            "acc": 0,
            "base": progress.credited_s,
            "dur": lesson.duration_s,
        }
        key = STATE_KEY.format(member=member.id)
        conn.pipeline().delete(key).hset(key, mapping=state).expire(key, STATE_TTL_S).execute()
        return progress, token
    points.serialize_member(member.id)
    session = db.session.get(StudySession, member.id, populate_existing=True)
    if session is None:
        session = StudySession(member_id=member.id)
        db.session.add(session)
    session.lesson_id, session.token, session.last_seq = lesson.id, token, 0
    session.last_beat_at = session.started_at = datetime.fromtimestamp(now, UTC)
    session.proxy_by = proxy_by
    db.session.flush()
    return progress, token


def _progress_row(member: Member, lesson, proxy_by: int | None) -> LessonProgress:
    stmt = select(LessonProgress).where(LessonProgress.member_id == member.id, LessonProgress.lesson_id == lesson.id)
    row = db.session.scalar(stmt)
    if row is not None:
        return row
    row = LessonProgress(member_id=member.id, lesson_id=lesson.id, course_id=lesson.course_id, proxy_by=proxy_by)
    try:
        with db.session.begin_nested():  # two devices opening the lesson at once: one insert wins
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalar(stmt)
    return row


def heartbeat(actor: Actor, beat: Beat, member_id: int | None = None) -> BeatResult:
    """Credits plausible study time for one heartbeat (see the module docstring). With Redis: Redis only (and a
    flush job scheduled at most once per `LEARNING_FLUSH_SECONDS`); without: writes progress, the study day and
    points directly (flush only)."""
    learner_id = member_id or actor.id
    if _redis() is not None:
        return _heartbeat_redis(actor, learner_id, beat)
    return _heartbeat_db(actor, learner_id, beat)


def _superseded() -> Conflict:
    return Conflict("该课时已在别处打开或已切换到其他课时，本设备的学习记录已停止", code="session_superseded")


def _heartbeat_db(actor: Actor, learner_id: int, beat: Beat) -> BeatResult:
    points.serialize_member(learner_id)
    session = db.session.get(StudySession, learner_id, populate_existing=True)
    acting = session and (session.proxy_by or session.member_id)
    if session is None or session.token != beat.token or session.lesson_id != beat.lesson_id or acting != actor.id:
        raise _superseded()
    s = _settings()
    state = {"seq": session.last_seq, "last": int(session.last_beat_at.timestamp())}
    now = now_s()
    outcome, credit, changes = decide(state, beat, now, s.learning_beat_min_gap_s, s.learning_beat_max_gap_s)
    if "seq" in changes:
        session.last_seq = changes["seq"]
    if "last" in changes:
        session.last_beat_at = datetime.fromtimestamp(changes["last"], UTC)
    progress = db.session.scalar(
        select(LessonProgress).where(LessonProgress.member_id == learner_id, LessonProgress.lesson_id == beat.lesson_id)
    )
    if outcome != "duplicate":
        progress.position_s = max(0, beat.position)
    if credit:
        day = points.business_day(datetime.fromtimestamp(now, UTC))
        credit_time(progress, {day: credit}, proxy=session.proxy_by is not None)
    return BeatResult(outcome, credit, progress.credited_s, progress.completed_at is not None)


def _heartbeat_redis(actor: Actor, learner_id: int, beat: Beat) -> BeatResult:
    conn, s, now = _redis(), _settings(), now_s()
    day = points.business_day(datetime.fromtimestamp(now, UTC))
    keys = [STATE_KEY.format(member=learner_id), PENDING_KEY, POSITIONS_KEY, FLUSH_MARK_KEY]
    args = [actor.id, beat.lesson_id, beat.token, beat.seq, max(0, beat.position), beat.elapsed]
    args += [1 if beat.visible else 0, now, s.learning_beat_min_gap_s, s.learning_beat_max_gap_s, day.isoformat()]
    args += [STATE_TTL_S, s.learning_flush_seconds]
    outcome, credit, acc, base, dur, schedule = _beat_script(conn)(keys=keys, args=args)
    outcome = outcome.decode() if isinstance(outcome, bytes) else outcome
    if outcome == "superseded":
        raise _superseded()
    if schedule:
        from tasks.learning import schedule_flush

        schedule_flush(s.learning_flush_seconds)
    total = int(base) + int(acc)
    return BeatResult(outcome, int(credit), total, total >= completion_threshold(int(dur)))


@functools.lru_cache(maxsize=8)
def _beat_script(conn):
    """The heartbeat script, sent by its SHA1 (EVALSHA, loaded once per server): the hottest call of the platform
    need not ship and hash 1.5 KB of Lua each time."""
    return conn.register_script(_BEAT_LUA)


def completion_threshold(duration_s: int) -> int:
    return max(1, int(duration_s * _settings().learning_complete_share))


def credit_time(progress: LessonProgress, by_day: dict, proxy: bool) -> None:
    """Adds credited seconds to a progress row and the member's study days, completes the lesson at its share,
    and grants the points they earn: per started unit of media time, once per article or slides read. Flush only."""
    lesson = progress_lesson(progress)
    progress.credited_s += sum(by_day.values())
    member = db.session.get(Member, progress.member_id)
    if lesson.kind.timed:
        for day, seconds in sorted(by_day.items()):
            add_media_time(member, day, seconds, proxy)
    if progress.completed_at is None and progress.credited_s >= completion_threshold(lesson.duration_s):
        complete(progress, lesson, member, max(by_day), proxy)


def progress_lesson(progress: LessonProgress):
    from models import Lesson

    return db.session.get(Lesson, progress.lesson_id)


def complete(progress: LessonProgress, lesson, member: Member, day, proxy: bool) -> None:
    progress.completed_at = datetime.now(UTC)
    if lesson.kind in (LessonKind.ARTICLE, LessonKind.SLIDES):
        key = f"article:{member.id}:{lesson.id}"
        points.grant(
            member, "article_read", unique_key=key, source_type="lesson", source_id=lesson.id, day=day, proxy=proxy
        )


def add_media_time(member: Member, day, seconds: int, proxy: bool) -> None:
    """Adds media seconds to the member's study day and grants one unit of `media_time` per `unit_s` completed that
    day; unit n has the key media:<member>:<day>:<n>, so replays never grant twice."""
    points.serialize_member(member.id)
    row = db.session.get(StudyDay, (member.id, day), populate_existing=True, with_for_update=True)
    if row is None:
        row = StudyDay(member_id=member.id, day=day, media_s=0, proxy_media_s=0)
        db.session.add(row)
    before = row.media_s + row.proxy_media_s
    if proxy:
        row.proxy_media_s += seconds
    else:
        row.media_s += seconds
    rule = points.rule_by_code("media_time")
    if not rule.unit_s:
        return
    for n in range(before // rule.unit_s + 1, (before + seconds) // rule.unit_s + 1):
        key = f"media:{member.id}:{day}:{n}"
        points.grant(member, "media_time", unique_key=key, source_type="study_day", day=day, proxy=proxy)


def progress_of(member: Member, lesson_ids: list[int]) -> dict[int, LessonProgress]:
    if not lesson_ids:
        return {}
    stmt = select(LessonProgress).where(LessonProgress.member_id == member.id, LessonProgress.lesson_id.in_(lesson_ids))
    return {p.lesson_id: p for p in db.session.scalars(stmt)}

"""Moving credited study time from Redis to the database, in batches, without losing or doubling any of it.

Heartbeats add seconds to one Redis hash (field "member:lesson:day:proxy"). A flush first *claims* what is pending by
renaming the hash (and the last-positions hash) to processing keys named after a new batch id, atomically: heartbeats
arriving meanwhile start a fresh pending hash. The claimed rows are applied in chunks of members, each in one
transaction that also inserts a `learning_flush_batches` row "<batch>-<chunk>"; the processing keys are deleted only
after every chunk is applied. A flush killed at any point leaves its processing keys behind: the next flush applies
them first, skipping the chunks whose marker row exists. So each second reaches the database exactly once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from models import FlushBatch, LessonProgress, Member, db
from services import learning_progress as progress
from tasks import redis_client

PROCESSING = "learning:processing:"
CHUNK_MEMBERS = 500
_CLAIM_LUA = """
local claimed = 0
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 2])
    claimed = 1
  end
end
return claimed
"""


def _keys(batch: str) -> tuple[str, str]:
    return f"{PROCESSING}{batch}:seconds", f"{PROCESSING}{batch}:positions"


def claim() -> str | None:
    """Renames what is pending to a new batch's processing keys; None when nothing is pending."""
    batch = uuid.uuid4().hex
    keys = [progress.PENDING_KEY, progress.POSITIONS_KEY, *_keys(batch)]
    return batch if redis_client().eval(_CLAIM_LUA, 4, *keys) else None


def batches_to_apply() -> list[str]:
    """Batches left by an earlier flush that did not finish, then a newly claimed one."""
    conn = redis_client()
    left = sorted({k.decode().removeprefix(PROCESSING).split(":")[0] for k in conn.scan_iter(PROCESSING + "*")})
    new = claim()
    return left + ([new] if new else [])


@dataclass
class Chunk:
    batch: str
    index: int
    seconds: dict = field(default_factory=lambda: defaultdict(int))  # (member, lesson, proxy) → {day: s}
    positions: dict = field(default_factory=dict)  # (member, lesson) → position

    @property
    def marker(self) -> str:
        return f"{self.batch}-{self.index}"


def chunks(batch: str) -> list[Chunk]:
    """The batch's rows grouped into chunks of at most `CHUNK_MEMBERS` members, in a fixed order (so that a replay
    forms the same chunks)."""
    seconds_key, positions_key = _keys(batch)
    conn = redis_client()
    by_member: dict[int, list] = defaultdict(list)
    for name, value in conn.hgetall(seconds_key).items():
        member, lesson, day, proxy = name.decode().split(":")
        by_member[int(member)].append(("s", int(lesson), date.fromisoformat(day), proxy == "1", int(value)))
    for name, value in conn.hgetall(positions_key).items():
        member, lesson = name.decode().split(":")
        by_member[int(member)].append(("p", int(lesson), None, None, int(float(value))))
    members = sorted(by_member)
    out = []
    for start in range(0, len(members), CHUNK_MEMBERS):
        chunk = Chunk(batch, len(out))
        for member in members[start : start + CHUNK_MEMBERS]:
            for kind, lesson, day, proxy, value in by_member[member]:
                if kind == "s":
                    chunk.seconds.setdefault((member, lesson, proxy), {})
                    chunk.seconds[(member, lesson, proxy)][day] = value
                else:
                    chunk.positions[(member, lesson)] = value
        out.append(chunk)
    return out


def apply_chunk(chunk: Chunk) -> bool:
    """Applies one chunk unless its marker says it was applied: progress, study days, completions and points.
    Writes its marker row in the same transaction (flush only; the job commits). False when already applied."""
    if db.session.get(FlushBatch, chunk.marker) is not None:
        return False
    rows = len(chunk.seconds) + len(chunk.positions)
    db.session.add(FlushBatch(batch_id=chunk.marker, rows=rows))
    db.session.flush()  # a concurrent flush of the same chunk fails here, before anything is applied
    members = {m for m, _l, _p in chunk.seconds} | {m for m, _l in chunk.positions}
    list(db.session.scalars(select(Member).where(Member.id.in_(members))))  # into the identity map, one query
    rows_by_key = {
        (p.member_id, p.lesson_id): p
        for p in db.session.scalars(select(LessonProgress).where(LessonProgress.member_id.in_(members)))
    }
    for (member, lesson), position in chunk.positions.items():
        if (member, lesson) in rows_by_key:
            rows_by_key[(member, lesson)].position_s = position
    for (member, lesson, proxy), by_day in sorted(chunk.seconds.items()):
        row = rows_by_key.get((member, lesson))
        if row is not None:  # the lesson was deleted meanwhile: its time goes with it
            progress.credit_time(row, by_day, proxy)
    db.session.flush()
    return True


def release(batch: str) -> None:
    """Deletes a batch's processing keys, once every chunk is in the database."""
    redis_client().delete(*_keys(batch))

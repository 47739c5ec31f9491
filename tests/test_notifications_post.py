"""The posting contract other modules rely on: one row per key, a rerun creates nothing, cancel before sending."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import Channel, Notification, NotificationStatus, db
from services import notifications


def _post(member, key="k1", category="meeting_due", **extra):
    return notifications.post(
        member.id, key=key, category=category, title="支部委员会会议待召开", body="本月支部委员会会议尚未召开", **extra
    )


def test_post_is_unique_by_key(world):
    first = _post(world.member_v1, page="/pages/meetings/meetings", due_at=datetime(2026, 12, 31, tzinfo=UTC))
    assert first is not None
    assert _post(world.member_v1) is None
    db.session.commit()
    assert _post(world.member_v1) is None
    row = db.session.get(Notification, first)
    assert (row.status, row.category, row.page) == (
        NotificationStatus.PENDING,
        "meeting_due",
        "/pages/meetings/meetings",
    )
    assert row.due_at == datetime(2026, 12, 31, tzinfo=UTC)
    assert db.session.query(Notification).count() == 1


def test_post_refuses_unknown_category_and_long_key(world):
    with pytest.raises(ValueError):
        _post(world.member_v1, category="spam")
    with pytest.raises(ValueError):
        _post(world.member_v1, key="x" * 192)
    assert _post(world.member_v1, key="x" * 191) is not None


def test_cancel_only_unsent(world):
    a, b = _post(world.member_v1, key="a"), _post(world.member_v1, key="b")
    db.session.get(Notification, b).status = NotificationStatus.SENT
    db.session.commit()
    assert notifications.cancel(["a", "b", "missing"]) == 1
    db.session.commit()
    assert db.session.get(Notification, a).status == NotificationStatus.CANCELLED
    assert db.session.get(Notification, b).status == NotificationStatus.SENT
    assert notifications.cancel(["a"]) == 0


def test_enqueue_sends_in_process_delivers_at_once(app, world, monkeypatch):
    monkeypatch.setitem(app.extensions, "redis", None)  # the embedded setup: no Redis, jobs run in-process
    nid = _post(world.member_v1)
    db.session.commit()
    notifications.enqueue_sends([nid, None])
    row = db.session.get(Notification, nid)
    db.session.refresh(row)
    assert (row.status, row.channel) == (NotificationStatus.SENT, Channel.INBOX)


def test_enqueue_sends_with_redis_queues_one_job_per_chunk(app, world, redis_conn, monkeypatch):
    from rq import Queue

    from tasks import notifications as notification_tasks
    from tasks import redis_client

    if redis_client() is None:
        pytest.skip("this backend runs without Redis")
    monkeypatch.setattr(notification_tasks, "CHUNK_SIZE", 2)
    ids = [_post(world.member_v1, key=f"q{i}") for i in range(3)]
    db.session.commit()
    queue = Queue("default", connection=redis_client())
    queue.empty()
    notifications.enqueue_sends(ids)
    jobs = queue.get_jobs()
    assert [j.args[0] for j in jobs] == [ids[:2], ids[2:]]
    assert {j.func_name for j in jobs} == {"tasks.notifications.send_notifications"}
    assert all(j.retries_left == 4 and j.timeout == 60 for j in jobs)
    queue.empty()

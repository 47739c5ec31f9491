"""The periodic scan runs once however many schedulers enqueue it: the slot claim and the running lock in Redis
(tasks/reminders.py), with two scans at the same time in two threads, a second job of a slot, and the real job
through a real RQ worker on real Redis. Uses the suite's Redis database (TEST_REDIS_DB)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from models import db
from models.reminders import Reminder
from services import reminder_scan
from tasks import reminders as tasks


@pytest.fixture(autouse=True)
def _no_claims(redis_conn):
    """Each test (and backend) starts without slot claims or a running lock left by another."""
    for key in redis_conn.scan_iter("reminders:scan:*"):
        redis_conn.delete(key)


def _counting_scan(monkeypatch, pause: float = 0.3) -> list[int]:
    """Replaces the scan with one that takes `pause` seconds and counts its runs."""
    runs: list[int] = []
    real = reminder_scan.run_scan

    def slow(now=None):
        runs.append(1)
        time.sleep(pause)
        return real(now)

    monkeypatch.setattr(reminder_scan, "run_scan", slow)
    return runs


def test_two_concurrent_scans_of_a_slot_run_once(app, world, redis_conn, monkeypatch):
    runs = _counting_scan(monkeypatch)
    results, barrier = [], threading.Barrier(2)

    def one():
        with app.app_context():
            barrier.wait()
            results.append(tasks.run_locked(redis_conn, slot=424242))
            db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 1 and sorted(r is None for r in results) == [False, True]
    assert tasks.run_locked(redis_conn, slot=424242) is None  # the slot's second job, later: nothing
    assert len(runs) == 1


def test_a_scan_by_hand_waits_for_no_slot_but_never_overlaps_a_running_one(app, world, redis_conn, monkeypatch):
    runs = _counting_scan(monkeypatch, pause=0.5)
    done = []
    with app.app_context():
        worker = threading.Thread(target=lambda: done.append(_in_context(app, redis_conn, 7)))
        worker.start()
        time.sleep(0.2)
        assert tasks.run_locked(redis_conn, None) is None  # the slot's scan holds the running lock
        worker.join()
        assert done[0] is not None and tasks.run_locked(redis_conn, None) is not None  # lock released
    assert len(runs) == 2 and redis_conn.get(tasks.LOCK_KEY) is None


def _in_context(app, conn, slot):
    with app.app_context():
        try:
            return tasks.run_locked(conn, slot)
        finally:
            db.session.remove()


def test_a_lock_held_by_a_crashed_scan_expires_and_is_not_released_by_others(redis_conn):
    redis_conn.set(tasks.LOCK_KEY, "someone-else", ex=5)
    with tasks.scan_lock(redis_conn, None) as mine:
        assert mine is False
    assert redis_conn.get(tasks.LOCK_KEY) == b"someone-else" and 0 < redis_conn.ttl(tasks.LOCK_KEY) <= 5
    redis_conn.delete(tasks.LOCK_KEY)


def test_the_job_runs_on_a_real_worker_once_per_slot(app, world, redis_conn):
    """Two schedulers enqueue the same slot; a real RQ worker (SimpleWorker, this app's context) runs both jobs;
    the scan happens once and commits its reminders."""
    queue = Queue("default", connection=redis_conn)
    queue.empty()
    slot = tasks.current_slot() + 1000
    opts = tasks.scan_reminders.rq_options
    jobs = [queue.enqueue(tasks.scan_reminders, slot, job_timeout=opts["timeout"]) for _ in range(2)]
    app.extensions["redis"] = redis_conn  # the job reads the app's Redis for its lock (sqlite runs have none)
    try:
        SimpleWorker([queue], connection=redis_conn).work(burst=True)
    finally:
        app.extensions["redis"] = None if app.config["SETTINGS"].redis_url is None else app.extensions["redis"]
    results = [j.latest_result().return_value for j in jobs]
    assert sorted(r is None for r in results) == [False, True], results
    assert db.session.scalar(select(func.count(Reminder.id))) > 0


def test_the_scheduler_enqueues_the_current_slot_and_sleeps_to_the_next(app, monkeypatch):
    enqueued, slept = [], []
    monkeypatch.setattr(tasks, "enqueue_scan", enqueued.append)
    start = datetime(2026, 12, 4, 10, 7).timestamp()
    tasks.schedule_forever(sleep=slept.append, clock=lambda: start, rounds=1)
    assert enqueued == [int(start) // 900] and slept == []
    clock = iter([start, start, start + 481])
    tasks.schedule_forever(sleep=slept.append, clock=lambda: next(clock), rounds=2)
    assert slept == [(int(start) // 900 + 1) * 900 - start + 1]


def test_the_scan_command_prints_its_counts_in_chinese(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "scan", "--now", "2026-11-09T09:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "新开提醒：组织生活" in result.output and "部门日报" in result.output
    again = runner.invoke(args=["reminders", "scan", "--now", "2026-11-09T09:00+08:00"])
    assert "组织生活 0 条，值班 0 条，学习 0 条" in again.output
    bad = runner.invoke(args=["reminders", "scan", "--now", "2026-11-09T09:00"])
    assert bad.exit_code != 0 and "时区" in bad.output


def test_a_failed_scan_releases_its_slot_and_the_lock(app, world, redis_conn, monkeypatch):
    def broken(now=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(reminder_scan, "run_scan", broken)
    try:
        tasks.run_locked(redis_conn, slot=99)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failure must propagate (RQ records it)")
    assert redis_conn.get(tasks.SLOT_KEY.format(slot=99)) is None and redis_conn.get(tasks.LOCK_KEY) is None
    monkeypatch.undo()
    assert tasks.run_locked(redis_conn, slot=99) is not None

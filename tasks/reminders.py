"""The periodic compliance scan on RQ, run once per slot however many schedulers enqueue it.

`flask --app app reminders schedule` enqueues `scan_reminders(slot)` at the start of every slot
(REMINDER_SCAN_MINUTES, 15 by default) with the job id `reminder-scan-<slot>`; two schedulers enqueue the same
slot. The job itself makes it run once: it claims the slot in Redis (SET NX EX) and takes the running lock (SET NX
EX, released by its owner only), so a second job of the slot, or any job while a scan runs, ends at once.
Without Redis the same scheduler command runs the scan in-process, and the demo's web process runs it on a timer
thread (blueprints/reminders.py).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from redis import Redis

from models import db
from tasks import enqueue, job, redis_client

log = logging.getLogger(__name__)

LOCK_KEY = "reminders:scan:running"
SLOT_KEY = "reminders:scan:slot:{slot}"
LOCK_SECONDS = 900  # the job's timeout: a crashed scan's lock expires with it
SLOT_SECONDS = 86400
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def slot_minutes() -> int:
    return current_app.config["SETTINGS"].reminder_scan_minutes


def current_slot(now: float | None = None) -> int:
    return int(now if now is not None else time.time()) // (slot_minutes() * 60)


@contextmanager
def scan_lock(conn: Redis | None, slot: int | None = None) -> Iterator[bool]:
    """Yields True when this process may scan: the slot (if given) was not claimed before and no scan runs now.
    Without Redis there is nothing to coordinate with: always True."""
    if conn is None:
        yield True
        return
    if slot is not None and not conn.set(SLOT_KEY.format(slot=slot), "1", nx=True, ex=SLOT_SECONDS):
        yield False
        return
    token = secrets.token_hex(8)
    if not conn.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
        yield False
        return
    try:
        yield True
    except BaseException:
        if slot is not None:
            conn.delete(SLOT_KEY.format(slot=slot))  # a failed scan leaves its slot to a retry
        raise
    finally:
        conn.eval(_RELEASE, 1, LOCK_KEY, token)


def run_locked(conn: Redis | None, slot: int | None = None, now=None) -> dict | None:
    """One scan under the lock: commits, then enqueues the sends. Returns the counts, or None when another scan
    had the slot or the lock."""
    from services import notifications
    from services.reminder_scan import run_scan

    with scan_lock(conn, slot) as mine:
        if not mine:
            log.info("reminder scan of slot %s skipped: another scan has it", slot)
            return None
        result = run_scan(now)
        db.session.commit()
    for ids in result.notification_id_pages():
        notifications.enqueue_sends(ids)
    log.info("reminder scan of slot %s: %s", slot, result.summary())
    return result.summary()


@job(queue="default", timeout=LOCK_SECONDS)
def scan_reminders(slot: int | None = None) -> dict | None:
    """The periodic scan (see the module docstring). Writes reminders and notifications, commits, enqueues the
    sends. Safe to run twice: the second run of a slot does nothing, and the scan itself opens nothing twice."""
    return run_locked(redis_client(), slot)


def enqueue_scan(slot: int) -> None:
    enqueue(scan_reminders, slot, job_id=f"reminder-scan-{slot}")
    # The same beat re-enqueues notifications whose send job was lost with a killed worker (harmless twice: a send
    # job claims its row before calling out).
    from tasks.notifications import sweep_notifications

    enqueue(sweep_notifications, job_id=f"notification-sweep-{slot}")


def schedule_forever(sleep=time.sleep, clock=time.time, rounds: int | None = None) -> None:
    """Enqueues the scan of each slot as it starts (the current one at once). Runs until killed (`rounds` bounds
    it for tests)."""
    done = 0
    while rounds is None or done < rounds:
        slot = current_slot(clock())
        enqueue_scan(slot)
        done += 1
        if rounds is not None and done >= rounds:
            return
        next_start = (slot + 1) * slot_minutes() * 60
        sleep(max(1.0, next_start - clock() + 1))


# --- command line -------------------------------------------------------------------------------------------------


@click.group("reminders")
def reminders_cli() -> None:
    """合规提醒：扫描与定时调度。"""


@reminders_cli.command("scan")
@click.option("--now", "now_text", help="按此时刻扫描（ISO 8601，带时区，如 2026-12-04T09:00+08:00），默认当前时间")
@with_appcontext
def scan_command(now_text: str | None) -> None:
    """Runs one scan by hand (under the running lock when Redis is configured) and prints its counts."""
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.ClickException("--now 应为带时区的 ISO 8601 时间") from exc
        if now.tzinfo is None:
            raise click.ClickException("--now 需带时区，如 +08:00")
    counts = run_locked(redis_client(), None, now)
    if counts is None:
        raise click.ClickException("另一次扫描正在进行，请稍后再试")
    opened = counts["opened"]
    click.echo(
        f"新开提醒：组织生活 {opened['meeting']} 条，值班 {opened['duty']} 条，学习 {opened['learning']} 条；"
        f"关闭 {counts['closed']} 条；发出通知 {counts['notified']} 条，部门日报 {counts['digests']} 份"
    )


@reminders_cli.command("schedule")
@with_appcontext
def schedule_command() -> None:
    """Enqueues the scan at the start of every slot, forever (with Redis: for the workers; without: runs it here)."""
    mode = "RQ 队列" if redis_client() is not None else "本进程（未设置 REDIS_URL）"
    click.echo(f"每 {slot_minutes()} 分钟扫描一次合规提醒，执行方式：{mode}。按 Ctrl+C 停止。")
    schedule_forever()

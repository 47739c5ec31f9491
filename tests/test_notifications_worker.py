"""A fan-out through a real RQ worker (`flask --app app worker`, forking) on real Redis against the test database and
the sandboxes over HTTP, in send jobs of a chunk of notifications each: the worker is SIGKILLed twice while a call is
in flight (a template message, then an SMS), restarted each time, and every message still arrives exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from models import AttemptOutcome, Channel, DeliveryAttempt, Notification, NotificationStatus, WeChatApp, db
from models import WeChatIdentity as Identity
from models.base import utcnow
from services import notifications, notify_channels
from tasks import notifications as notification_tasks
from tasks.notifications import sweep_notifications
from tests.conftest import redis_test_url
from tests.factories import member

ROOT = Path(__file__).resolve().parent.parent
PER_MEMBER = 7  # 3 channels x 10 members x 7 = 210 messages
WORKERS = 2
CHUNK = 10  # notifications per send job: a killed worker leaves its whole chunk claimed
HANG = 8  # seconds the sandbox holds the calls the workers die in (their timeout is longer)
OPEN = (NotificationStatus.PENDING, NotificationStatus.SENDING)
TEMPLATE = "SBX_TODO_REMINDER"


class Worker:
    """`flask --app app worker` in a session of its own; killed together with its work-horse."""

    def __init__(self, app, live_server, log: Path):
        self.log_path = log
        s = app.config["SETTINGS"]
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATA_KEY", "FLASK_APP", "STORAGE")}
        self.env.update(
            APP_ENV="testing",
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=redis_test_url(),
            STORAGE_DIR=s.storage_dir,
            SECRET_KEY=s.secret_key,
            WECHAT_API_BASE=f"{live_server.base_url}/_sandbox/wechat",
            SMS_API_BASE=f"{live_server.base_url}/_sandbox/sms",
            SMS_DAILY_LIMIT=str(PER_MEMBER),
            WECHAT_TIMEOUT=str(3 * HANG),
            SMS_TIMEOUT=str(3 * HANG),
        )
        self.log, self.proc = log, None

    def start(self):
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "worker", "default"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def horses(self) -> list[int]:
        """The worker's work-horses: RQ puts each in a process group of its own, so killpg misses them."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def kill(self):
        """SIGKILL to the worker and its work-horse at once, as a machine crash would."""
        for pid in [*self.horses(), self.proc.pid]:
            with contextlib.suppress(ProcessLookupError):  # a horse that just finished its job
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def rq_app(app, redis_conn, monkeypatch):
    """The test app sending its jobs to the suite's Redis database, whatever the backend."""
    monkeypatch.setitem(app.extensions, "redis", redis_conn)
    from rq import Queue

    Queue("default", connection=redis_conn).empty()
    return app


def _outbox(base, kind):
    return requests.get(f"{base}/_sandbox/{kind}/_control/outbox", timeout=10).json()["messages"]


def _wait(predicate, timeout, what, workers=()):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        db.session.rollback()  # MariaDB REPEATABLE READ: read what the worker committed since
        if predicate():
            return
        time.sleep(0.3)
    logs = "".join(w.log_path.read_text()[-2000:] for w in workers if w.log_path.exists())
    raise AssertionError(f"timed out waiting for {what}; open: {_open()}\n{logs}")


def _hanging(channel) -> int:
    """How many runs have a call on `channel` in flight for over a second: the ones the sandbox holds for HANG s.
    (A chunk's template messages are in flight together, under the run's claim token.)"""
    stmt = select(func.count(DeliveryAttempt.claim_token.distinct())).where(
        DeliveryAttempt.outcome == AttemptOutcome.IN_FLIGHT,
        DeliveryAttempt.channel == channel,
        DeliveryAttempt.started_at < utcnow() - timedelta(seconds=1),
    )
    return db.session.scalar(stmt)


def _drained(workers) -> bool:
    """Nothing queued and every live worker idle: only what the killed workers held is left."""
    from rq import Queue
    from rq import Worker as RqWorker

    conn = notification_tasks.redis_client()
    if Queue("default", connection=conn).count:
        return False
    live = {w.proc.pid for w in workers}
    states = [w.get_state() for w in RqWorker.all(connection=conn) if w.pid in live]
    return len(states) == len(live) and all(state == "idle" for state in states)


def _sent() -> int:
    return db.session.scalar(select(func.count()).where(Notification.status == NotificationStatus.SENT))


def _open() -> int:
    return db.session.scalar(select(func.count()).where(Notification.status.in_(OPEN)))


def _world(app, world, live_server):
    """Ten members reached by subscribe message, ten by template message, ten by SMS only; PER_MEMBER messages
    each."""
    s = app.config["SETTINGS"]
    wx = f"{live_server.base_url}/_sandbox/wechat/_control"
    groups = {"subscribe": [], "template": [], "sms": []}
    for i in range(10):
        for kind in groups:
            m = member(world.v1, f"党员{kind}{i}", password=None)
            groups[kind].append(m)
            if kind == "sms":
                continue
            app_kind = WeChatApp.MINI_PROGRAM if kind == "subscribe" else WeChatApp.OFFICIAL_ACCOUNT
            appid = s.wechat_mini_appid if kind == "subscribe" else s.wechat_oa_appid
            openid = f"o-{kind}-{m.id}"
            db.session.add(Identity(member_id=m.id, app=app_kind, appid=appid, openid=openid))
            requests.post(f"{wx}/users", json={"appid": appid, "openid": openid}, timeout=5)
            if kind == "subscribe":
                body = {"openid": openid, "template_id": TEMPLATE, "count": PER_MEMBER}
                requests.post(f"{wx}/subscriptions", json=body, timeout=5)
                notify_channels.grant_credits(m.id, TEMPLATE, PER_MEMBER)
    db.session.commit()
    ids = []
    for n in range(PER_MEMBER):  # interleaved, so that every channel is busy all along
        for i in range(10):
            for kind, members in groups.items():
                category = "urge" if kind == "sms" else "meeting_due"
                key = f"fanout:{kind}:{members[i].id}:{n}"
                ids.append(
                    notifications.post(members[i].id, key=key, category=category, title=f"提醒{n}", body="请及时处理")
                )
    db.session.commit()
    return ids


def test_killed_worker_restarts_and_every_message_arrives_exactly_once(
    rq_app, world, live_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(notification_tasks, "CHUNK_SIZE", CHUNK)
    ids = _world(rq_app, world, live_server)
    base = live_server.base_url
    workers = [Worker(rq_app, live_server, tmp_path / f"worker{i}.log") for i in range(WORKERS)]
    notifications.enqueue_sends(ids)
    try:
        for round_, (channel, sandbox, api) in enumerate(
            ((Channel.TEMPLATE, "wechat", "template_send"), (Channel.SMS, "sms", None)), start=1
        ):
            for w in workers:
                w.start()
            progress = 30 * round_
            _wait(lambda n=progress: _sent() >= n, 240, "progress", workers)
            # The next call of each worker on this channel hangs: the workers die while the sandbox holds them (not
            # in between: a subscribe message whose answer is lost counts as sent, it may not be half-sent).
            fault = {"delay": HANG, "times": WORKERS} | ({"api": api} if api else {})
            requests.post(f"{base}/_sandbox/{sandbox}/_control/faults", json=fault, timeout=5)
            hanging = lambda channel=channel: _hanging(channel) >= WORKERS  # noqa: E731
            _wait(hanging, 120, f"a {channel} call in flight in each worker", workers)
            for w in workers:
                w.kill()
        for w in workers:
            w.start()
        _wait(lambda: _drained(workers), 400, "the queue to drain", workers)
        time.sleep(HANG + 0.5)  # the lease made to be over below outlasts any call: the held ones have answered
        # What the killed workers held: claims of runs that died (their lease is made to be over: the runs are surely
        # dead), and jobs a worker had taken from the queue but not started (their rows stay pending; made to look
        # abandoned). Then the periodic sweep finds them.
        stale = timedelta(seconds=3 * rq_app.config["SETTINGS"].notify_claim_lease_s + 900)
        for row in db.session.scalars(select(Notification).where(Notification.status.in_(OPEN))):
            row.claimed_at = row.claimed_at and row.claimed_at - stale
            row.updated_at -= stale
        db.session.commit()
        sweep_notifications()
        _wait(lambda: _open() == 0, 120, "the stuck notifications", workers)
    finally:
        for w in workers:
            w.stop()
    log = "".join(w.log_path.read_text()[-2000:] for w in workers)
    time.sleep(HANG + 0.5)  # any held sandbox call has answered by now
    wechat, sms = _outbox(base, "wechat"), _outbox(base, "sms")
    sent_by = dict(db.session.execute(select(Notification.id, Notification.channel)).all())
    assert Counter(sent_by.values()) == {Channel.SUBSCRIBE: 70, Channel.TEMPLATE: 70, Channel.SMS: 70}, log[-3000:]
    template_ids = Counter(m["touser"] for m in wechat if m["kind"] == "template")
    subscribe_ids = Counter(m["touser"] for m in wechat if m["kind"] == "subscribe")
    assert set(template_ids.values()) == {PER_MEMBER} and len(template_ids) == 10
    assert set(subscribe_ids.values()) == {PER_MEMBER} and len(subscribe_ids) == 10
    out_ids = Counter(m["out_id"] for m in sms)
    assert len(out_ids) == 70 and set(out_ids.values()) == {1}
    db.session.rollback()
    resolved = db.session.scalars(
        select(DeliveryAttempt.detail).where(DeliveryAttempt.detail.like("answer lost%"))
    ).all()
    assert any("client_msg_id" in d for d in resolved) and any("provider has it" in d for d in resolved), resolved
    assert db.session.scalar(select(func.count()).where(DeliveryAttempt.outcome == AttemptOutcome.IN_FLIGHT)) == 0

"""Fan-out of notifications through RQ to the WeChat sandbox over HTTP, with two workers, on MariaDB and Redis.

    .venv/bin/python bench/notify_fanout.py [--count 141929] [--workers 2] [--redis redis://127.0.0.1:6379/1]

A throwaway `party_bench_<random>` database (root@127.0.0.1) is migrated and given `--count` members, each with an
official-account openid and one pending notification (bulk inserts: posting is not what is measured). The app,
with its WeChat sandbox, is served from this process on a loopback port; the sandbox knows every openid and keeps
an unbounded outbox. Then, in the same run:

1. **Baseline**: the sandbox's own acceptance rate — `--workers` client processes sending template messages
   through the project's WeChat adapter as fast as they can (no database, no RQ), for `--baseline` messages.
2. **Fan-out**: the send jobs queued on RQ as the app queues them (`enqueue_send_jobs`: one job per chunk of
   `tasks.notifications.CHUNK_SIZE` notifications, pipelined), `--workers` workers started, timed from the first poll
   that saw messages sent (worker start-up does not count) until every notification is sent.

Prints messages per second of both, their ratio (goal >= 0.7), and the outbox check: every member's openid exactly
once (duplicates and lost counted). Workers are RQ `SimpleWorker`s in this app's context (`--worker-class fork`
runs the forking `flask --app app worker`, as the Procfile does: a fork per job, i.e. per chunk). The Redis
database given is flushed before and after. Exits 1 when a message is lost or duplicated or the goal is missed.
`BENCH_PROFILE=<dir>` runs each worker under cProfile and writes `worker-<pid>.prof` there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_city import ROOT, throwaway_database  # noqa: E402

sys.path.insert(0, str(ROOT))

GOAL_RATIO = 0.7
BATCH = 5000
OPENID_PREFIX = "o-bench-"


def build(url: str, redis_url: str, scratch: Path):
    from app import create_app

    return create_app(
        {
            "app_env": "testing",
            "database_url": url,
            "redis_url": redis_url,
            "storage_dir": str(scratch / "storage"),
            "RATELIMIT_ENABLED": False,
        }
    )


def populate(count: int) -> list[int]:
    """`count` members with an official-account openid and one pending notification each; returns the ids."""
    from flask import current_app
    from sqlalchemy import insert, select

    from models import Member, Notification, OrgKind, OrgLevel, WeChatIdentity, db
    from services.authz import SYSTEM
    from services.orgs import create_org

    org = create_org(SYSTEM, parent_id=None, name="压测党支部", code="BENCH1", kind=OrgKind.BRANCH, level=OrgLevel.CITY)
    db.session.commit()
    now = datetime.now(UTC)
    appid = current_app.config["SETTINGS"].wechat_oa_appid
    for start in range(0, count, BATCH):
        n = range(start, min(count, start + BATCH))
        db.session.execute(
            insert(Member),
            [
                {
                    "name": f"党员{i}",
                    "gender": "male",
                    "mobile": str(13000000000 + i),
                    "org_id": org.id,
                    "party_status": "full",
                    "is_floating": False,
                    "role": "member",
                    "can_view_id_card": False,
                    "status": "active",
                    "must_change_password": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in n
            ],
        )
        db.session.commit()
    members = db.session.execute(select(Member.id, Member.mobile).order_by(Member.id)).all()
    for start in range(0, count, BATCH):
        chunk = members[start : start + BATCH]
        db.session.execute(
            insert(WeChatIdentity),
            [
                {
                    "member_id": mid,
                    "app": "official_account",
                    "appid": appid,
                    "openid": OPENID_PREFIX + mobile,
                    "created_at": now,
                    "updated_at": now,
                }
                for mid, mobile in chunk
            ],
        )
        db.session.execute(
            insert(Notification),
            [
                {
                    "member_id": mid,
                    "key": f"bench:{mid}",
                    "category": "urge",
                    "title": "督办：请尽快召开本季度支部党员大会",
                    "body": "本季度支部党员大会尚未召开，请于月底前召开并上传记录",
                    "org_name": "压测党支部",
                    "status": "pending",
                    "created_at": now,
                    "updated_at": now,
                }
                for mid, _mobile in chunk
            ],
        )
        db.session.commit()
    return list(db.session.scalars(select(Notification.id).order_by(Notification.id)))


def serve_sandbox(app, count: int):
    """Serves the app on a loopback port; the sandbox knows every bench openid and keeps every message."""
    from blueprints.sandbox.wechat import WeChatSandbox
    from tests.live import LiveServer

    sandbox = WeChatSandbox(outbox=deque(), calls=deque(maxlen=100))
    appid = app.config["SETTINGS"].wechat_oa_appid
    sandbox.users = {(appid, f"{OPENID_PREFIX}{13000000000 + i}"): None for i in range(count)}
    sandbox.users.update({(appid, f"o-baseline-{i}"): None for i in range(64)})
    app.extensions.setdefault("sandboxes", {})["wechat"] = sandbox
    server = LiveServer(app).start()
    return server, sandbox


def worker_env(app, server, redis_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_KEY", "FLASK_APP", "STORAGE")}
    env.update(
        APP_ENV="testing",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_url,
        SECRET_KEY=app.config["SETTINGS"].secret_key,
        STORAGE_DIR=app.config["SETTINGS"].storage_dir,
        WECHAT_API_BASE=f"{server.base_url}/_sandbox/wechat",
        SMS_PROVIDER="none",
    )
    return env


def baseline(env: dict, workers: int, messages: int) -> float:
    """The sandbox's acceptance rate: `workers` processes sending through the adapter alone, started together once
    each is ready (app built, token fetched); timed from the common start to the last one's end. Messages/s."""
    per = max(1, messages // workers)
    go = time.time() + 15  # wall-clock start shared by the clients
    cmd = [sys.executable, __file__, "--baseline-client", str(per), "--start-at", str(go)]
    procs = [
        subprocess.Popen(cmd + ["--client-index", str(i)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for i in range(workers)
    ]
    ends = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit("a baseline client failed")
        ends.append(json.loads(out.strip().splitlines()[-1])["end"])
    return per * workers / (max(ends) - go)


def baseline_client(per: int, index: int, start_at: float) -> None:
    from app import create_app

    app = create_app()
    with app.app_context():
        from services.wechat import official_account

        gateway = official_account()
        template = app.config["SETTINGS"].notify_oa_template
        data = {"thing1": "督办：请尽快召开本季度支部党员大会", "time2": "2026年12月04日 10:00", "thing3": "压测党支部"}
        gateway.access_token()
        if time.time() > start_at:
            raise SystemExit("the baseline client was not ready in time")
        time.sleep(start_at - time.time())
        for n in range(per):
            openid = f"o-baseline-{(index * 8 + n) % 64}"
            gateway.send_template(openid, template, data, client_msg_id=f"baseline-{index}-{n}")
        print(json.dumps({"end": time.time()}))


def worker_main() -> None:
    """A SimpleWorker (no fork per job) in this app's context, until the queue is empty."""
    from rq.worker import SimpleWorker

    from app import create_app
    from tasks import redis_client

    app = create_app()
    with app.app_context():
        worker = SimpleWorker(["default"], connection=redis_client())
        profile_dir = os.environ.get("BENCH_PROFILE")
        if not profile_dir:
            worker.work(burst=True, logging_level=os.environ.get("BENCH_LOG", "WARNING"))
            return
        import cProfile

        with cProfile.Profile() as profile:
            worker.work(burst=True, logging_level=os.environ.get("BENCH_LOG", "WARNING"))
        profile.dump_stats(Path(profile_dir) / f"worker-{os.getpid()}.prof")


def fan_out(app, env: dict, ids: list[int], workers: int, worker_class: str) -> tuple[float, float, int]:
    """Queues the send jobs, runs the workers; (enqueue seconds, delivery seconds, messages timed):
    timed from the first poll that saw messages sent, so that worker start-up does not count."""
    from sqlalchemy import func, select

    from models import Notification, NotificationStatus, db
    from tasks.notifications import enqueue_send_jobs

    start = time.perf_counter()
    enqueue_send_jobs(ids)
    enqueued = time.perf_counter() - start
    if worker_class == "fork":
        cmd = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "worker", "--burst", "default"]
    else:
        cmd = [sys.executable, __file__, "--worker"]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env) for _ in range(workers)]
    done_states = (NotificationStatus.SENT, NotificationStatus.FAILED)
    last_report = start
    first = None  # (time, count) of the first poll that saw sends: worker start-up is not delivery time
    while True:
        db.session.rollback()
        done = db.session.scalar(select(func.count()).where(Notification.status.in_(done_states)))
        if done and first is None:
            first = (time.perf_counter(), done)
        if done >= len(ids):
            break
        if all(p.poll() is not None for p in procs):
            raise SystemExit(f"workers ended with {len(ids) - done} notifications not sent")
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            print(f"  … {done:,} of {len(ids):,} sent after {last_report - start:.0f} s", flush=True)
        time.sleep(0.5)  # each poll counts over the table, on the workers' database: not more often
    end = time.perf_counter()
    for p in procs:
        p.wait(timeout=60)
    print(f"  workers started in {first[0] - start:.1f} s (not counted)")
    return enqueued, end - first[0], len(ids) - first[1]


def check_outbox(sandbox, count: int) -> tuple[int, int]:
    """(duplicates, lost) among the bench members' messages in the sandbox outbox."""
    with sandbox.lock:
        seen = Counter(m["touser"] for m in sandbox.outbox if m["touser"].startswith(OPENID_PREFIX))
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    lost = count - len(seen)
    return duplicates, lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=141_929)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=10_000, help="messages of each baseline run")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1", help="flushed before and after")
    parser.add_argument("--worker-class", choices=("simple", "fork"), default="simple")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return 0
    if args.baseline_client:
        baseline_client(args.baseline_client, args.client_index, args.start_at)
        return 0

    import logging

    import redis

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    conn = redis.Redis.from_url(args.redis)
    conn.flushdb()
    import tempfile

    with throwaway_database("mysql") as url, tempfile.TemporaryDirectory(prefix="party_bench_") as scratch:
        # Loopback: no TLS. pymysql otherwise negotiates TLS on every new connection (building an SSL context from
        # the system's CA store each time), and tasks.job opens a new connection for every job it runs.
        url += "&ssl_disabled=true"
        app = build(url, args.redis, Path(scratch))
        with app.app_context():
            from flask_migrate import upgrade

            from models import db

            upgrade()
            t = time.perf_counter()
            ids = populate(args.count)
            print(f"populated {len(ids):,} members, openids and notifications in {time.perf_counter() - t:.1f} s")
            server, sandbox = serve_sandbox(app, args.count)
            try:
                env = worker_env(app, server, args.redis)
                accept = baseline(env, args.workers, args.baseline)
                print(f"baseline: sandbox accepts {accept:,.0f} messages/s from {args.workers} adapter clients")
                enqueued, elapsed, timed = fan_out(app, env, ids, args.workers, args.worker_class)
                rate = timed / elapsed
                duplicates, lost = check_outbox(sandbox, args.count)
                accept_after = baseline(env, args.workers, args.baseline)
            finally:
                server.stop()
                db.session.remove()
                db.engine.dispose()
            print(f"baseline again after the fan-out: {accept_after:,.0f} messages/s")
            reference = (accept + accept_after) / 2
            ratio = rate / reference
            print(f"enqueued send jobs for {len(ids):,} notifications in {enqueued:.1f} s")
            print(
                f"fan-out: {timed:,} messages timed in {elapsed:.1f} s with {args.workers} {args.worker_class} workers"
                f" = {rate:,.0f} messages/s"
            )
            print(f"ratio to the sandbox's acceptance rate: {ratio:.2f} (goal >= {GOAL_RATIO})")
            print(f"outbox: duplicates {duplicates}, lost {lost}")
    conn.flushdb()
    ok = duplicates == 0 and lost == 0 and ratio >= GOAL_RATIO
    print("OK" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

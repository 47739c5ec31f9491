"""Study heartbeats at the peak: 78,000 learners, one heartbeat every 30 s each (2,600 requests per second), against
the app under gunicorn with Redis and MariaDB on this machine.

    .venv/bin/python bench/learning_heartbeats.py [--reuse] [--learners 78000] [--seconds 40] [--workers 3]
        [--threads 4] [--clients 2] [--redis-url redis://127.0.0.1:6379/14]

Setup (in this process): the schema is migrated and the city demo seeded (141,929 members; `--reuse` keeps the
database `party_bench_heartbeats` for the next run, otherwise a throwaway one is dropped at the end), a published
video lesson for the whole city, and for each learner an auth session with a pre-issued access token, a progress
row and an open study session in Redis — what `POST /lessons/<id>/start` leaves behind. Only `learning:*` keys of
the chosen Redis database are touched.

Load: gunicorn (gthread workers; the configuration is printed) and `--clients` generator processes, each an asyncio
loop speaking HTTP/1.1 keep-alive over raw streams. Open loop: every learner sends its heartbeats on its own phase
every 30 s, so the offered rate is learners / 30 whatever the server does; latency is measured from sending to the
end of the answer. First the bare JSON endpoint `GET /api/health` on the same schedule (the baseline), then the
heartbeats; reported: sustained rate, p50/p99, errors, and the ratios. Last, where the time of one heartbeat goes,
measured in this process: JWT and session checks, the Redis Lua call, the whole request through Flask.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_city import MYSQL_HOST, MYSQL_PORT, MYSQL_USER, ROOT, throwaway_database  # noqa: E402

sys.path.insert(0, str(ROOT))

REUSED_DB = "party_bench_heartbeats"
PORT = 8765
BEAT_EVERY_S = 30
GOAL_RATE, GOAL_P99_MS = 2600, 200.0
CONNECTIONS = 96  # per generator process
PROFILE_LEARNERS = 200  # kept out of the load, for the in-process breakdown
BENCH_AGENT = "bench-heartbeats"


# ------------------------------------------------------------------ setup (bench process)


def reused_url() -> str:
    import pymysql

    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {REUSED_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
    return f"mysql+pymysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{REUSED_DB}?charset=utf8mb4"


def server_env(url: str, redis_url: str, secret: str, storage: str) -> dict:
    return {
        **os.environ,
        "APP_ENV": "development",
        "SECRET_KEY": secret,
        "DATA_KEY": "",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "STORAGE_DIR": storage,
        "ACCESS_TOKEN_MINUTES": "120",
    }


def make_app(env: dict):
    from app import create_app

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return create_app({"RATELIMIT_ENABLED": False})
    finally:
        os.environ.clear()
        os.environ.update(saved)


def bench_lesson():
    """The published video lesson every learner studies (made once per database)."""
    from sqlalchemy import select

    from models import (
        ChannelKind,
        Course,
        CourseAudience,
        CourseStatus,
        LearningChannel,
        Lesson,
        LessonKind,
        Organisation,
        db,
    )
    from models.base import utcnow

    lesson = db.session.scalar(select(Lesson).where(Lesson.title == "心跳基准课时"))
    if lesson is not None:
        return lesson
    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
    channel = LearningChannel(code="bench-hb", name="基准频道", kind=ChannelKind.ACADEMY, org_id=root.id)
    course = Course(
        channel=channel,
        title="心跳基准课程",
        owner_org_id=root.id,
        status=CourseStatus.PUBLISHED,
        published_at=utcnow(),
    )
    course.audiences = [CourseAudience(org_id=root.id)]
    lesson = Lesson(course=course, title="心跳基准课时", kind=LessonKind.VIDEO, duration_s=7200, media_key="bench.mp4")
    db.session.add_all([channel, course, lesson])
    db.session.commit()
    return lesson


def prepare(n: int, redis_conn, scale: str) -> list[dict]:
    """Seeds when needed; returns one learner per member: access token, lesson, study token (Redis state set)."""
    from flask_jwt_extended import create_access_token
    from flask_migrate import upgrade
    from sqlalchemy import delete, insert, select

    from models import AccountStatus, AuthSession, LessonProgress, Member, Organisation, db
    from models.base import utcnow
    from services import learning_points as points
    from services import learning_progress as progress
    from services.seed import seed_demo

    upgrade()
    if db.session.scalar(select(Organisation.id).limit(1)) is None:
        print(f"seeding the demo ({scale})… {seed_demo(scale, progress=False)['seconds']} s", flush=True)
    points.ensure_default_rules()
    lesson = bench_lesson()
    members = db.session.scalars(
        select(Member.id).where(Member.status == AccountStatus.ACTIVE).order_by(Member.id).limit(n)
    ).all()
    if len(members) < n:
        raise SystemExit(f"only {len(members)} active members for {n} learners")
    started = time.perf_counter()
    db.session.execute(delete(AuthSession).where(AuthSession.user_agent == BENCH_AGENT))
    now, expires = utcnow(), utcnow() + timedelta(days=1)
    sids = {m: secrets.token_hex(16) for m in members}
    rows = [
        {"id": sids[m], "member_id": m, "refresh_jti": "", "created_at": now, "expires_at": expires, "ip": None}
        | {"user_agent": BENCH_AGENT}
        for m in members
    ]
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(AuthSession.__table__), rows[i : i + 5000])
    have = set(db.session.scalars(select(LessonProgress.member_id).where(LessonProgress.lesson_id == lesson.id)))
    fresh = [
        {"member_id": m, "lesson_id": lesson.id, "course_id": lesson.course_id, "credited_s": 0, "position_s": 0}
        | {"started_at": now, "created_at": now, "updated_at": now}
        for m in members
        if m not in have
    ]
    for i in range(0, len(fresh), 5000):
        db.session.execute(insert(LessonProgress.__table__), fresh[i : i + 5000])
    db.session.commit()
    for key in redis_conn.scan_iter("learning:*", count=5000):
        redis_conn.delete(key)
    learners, pipe, last = [], redis_conn.pipeline(transaction=False), progress.now_s() - BEAT_EVERY_S
    for m in members:
        token = secrets.token_hex(16)
        access = create_access_token(identity=str(m), additional_claims={"sid": sids[m]})
        key = progress.STATE_KEY.format(member=m)
        state = {"lesson": lesson.id, "token": token, "seq": 0, "last": last, "by": m, "proxy": 0, "acc": 0}
        pipe.hset(key, mapping=state | {"base": 0, "dur": lesson.duration_s})
        pipe.expire(key, progress.STATE_TTL_S)
        learners.append({"auth": f"Bearer {access}", "lesson": lesson.id, "token": token, "member": m})
        if len(pipe) >= 4000:
            pipe.execute()
    pipe.execute()
    print(f"{n:,} learners: sessions, tokens, progress rows and Redis state in {time.perf_counter() - started:.0f} s")
    return learners


# ------------------------------------------------------------------ load generator (child processes)


class Conn:
    def __init__(self, host: str, port: int):
        self.host, self.port, self.reader, self.writer = host, port, None, None

    async def request(self, raw: bytes) -> int:
        """Sends one request and reads the whole answer; reconnects once when the server closed the connection."""
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
                continue
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
            await self.reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status
        raise RuntimeError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _raw(method: str, path: str, auth: str | None = None, body: dict | None = None) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if auth:
        head += f"Authorization: {auth}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


async def generate(kind: str, learners: list[dict], seconds: float, start_at: float, port: int, seed: int) -> dict:
    """Open loop: each learner's requests at phase + 30 k seconds after `start_at` (wall clock)."""
    rng = random.Random(seed)
    events = []
    for i in range(len(learners)):
        t, seq = rng.uniform(0, BEAT_EVERY_S), 0
        while t < seconds:
            seq += 1
            events.append((t, i, seq))
            t += BEAT_EVERY_S
    events.sort()
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(Conn("127.0.0.1", port))
    latencies, statuses, late = [], {}, 0

    async def one(i: int, seq: int) -> None:
        learner = learners[i]
        if kind == "health":
            raw = _raw("GET", "/api/health")
        else:
            body = {"lesson_id": learner["lesson"], "token": learner["token"], "seq": seq}
            raw = _raw(
                "POST", "/api/learning/heartbeats", learner["auth"], body | {"position": seq * 30, "elapsed": 30}
            )
        conn = await pool.get()
        sent = time.perf_counter()
        try:
            status = await conn.request(raw)
        except (OSError, asyncio.IncompleteReadError):
            conn.close()
            status = 599
        finally:
            pool.put_nowait(conn)
        latencies.append((time.perf_counter() - sent) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    loop = asyncio.get_running_loop()
    base = loop.time() + (start_at - time.time())
    tasks = []
    for t, i, seq in events:
        delay = base + t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            late += 1  # the generator itself fell behind its schedule
        tasks.append(asyncio.create_task(one(i, seq)))
    await asyncio.gather(*tasks)
    finished = loop.time() - base
    return {"latencies": latencies, "statuses": statuses, "late": late, "elapsed": finished, "sent": len(events)}


def generator_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = asyncio.run(
        generate(spec["kind"], spec["learners"], spec["seconds"], spec["start_at"], spec["port"], spec["seed"])
    )
    Path(spec["out"]).write_text(json.dumps(result))


def run_phase(kind: str, learners: list[dict], seconds: float, clients: int, port: int, tmp: Path) -> dict:
    """Starts the generator processes on one schedule and merges their results."""
    start_at = time.time() + 2.0
    procs, outs = [], []
    for c in range(clients):
        spec, out = tmp / f"{kind}-{c}.json", tmp / f"{kind}-{c}-out.json"
        spec.write_text(
            json.dumps(
                {
                    "kind": kind,
                    "learners": learners[c::clients],
                    "seconds": seconds,
                    "start_at": start_at,
                    "port": port,
                    "seed": c,
                    "out": str(out),
                }
            )
        )
        procs.append(subprocess.Popen([sys.executable, __file__, "--generator", str(spec)], cwd=ROOT))
        outs.append(out)
    for p in procs:
        if p.wait(timeout=seconds + 600) != 0:
            raise SystemExit(f"a generator process exited with {p.returncode}")
    parts = [json.loads(o.read_text()) for o in outs]
    latencies = sorted(x for p in parts for x in p["latencies"])
    statuses: dict = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(p["elapsed"] for p in parts)
    return {
        "rate": len(latencies) / elapsed,
        "offered": sum(p["sent"] for p in parts) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "statuses": statuses,
        "late": sum(p["late"] for p in parts),
        "n": len(latencies),
    }


def show(label: str, r: dict) -> None:
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
    print(
        f"{label:<24}{r['offered']:>9.0f}{r['rate']:>10.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}   {codes}"
        + (f"  (generator behind schedule {r['late']}×)" if r["late"] else ""),
        flush=True,
    )


# ------------------------------------------------------------------ where the time goes (bench process)


def breakdown(app, learners: list[dict], redis_conn) -> None:
    """Mean time of the parts of one heartbeat, in this process (one request at a time, no contention)."""
    from flask_jwt_extended import decode_token
    from sqlalchemy import select

    from models import db
    from services import accounts
    from services import learning_progress as progress

    client = app.test_client()
    n = len(learners)

    def mean_ms(fn, runs=n) -> float:
        started = time.perf_counter()
        for i in range(runs):
            fn(i)
        return (time.perf_counter() - started) * 1000 / runs

    health = mean_ms(lambda i: client.get("/api/health"))
    seqs = dict.fromkeys(range(n), 0)

    def beat(i):
        seqs[i] += 1
        learner = learners[i]
        body = {"lesson_id": learner["lesson"], "token": learner["token"], "seq": seqs[i], "position": 0, "elapsed": 30}
        r = client.post("/api/learning/heartbeats", json=body, headers={"Authorization": learner["auth"]})
        assert r.status_code == 200, r.get_json()

    whole = mean_ms(beat)
    with app.app_context():
        tokens = [lr["auth"].split()[1] for lr in learners]
        jwt = mean_ms(lambda i: decode_token(tokens[i]))
        claims = [decode_token(t) for t in tokens]

        def auth_db(i):
            accounts.session_member(int(claims[i]["sub"]), claims[i]["sid"])
            db.session.remove()

        auth = mean_ms(auth_db)
        db.session.execute(select(1))
        script = redis_conn.register_script(progress._BEAT_LUA)
        now = progress.now_s()

        def lua(i):
            learner = learners[i]
            seqs[i] += 1
            keys = [progress.STATE_KEY.format(member=learner["member"]), "learning:bench-pending", "learning:bench-pos"]
            args = [learner["member"], learner["lesson"], learner["token"], seqs[i], 0, 30, 1, now + 3600, 10, 90]
            script(keys=[*keys, "learning:bench-mark"], args=[*args, "2026-12-04", 3600, 30])

        redis_ms = mean_ms(lua)
        redis_conn.delete("learning:bench-pending", "learning:bench-pos", "learning:bench-mark")
        ping = mean_ms(lambda i: redis_conn.ping())
    rest = whole - jwt - auth - redis_ms
    print(f"\none heartbeat in this process, mean of {n} (one at a time):")
    print(f"  whole request through Flask (test client)     {whole:6.2f} ms   (GET /api/health: {health:.2f} ms)")
    print(f"  JWT decode and verify                         {jwt:6.2f} ms")
    print(f"  member and auth session (1 SELECT + return)   {auth:6.2f} ms")
    print(f"  Redis Lua decision (EVALSHA)                  {redis_ms:6.2f} ms   (a PING: {ping:.2f} ms)")
    print(f"  the rest: routing, JSON in and out, schema    {rest:6.2f} ms")


# ------------------------------------------------------------------ main


def start_gunicorn(env: dict, workers: int, threads: int, port: int) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-k", "gthread", "-w", str(workers), "--threads", str(threads)]
    cmd += ["--keep-alive", "30", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"]
    print("server: " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    import urllib.request

    for _ in range(120):
        time.sleep(0.5)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn did not start") from None
    raise SystemExit("gunicorn did not answer within 60 s")


def run(url: str, args) -> int:
    import redis

    redis_conn = redis.Redis.from_url(args.redis_url)
    with tempfile.TemporaryDirectory(prefix="party_bench_hb_") as tmp_dir:
        tmp = Path(tmp_dir)
        env = server_env(url, args.redis_url, secrets.token_hex(32), str(tmp / "storage"))
        app = make_app(env)
        with app.app_context():
            from models import db

            profiled_n = min(PROFILE_LEARNERS, max(10, args.learners // 10))
            learners = prepare(args.learners + profiled_n, redis_conn, args.scale)
            db.session.remove()
            db.engine.dispose()
        load, profiled = learners[: args.learners], learners[args.learners :]
        server = start_gunicorn(env, args.workers, args.threads, args.port)
        try:
            print(f"{args.clients} generator processes × {CONNECTIONS} keep-alive connections; {os.cpu_count()} CPUs")
            print(f"\n{'':<24}{'offered/s':>9}{'served/s':>10}{'p50 ms':>9}{'p99 ms':>9}   answers")
            health = run_phase("health", load, args.seconds, args.clients, args.port, tmp)
            show("GET /api/health", health)
            beats = run_phase("heartbeat", load, args.seconds, args.clients, args.port, tmp)
            show("POST /heartbeats", beats)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        print(
            f"\nheartbeats / health: rate {beats['rate'] / health['rate']:.2f}, "
            f"p50 {beats['p50'] / health['p50']:.1f}×, p99 {beats['p99'] / health['p99']:.1f}×"
        )
        ok = beats["statuses"].get("200", 0) == beats["n"]
        met = ok and beats["rate"] >= 0.98 * GOAL_RATE and beats["p99"] < GOAL_P99_MS
        print(
            f"issue goal {GOAL_RATE}/s with p99 < {GOAL_P99_MS:.0f} ms: "
            + ("met" if met else f"MISSED (served {beats['rate']:.0f}/s, p99 {beats['p99']:.0f} ms)")
        )
        breakdown(app, profiled, redis_conn)
        with app.app_context():
            from models import db

            db.engine.dispose()
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help=f"keep and reuse the database {REUSED_DB}")
    parser.add_argument("--learners", type=int, default=78_000)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--scale", choices=("city", "small"), default="city", help="demo to seed (small: smoke runs)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--generator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generator:
        generator_main(args.generator)
        return 0
    if args.reuse:
        return run(reused_url(), args)
    with throwaway_database("mysql") as url:
        return run(url, args)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())

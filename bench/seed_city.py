"""Times the city-scale demo seed (7,531 organisations, 141,929 members) on a throwaway database.

    .venv/bin/python bench/seed_city.py [--db sqlite|mysql|both]

Each backend runs in a subprocess of its own, so that peak RSS figures do not mix. The baseline, measured in the
same subprocess and on the same database, is a bare Core executemany of 141,929 minimal rows into a scratch
table. The database (a temp file, or `party_bench_<random>` on root@127.0.0.1) is dropped at the end, also when
the run fails or times out. Exits 1 when a count or a goal (< 120 s, < 1 GiB peak) is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MYSQL_HOST, MYSQL_PORT, MYSQL_USER = "127.0.0.1", 3306, "root"
CHILD_TIMEOUT = 900  # seconds; the goal is 120
GOAL_SECONDS, GOAL_RSS_MIB = 120, 1024
BATCH = 5000


@contextmanager
def throwaway_database(backend: str) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database that is dropped (or deleted) on exit."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="party_bench_") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import pymysql

    def server_sql(sql: str) -> None:
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    name = f"party_bench_{secrets.token_hex(4)}"
    server_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"mysql+pymysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{name}?charset=utf8mb4"
    finally:
        server_sql(f"DROP DATABASE IF EXISTS {name}")


def build_app(url: str, scratch_dir: str):
    from app import create_app

    # development: the real argon2 cost for the ten demo accounts, as `flask seed` would pay it.
    return create_app(
        {
            "app_env": "development",
            "database_url": url,
            "storage_dir": str(Path(scratch_dir) / "storage"),
            "RATELIMIT_ENABLED": False,
        }
    )


def bare_insert_seconds(rows: int) -> float:
    """A Core executemany of `rows` minimal rows into a scratch table, in batches, one transaction."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from models import db

    scratch = Table(
        "bench_scratch",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("org_id", Integer, nullable=False),
        Column("name", String(50), nullable=False),
    )
    scratch.create(db.engine)
    try:
        started = time.perf_counter()
        with db.engine.begin() as conn:
            for low in range(1, rows + 1, BATCH):
                conn.execute(
                    insert(scratch),
                    [
                        {"id": i, "org_id": i % 7531 + 1, "name": f"党员{i}"}
                        for i in range(low, min(low + BATCH, rows + 1))
                    ],
                )
        return time.perf_counter() - started
    finally:
        scratch.drop(db.engine)


def child(url: str) -> None:
    """Runs in the subprocess: schema, baseline, seed, counts; prints one JSON line."""
    from sqlalchemy import func, select

    from models import Member, Organisation, db
    from services.seed import CITY_MEMBERS, seed_demo

    with tempfile.TemporaryDirectory(prefix="party_bench_app_") as scratch_dir:
        app = build_app(url, scratch_dir)
        with app.app_context():
            db.create_all()
            bare = bare_insert_seconds(CITY_MEMBERS)
            started = time.perf_counter()
            summary = seed_demo("city", progress=False)
            wall = time.perf_counter() - started
            orgs = db.session.scalar(select(func.count()).select_from(Organisation))
            members = db.session.scalar(select(func.count()).select_from(Member))
            db.session.remove()
            db.engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "wall": wall,
                "seed_reported": summary["seconds"],
                "bare": bare,
                "peak_mib": peak,
                "organisations": orgs,
                "members": members,
            }
        )
    )


def run_backend(backend: str) -> bool:
    print(f"== {backend} ==", flush=True)
    with throwaway_database(backend) as url:
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", url],
                capture_output=True,
                text=True,
                timeout=CHILD_TIMEOUT,
                cwd=ROOT,
            )
        except subprocess.TimeoutExpired:
            print(f"FAILED: no result after {CHILD_TIMEOUT} s")
            return False
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr)
        print(f"FAILED: the run exited with {proc.returncode}")
        return False
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = r["organisations"] + r["members"]
    counts_ok = (r["organisations"], r["members"]) == (7531, 141929)
    goals_ok = r["wall"] < GOAL_SECONDS and r["peak_mib"] < GOAL_RSS_MIB
    print(f"seed wall seconds        : {r['wall']:.2f}  (seed_demo reports {r['seed_reported']})")
    print(f"peak RSS                 : {r['peak_mib']:.0f} MiB")
    print(f"rows/s                   : {rows / r['wall']:,.0f}  ({rows:,} rows)")
    print(f"bare-insert seconds      : {r['bare']:.2f}  (141,929 minimal rows, {141929 / r['bare']:,.0f} rows/s)")
    print(f"seed / bare-insert ratio : {r['wall'] / r['bare']:.1f}")
    print(f"organisations            : {r['organisations']}  (expected 7531)")
    print(f"members                  : {r['members']}  (expected 141929)")
    print(
        f"verdict                  : counts {'OK' if counts_ok else 'WRONG'}; goals (< {GOAL_SECONDS} s, "
        f"< {GOAL_RSS_MIB} MiB) {'met' if goals_ok else 'MISSED'}",
        flush=True,
    )
    return counts_ok and goals_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mysql", "both"), default="both")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    backends = ("sqlite", "mysql") if args.db == "both" else (args.db,)
    results = [run_backend(b) for b in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())

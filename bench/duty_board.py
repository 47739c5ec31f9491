"""The daily presence board of the whole city (11,300 resident cadres) on MariaDB, as the API computes it.

    .venv/bin/python bench/duty_board.py [--url mysql+pymysql://...] [--runs 30]

Without --url the schema is migrated into a throwaway `party_bench_<random>` database and the city demo seeded
(7,531 organisations, 141,929 members; services.seed_duty adds 11,300 cadres with weekly rosters, leave, fences
and a week of check-ins, ~13,000 a duty day), then dropped at the end. With --url the database must already hold
them (left untouched). The date is the seeded week's busiest duty date.

Timed (p50/p95 over --runs after warm-up, a fresh session each run): services.duty_board.board for the city root
(one grouped statement over the cadres' day rows, summed per direct child, and the children's names), the whole
GET /api/duty/board as the super admin (login check, the board, its JSON), and the cadre list
(services.duty_board.cadres: the first page of 50, and the absent cadres only). Baseline, same process: a bare
`SELECT COUNT(*)` of that day's check-ins (an index range). A missed goal (API p50 < 200 ms) prints each
statement's time and a profile of one call.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meeting_stats import statement_times  # noqa: E402 - each statement of one call with its time
from seed_city import ROOT, throwaway_database  # noqa: E402
from subtree_queries import timed  # noqa: E402 - p50/p95 after warm-up, a fresh session each run

sys.path.insert(0, str(ROOT))

GOAL_MS = 200.0


def build_app(url: str, scratch_dir: str):
    from app import create_app

    # development, as `flask seed-demo` runs; no in-process reminder scanner competing with the timed calls.
    return create_app(
        {
            "app_env": "development",
            "database_url": url,
            "storage_dir": str(Path(scratch_dir) / "storage"),
            "reminder_scan_in_process": False,
            "RATELIMIT_ENABLED": False,
        }
    )


def busiest_day():
    from sqlalchemy import func, select

    from models import DutyCheckin, db

    stmt = select(DutyCheckin.duty_date, func.count()).group_by(DutyCheckin.duty_date).order_by(func.count().desc())
    return db.session.execute(stmt).first()


def api_call(app, root_id: int, day):
    """A function that GETs the board as the super admin through the whole Flask stack (no HTTP socket)."""
    from sqlalchemy import select

    from models import Member, Role, db
    from services import accounts

    admin = db.session.scalar(select(Member).where(Member.role == Role.SUPER_ADMIN))
    token = accounts.start_session(admin, "127.0.0.1", "bench")["access_token"]
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call():
        r = client.get(f"/api/duty/board?org_id={root_id}&date={day.isoformat()}", headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"board answered {r.status_code}: {r.get_data(as_text=True)[:200]}")
        return r

    return call


def profile(fn, lines: int = 15) -> str:
    """The project's own functions by cumulative time (the phases), then everything by own time (the hot spots)."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(r"/(services|blueprints)/", lines)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def measure(app, runs: int) -> bool:
    from sqlalchemy import func, select, text

    from models import DutyAssignment, Organisation, db
    from services.authz import SYSTEM
    from services.duty_board import board
    from services.duty_board import cadres as cadre_page

    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
    day, checkins = busiest_day()
    cadres = db.session.scalar(select(func.count(DutyAssignment.id)))
    count = text("SELECT COUNT(*) FROM duty_checkins WHERE duty_date = :d")
    base_p50, base_p95 = timed(lambda: db.session.execute(count, {"d": day}).scalar(), runs)
    print(f"{cadres:,} assignments; {checkins:,} check-ins on {day} ({day:%A})")
    print(f"baseline SELECT COUNT(*) of that day's check-ins: p50 {base_p50:.2f} ms, p95 {base_p95:.2f} ms\n")

    def service():
        return board(SYSTEM, root.id, day)

    totals = service()["totals"]
    print("totals: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    db.session.expunge_all()
    http = api_call(app, root.id, day)
    size = len(http().get_data())
    calls = (
        ("duty_board.board(city root)", service),
        ("GET /api/duty/board (city root)", http),
        ("duty_board.cadres, first page", lambda: cadre_page(SYSTEM, root.id, day)),
        ("duty_board.cadres, absent only", lambda: cadre_page(SYSTEM, root.id, day, status="absent")),
    )
    print(f"{'call':<34}{'p50 ms':>9}{'p95 ms':>9}{'p50/base':>10}")
    results = {}
    for label, fn in calls:
        p50, p95 = timed(fn, runs)
        results[label] = p50
        print(f"{label:<34}{p50:>9.2f}{p95:>9.2f}{p50 / base_p50:>10.1f}")
    api_p50 = results["GET /api/duty/board (city root)"]
    print(f"\nresponse body {size / 1024:,.0f} KiB")
    met = api_p50 < GOAL_MS
    print(f"issue goal, city board p50 < {GOAL_MS:.0f} ms: " + ("met" if met else f"MISSED ({api_p50:.1f} ms)"))
    if not met:
        print("\nstatements of one board call:")
        for ms, sql in statement_times(service):
            print(f"  {ms:8.2f} ms  {sql}")
        print("\nprofile of one API call:")
        print(profile(http))
    return met


def run(url: str, runs: int, seed: bool) -> int:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from models import db
    from services.seed import seed_demo

    with tempfile.TemporaryDirectory(prefix="party_bench_app_") as scratch_dir:
        app = build_app(url, scratch_dir)
        with app.app_context():
            if seed:
                upgrade()
                summary = seed_demo("city", progress=False)
                print(f"seeding the city with its cadres… {summary['seconds']} s; duty: {summary['duty']}", flush=True)
                db.session.execute(text("ANALYZE TABLE duty_checkins, duty_assignments, duty_rosters, organisations"))
            row = db.session.execute(text("SELECT VERSION(), @@innodb_buffer_pool_size DIV 1048576")).one()
            print(f"server {row[0]}, buffer pool {row[1]} MiB; {runs} runs per call\n")
            met = measure(app, runs)
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a database already seeded by this script (left untouched)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.runs, seed=False)
    with throwaway_database("mysql") as url:
        return run(url, args.runs, seed=True)


if __name__ == "__main__":
    sys.exit(main())

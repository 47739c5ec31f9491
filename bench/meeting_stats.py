"""Meeting statistics at city scale on MariaDB, as the API computes them (services.meeting_stats).

    .venv/bin/python bench/meeting_stats.py [--url mysql+pymysql://...] [--runs 30] [--meetings 200000]

Without --url the schema is migrated into a throwaway `party_bench_<random>` database, the city demo seeded
(7,531 organisations) and about `--meetings` meetings of 2025 inserted in bulk (every kind, its own periods,
spread over branches and county-and-up committees, statuses and flags), then dropped at the end. With --url the
database must already hold them (left untouched). Timed, as of 1 February 2026 (every 2025 period has ended, so
the behind list is as long as it gets) and as of 15 August 2025 (a running year): the city root for 2025 and for
2025Q3, the largest county for 2025. Baseline, same process: a bare `SELECT COUNT(*)` of the year's meetings
(an index range). A missed goal prints the time of each statement of the slow call.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_city import ROOT, build_app, throwaway_database  # noqa: E402
from subtree_queries import timed  # noqa: E402 - p50/p95 after warm-up, a fresh session each run

sys.path.insert(0, str(ROOT))

GOAL_MS = 100.0
YEAR = 2025
BATCH = 5000
# Status mix of a year's records: most reviewed, some waiting, a few only planned.
STATUS_WEIGHTS = {"planned": 8, "held": 12, "submitted": 15, "reviewed": 60, "returned": 5}


def insert_meetings(target: int) -> int:
    """About `target` meetings of YEAR in bulk: per applicable organisation, kind and kind period 0–2 meetings,
    scaled so that the total lands near the target. Returns the number inserted."""
    from flask import current_app
    from sqlalchemy import func, insert, select

    from models import Meeting, MeetingKind, Member, Organisation, OrgLevel, db
    from services.meeting_stats import kind_periods, parse_period

    rng = random.Random(2025)
    zone = current_app.config["SETTINGS"].zone
    kinds = db.session.scalars(select(MeetingKind).where(MeetingKind.active.is_(True))).all()
    orgs = db.session.execute(select(Organisation.id, Organisation.kind, Organisation.level)).all()
    creator = db.session.scalar(select(func.min(Member.id)))
    year = parse_period(str(YEAR))
    slots = []
    for org_id, kind, level in orgs:
        for k in kinds:
            branch = k.audience.value == "branch"
            if branch != kind.is_branch or (not branch and level not in (OrgLevel.CITY, OrgLevel.COUNTY)):
                continue
            slots += [(org_id, k.id, label) for label in kind_periods(k.cadence, year)]
    mean = target / len(slots)  # meetings per slot: 0, 1 or 2 (an extra one now and then)
    weights = [max(0.0, 1 - mean + 0.1), mean - 0.2, 0.1] if mean > 0.2 else [1 - mean, mean, 0]
    statuses, status_w = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    rows, total = [], 0
    with db.engine.begin() as conn:
        for org_id, kind_id, label in slots:
            for _ in range(rng.choices((0, 1, 2), weights)[0]):
                month = int(label[5:]) if "-" in label else (int(label[5]) - 1) * 3 + 1 if "Q" in label else 1
                start = datetime(YEAR, month, rng.randint(1, 28), 9, tzinfo=zone) + timedelta(days=rng.randint(0, 2))
                status = rng.choices(statuses, status_w)[0]
                rows.append(
                    {
                        "org_id": org_id,
                        "kind_id": kind_id,
                        "title": "会议",
                        "starts_at": start,
                        "ends_at": start + timedelta(hours=2),
                        "period": label,
                        "status": status,
                        "flagged": status != "planned" and rng.random() < 0.05,
                        "created_by": creator,
                    }
                )
                if len(rows) == BATCH:
                    conn.execute(insert(Meeting.__table__), rows)
                    total, rows = total + len(rows), []
        if rows:
            conn.execute(insert(Meeting.__table__), rows)
            total += len(rows)
    from services.meeting_tallies import rebuild

    db.session.commit()  # a fresh snapshot: the rows above were written on another connection
    started = time.perf_counter()
    rows = rebuild()  # the bulk insert bypassed the flushes that keep the tallies, as in the seeder
    db.session.commit()
    print(f"rebuilding the tallies: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    if db.engine.dialect.name == "mysql":
        db.session.execute(db.text("ANALYZE TABLE meetings, organisations, meeting_tallies"))
    return total


def pick_targets():
    """The root and the county with the most organisations."""
    from sqlalchemy import func, select

    from models import Organisation, OrgLevel, db

    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
    counties = db.session.scalars(
        select(Organisation).where(Organisation.parent_id == root.id, Organisation.level == OrgLevel.COUNTY)
    ).all()
    size = {c.id: db.session.scalar(select(func.count()).where(Organisation.path.like(c.path + "%"))) for c in counties}
    return root, max(counties, key=lambda c: (size[c.id], -c.id))


def statement_times(fn) -> list[tuple[float, str]]:
    """Each statement of one call of `fn` with its time in ms."""
    from sqlalchemy import event

    from models import db

    out, started = [], {}

    def before(conn, cursor, statement, params, context, many):
        started[id(context)] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):
        ms = (time.perf_counter() - started.pop(id(context))) * 1000
        out.append((ms, " ".join(statement.split())[:110]))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    db.session.expunge_all()
    return out


def measure(runs: int) -> list[dict]:
    from flask import current_app
    from sqlalchemy import text

    from models import db
    from services.authz import SYSTEM
    from services.meeting_stats import meeting_stats

    zone = current_app.config["SETTINGS"].zone
    root, county = pick_targets()
    year_count = text(f"SELECT COUNT(*) FROM meetings WHERE period LIKE '{YEAR}%'")
    n = db.session.execute(year_count).scalar()
    base_p50, base_p95 = timed(lambda: db.session.execute(year_count).scalar(), runs)
    print(f"baseline SELECT COUNT(*) of the {n:,} meetings of {YEAR}: p50 {base_p50:.2f} ms, p95 {base_p95:.2f} ms\n")
    print(f"{'as of':<12}{'scope':<24}{'period':<9}{'behind':>8}{'p50 ms':>9}{'p95 ms':>9}{'p50/base':>10}")
    out = []
    for as_of in (datetime(YEAR + 1, 2, 1, tzinfo=zone), datetime(YEAR, 8, 15, 12, tzinfo=zone)):
        for org, label in ((root, str(YEAR)), (root, f"{YEAR}Q3"), (county, str(YEAR))):

            def call(o=org.id, p=label, now=as_of):
                return meeting_stats(SYSTEM, o, p, now=now)

            behind = call()["behind_total"]
            db.session.expunge_all()
            p50, p95 = timed(call, runs)
            scope = f"{org.level.value} {org.id}"
            print(f"{as_of:%Y-%m-%d}  {scope:<24}{label:<9}{behind:>8}{p50:>9.2f}{p95:>9.2f}{p50 / base_p50:>10.2f}")
            out.append({"scope": scope, "period": label, "p50": p50, "p95": p95, "call": call})
    return out


def run(url: str, runs: int, meetings: int | None) -> int:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from models import db
    from services.seed import seed_demo

    with tempfile.TemporaryDirectory(prefix="party_bench_app_") as scratch_dir:
        app = build_app(url, scratch_dir)
        with app.app_context():
            if meetings is not None:
                upgrade()  # the real schema, indexes and the seeded meeting kinds
                print(f"seeding the city… {seed_demo('city', progress=False)['seconds']} s", flush=True)
                started = time.perf_counter()
                n = insert_meetings(meetings)
                print(f"inserting {n:,} meetings of {YEAR}… {time.perf_counter() - started:.1f} s", flush=True)
            version = (
                db.session.execute(text("SELECT VERSION()")).scalar()
                if db.engine.dialect.name == "mysql"
                else db.engine.dialect.name
            )
            print(f"server {version}; {runs} runs per call\n")
            results = measure(runs)
            root_year = results[0]
            print(
                f"\nissue goal, city root for the year p50 < {GOAL_MS:.0f} ms: "
                + ("met" if root_year["p50"] < GOAL_MS else f"MISSED ({root_year['p50']:.1f} ms)")
            )
            slow = [r for r in results if r["p50"] >= GOAL_MS]
            for r in slow[:1]:
                print(f"\nstatements of {r['scope']} {r['period']}:")
                for ms, sql in statement_times(r["call"]):
                    print(f"  {ms:8.2f} ms  {sql}")
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    return 0 if root_year["p50"] < GOAL_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a database already seeded by this script (left untouched)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--meetings", type=int, default=200_000, help="about this many meetings of the year")
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.runs, None)
    with throwaway_database("mysql") as url:
        return run(url, args.runs, args.meetings)


if __name__ == "__main__":
    sys.exit(main())

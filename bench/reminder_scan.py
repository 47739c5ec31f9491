"""One compliance scan over the city on MariaDB (services.reminder_scan): 7,531 organisations × all rules, a year of
meetings (about 200,000, through their tallies), and whatever duty rosters and courses the city seed holds.

    .venv/bin/python bench/reminder_scan.py [--url mysql+pymysql://root@127.0.0.1:3306/party_bench_rem] [--meetings N]

Without --url a throwaway `party_bench_<random>` database is migrated, seeded (the city demo, then about
`--meetings` meetings of 2025 as bench/meeting_stats.py inserts them) and dropped at the end. With --url the
database is seeded the same way if it is empty and kept, so that later runs skip the seeding; its reminders and
notifications are deleted before and after each run (nothing else is changed: the half-tree run is rolled back),
and nine cadres in ten are given a check-in on each day the scans look at (once, in duty_days).

Measured as of 27 November 2025, 09:00 local (November's reminders due, October and Q3 overdue and escalated,
the digest hour passed), with REMINDERS_SINCE at the first day of the city's records (--since, default 1 January
2025: its meetings are of 2025):
- cold: the first scan, every reminder new (inserts, notifications posted, digests), with its commit;
- cold, every period judged: the same first scan without REMINDERS_SINCE, which also judges 2024's yearly kinds,
  of which the city holds no records (26k more rows: every branch overdue and escalated; reported, not a goal);
- rerun: the next slot's scan, nothing new (the steady state every 15 minutes);
- period ends: the recurring scans with the most to open, each on the state the one before left (1 December: every
  monthly kind of November overdue; 1 January: December, Q4 and the year overdue at once; 8 January 09:00: their
  escalations and the digests);
- memory: tracemalloc peak of a cold scan over the whole city and over half of it (the organisations of every
  second county deactivated, inside a transaction that is rolled back): flat when the two are close.
The sequence (cold, rerun, period ends) runs --repeats times from an empty reminders table and the medians are
reported: on a shared 2-core machine one pass varies by a fifth or more.
Sends are not enqueued (the bench measures the scan, not delivery). Baseline, same process: reading every
organisation row (id, path, kind, level, active). Goal: the scan under 2 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_city import ROOT, build_app, throwaway_database  # noqa: E402

sys.path.insert(0, str(ROOT))

GOAL_S = 2.0
# The scans after the rerun, each on the state the previous one left (local times, the zone added when run): the
# ends of periods, when the recurring scan has the most to open (every monthly kind of November overdue; then the
# year's end: December, Q4 and 2025 overdue at once; a week later their escalations).
PERIOD_ENDS = [
    ("period end, 1 December 00:05", datetime(2025, 12, 1, 0, 5)),
    ("year end, 1 January 00:05   ", datetime(2026, 1, 1, 0, 5)),
    ("escalations, 8 January 09:00", datetime(2026, 1, 8, 9, 0)),
]


def _clear() -> None:
    from sqlalchemy import delete

    from models import db
    from models.notifications import Notification
    from models.reminders import Reminder

    db.session.execute(delete(Reminder))
    db.session.execute(delete(Notification))


def _emptied() -> None:
    """Commits `_clear` and waits until InnoDB has purged the deleted rows: a pass started while they were still
    there probed and skipped ~100,000 delete-marked index entries (the next cold scan took 9.7 s instead of 2.9 s),
    which no deployment has (reminders are never deleted in bulk). MariaDB's innodb_max_purge_lag_wait = 0 waits
    for the purge; without the privilege the pass just starts."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from models import db

    db.session.commit()
    try:
        db.session.execute(text("SET GLOBAL innodb_max_purge_lag_wait = 0"))
    except DBAPIError as error:
        print(f"  (the purge of the deleted rows was not awaited: {error.orig})")
    db.session.rollback()


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _scan(now, commit: bool):
    from models import db
    from services.reminder_scan import run_scan

    started = time.perf_counter()
    result = run_scan(now)
    if commit:
        db.session.commit()
    return time.perf_counter() - started, result


def _statements(fn) -> int:
    from sqlalchemy import event

    from models import db

    n = [0]

    def count(*_args):
        n[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return n[0]


def _baseline(runs: int = 5) -> float:
    from sqlalchemy import select

    from models import Organisation, db

    o = Organisation
    best = None
    for _ in range(runs):
        started = time.perf_counter()
        db.session.execute(select(o.id, o.path, o.kind, o.level, o.active)).all()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def _traced(now, half: bool) -> tuple[float, int, dict]:
    """A cold scan under tracemalloc, rolled back: (seconds, peak bytes, summary)."""
    from sqlalchemy import select, update

    from models import Organisation, OrgLevel, db

    _clear()
    if half:
        root = db.session.scalar(select(Organisation.id).where(Organisation.parent_id.is_(None)))
        counties = db.session.scalars(
            select(Organisation).where(Organisation.level == OrgLevel.COUNTY, Organisation.parent_id == root)
        ).all()
        for c in sorted(counties, key=lambda c: c.id)[::2]:
            db.session.execute(update(Organisation).where(Organisation.path.like(c.path + "%")).values(active=False))
    active = db.session.scalar(select(db.func.count()).where(Organisation.active.is_(True)))
    tracemalloc.start()
    seconds, result = _scan(now, commit=False)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    return seconds, peak, {"active": active, **result.summary()}


def _seed_presence(times) -> None:
    """Nine cadres in ten checked in on each day the scans look at (duty_days rows, written once): the city seed's
    check-ins are of its own week, and without these every rostered cadre would count absent on the bench's dates."""
    from sqlalchemy import insert, literal, select

    from models import DutyAssignment, DutyDay, db
    from services.reminder_scan import DUTY_DAYS

    a = DutyAssignment
    days = sorted({(t - timedelta(days=back)).date() for t in times for back in range(DUTY_DAYS)})
    for day in days:
        if db.session.scalar(select(DutyDay.member_id).where(DutyDay.duty_date == day).limit(1)) is not None:
            continue
        present = select(literal(day), a.org_id, a.member_id, literal(1), literal(1), literal(1)).where(a.id % 10 != 0)
        columns = ["duty_date", "org_id", "member_id", "checkins", "inside", "on_time"]
        db.session.execute(insert(DutyDay).from_select(columns, present.distinct()))
    db.session.commit()


@contextmanager
def _judging_since(since: date | None):
    """REMINDERS_SINCE set to `since` for the scans inside."""
    from flask import current_app

    settings = current_app.config["SETTINGS"]
    kept, settings.reminders_since = settings.reminders_since, since
    try:
        yield
    finally:
        settings.reminders_since = kept


def _sequence(now, zone) -> dict[str, float]:
    """One pass from an empty reminders table: cold with every period judged (then emptied again), cold, rerun,
    then the period ends. Returns the seconds of each."""

    _clear()
    _emptied()
    times = {}
    with _judging_since(None):
        times["cold, every period judged"], every = _scan(now, commit=True)
    print(f"cold scan, every period judged:  {times['cold, every period judged']:.2f} s  {every.summary()}")
    _clear()
    _emptied()
    rss_before = _rss_mib()
    times["cold"], cold = _scan(now, commit=True)
    print(f"cold scan (all new, with commit): {times['cold']:.2f} s  {cold.summary()}")
    print(f"  RSS {rss_before:.0f} → {_rss_mib():.0f} MiB")
    results = []
    statements = _statements(lambda: results.append(_scan(now + timedelta(minutes=15), commit=True)))
    times["rerun"], rerun = results[0]
    print(f"rerun (next slot, nothing new):   {times['rerun']:.2f} s  {rerun.summary()}  {statements} statements")
    for label, at in PERIOD_ENDS:
        times[label], result = _scan(at.replace(tzinfo=zone), commit=True)
        print(f"{label}: {times[label]:.2f} s  {result.summary()}", flush=True)
    return times


def measure(repeats: int, since: date) -> bool:
    from flask import current_app

    from models import db

    zone = current_app.config["SETTINGS"].zone
    current_app.config["SETTINGS"].reminders_since = since
    print(f"REMINDERS_SINCE {since} (the first day of the city's records)")
    now = datetime(2025, 11, 27, 9, tzinfo=zone)
    _seed_presence([now] + [at.replace(tzinfo=zone) for _label, at in PERIOD_ENDS])
    base = _baseline()
    print(f"baseline: reading every organisation row {base * 1000:.1f} ms\n", flush=True)
    print(f"load average before the timed scans: {os.getloadavg()[0]:.2f} (2 cores; above ~1.5 the figures are loaded)")
    runs = []
    for i in range(repeats):
        print(f"\n-- pass {i + 1} of {repeats}")
        runs.append(_sequence(now, zone))
    median = {label: statistics.median(r[label] for r in runs) for label in runs[0]}
    print(f"\nmedian of {repeats} passes (load average now {os.getloadavg()[0]:.2f}):")
    for label, seconds in median.items():
        print(f"  {label.strip():30s} {seconds:.2f} s   ratio to baseline {seconds / base:.0f}")
    print()
    _clear()
    _emptied()
    for half in (False, True):
        seconds, peak, summary = _traced(now, half)
        label = "half the city" if half else "whole city   "
        print(f"traced cold scan, {label}: {seconds:.2f} s, tracemalloc peak {peak / 2**20:.1f} MiB  {summary}")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS {peak_rss:.0f} MiB")
    cold_s, rerun_s = median["cold"], median["rerun"]
    period_s = max(median[label] for label, _at in PERIOD_ENDS)
    print(
        f"goal, one scan < {GOAL_S:.0f} s (medians): cold {'met' if cold_s < GOAL_S else 'MISSED'} ({cold_s:.2f} s), "
        f"rerun {'met' if rerun_s < GOAL_S else 'MISSED'} ({rerun_s:.2f} s), "
        f"period ends {'met' if period_s < GOAL_S else 'MISSED'} (slowest {period_s:.2f} s); "
        f"not a goal: cold with every period judged {median['cold, every period judged']:.2f} s"
    )
    _clear()
    db.session.commit()
    return cold_s < GOAL_S and rerun_s < GOAL_S and period_s < GOAL_S


def run(url: str, meetings: int, repeats: int, since: date) -> int:
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from models import Organisation, db
    from services.seed import seed_demo

    with tempfile.TemporaryDirectory(prefix="party_bench_app_") as scratch_dir:
        app = build_app(url, scratch_dir)
        with app.app_context():
            upgrade()
            if db.session.scalar(select(Organisation.id).limit(1)) is None:
                from meeting_stats import insert_meetings

                print(f"seeding the city… {seed_demo('city', progress=False)['seconds']} s", flush=True)
                started = time.perf_counter()
                n = insert_meetings(meetings)
                print(f"inserting {n:,} meetings of 2025… {time.perf_counter() - started:.1f} s", flush=True)
            orgs = db.session.scalar(select(db.func.count()).select_from(Organisation))
            version = db.session.execute(text("SELECT VERSION()")).scalar()
            print(f"server {version}; {orgs:,} organisations\n", flush=True)
            ok = measure(repeats, since)
            db.session.remove()
            db.engine.dispose()
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a MariaDB database to seed once and keep (empty, or seeded by this script)")
    parser.add_argument("--meetings", type=int, default=200_000, help="about this many meetings of 2025")
    parser.add_argument("--repeats", type=int, default=3, help="passes of the whole sequence; medians are reported")
    parser.add_argument(
        "--since", type=date.fromisoformat, default=date(2025, 1, 1), help="REMINDERS_SINCE (YYYY-MM-DD)"
    )
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.meetings, args.repeats, args.since)
    with throwaway_database("mysql") as url:
        return run(url, args.meetings, args.repeats, args.since)


if __name__ == "__main__":
    sys.exit(main())

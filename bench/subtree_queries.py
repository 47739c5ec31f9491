"""Subtree queries at city scale on MariaDB, as the API runs them: counts and member-list pages.

    .venv/bin/python bench/subtree_queries.py [--url mysql+pymysql://...] [--runs 50]

Without --url the city demo is seeded into a throwaway `party_bench_<random>` database, dropped at the end. Timed:
services.orgs.subtree_stats (organisation detail), services.members.count_active and roster_page (the member
list), for the city root, the largest county and the largest township under it; and, for reference, the shapes
they replaced (a live COUNT(*) over the join, a page sorted over the whole subtree). Baseline, same process:
`SELECT COUNT(*) FROM members`. A missed goal prints the EXPLAIN of the slow statement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_city import ROOT, build_app, throwaway_database  # noqa: E402

sys.path.insert(0, str(ROOT))

GOAL_MS = 20.0
PAGE = 20


def pad(text: str, width: int) -> str:
    """Left-aligns `text` in `width` terminal columns (a Chinese character takes two)."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


def scope_of(org) -> str:
    return pad(f"{org.level.value} {org.id} {org.name}", 30)


def timed(fn, runs: int) -> tuple[float, float]:
    """p50 and p95 in ms of `fn()` over `runs` runs after 3 warm-up runs."""
    from models import db

    for _ in range(3):
        fn()
        db.session.expunge_all()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        db.session.expunge_all()  # the page query must load its rows again, as a fresh request would
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def pick_targets() -> list:
    """The root, the county with the most members and that county's largest township."""
    from sqlalchemy import func, select

    from models import Member, Organisation, OrgLevel, db

    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))

    def largest(level: OrgLevel, under: Organisation):
        candidates = db.session.scalars(
            select(Organisation).where(
                Organisation.level == level,
                Organisation.parent_id == under.id,
                Organisation.kind.in_(["committee", "working_committee"]),
            )
        ).all()
        sizes = {
            o.id: db.session.scalar(
                select(func.count(Member.id)).join(Member.org).where(Organisation.path.like(o.path + "%"))
            )
            for o in candidates
        }
        return max(candidates, key=lambda o: (sizes[o.id], -o.id))

    county = largest(OrgLevel.COUNTY, root)
    return [root, county, largest(OrgLevel.TOWNSHIP, county)]


def statements(org):
    """The statements the API runs for `org` (as the super admin), and the live count they replaced."""
    from sqlalchemy import func, select

    from models import AccountStatus, Member
    from services.authz import SYSTEM
    from services.members import members_query
    from services.orgs import subtree_clause

    live_count = (
        select(func.count(Member.id)).join(Member.org).where(subtree_clause(org), Member.status == AccountStatus.ACTIVE)
    )
    page = members_query(SYSTEM, org, True).limit(PAGE)  # the generic path (with a search filter)
    return live_count, page


def measure(targets, runs: int) -> tuple[float, list[dict]]:
    from sqlalchemy import text

    from models import db
    from services.members import count_active, roster_page
    from services.orgs import subtree_stats

    base_p50, base_p95 = timed(lambda: db.session.execute(text("SELECT COUNT(*) FROM members")).scalar(), runs)
    print(f"baseline SELECT COUNT(*) FROM members: p50 {base_p50:.2f} ms, p95 {base_p95:.2f} ms ({runs} runs)\n")
    print(f"{'scope':<30}{'query':<30}{'rows':>8}{'p50 ms':>9}{'p95 ms':>9}{'p50/base':>10}")
    out = []
    for org in targets:
        live_count, page = statements(org)
        n = db.session.scalar(live_count)
        assert subtree_stats(org)["members"] == n == count_active(org, True), "counters disagree with the rows"
        for label, fn, rows in (
            ("subtree stats (org detail)", lambda o=org: subtree_stats(o), n),
            ("member count (list total)", lambda o=org: count_active(o, True), n),
            ("roster page 1 (list)", lambda o=org: roster_page(o, True, 1, PAGE), PAGE),
            ("roster page 50 (list)", lambda o=org: roster_page(o, True, 50, PAGE), PAGE),
            ("sorted first page (before)", lambda s=page: db.session.scalars(s).all(), PAGE),
            ("live COUNT(*) join (before)", lambda s=live_count: db.session.scalar(s), n),
        ):
            p50, p95 = timed(fn, runs)
            print(f"{scope_of(org)}{label:<30}{rows:>8}{p50:>9.2f}{p95:>9.2f}{p50 / base_p50:>10.2f}")
            out.append({"org": org, "query": label, "p50": p50, "p95": p95, "stmt": fn})
    return base_p50, out


def explain(stmt_sql: str) -> None:
    from sqlalchemy import text

    from models import db

    for row in db.session.execute(text("EXPLAIN " + stmt_sql)).all():
        print("    ", tuple(row))


def compile_sql(stmt) -> str:
    from models import db

    return str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))


def run(url: str, runs: int, seed: bool) -> int:
    from sqlalchemy import text

    from models import db
    from services.seed import seed_demo

    with tempfile.TemporaryDirectory(prefix="party_bench_app_") as scratch_dir:
        app = build_app(url, scratch_dir)
        with app.app_context():
            if seed:
                db.create_all()
                print(f"seeding the city… {seed_demo('city', progress=False)['seconds']} s", flush=True)
            if db.engine.dialect.name != "mysql":
                print(f"note: this is {db.engine.dialect.name}, not MariaDB")
            version = (
                db.session.execute(text("SELECT VERSION()")).scalar()
                if db.engine.dialect.name == "mysql"
                else db.engine.dialect.name
            )
            print(f"server {version}; {runs} runs per query\n")
            targets = pick_targets()
            _base, results = measure(targets, runs)
            counts = [r for r in results if "count" in r["query"] or "stats" in r["query"]]
            counts = [r for r in counts if "(before)" not in r["query"]]
            pages = [r for r in results if r["query"].startswith("roster")]
            slow_counts = [r for r in counts if r["p50"] >= GOAL_MS]
            slow_pages = [r for r in pages if r["p50"] >= GOAL_MS]
            print(
                f"\nissue goal, count p50 < {GOAL_MS:.0f} ms: "
                + ("met" if not slow_counts else f"MISSED by {len(slow_counts)} of {len(counts)}")
            )
            print(
                f"own target, list page p50 < {GOAL_MS:.0f} ms: "
                + ("met" if not slow_pages else f"missed by {len(slow_pages)} of {len(pages)}")
            )
            missed = [r for r in results if r["query"].startswith("sorted")][:1] if slow_pages else []
            for r in missed:
                if r["query"].startswith("sorted"):
                    print(f"\nEXPLAIN {r['query']} for {r['org'].name} (p50 {r['p50']:.1f} ms):")
                    explain(compile_sql(statements(r["org"])[1]))
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already seeded database (left untouched)")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.runs, seed=False)
    with throwaway_database("mysql") as url:
        return run(url, args.runs, seed=True)


if __name__ == "__main__":
    sys.exit(main())

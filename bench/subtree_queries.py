"""Subtree queries at city scale on MariaDB: active-member count and the first page of the member list.

    .venv/bin/python bench/subtree_queries.py [--url mysql+pymysql://...] [--runs 50] [--no-explore]

Without --url the city demo is seeded into a throwaway `party_bench_<random>` database, dropped at the end. The
statements have the shapes the services build (services.orgs.subtree_stats, services.members.members_query and
services.listing.paginate). Baseline, same process: `SELECT COUNT(*) FROM members`. A count whose p50 misses
20 ms gets its EXPLAIN printed, and (unless --no-explore) other query shapes are timed for comparison; the only
thing they create is a TEMPORARY table, gone with the connection.
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
        candidates = db.session.scalars(select(Organisation).where(
            Organisation.level == level, Organisation.parent_id == under.id,
            Organisation.kind.in_(["committee", "working_committee"]))).all()
        sizes = {o.id: db.session.scalar(select(func.count(Member.id)).join(Member.org)
                                         .where(Organisation.path.like(o.path + "%"))) for o in candidates}
        return max(candidates, key=lambda o: (sizes[o.id], -o.id))

    county = largest(OrgLevel.COUNTY, root)
    return [root, county, largest(OrgLevel.TOWNSHIP, county)]


def statements(org):
    from sqlalchemy import func, select

    from models import AccountStatus, Member
    from services.orgs import subtree_clause

    count = (select(func.count(Member.id)).join(Member.org)
             .where(subtree_clause(org), Member.status == AccountStatus.ACTIVE))
    listing = (select(Member).join(Member.org).where(subtree_clause(org), Member.status == AccountStatus.ACTIVE)
               .order_by(Member.id))
    page_count = select(func.count()).select_from(listing.order_by(None).subquery())
    return count, listing.limit(PAGE), page_count


def measure(targets, runs: int) -> tuple[float, list[dict]]:
    from sqlalchemy import text

    from models import db

    base_p50, base_p95 = timed(lambda: db.session.execute(text("SELECT COUNT(*) FROM members")).scalar(), runs)
    print(f"baseline SELECT COUNT(*) FROM members: p50 {base_p50:.2f} ms, p95 {base_p95:.2f} ms ({runs} runs)\n")
    print(f"{'scope':<30}{'query':<26}{'rows':>8}{'p50 ms':>9}{'p95 ms':>9}{'p50/base':>10}")
    out = []
    for org in targets:
        count, page, page_count = statements(org)
        n = db.session.scalar(count)
        for label, fn, rows in (
            ("active member count", lambda s=count: db.session.scalar(s), n),
            ("first page (20, by id)", lambda s=page: db.session.scalars(s).all(), PAGE),
            ("page count (paginate)", lambda s=page_count: db.session.scalar(s), n),
        ):
            p50, p95 = timed(fn, runs)
            print(f"{scope_of(org)}{label:<26}{rows:>8}{p50:>9.2f}{p95:>9.2f}{p50 / base_p50:>10.2f}")
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


def explore(targets, runs: int) -> None:
    """Other shapes of the same two questions, for the report: which one would meet the goal."""
    from sqlalchemy import text

    from models import db

    db.session.execute(text(
        "CREATE TEMPORARY TABLE bench_org_counts (id INT PRIMARY KEY, path VARCHAR(255), n INT, "
        "KEY ix_path_n (path, n)) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci "
        "SELECT o.id, o.path, COUNT(m.id) AS n FROM organisations o LEFT JOIN members m "
        "ON m.org_id = o.id AND m.status = 'active' GROUP BY o.id, o.path"))
    db.session.execute(text(
        "CREATE TEMPORARY TABLE bench_member_paths (id INT PRIMARY KEY, status VARCHAR(24), org_path VARCHAR(255), "
        "KEY ix_status_path_id (status, org_path, id)) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci "
        "SELECT m.id, m.status, o.path AS org_path FROM members m JOIN organisations o ON o.id = m.org_id"))
    print(f"\n{'scope':<30}{'alternative shape':<50}{'p50 ms':>9}{'p95 ms':>9}")
    for org in targets:
        like = org.path + "%"
        join = ("FROM members JOIN organisations ON organisations.id = members.org_id "
                "WHERE organisations.path LIKE :p AND members.status = 'active'")
        shapes = {
            "count: SUM over a per-organisation counter": "SELECT SUM(n) FROM bench_org_counts WHERE path LIKE :p",
            "count: status only (the root's whole tree)": "SELECT COUNT(*) FROM members WHERE status = 'active'",
            "page: ORDER BY organisations.path": f"SELECT members.* {join} ORDER BY organisations.path LIMIT 20",
            "page: ids first, then rows (deferred join)":
                f"SELECT m.* FROM members m JOIN (SELECT members.id {join} ORDER BY members.id LIMIT 20) x "
                "ON x.id = m.id ORDER BY m.id",
            "page: STRAIGHT_JOIN (members by id first)":
                f"SELECT members.* {join.replace(' JOIN ', ' STRAIGHT_JOIN ', 1)} ORDER BY members.id LIMIT 20",
            "count: members.org_path copy, (status,path,id)":
                "SELECT COUNT(*) FROM bench_member_paths WHERE status = 'active' AND org_path LIKE :p",
            "page: members.org_path copy, ORDER BY path, id":
                "SELECT members.* FROM bench_member_paths mp JOIN members ON members.id = mp.id "
                "WHERE mp.status = 'active' AND mp.org_path LIKE :p ORDER BY mp.org_path, mp.id LIMIT 20",
        }
        for label, sql in shapes.items():
            if "status only" in label and org.parent_id is not None:
                continue
            p50, p95 = timed(lambda s=sql, p=like: db.session.execute(text(s), {"p": p}).all(), runs)
            print(f"{scope_of(org)}{label:<50}{p50:>9.2f}{p95:>9.2f}")
    db.session.execute(text("DROP TEMPORARY TABLE bench_org_counts"))
    db.session.execute(text("DROP TEMPORARY TABLE bench_member_paths"))


def run(url: str, runs: int, explore_shapes: bool, seed: bool) -> int:
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
            version = db.session.execute(text("SELECT VERSION()")).scalar() if db.engine.dialect.name == "mysql" \
                else db.engine.dialect.name
            print(f"server {version}; {runs} runs per query\n")
            targets = pick_targets()
            _base, results = measure(targets, runs)
            missed = [r for r in results if r["p50"] >= GOAL_MS]
            counts_missed = [r for r in missed if r["query"] != "first page (20, by id)"]
            print(f"\ngoal: count p50 < {GOAL_MS:.0f} ms — "
                  + ("met" if not counts_missed else f"MISSED by {len(counts_missed)} of {len(targets) * 2}"))
            for r in missed:
                count, page, page_count = statements(r["org"])
                stmt = {"active member count": count, "first page (20, by id)": page}.get(r["query"], page_count)
                print(f"\nEXPLAIN {r['query']} for {r['org'].name} (p50 {r['p50']:.1f} ms):")
                explain(compile_sql(stmt))
            if explore_shapes and missed and db.engine.dialect.name == "mysql":
                explore(targets, runs)
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already seeded database (left untouched)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--no-explore", action="store_true", help="skip timing the alternative query shapes")
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.runs, not args.no_explore, seed=False)
    with throwaway_database("mysql") as url:
        return run(url, args.runs, not args.no_explore, seed=True)


if __name__ == "__main__":
    sys.exit(main())

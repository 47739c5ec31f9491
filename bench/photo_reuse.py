"""Reused-photo lookup against 200,000 stored photos, as the upload runs it (services.evidence.similar_photos).

    .venv/bin/python bench/photo_reuse.py [--db mysql|sqlite|both] [--rows 200000] [--queries 300]

Stores `--rows` evidence rows with random 64-bit pHash/dHash pairs (uniform bits, as unrelated photos give) in a
throwaway database, plus 100 planted near-copies (a stored hash with 1–8 bits flipped). Timed, per query: a miss
(a fresh random hash, the common case) and a hit (a planted near-copy, which must be found). Baseline, same
process and database: one primary-key SELECT of an evidence row. Goal: p99 under 10 ms on MariaDB.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_city import ROOT, build_app, throwaway_database  # noqa: E402

sys.path.insert(0, str(ROOT))

GOAL_MS = 10.0
BATCH = 5000
PLANTED = 100


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]


def timed(fn, args) -> list[float]:
    out = []
    for a in args:
        started = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - started) * 1000)
    return out


def fill(rows: int, rng: random.Random) -> list[tuple[int, int]]:
    """Inserts `rows` evidence rows (Core, in batches) and returns the (phash, dhash) of the planted targets."""
    from sqlalchemy import insert

    from models import Evidence, EvidenceSubject, Member, Organisation, OrgKind, OrgLevel, db
    from models.base import utcnow
    from services.photos import hash_chunks, to_signed64

    org = Organisation(
        name="基准测试党支部", code="BENCH1", kind=OrgKind.BRANCH, level=OrgLevel.VILLAGE, path="/", depth=0
    )
    db.session.add(org)
    db.session.flush()
    org.path = f"/{org.id}/"
    member = Member(name="基准", gender="male", mobile="13800000000", org_id=org.id, member_no="B0000001")
    db.session.add(member)
    db.session.commit()
    now = utcnow()
    targets = []
    batch = []
    for i in range(rows):
        ph, dh = rng.getrandbits(64), rng.getrandbits(64)
        if i % (rows // PLANTED) == 0 and len(targets) < PLANTED:
            targets.append((ph, dh))
        c0, c1, c2, c3 = hash_chunks(ph)
        batch.append(
            {
                "subject_type": EvidenceSubject.MEETING,
                "subject_id": i // 4 + 1,
                "org_id": org.id,
                "uploaded_by": member.id,
                "client_id": f"bench-{i:08d}",
                "original_key": f"bench/{i}/o.jpg",
                "content_type": "image/jpeg",
                "byte_size": 1,
                "sha256": f"{i:064x}",
                "phash": to_signed64(ph),
                "dhash": to_signed64(dh),
                "phash_c0": c0,
                "phash_c1": c1,
                "phash_c2": c2,
                "phash_c3": c3,
                "flags": [],
                "verdict": {},
                "received_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == BATCH:
            db.session.execute(insert(Evidence), batch)
            batch.clear()
    if batch:
        db.session.execute(insert(Evidence), batch)
    db.session.commit()
    return targets


def flipped(h: int, bits: int, rng: random.Random) -> int:
    for position in rng.sample(range(64), bits):
        h ^= 1 << position
    return h


def run(backend: str, rows: int, queries: int) -> bool:
    from sqlalchemy import func, select

    from models import Evidence, db
    from services.evidence import similar_photos

    rng = random.Random(2026)
    with throwaway_database(backend) as url, tempfile.TemporaryDirectory(prefix="party_bench_app_") as scratch:
        app = build_app(url, scratch)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            targets = fill(rows, rng)
            load_s = time.perf_counter() - started
            stored = db.session.scalar(select(func.count(Evidence.id)))
            misses = [(rng.getrandbits(64), rng.getrandbits(64)) for _ in range(queries)]
            hits = [(flipped(ph, rng.randint(1, 8), rng), flipped(dh, rng.randint(0, 8), rng)) for ph, dh in targets]
            ids = [rng.randint(1, stored) for _ in range(queries)]
            for q in misses[:10]:  # warm-up: index pages into the buffer pool
                similar_photos(*q)
            baseline = timed(lambda i: db.session.get(Evidence, i) and db.session.expunge_all(), ids)
            found = 0

            def lookup_hit(q):
                nonlocal found
                found += bool(similar_photos(*q))

            miss_ms = timed(lambda q: similar_photos(*q), misses)
            hit_ms = timed(lookup_hit, hits)
            db.session.remove()
            db.engine.dispose()
    base_p50, base_p99 = percentiles(baseline)
    print(f"\n{backend}: {stored:,} stored photos (loaded in {load_s:.1f} s), {queries} misses, {len(hits)} hits")
    print(f"  baseline: primary-key SELECT     p50 {base_p50:6.2f} ms   p99 {base_p99:6.2f} ms")
    ok = found == len(hits)
    for name, samples in (("miss (new photo)", miss_ms), ("hit (near-copy)", hit_ms)):
        p50, p99 = percentiles(samples)
        goal = p99 < GOAL_MS
        ok = ok and (goal or backend != "mysql")
        print(
            f"  {name:<17}          p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
            f"×{p50 / base_p50:4.1f} baseline   goal p99 < {GOAL_MS:g} ms: {'met' if goal else 'MISSED'}"
        )
    print(f"  near-copies found: {found}/{len(hits)}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["mysql", "sqlite", "both"], default="both")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    backends = ["mysql", "sqlite"] if args.db == "both" else [args.db]
    results = [run(b, args.rows, args.queries) for b in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

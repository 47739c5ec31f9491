"""The statistics' tallies kept by every flush: after any mix of changes through the ORM and the services they
equal a recount from the meetings, concurrent changes to one kind period lose nothing on MariaDB, and the
statistics still match the brute force."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import (
    Meeting,
    MeetingOrgYear,
    MeetingRollup,
    MeetingStatus,
    MeetingTally,
    Organisation,
    OrgKind,
    OrgLevel,
    db,
)
from services import meeting_stats, meeting_tallies
from services import orgs as org_service
from services.authz import SYSTEM
from services.meetings import period_of
from tests.factories import org
from tests.test_meeting_stats import (
    STATUSES,
    assert_matches,
    generate_meetings,
    grow,
    kinds_by_code,
    local,
    snapshot,
)


def tallies() -> dict[tuple, dict]:
    table = MeetingTally.__table__
    rows = db.session.execute(select(table)).mappings()
    return {(r["org_id"], r["kind_id"], r["year"]): dict(r) for r in rows if _counted(r)}


def _counted(row) -> bool:
    """A row whose counters are all zero counts nothing: the rebuild does not write it, the flushes may keep it."""
    return any(v for k, v in row.items() if k.split("_")[0] in ("held", "reviewed", "flagged"))


def _values(row) -> list[int]:
    return [v for c, v in row.items() if c.startswith(("held_", "reviewed_", "flagged_", "done_", "met_"))]


def sums() -> tuple[dict, dict]:
    """The rollups and organisation-years, without rows that hold only zeros (a rebuild writes none)."""
    out = []
    for table, key in (
        (MeetingRollup.__table__, ("year", "ancestor_id", "bucket_id", "kind_id")),
        (MeetingOrgYear.__table__, ("year", "org_id")),
    ):
        rows = db.session.execute(select(table)).mappings()
        out.append({tuple(r[k] for k in key): dict(r) for r in rows if any(_values(r))})
    return tuple(out)


def assert_tallies_equal_a_recount() -> None:
    kept, kept_sums = tallies(), sums()
    meeting_tallies.rebuild()
    db.session.commit()
    recounted, recounted_sums = tallies(), sums()
    assert kept.keys() == recounted.keys()
    for key, row in recounted.items():
        assert kept[key] == row, key
    for kept_table, recounted_table in zip(kept_sums, recounted_sums, strict=True):
        assert kept_table.keys() == recounted_table.keys()
        for key, row in recounted_table.items():
            assert kept_table[key] == row, key


def _shift(app, meeting: Meeting, days: int) -> None:
    meeting.starts_at += timedelta(days=days)
    meeting.ends_at += timedelta(days=days)
    meeting.period = period_of(meeting.kind.cadence, meeting.starts_at.astimezone(app.config["SETTINGS"].zone))


@pytest.mark.parametrize("seed", [5, 2027])
def test_random_changes_keep_the_tallies_equal_to_a_recount(app, world, seed):
    rng = random.Random(seed)
    generate_meetings(app, world, grow(world, rng), rng)
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.id)).all()
    for m in rng.sample(meetings, 40):  # status changes, one flush each
        m.status = rng.choice(STATUSES)
        db.session.flush()
    for m in rng.sample(meetings, 20):  # several changes to one meeting in one flush, some cancelling out
        m.flagged = not m.flagged
        m.status = rng.choice(STATUSES)
        _shift(app, m, rng.choice([-40, -3, 0, 31, 400]))  # into another period, or another year
    for m in rng.sample(meetings, 10):
        db.session.delete(m)
    kinds = list(kinds_by_code().values())
    branches = db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.BRANCH)).all()
    for _ in range(15):  # new meetings through the ORM
        start = local(app, 2025, rng.randint(1, 12), 12, 9)
        kind = rng.choice(kinds)
        db.session.add(
            Meeting(
                org_id=rng.choice(branches).id,
                kind_id=kind.id,
                title="新增会议",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                period=period_of(kind.cadence, start),
                status=rng.choice(STATUSES),
                flagged=rng.random() < 0.3,
                created_by=world.super.id,
            )
        )
    db.session.commit()
    for m in rng.sample([m for m in meetings if m in db.session], 5):  # expired by the commit
        db.session.delete(m)
    db.session.commit()
    assert_tallies_equal_a_recount()

    # The organisations' copies: a revoked branch, a changed kind and level, a township moved to another county.
    world.v2.active = False
    world.v3.kind = OrgKind.JOINT_BRANCH
    world.county_a_agency.level = OrgLevel.CITY
    db.session.commit()
    org_service.move_org(SYSTEM, world.town_a2, world.county_b.id)
    db.session.commit()
    assert_tallies_equal_a_recount()
    moved = db.session.get(Organisation, world.v3.id)
    assert {r["a1"] for r in tallies().values() if r["org_id"] == moved.id} == {world.county_b.id}

    snap = snapshot()
    for now in (local(app, 2025, 8, 15, 12), local(app, 2026, 3, 1)):
        for label in ("2025-08", "2025Q3", "2025", "2026"):
            for root in (world.city, world.county_a, world.county_b, world.town_a2):
                got = meeting_stats.meeting_stats(SYSTEM, root.id, label, now=now)
                assert_matches(app, got, db.session.get(Organisation, root.id), label, now, snap)


def test_the_services_keep_the_tallies(app, world):
    """Planned, held, submitted, returned and reviewed through the services; each step shows in the tallies."""
    from models import ReviewDecision
    from services import meetings as meeting_service
    from services.authz import Actor

    zone = app.config["SETTINGS"].zone
    start = (meeting_stats.utcnow() - timedelta(days=2)).astimezone(zone).replace(hour=9, minute=0, second=0)
    secretary, reviewer = Actor(world.sec_v1), Actor(world.town_a1_admin)
    kind = kinds_by_code()["branch_committee"]
    meeting = meeting_service.create_meeting(
        secretary,
        {
            "org_id": world.v1.id,
            "kind_id": kind.id,
            "title": "支委会",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
        },
    )
    db.session.commit()
    year, slot = meeting_tallies.slot_of(meeting.period)

    def counters():
        row = (
            db.session.execute(
                select(MeetingTally.__table__).where(MeetingTally.org_id == world.v1.id, MeetingTally.year == year)
            )
            .mappings()
            .one_or_none()
        )
        return tuple(row[f"{m}_{slot:02d}"] if row else 0 for m in ("held", "reviewed", "flagged"))

    assert counters() == (0, 0, 0)
    meeting_service.record_held(secretary, meeting)
    db.session.commit()
    assert counters() == (1, 0, 0)
    meeting_service.submit(secretary, meeting)
    meeting_service.review(reviewer, meeting, ReviewDecision.RETURN, "请补充照片", None)
    db.session.commit()
    assert counters() == (1, 0, 0)
    meeting_service.submit(secretary, meeting)
    meeting_service.review(reviewer, meeting, ReviewDecision.PASS, None, 90)
    db.session.commit()
    assert counters() == (1, 1, 0)
    meeting.flagged = True  # as a doubtful photo marks it
    db.session.commit()
    assert counters() == (1, 1, 1)


def test_concurrent_changes_to_one_kind_period_lose_nothing(app, world):
    if db.engine.dialect.name != "mysql":
        pytest.skip("SQLite serialises writers: the race needs MariaDB")
    kind = kinds_by_code()["theme_day"]
    start = local(app, 2025, 5, 10, 9)
    ids = []
    for i in range(8):
        m = Meeting(
            org_id=world.v1.id,
            kind_id=kind.id,
            title=f"主题党日{i}",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            period="2025-05",
            status=MeetingStatus.PLANNED,
            created_by=world.super.id,
        )
        db.session.add(m)
        db.session.flush()
        ids.append(m.id)
    db.session.commit()
    barrier, errors = threading.Barrier(len(ids)), []

    def hold(meeting_id: int) -> None:
        with app.app_context():
            try:
                meeting = db.session.get(Meeting, meeting_id)
                barrier.wait(timeout=10)
                meeting.status = MeetingStatus.REVIEWED
                db.session.commit()
            except Exception as exc:  # reported below: a thread's failure must fail the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=hold, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    db.session.expire_all()
    row = tallies()[(world.v1.id, kind.id, 2025)]
    assert (row["held_05"], row["reviewed_05"]) == (len(ids), len(ids))
    assert_tallies_equal_a_recount()


def test_an_organisation_without_meetings_has_no_rows_until_its_first(app, world):
    newcomer = org(world.town_b1, "新建村党支部", OrgKind.BRANCH, OrgLevel.VILLAGE)
    db.session.commit()
    assert not [k for k in tallies() if k[0] == newcomer.id]
    start = local(app, 2025, 3, 5, 9)
    kind = kinds_by_code()["branch_committee"]
    db.session.add(
        Meeting(
            org_id=newcomer.id,
            kind_id=kind.id,
            title="支委会",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            period="2025-03",
            status=MeetingStatus.HELD,
            created_by=world.super.id,
        )
    )
    db.session.commit()
    row = tallies()[(newcomer.id, kind.id, 2025)]
    path_ids = [int(p) for p in newcomer.path.strip("/").split("/")]
    assert [row[f"a{d}"] for d in range(len(path_ids))] == path_ids and row["held_03"] == 1
    assert row["audience"] == "branch" and row["active"] is True


def test_a_kinds_new_cap_recomputes_its_rows_and_the_statistics(app, world):
    """The capped sums and met masks are stored per row: editing a kind's times per period (or a kind created
    later) recomputes its rows in the same flush, and the statistics still match the brute force."""
    from services import meeting_kinds
    from services.authz import Actor

    rng = random.Random(11)
    generate_meetings(app, world, grow(world, rng), rng)
    kinds = kinds_by_code()
    monthly = next(k for k in kinds.values() if k.cadence.value == "month" and k.active)
    quarterly = next(k for k in kinds.values() if k.cadence.value == "quarter" and k.active)
    admin = Actor(world.super)
    for kind, tpp in ((monthly, 2), (quarterly, 3)):
        meeting_kinds.update_kind(admin, kind, {"times_per_period": tpp})
    db.session.commit()
    assert_tallies_equal_a_recount()  # the incremental refresh equals a rebuild with the new caps
    snap = snapshot()
    now = local(app, 2026, 3, 1)
    for label in ("2025-08", "2025Q3", "2025"):
        for root in (world.city, world.county_a, world.town_a2):
            got = meeting_stats.meeting_stats(SYSTEM, root.id, label, now=now)
            assert_matches(app, got, root, label, now, snap)
    capped = db.session.scalar(
        select(MeetingTally.__table__.c.held_y)
        .where(MeetingTally.kind_id == monthly.id)
        .order_by(MeetingTally.__table__.c.held_y.desc())
        .limit(1)
    )
    assert capped is not None and capped <= 2 * 12

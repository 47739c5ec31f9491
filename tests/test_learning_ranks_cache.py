"""The leaderboards read the organisation tree from a per-process copy (services/org_tree_cache.py): a board asked
for right after an organisation is added, moved, renamed, re-levelled or deactivated — through the services or by
hand-written SQL, within the same second — shows the tree as committed; an unchanged tree is not read again."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, text, update

from models import Organisation, OrgKind, OrgLevel, db
from services import learning_points as points
from services import learning_ranks as ranks
from services import org_tree_cache, orgs
from services.authz import SYSTEM
from tests.factories import org

DAY = date(2026, 12, 3)


@pytest.fixture(autouse=True)
def fresh_copy(app):
    points.ensure_default_rules()
    db.session.commit()
    org_tree_cache.forget()
    yield
    org_tree_cache.forget()


def board(org_id: int, unit: str) -> dict[int, tuple[str, str | None, int]]:
    """{id: (name, parent name, points)} of a month's board, as a fresh request would read it."""
    db.session.expire_all()
    rows = ranks.leaderboard(SYSTEM, org_id, "month", DAY, unit=unit)["rows"]
    return {r.id: (r.name, r.parent_name, r.points) for r in rows}


def grant(member, n: int) -> None:
    points.grant(member, "article_read", unique_key=f"cache:{member.id}:{n}", source_type="lesson", units=n, day=DAY)
    db.session.commit()


def test_added_moved_renamed_deactivated_organisations_show_at_once(world):
    grant(world.member_v1, 3)
    before = board(world.city.id, "branches")
    assert before[world.v1.id] == ("一村党支部", "甲一镇党委", 3) and world.v3.id in before

    new = org(world.town_a1, "五村党支部")  # added
    db.session.commit()
    assert board(world.city.id, "branches")[new.id] == ("五村党支部", "甲一镇党委", 0)

    orgs.update_org(SYSTEM, db.session.get(Organisation, world.v1.id), {"name": "一村新党支部"})  # renamed
    db.session.commit()
    assert board(world.city.id, "branches")[world.v1.id] == ("一村新党支部", "甲一镇党委", 3)

    orgs.move_org(SYSTEM, db.session.get(Organisation, world.v1.id), world.town_b1.id)  # moved, with its points
    db.session.commit()
    assert board(world.city.id, "branches")[world.v1.id] == ("一村新党支部", "乙一镇党委", 3)
    counties = board(world.city.id, "counties")
    assert counties[world.county_a.id][2] == 0 and counties[world.county_b.id][2] == 3
    assert world.v1.id not in board(world.town_a1.id, "branches")

    orgs.deactivate_org(SYSTEM, db.session.get(Organisation, new.id))  # deactivated
    db.session.commit()
    assert new.id not in board(world.city.id, "branches")
    assert set(board(world.city.id, "branches")) == set(before)


def test_changes_written_by_hand_and_parents_renamed_show_too(world):
    assert world.town_a1.id in board(world.county_a.id, "townships")
    db.session.execute(  # no service, no updated_at: a bulk fix or a migration
        update(Organisation).where(Organisation.id == world.town_a1.id).values(level=OrgLevel.VILLAGE)
    )
    db.session.commit()
    assert world.town_a1.id not in board(world.county_a.id, "townships")
    db.session.execute(text("UPDATE organisations SET name = '甲一镇新党委' WHERE id = :id"), {"id": world.town_a1.id})
    db.session.commit()
    assert board(world.city.id, "branches")[world.v2.id][1] == "甲一镇新党委"  # a parent's name
    db.session.execute(update(Organisation).where(Organisation.id == world.v2.id).values(kind=OrgKind.GENERAL_BRANCH))
    db.session.commit()
    assert world.v2.id not in board(world.city.id, "branches")


def test_an_unchanged_tree_is_not_read_again(world):
    grant(world.member_v2, 2)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    board(world.city.id, "branches")  # the copy is read here
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        again = board(world.city.id, "branches")
        board(world.county_a.id, "townships")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert again[world.v2.id][2] == 2
    fingerprints = [s for s in statements if "crc32" in s.lower() and "count(*)" in s]
    tree_reads = [s for s in statements if "crc32" in s.lower() and "count(*)" not in s]
    assert len(fingerprints) == 2 and tree_reads == []  # one small statement per board, the tree never again
    org(world.town_a1, "六村党支部")
    db.session.commit()
    statements.clear()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        board(world.city.id, "branches")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "crc32" in s.lower() and "count(*)" not in s]) == 1  # read again once


def test_sums_cut_short_by_group_concat_max_len_are_read_row_by_row(world):
    if db.session.get_bind().dialect.name != "mysql":
        pytest.skip("SQLite's group_concat has no length limit")
    grant(world.member_v1, 3)
    grant(world.member_v2, 2)
    grant(world.member_v4, 1)
    expected = board(world.city.id, "branches")
    db.session.execute(text("SET SESSION group_concat_max_len = 4"))  # the smallest allowed: "id p" at most
    try:
        assert board(world.city.id, "branches") == expected  # same transaction, same connection
    finally:
        db.session.execute(text("SET SESSION group_concat_max_len = DEFAULT"))
    assert [expected[b.id][2] for b in (world.v1, world.v2, world.v4, world.v3)] == [3, 2, 1, 0]

"""The organisation tree: subtree queries, placement rules, moves, field permissions, deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEntry, Organisation, OrgKind, OrgLevel, db
from services.authz import SYSTEM
from services.orgs import move_org, subtree_clause, subtree_stats
from tests.factories import org


def test_subtree_prefix_trap(app):
    """/1/2/ must not match /1/23/: build nodes with exactly those ids."""
    root = Organisation(id=1, name="市", code="R1", kind=OrgKind.COMMITTEE, level=OrgLevel.CITY, path="/1/", depth=0)
    db.session.add(root)
    db.session.flush()
    for node_id in (2, 23, 24):
        db.session.add(
            Organisation(
                id=node_id,
                name=f"县{node_id}",
                code=f"C{node_id}",
                kind=OrgKind.COMMITTEE,
                level=OrgLevel.COUNTY,
                parent_id=1,
                path=f"/1/{node_id}/",
                depth=1,
            )
        )
    db.session.add(
        Organisation(
            id=230,
            name="镇",
            code="T230",
            kind=OrgKind.COMMITTEE,
            level=OrgLevel.TOWNSHIP,
            parent_id=23,
            path="/1/23/230/",
            depth=2,
        )
    )
    db.session.commit()
    two = db.session.get(Organisation, 2)
    found = db.session.scalars(select(Organisation.id).where(subtree_clause(two))).all()
    assert found == [2]
    found = set(db.session.scalars(select(Organisation.id).where(subtree_clause(db.session.get(Organisation, 23)))))
    assert found == {23, 230}


def test_paths_and_depths(world):
    assert world.city.path == f"/{world.city.id}/" and world.city.depth == 0
    assert world.v1.path == f"{world.town_a1.path}{world.v1.id}/" and world.v1.depth == 3
    assert world.v1.ancestor_ids == [world.city.id, world.county_a.id, world.town_a1.id, world.v1.id]


def test_subtree_query_uses_the_path_index(app, world):
    """The subtree condition must be an index range scan, not a full scan (checked with EXPLAIN)."""
    stmt = select(Organisation.id).where(subtree_clause(world.county_a))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " ".join(
        str(r)
        for r in db.session.execute(
            db.text("EXPLAIN " + ("QUERY PLAN " if db.engine.dialect.name == "sqlite" else "") + sql)
        ).all()
    )
    if db.engine.dialect.name == "sqlite":
        # SQLite uses an index for LIKE only with case_sensitive_like; the MariaDB plan is what matters in production.
        assert "organisations" in plan
    else:
        assert "ix_organisations_subtree" in plan and "range" in plan


def test_move_subtree_rewrites_all_paths(client, world, login_as):
    r = client.post(
        f"/api/orgs/{world.town_a1.id}/move", json={"parent_id": world.county_b.id}, headers=login_as(world.city_admin)
    )
    assert r.status_code == 200, r.json
    db.session.expire_all()
    town = db.session.get(Organisation, world.town_a1.id)
    v1 = db.session.get(Organisation, world.v1.id)
    assert town.parent_id == world.county_b.id
    assert town.path == f"{world.county_b.path}{town.id}/"
    assert v1.path == f"{town.path}{v1.id}/" and v1.depth == 3
    under_b = set(db.session.scalars(select(Organisation.id).where(subtree_clause(world.county_b))))
    assert {town.id, v1.id, world.v2.id} <= under_b
    under_a = set(db.session.scalars(select(Organisation.id).where(subtree_clause(world.county_a))))
    assert not ({town.id, v1.id} & under_a)
    assert db.session.query(AuditEntry).filter_by(action="org.move", object_id=str(town.id)).count() == 1
    # scope follows the tree on the next request: county A's admin lost v1, county B's admin gained it
    assert client.get(f"/api/orgs/{v1.id}", headers=login_as(world.county_a_admin)).status_code == 404
    assert client.get(f"/api/orgs/{v1.id}", headers=login_as(world.county_b_admin)).status_code == 200


def test_move_refusals(client, world, login_as):
    h = login_as(world.city_admin)
    r = client.post(f"/api/orgs/{world.county_a.id}/move", json={"parent_id": world.town_a1.id}, headers=h)
    assert r.status_code == 422 and "parent_id" in r.json["error"]["fields"]  # into its own subtree
    r = client.post(f"/api/orgs/{world.town_a1.id}/move", json={"parent_id": world.v2.id}, headers=h)
    assert r.status_code == 422  # under a branch
    r = client.post(f"/api/orgs/{world.county_a.id}/move", json={"parent_id": world.town_b1.id}, headers=h)
    assert r.status_code == 422  # a county cannot stand under a township
    # a department never moves its own node
    r = client.post(
        f"/api/orgs/{world.town_a1.id}/move",
        json={"parent_id": world.town_a2.id},
        headers=login_as(world.town_a1_admin),
    )
    assert r.status_code == 403


def test_create_org_rules(client, world, login_as):
    h = login_as(world.town_a1_admin)
    body = {
        "parent_id": world.town_a1.id,
        "name": "五村党支部",
        "code": "V0005",
        "kind": "branch",
        "level": "village",
        "venue_lat": 26.5,
        "venue_lng": 106.7,
        "venue_coord_sys": "gcj02",
    }
    r = client.post("/api/orgs", json=body, headers=h)
    assert r.status_code == 201, r.json
    assert r.json["venue"] == {"latitude": 26.5, "longitude": 106.7, "coord_sys": "gcj02"}
    assert r.json["path"] == f"{world.town_a1.path}{r.json['id']}/"
    again = client.post("/api/orgs", json=body, headers=h)
    assert again.status_code == 409 and "code" in again.json["error"]["fields"]
    r = client.post("/api/orgs", json={**body, "code": "V0006", "level": "county"}, headers=h)
    assert r.status_code == 422 and "level" in r.json["error"]["fields"]
    r = client.post("/api/orgs", json={**body, "code": "V0007", "parent_id": world.v1.id}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/orgs", json={**body, "code": "V0008", "venue_lat": 999}, headers=h)
    assert r.status_code == 422 and "venue_lat" in r.json["error"]["fields"]
    r = client.post("/api/orgs", json={**body, "code": "V0009", "venue_coord_sys": None}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/orgs", json={**body, "code": "V0010", "kind": "club"}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"]["kind"][0].startswith("应为以下之一")
    r = client.post("/api/orgs", json={**body, "code": "V0011", "parent_id": None}, headers=h)
    assert r.status_code == 403  # only the super admin creates a root
    r = client.post("/api/orgs", json={**body, "code": "V0012"}, headers=login_as(world.sec_v1))
    assert r.status_code == 404  # a secretary cannot see the township


def test_nan_and_unknown_fields_are_refused(client, world, login_as):
    h = login_as(world.town_a1_admin)
    r = client.patch(
        f"/api/orgs/{world.v1.id}",
        data='{"venue_lat": NaN, "venue_lng": 1, "venue_coord_sys": "wgs84"}',
        content_type="application/json",
        headers=h,
    )
    assert r.status_code in (400, 422)
    r = client.patch(f"/api/orgs/{world.v1.id}", json={"path": "/1/"}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"]["path"] == ["不允许提交此字段"]


def test_secretary_may_change_contact_and_venue_only(client, world, login_as):
    h = login_as(world.sec_v1)
    r = client.patch(
        f"/api/orgs/{world.v1.id}",
        json={"contact_phone": "0851-1234567", "venue_lat": 26.1, "venue_lng": 106.2, "venue_coord_sys": "wgs84"},
        headers=h,
    )
    assert r.status_code == 200, r.json
    r = client.patch(f"/api/orgs/{world.v1.id}", json={"name": "改名党支部"}, headers=h)
    assert r.status_code == 403 and "name" in r.json["error"]["fields"]
    r = client.patch(f"/api/orgs/{world.v2.id}", json={"contact_phone": "0851-1234567"}, headers=h)
    assert r.status_code == 404
    assert client.patch(
        f"/api/orgs/{world.v1.id}", json={"contact_phone": "1"}, headers=login_as(world.member_v1)
    ).status_code in (403, 422)


def test_appoint_secretary(client, world, login_as):
    h = login_as(world.town_a1_admin)
    r = client.patch(f"/api/orgs/{world.v1.id}", json={"secretary_id": world.member_v1.id}, headers=h)
    assert r.status_code == 200 and r.json["secretary_id"] == world.member_v1.id
    db.session.refresh(world.member_v1)
    assert world.member_v1.role.value == "secretary"
    r = client.patch(f"/api/orgs/{world.v1.id}", json={"secretary_id": world.member_v2.id}, headers=h)
    assert r.status_code == 422 and "secretary_id" in r.json["error"]["fields"]  # not a member of v1


def test_deactivate(client, world, login_as):
    h = login_as(world.town_a1_admin)
    empty = org(world.town_a1, "空党支部")
    db.session.commit()
    assert client.post(f"/api/orgs/{world.v1.id}/deactivate", headers=h).status_code == 409
    r = client.post(f"/api/orgs/{empty.id}/deactivate", headers=h)
    assert r.status_code == 200 and r.json["active"] is False
    kids = client.get(f"/api/orgs/{world.town_a1.id}/children", headers=h).json["items"]
    assert empty.id not in {k["id"] for k in kids}
    kids = client.get(f"/api/orgs/{world.town_a1.id}/children?include_inactive=1", headers=h).json["items"]
    assert empty.id in {k["id"] for k in kids}
    assert (
        client.post(f"/api/orgs/{world.county_a.id}/deactivate", headers=login_as(world.city_admin)).status_code == 409
    )


def test_org_detail_has_breadcrumb_and_stats(client, world, login_as):
    r = client.get(f"/api/orgs/{world.county_a.id}", headers=login_as(world.county_a_admin))
    assert r.status_code == 200
    assert [b["name"] for b in r.json["breadcrumb"]] == ["测试市委", "甲县委"]
    assert r.json["stats"] == subtree_stats(world.county_a)
    # county A: agency 1 + A1 agency + A2 agency + v1 + v2 + v3 = 6 branches, plus county + 2 townships
    assert r.json["stats"]["branches"] == 6 and r.json["stats"]["organisations"] == 9
    # members: county admin, 2 township admins, 2 secretaries, members v1 v2 v3
    assert r.json["stats"]["members"] == 8


def test_member_reads_only_its_own_org(client, world, login_as):
    h = login_as(world.member_v1)
    assert client.get(f"/api/orgs/{world.v1.id}", headers=h).status_code == 200
    assert client.get(f"/api/orgs/{world.town_a1.id}", headers=h).status_code == 404
    assert client.get(f"/api/orgs/{world.v1.id}/children", headers=h).json["items"] == []


def test_move_org_service_is_one_update(app, world):
    """Moving keeps every descendant consistent even when the ORM has them loaded."""
    v1 = world.v1
    assert v1.path.startswith(world.town_a1.path)
    moved = move_org(SYSTEM, world.town_a1, world.county_b.id)
    db.session.commit()
    assert db.session.get(Organisation, v1.id).path.startswith(moved.path)


@pytest.mark.parametrize("level", ["city", "county", "township", "village"])
def test_levels_have_chinese_labels(client, world, login_as, level):
    r = client.get(f"/api/orgs?level={level}", headers=login_as(world.super))
    assert r.status_code == 200
    assert all(i["level_label"] in {"市", "县区", "乡镇街道", "村社区"} for i in r.json["items"])

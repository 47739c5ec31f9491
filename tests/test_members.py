"""Members: creation and validation, field permissions, ID cards, moves, roles, account status, paging."""

from __future__ import annotations

from datetime import date

import pytest

from models import AuditEntry, Member, Organisation, Role, db
from services import idcard
from services import members as member_service
from services.authz import SYSTEM
from tests.factories import make_id_card, member


def new_member_body(world, **extra):
    return {
        "org_id": world.v1.id,
        "name": "李文华",
        "gender": "female",
        "mobile": "13612345678",
        "birth_date": "1985-03-09",
        "id_card": make_id_card(date(1985, 3, 9)),
        "party_status": "probationary",
        "joined_on": "2025-07-01",
        **extra,
    }


def test_secretary_creates_member_with_one_time_password(client, world, login_as):
    r = client.post("/api/members", json=new_member_body(world), headers=login_as(world.sec_v1))
    assert r.status_code == 201, r.json
    assert r.json["initial_password"] and r.json["must_change_password"] is True
    assert r.json["member_no"] == f"DY{r.json['id']:08d}"
    assert r.json["party_status_label"] == "预备党员" and r.json["gender_label"] == "女"
    assert r.json["id_card"] == "5224**********" + make_id_card(date(1985, 3, 9))[-4:]
    stored = db.session.get(Member, r.json["id"])
    assert make_id_card(date(1985, 3, 9)).encode() not in stored.id_card_cipher  # encrypted at rest
    detail = db.session.query(AuditEntry).filter_by(action="member.create", object_id=str(stored.id)).one().detail
    assert "id_card" not in str(detail)
    r = client.get(f"/api/members/{stored.id}", headers=login_as(world.sec_v1))
    assert "initial_password" not in r.json  # shown once only


@pytest.mark.parametrize(
    "change, field",
    [
        ({"mobile": "12345"}, "mobile"),
        ({"id_card": "522401198503091235"}, "id_card"),  # wrong check digit
        ({"birth_date": "1990-01-01"}, "birth_date"),  # disagrees with the ID card
        ({"joined_on": "2099-01-01"}, "joined_on"),
        ({"joined_on": "1990-01-01"}, "joined_on"),  # before 18
        ({"gender": "unknown"}, "gender"),
        ({"name": ""}, "name"),
        ({"role": "dept_admin"}, "role"),  # not settable here at all
        ({"status": "disabled"}, "status"),
        ({"org_id": None}, "org_id"),
    ],
)
def test_create_validation_names_the_field(client, world, login_as, change, field):
    before = db.session.query(Member).count()
    r = client.post("/api/members", json=new_member_body(world, **change), headers=login_as(world.sec_v1))
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"], r.json
    assert all("\u4e00" <= ch <= "\u9fff" or not ch.isalpha() for ch in r.json["error"]["fields"][field][0][:2])
    assert db.session.query(Member).count() == before


def test_duplicates_conflict(client, world, login_as):
    h = login_as(world.town_a1_admin)
    r = client.post("/api/members", json=new_member_body(world, mobile=world.member_v2.mobile), headers=h)
    assert r.status_code == 409 and "mobile" in r.json["error"]["fields"]
    r = client.post(
        "/api/members",
        json=new_member_body(world, birth_date="1980-05-17", id_card=make_id_card(date(1980, 5, 17))),
        headers=h,
    )
    assert r.status_code == 409 and "id_card" in r.json["error"]["fields"]  # member_v1 holds it


def test_members_only_in_branches(client, world, login_as):
    r = client.post(
        "/api/members", json=new_member_body(world, org_id=world.town_a1.id), headers=login_as(world.town_a1_admin)
    )
    assert r.status_code == 422 and "org_id" in r.json["error"]["fields"]


def test_field_permissions(client, world, login_as):
    me = login_as(world.member_v1)
    r = client.patch(
        f"/api/members/{world.member_v1.id}", json={"is_floating": True, "floating_to": "广东省深圳市"}, headers=me
    )
    assert r.status_code == 200 and r.json["floating_to"] == "广东省深圳市"
    r = client.patch(f"/api/members/{world.member_v1.id}", json={"name": "新名字"}, headers=me)
    assert r.status_code == 403 and "name" in r.json["error"]["fields"]
    r = client.patch("/api/me", json={"is_floating": False}, headers=me)
    assert r.status_code == 200 and r.json["member"]["floating_to"] is None
    r = client.patch(f"/api/members/{world.member_v1.id}", json={"name": "王建国"}, headers=login_as(world.sec_v1))
    assert r.status_code == 200 and r.json["name"] == "王建国"
    # a secretary cannot touch another administrator, even in its subtree
    assert (
        client.post(
            f"/api/members/{world.member_v1.id}/role", json={"role": "secretary"}, headers=login_as(world.sec_v1)
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/members/{world.member_v1.id}/status", json={"status": "disabled"}, headers=login_as(world.sec_v1)
        ).status_code
        == 403
    )


def test_id_card_reveal_needs_a_grant_and_is_audited(client, world, login_as):
    url = f"/api/members/{world.member_v1.id}/id-card"
    assert client.get(url, headers=login_as(world.town_a1_admin)).status_code == 403
    assert client.get(url, headers=login_as(world.sec_v1)).status_code == 403
    assert client.get(url, headers=login_as(world.member_v1)).status_code == 403
    member_service.set_role(SYSTEM, world.county_a_admin, Role.DEPT_ADMIN, world.county_a.id, can_view_id_card=True)
    db.session.commit()
    r = client.get(url, headers=login_as(world.county_a_admin))
    assert r.status_code == 200 and r.json["id_card"] == make_id_card(date(1980, 5, 17))
    assert idcard.validate(r.json["id_card"]) is None
    entry = db.session.query(AuditEntry).filter_by(action="member.reveal_id_card").one()
    assert entry.actor_id == world.county_a_admin.id and entry.object_id == str(world.member_v1.id)
    # only the super admin hands out the grant
    r = client.post(
        f"/api/members/{world.town_a1_admin.id}/role",
        json={"role": "dept_admin", "managed_org_id": world.town_a1.id, "can_view_id_card": True},
        headers=login_as(world.county_a_admin),
    )
    assert r.status_code == 403


def test_move_member_changes_scope_on_next_request(client, world, login_as):
    sec_headers = login_as(world.sec_v1)
    assert client.get(f"/api/members/{world.member_v1.id}", headers=sec_headers).status_code == 200
    r = client.post(
        f"/api/members/{world.sec_v1.id}/move", json={"org_id": world.v2.id}, headers=login_as(world.town_a1_admin)
    )
    assert r.status_code == 200 and r.json["org_id"] == world.v2.id and r.json["role"] == "member"
    # same token, next request: the former secretary of v1 no longer sees v1's members
    assert client.get(f"/api/members/{world.member_v1.id}", headers=sec_headers).status_code == 404
    assert client.get("/api/me", headers=sec_headers).json["org"]["id"] == world.v2.id
    # a township admin cannot move someone out of its township
    r = client.post(
        f"/api/members/{world.member_v1.id}/move", json={"org_id": world.v3.id}, headers=login_as(world.town_a1_admin)
    )
    assert r.status_code == 404
    assert db.session.query(AuditEntry).filter_by(action="member.move").count() == 1


def test_roles(client, world, login_as):
    h = login_as(world.county_a_admin)
    r = client.post(
        f"/api/members/{world.member_v1.id}/role",
        json={"role": "dept_admin", "managed_org_id": world.town_a1.id},
        headers=h,
    )
    assert r.status_code == 200 and r.json["managed_org_id"] == world.town_a1.id
    new_admin = login_as(world.member_v1)
    assert client.get(f"/api/members/{world.member_v2.id}", headers=new_admin).status_code == 200
    # a department cannot appoint a peer of itself, nor at a branch, nor change its own role
    assert (
        client.post(
            f"/api/members/{world.member_v3.id}/role",
            json={"role": "dept_admin", "managed_org_id": world.county_a.id},
            headers=h,
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/members/{world.member_v3.id}/role", json={"role": "dept_admin", "managed_org_id": world.v3.id}, headers=h
    )
    assert r.status_code == 422 and "managed_org_id" in r.json["error"]["fields"]
    assert (
        client.post(f"/api/members/{world.county_a_admin.id}/role", json={"role": "member"}, headers=h).status_code
        == 403
    )
    assert (
        client.post(f"/api/members/{world.member_v3.id}/role", json={"role": "super_admin"}, headers=h).status_code
        == 403
    )
    r = client.post(f"/api/members/{world.member_v3.id}/role", json={"role": "dept_admin"}, headers=h)
    assert r.status_code == 422 and "managed_org_id" in r.json["error"]["fields"]
    # township A1's admin cannot demote county A's admin (who outranks it)
    assert client.post(
        f"/api/members/{world.county_a_admin.id}/status",
        json={"status": "disabled"},
        headers=login_as(world.town_a1_admin),
    ).status_code in (403, 404)


def test_disable_and_enable(client, world, login_as):
    target = login_as(world.member_v1)
    h = login_as(world.town_a1_admin)
    assert (
        client.post(f"/api/members/{world.member_v1.id}/status", json={"status": "disabled"}, headers=h).status_code
        == 200
    )
    assert client.get("/api/me", headers=target).status_code == 401
    listed = client.get(f"/api/members?org_id={world.v1.id}", headers=h).json["items"]
    assert world.member_v1.id not in {m["id"] for m in listed}
    listed = client.get(f"/api/members?org_id={world.v1.id}&include_disabled=1", headers=h).json["items"]
    assert world.member_v1.id in {m["id"] for m in listed}
    assert (
        client.post(f"/api/members/{world.member_v1.id}/status", json={"status": "active"}, headers=h).status_code
        == 200
    )
    assert client.get("/api/me", headers=login_as(world.member_v1)).status_code == 200


def test_reset_password(client, world, login_as):
    old = login_as(world.member_v1)
    r = client.post(f"/api/members/{world.member_v1.id}/reset-password", headers=login_as(world.sec_v1))
    assert r.status_code == 403
    r = client.post(f"/api/members/{world.member_v1.id}/reset-password", headers=login_as(world.town_a1_admin))
    assert r.status_code == 200 and len(r.json["initial_password"]) == 12
    assert client.get("/api/me", headers=old).status_code == 401
    r = client.post(
        "/api/auth/login", json={"username": world.member_v1.mobile, "password": r.json["initial_password"]}
    )
    assert r.status_code == 200 and r.json["member"]["must_change_password"] is True


def test_listing_pages_are_capped_and_subtree_works(client, world, login_as):
    for i in range(5):
        member(world.v3, f"党员{i}", password=None)
    db.session.commit()
    h = login_as(world.county_a_admin)
    r = client.get(f"/api/members?org_id={world.county_a.id}&descendants=1&per_page=1000", headers=h)
    assert r.status_code == 200 and r.json["meta"]["per_page"] == 100
    total = r.json["meta"]["total"]
    assert total == 8 + 5
    r = client.get(f"/api/members?org_id={world.county_a.id}&descendants=1&per_page=4&page=2", headers=h)
    assert len(r.json["items"]) == 4 and r.json["meta"]["page"] == 2
    only_town = client.get(f"/api/members?org_id={world.town_a2.id}&descendants=1", headers=h).json["meta"]["total"]
    assert only_town == 1 + 1 + 5  # the township admin, member_v3 and five new ones
    direct = client.get(f"/api/members?org_id={world.town_a2.id}", headers=h).json["meta"]["total"]
    assert direct == 0  # nobody is a member of the township committee itself
    r = client.get(f"/api/members?q={world.member_v1.mobile}", headers=h)
    assert [m["id"] for m in r.json["items"]] == [world.member_v1.id]
    assert client.get("/api/members?page=0", headers=h).status_code == 422


def test_me_shows_scope(client, world, login_as):
    r = client.get("/api/me", headers=login_as(world.town_a1_admin))
    assert r.json["scope_org"]["id"] == world.town_a1.id
    assert [b["name"] for b in r.json["org"]["breadcrumb"]] == ["测试市委", "甲县委", "甲一镇党委", "甲一镇机关党支部"]
    assert client.get("/api/me", headers=login_as(world.member_v1)).json["scope_org"] is None


def test_member_counters_follow_every_change(client, world, login_as):
    """The per-organisation counters behind the fast subtree counts agree with the rows after every kind of change."""
    from services.orgs import recount_members, subtree_stats

    h = login_as(world.town_a1_admin)
    created = client.post("/api/members", json=new_member_body(world), headers=h).json
    client.post(f"/api/members/{created['id']}/move", json={"org_id": world.v2.id}, headers=h)
    client.post(f"/api/members/{world.member_v1.id}/status", json={"status": "disabled"}, headers=h)
    client.post(f"/api/members/{world.member_v1.id}/status", json={"status": "disabled"}, headers=h)  # twice: no-op
    client.post(f"/api/members/{world.member_v2.id}/status", json={"status": "disabled"}, headers=h)
    client.post(f"/api/members/{world.member_v2.id}/status", json={"status": "active"}, headers=h)
    disabled = client.post(f"/api/members/{world.sec_v2.id}/status", json={"status": "disabled"}, headers=h)
    assert disabled.status_code == 200
    client.post(f"/api/members/{world.sec_v2.id}/move", json={"org_id": world.v1.id}, headers=h)  # moved while disabled
    db.session.expire_all()
    counted = subtree_stats(world.town_a1)["members"]
    assert recount_members() == 0  # nothing was wrong
    assert subtree_stats(world.town_a1)["members"] == counted
    live = (
        db.session.query(Member)
        .join(Member.org)
        .filter(Member.status == "active", Member.org.has(Organisation.path.like(world.town_a1.path + "%")))
        .count()
    )
    assert counted == live
    listed = client.get(f"/api/members?org_id={world.town_a1.id}&descendants=1", headers=h).json["meta"]["total"]
    assert listed == live


def test_plain_member_does_not_learn_the_branch_size(client, world, login_as):
    r = client.get(f"/api/members?org_id={world.v1.id}", headers=login_as(world.member_v1))
    assert r.status_code == 200 and r.json["meta"]["total"] == 1 and len(r.json["items"]) == 1


def test_roster_pages_match_a_sorted_listing(client, world, login_as):
    """The counter-guided roster pages equal plain OFFSET pages of the same tree-ordered query."""
    from services.authz import Actor
    from services.members import members_query

    for branch, n in ((world.v1, 7), (world.v3, 3), (world.v4, 5)):
        for i in range(n):
            member(branch, f"名册{i}", password=None)
    member_service.set_status(SYSTEM, world.member_v2, "disabled")
    db.session.commit()
    h = login_as(world.city_admin)
    expected = [m.id for m in db.session.scalars(members_query(Actor(world.city_admin), world.city, True))]
    for per_page in (1, 3, 4, 7, 100):
        got, page = [], 1
        while True:
            r = client.get(
                f"/api/members?org_id={world.city.id}&descendants=1&per_page={per_page}&page={page}", headers=h
            ).json
            assert r["meta"]["total"] == len(expected)
            if not r["items"]:
                break
            got += [m["id"] for m in r["items"]]
            page += 1
        assert got == expected, per_page
    single = client.get(f"/api/members?org_id={world.v1.id}&per_page=3&page=2", headers=h).json
    in_v1 = [m for m in expected if db.session.get(Member, m).org_id == world.v1.id]
    assert [m["id"] for m in single["items"]] == in_v1[3:6]


def test_member_numbers_cannot_collide_or_look_like_mobiles(client, world, login_as):
    h = login_as(world.town_a1_admin)
    for bad in ("DY00000099", "dy00000099", "13800000000"):
        r = client.post("/api/members", json=new_member_body(world, member_no=bad), headers=h)
        assert r.status_code == 422 and "member_no" in r.json["error"]["fields"], bad
    ok = client.post("/api/members", json=new_member_body(world, member_no="ABC123"), headers=h)
    assert ok.status_code == 201
    again = client.post(
        "/api/members",
        json=new_member_body(world, member_no="abc123", mobile="13612340000", id_card=None, birth_date=None),
        headers=h,
    )
    assert again.status_code == 409 and "member_no" in again.json["error"]["fields"]
    # login by member number, case-insensitively; a mobile-shaped username only ever means a mobile
    member_service.reset_password(SYSTEM, db.session.get(Member, ok.json["id"]))
    db.session.commit()


def test_floating_destination_needs_the_floating_flag(client, world, login_as):
    r = client.post(
        "/api/members", json=new_member_body(world, floating_to="浙江省杭州市"), headers=login_as(world.town_a1_admin)
    )
    assert r.status_code == 422 and "floating_to" in r.json["error"]["fields"]

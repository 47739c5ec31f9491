"""Every endpoint that names an object, tried by actors who must not reach it.

Objects belong to village branch v1 (township A1, county A). The outsiders: the secretary of the sibling
branch v2, the admin of the sibling township A2, the admin of the sibling county B, and a plain member of v2.
Each must get 404 — out of scope reads as "does not exist". An insider (town A1's admin) gets through.
"""

from __future__ import annotations

import pytest

from models import MemberExport, db
from services import exports
from services.authz import Actor

OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"]


def _meeting_of(world):
    """A meeting of v1 that started ten minutes ago (planned; may be recorded as held)."""
    from datetime import timedelta

    from models import MeetingKind
    from models.base import utcnow
    from services import meetings

    kind = db.session.query(MeetingKind).filter_by(code="branch_committee").one()
    start = utcnow() - timedelta(minutes=10)
    data = {"org_id": world.v1.id, "kind_id": kind.id, "title": "支委会", "starts_at": start}
    m = meetings.create_meeting(Actor(world.sec_v1), {**data, "ends_at": start + timedelta(hours=2)})
    db.session.commit()
    return m.id


def _export_of(world):
    e = exports.create_export(Actor(world.town_a1_admin), world.v1.id)
    db.session.commit()
    return e.id


# (name, method, url, body) — url/body are functions of the world, so ids are real.
ENDPOINTS = [
    ("org detail", "get", lambda w: f"/api/orgs/{w.v1.id}", None),
    ("org update", "patch", lambda w: f"/api/orgs/{w.v1.id}", lambda w: {"contact_phone": "0851-8888888"}),
    ("org children", "get", lambda w: f"/api/orgs/{w.town_a1.id}/children", None),
    ("org move", "post", lambda w: f"/api/orgs/{w.v1.id}/move", lambda w: {"parent_id": w.town_a1.id}),
    ("org deactivate", "post", lambda w: f"/api/orgs/{w.v1.id}/deactivate", None),
    (
        "org create under",
        "post",
        lambda w: "/api/orgs",
        lambda w: {
            "parent_id": w.town_a1.id,
            "name": "新村党支部",
            "code": "NEW001",
            "kind": "branch",
            "level": "village",
        },
    ),
    ("member list of org", "get", lambda w: f"/api/members?org_id={w.v1.id}", None),
    ("member list of subtree", "get", lambda w: f"/api/members?org_id={w.town_a1.id}&descendants=1", None),
    ("member detail", "get", lambda w: f"/api/members/{w.member_v1.id}", None),
    ("member update", "patch", lambda w: f"/api/members/{w.member_v1.id}", lambda w: {"name": "改名"}),
    ("member id card", "get", lambda w: f"/api/members/{w.member_v1.id}/id-card", None),
    ("member move", "post", lambda w: f"/api/members/{w.member_v1.id}/move", lambda w: {"org_id": w.v2.id}),
    ("member role", "post", lambda w: f"/api/members/{w.member_v1.id}/role", lambda w: {"role": "secretary"}),
    ("member status", "post", lambda w: f"/api/members/{w.member_v1.id}/status", lambda w: {"status": "disabled"}),
    ("member reset password", "post", lambda w: f"/api/members/{w.member_v1.id}/reset-password", None),
    ("member wechat unbind", "delete", lambda w: f"/api/members/{w.member_v1.id}/wechat", None),
    (
        "member create in org",
        "post",
        lambda w: "/api/members",
        lambda w: {"org_id": w.v1.id, "name": "新人", "gender": "male", "mobile": "13598765432"},
    ),
    ("export request", "post", lambda w: "/api/members/exports", lambda w: {"org_id": w.v1.id}),
    ("export status", "get", lambda w: f"/api/members/exports/{_export_of(w)}", None),
    ("export file", "get", lambda w: f"/api/members/exports/{_export_of(w)}/file", None),
    ("meeting list of org", "get", lambda w: f"/api/meetings?org_id={w.v1.id}", None),
    ("meeting list of subtree", "get", lambda w: f"/api/meetings?org_id={w.town_a1.id}&descendants=1", None),
    (
        "meeting create",
        "post",
        lambda w: "/api/meetings",
        lambda w: {
            "org_id": w.v1.id,
            "kind": "theme_day",
            "title": "主题党日",
            "starts_at": "2026-12-01T09:00:00+08:00",
            "ends_at": "2026-12-01T11:00:00+08:00",
        },
    ),
    ("meeting detail", "get", lambda w: f"/api/meetings/{_meeting_of(w)}", None),
    ("meeting update", "patch", lambda w: f"/api/meetings/{_meeting_of(w)}", lambda w: {"topic": "学习党章"}),
    ("meeting held", "post", lambda w: f"/api/meetings/{_meeting_of(w)}/held", lambda w: {}),
    ("meeting submit", "post", lambda w: f"/api/meetings/{_meeting_of(w)}/submit", lambda w: {}),
    ("meeting review", "post", lambda w: f"/api/meetings/{_meeting_of(w)}/review", lambda w: {"decision": "pass"}),
    (
        "meeting sign-in",
        "post",
        lambda w: f"/api/meetings/{_meeting_of(w)}/sign-in",
        lambda w: {"latitude": 26.58, "longitude": 106.71, "accuracy": 10, "coord_sys": "wgs84"},
    ),
    (
        "meeting attendance",
        "put",
        lambda w: f"/api/meetings/{_meeting_of(w)}/attendees/{w.member_v1.id}",
        lambda w: {"status": "absent", "absence_reason": "illness"},
    ),
    ("meeting rating", "post", lambda w: f"/api/meetings/{_meeting_of(w)}/rating", lambda w: {"rating": 5}),
    ("meeting stats", "get", lambda w: f"/api/stats/meetings?org_id={w.v1.id}", None),
]
# In scope, yet refused for a reason of their own when the insider (town A1's admin) calls them.
INSIDER_REFUSALS = {
    "member id card": 403,  # this admin holds no grant to see full numbers
    "org deactivate": 409,  # v1 still has members
    "meeting submit": 409,  # the meeting is still planned
    "meeting review": 409,  # nothing submitted yet
    "meeting sign-in": 403,  # the admin is not one of v1's attendees
    "meeting rating": 403,  # nor did the admin attend
}


def call(client, headers, method, url, body):
    return getattr(client, method)(url, json=body, headers=headers)


@pytest.mark.parametrize("actor_name", OUTSIDERS)
@pytest.mark.parametrize("name, method, url, body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_outsiders_get_404(client, world, login_as, actor_name, name, method, url, body):
    actor = getattr(world, actor_name)
    before = db.session.query(MemberExport).count()
    r = call(client, login_as(actor), method, url(world), body(world) if body else None)
    assert r.status_code == 404, (name, actor_name, r.status_code, r.json)
    assert r.json["error"]["code"] == "not_found"
    assert set(r.json) == {"error"}  # nothing about the object leaks
    if name == "export request":
        assert db.session.query(MemberExport).count() == before


@pytest.mark.parametrize("name, method, url, body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_insider_gets_through(client, world, login_as, name, method, url, body):
    if name == "export file":
        pytest.skip("the file is ready only after the job; covered in test_exports")
    if name == "org move":
        body = lambda w: {"parent_id": w.town_a1.id}  # noqa: E731 - a no-op move inside the same township
    r = call(client, login_as(world.town_a1_admin), method, url(world), body(world) if body else None)
    if name in INSIDER_REFUSALS:
        assert r.status_code == INSIDER_REFUSALS[name], (name, r.status_code, r.json)
    else:
        assert r.status_code in (200, 201, 202, 204), (name, r.status_code, r.json)


def test_lists_are_scoped(client, world, login_as):
    def ids(actor, url):
        r = client.get(url, headers=login_as(actor))
        assert r.status_code == 200, r.json
        return {i["id"] for i in r.json["items"]}

    assert ids(world.member_v2, "/api/members") == {world.member_v2.id}
    assert ids(world.sec_v2, "/api/members") == {world.sec_v2.id, world.member_v2.id}
    town_a2 = ids(world.town_a2_admin, "/api/members?per_page=100")
    assert world.member_v3.id in town_a2 and world.member_v1.id not in town_a2
    assert ids(world.member_v2, "/api/orgs") == {world.v2.id}
    orgs_a2 = ids(world.town_a2_admin, "/api/orgs?per_page=100")
    assert world.v3.id in orgs_a2 and world.v1.id not in orgs_a2 and world.town_a1.id not in orgs_a2
    city = ids(world.city_admin, "/api/members?per_page=100")
    assert {world.member_v1.id, world.member_v4.id} <= city


def test_audit_is_for_the_super_admin_only(client, world, login_as):
    for name in ("city_admin", "town_a1_admin", "sec_v1", "member_v1"):
        assert client.get("/api/audit", headers=login_as(getattr(world, name))).status_code == 403
    r = client.get("/api/audit", headers=login_as(world.super))
    assert r.status_code == 200 and r.json["meta"]["total"] > 0


def test_import_refused_to_secretaries_and_members(client, world, login_as):
    for name in ("sec_v1", "member_v1"):
        for url in ("/api/members/import", "/api/orgs/import"):
            r = client.post(url, headers=login_as(getattr(world, name)))
            assert r.status_code == 403, (name, url, r.json)

"""Meetings over HTTP: planning, the review cycle with 双线三评, attendance, listing filters and meeting kinds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, Meeting, MeetingKind, db
from models.base import utcnow

VENUE = {"latitude": 26.58, "longitude": 106.71, "coord_sys": "wgs84"}


def create(client, headers, org_id, *, kind="branch_committee", start=None, hours=2, **extra):
    start = start or utcnow() - timedelta(minutes=10)
    body = {
        "org_id": org_id,
        "kind": kind,
        "title": "十一月支部委员会会议",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
        "venue": {**VENUE, "name": "村委会会议室"},
        **extra,
    }
    return client.post("/api/meetings", json=body, headers=headers)


@pytest.fixture
def sec(world, login_as):
    return login_as(world.sec_v1)


def test_create_returns_the_detail_with_defaults(client, world, sec):
    r = create(client, sec, world.v1.id)
    assert r.status_code == 201, r.json
    m = r.json
    assert m["kind"]["code"] == "branch_committee" and m["status"] == "planned" and m["status_label"] == "已计划"
    assert m["venue"] == {**VENUE, "name": "村委会会议室", "radius_m": 200.0}
    assert {a["member_id"] for a in m["attendees"]} == {world.sec_v1.id, world.member_v1.id}
    assert m["attendance"] == {"expected": 2, "present": 0, "absent": 0, "proxy": 0}
    assert m["can"]["record_held"] and m["can"]["sign_in"] and not m["can"]["review"]
    assert m["starts_at"].endswith("+08:00")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "no_such_kind"}, "kind"),
        ({"kind": "party_lecture"}, "lecturer_name"),
        ({"kind": "democratic_life"}, "kind"),
        ({"starts_at": "not a time"}, "starts_at"),
        ({"starts_at": "2026-11-26T09:00:00"}, "starts_at"),  # no offset: ambiguous
        ({"venue": {"latitude": 999, "longitude": 106.7, "coord_sys": "wgs84"}}, "venue.latitude"),
        ({"venue": {"latitude": "NaN", "longitude": 106.7, "coord_sys": "wgs84"}}, "venue.latitude"),
        ({"title": ""}, "title"),
        ({"status": "reviewed"}, "status"),  # not a field a client sets
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(client, world, sec, change, field):
    r = create(client, sec, world.v1.id, **change)
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"], r.json
    assert db.session.scalar(select(Meeting.id)) is None


def test_the_review_cycle_with_three_evaluations(client, world, login_as, sec):
    m = create(client, sec, world.v1.id).json
    mid = m["id"]
    member = login_as(world.member_v1)
    signed = client.post(
        f"/api/meetings/{mid}/sign-in",
        json={"latitude": 26.5801, "longitude": 106.7101, "accuracy": 12, "coord_sys": "wgs84"},
        headers=member,
    )
    assert signed.status_code == 200 and signed.json["result"] == "inside" and signed.json["status"] == "present"
    assert client.post(f"/api/meetings/{mid}/rating", json={"rating": 5}, headers=member).status_code == 409
    held = client.post(f"/api/meetings/{mid}/held", json={"minutes": "学习了党章。"}, headers=sec)
    assert held.status_code == 200 and held.json["status"] == "held" and held.json["minutes"] == "学习了党章。"
    assert client.post(f"/api/meetings/{mid}/rating", json={"rating": 4}, headers=member).json == {"rating": 4}
    town = login_as(world.town_a1_admin)
    early = client.post(f"/api/meetings/{mid}/review", json={"decision": "pass"}, headers=town)
    assert early.status_code == 409
    submitted = client.post(f"/api/meetings/{mid}/submit", json={"self_score": 90}, headers=sec)
    assert submitted.json["status"] == "submitted" and submitted.json["self_score"] == 90
    frozen = client.patch(f"/api/meetings/{mid}", json={"title": "改"}, headers=sec)
    assert frozen.status_code == 409 and frozen.json["error"]["code"] == "frozen"
    queue = client.get(f"/api/meetings?org_id={world.town_a1.id}&descendants=1&status=submitted", headers=town)
    assert [i["id"] for i in queue.json["items"]] == [mid]
    no_reason = client.post(f"/api/meetings/{mid}/review", json={"decision": "return"}, headers=town)
    assert no_reason.status_code == 422 and "comment" in no_reason.json["error"]["fields"]
    returned = client.post(
        f"/api/meetings/{mid}/review", json={"decision": "return", "comment": "请补充会议照片"}, headers=town
    )
    assert returned.json["status"] == "returned"
    branch_view = client.get(f"/api/meetings/{mid}", headers=sec).json
    assert (
        branch_view["reviews"][0]["comment"] == "请补充会议照片"
        and branch_view["reviews"][0]["decision_label"] == "退回"
    )
    assert branch_view["can"]["edit"] and branch_view["can"]["submit"]
    assert client.patch(f"/api/meetings/{mid}", json={"minutes": "补充了记录。"}, headers=sec).status_code == 200
    assert client.post(f"/api/meetings/{mid}/submit", json={}, headers=sec).json["status"] == "submitted"
    passed = client.post(f"/api/meetings/{mid}/review", json={"decision": "pass", "score": 85}, headers=town).json
    assert passed["status"] == "reviewed" and passed["review_score"] == 85 and passed["self_score"] == 90
    assert passed["rating"] == {"average": 4.0, "count": 1}
    assert [r["decision"] for r in passed["reviews"]] == ["return", "pass"]
    assert client.patch(f"/api/meetings/{mid}", json={"title": "改"}, headers=sec).status_code == 409
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(mid))))
    assert {
        "meeting.create",
        "meeting.held",
        "meeting.submit",
        "meeting.review.return",
        "meeting.review.pass",
    } <= actions


def test_who_reviews(client, world, login_as, sec):
    mid = create(client, sec, world.v1.id).json["id"]
    client.post(f"/api/meetings/{mid}/held", json={}, headers=sec)
    client.post(f"/api/meetings/{mid}/submit", json={}, headers=sec)
    for name in ("sec_v1", "member_v1"):
        r = client.post(
            f"/api/meetings/{mid}/review", json={"decision": "pass"}, headers=login_as(getattr(world, name))
        )
        assert r.status_code == 403, name
    for name in ("sec_v2", "town_a2_admin", "county_b_admin", "member_v2"):
        r = client.post(
            f"/api/meetings/{mid}/review", json={"decision": "pass"}, headers=login_as(getattr(world, name))
        )
        assert r.status_code == 404, name
    r = client.post(f"/api/meetings/{mid}/review", json={"decision": "pass"}, headers=login_as(world.county_a_admin))
    assert r.status_code == 200 and r.json["status"] == "reviewed"


def test_sign_in_outside_is_kept_and_window_is_enforced(client, world, login_as, sec):
    mid = create(client, sec, world.v1.id).json["id"]
    member = login_as(world.member_v1)
    far = {"latitude": 26.60, "longitude": 106.71, "accuracy": 10, "coord_sys": "wgs84"}
    r = client.post(f"/api/meetings/{mid}/sign-in", json=far, headers=member)
    assert r.status_code == 200 and r.json["result"] == "outside" and r.json["flags"] == ["outside_venue"]
    assert r.json["distance_m"] > 2000
    again = client.post(f"/api/meetings/{mid}/sign-in", json={**far, "latitude": 26.58}, headers=member)
    assert again.json["result"] == "outside" and again.json["signed_at"] == r.json["signed_at"]  # first one stands
    later = create(client, sec, world.v1.id, start=utcnow() + timedelta(hours=3)).json["id"]
    early = client.post(f"/api/meetings/{later}/sign-in", json=far, headers=member)
    assert early.status_code == 409 and early.json["error"]["code"] == "not_in_window"
    bad = client.post(f"/api/meetings/{mid}/sign-in", json={**far, "latitude": float("nan")}, headers=member)
    assert bad.status_code in (400, 422)
    stranger = client.post(f"/api/meetings/{mid}/sign-in", json=far, headers=login_as(world.town_a1_admin))
    assert stranger.status_code == 403


def test_absence_with_reason_and_proxy_sign_in(client, world, login_as, sec):
    mid = create(client, sec, world.v1.id).json["id"]
    url = f"/api/meetings/{mid}/attendees/{world.member_v1.id}"
    no_reason = client.put(url, json={"status": "absent"}, headers=sec)
    assert no_reason.status_code == 422 and "absence_reason" in no_reason.json["error"]["fields"]
    absent = client.put(
        url, json={"status": "absent", "absence_reason": "floating", "absence_note": "外出务工"}, headers=sec
    )
    assert absent.json["absence_reason_label"] == "流动党员" and absent.json["status_label"] == "缺席"
    proxy = client.put(url, json={"status": "present"}, headers=sec)
    assert proxy.json["status"] == "present" and proxy.json["proxy"] and proxy.json["absence_reason"] is None
    detail = client.get(f"/api/meetings/{mid}", headers=sec).json
    assert detail["attendance"] == {"expected": 2, "present": 1, "absent": 0, "proxy": 1}
    member = login_as(world.member_v1)
    assert client.put(url, json={"status": "absent", "absence_reason": "leave"}, headers=member).status_code == 403
    stranger = f"/api/meetings/{mid}/attendees/{world.member_v2.id}"
    assert client.put(stranger, json={"status": "present"}, headers=login_as(world.town_a1_admin)).status_code == 422


def test_listing_filters(client, world, login_as, sec):
    now = utcnow()
    a = create(client, sec, world.v1.id, start=now - timedelta(days=40)).json["id"]
    b = create(client, sec, world.v1.id, kind="theme_day", start=now - timedelta(hours=1)).json["id"]
    c = create(client, login_as(world.sec_v2), world.v2.id).json["id"]

    def ids(headers, query):
        r = client.get(f"/api/meetings?{query}", headers=headers)
        assert r.status_code == 200, r.json
        return [i["id"] for i in r.json["items"]]

    assert ids(sec, "") == [b, a]  # own organisation, newest first
    assert ids(sec, "kind=theme_day") == [b]
    since = (now - timedelta(days=2)).date().isoformat()
    assert ids(sec, f"from={since}") == [b]
    assert ids(sec, f"to={(now - timedelta(days=30)).date().isoformat()}") == [a]
    town = login_as(world.town_a1_admin)
    assert set(ids(town, f"org_id={world.town_a1.id}&descendants=1")) == {a, b, c}
    assert ids(town, f"org_id={world.town_a1.id}") == []
    assert ids(login_as(world.member_v1), "") == [b, a]  # members see their branch's meetings
    assert client.get(f"/api/meetings?org_id={world.v1.id}", headers=login_as(world.member_v2)).status_code == 404
    assert (
        client.get(
            f"/api/meetings?org_id={world.town_a1.id}&descendants=1", headers=login_as(world.town_a2_admin)
        ).status_code
        == 404
    )
    assert client.get("/api/meetings?flag=teleported", headers=sec).status_code == 422
    assert db.session.get(Meeting, a).late_entry


def test_kinds_are_listed_and_edited_by_the_city_only(client, world, login_as):
    listed = client.get("/api/meeting-kinds", headers=login_as(world.member_v1)).json["items"]
    assert [k["name"] for k in listed][:2] == ["支部党员大会", "支部委员会会议"] and len(listed) == 8
    kind_id = listed[1]["id"]
    for name in ("county_a_admin", "town_a1_admin", "sec_v1", "member_v1"):
        r = client.patch(
            f"/api/meeting-kinds/{kind_id}", json={"times_per_period": 2}, headers=login_as(getattr(world, name))
        )
        assert r.status_code == 403, name
    city = login_as(world.city_admin)
    r = client.patch(f"/api/meeting-kinds/{kind_id}", json={"times_per_period": 2, "name": "支委会"}, headers=city)
    assert r.status_code == 200 and r.json["times_per_period"] == 2 and r.json["name"] == "支委会"
    created = client.post(
        "/api/meeting-kinds", json={"code": "study_session", "name": "专题学习会", "cadence": "quarter"}, headers=city
    )
    assert created.status_code == 201 and created.json["cadence_label"] == "每季度"
    dup = client.post(
        "/api/meeting-kinds", json={"code": "study_session", "name": "重复", "cadence": "month"}, headers=city
    )
    assert dup.status_code == 409
    create(client, login_as(world.sec_v1), world.v1.id)
    in_use = client.patch(f"/api/meeting-kinds/{kind_id}", json={"cadence": "quarter"}, headers=city)
    assert in_use.status_code == 409 and "cadence" in in_use.json["error"]["fields"]
    retired = client.patch(f"/api/meeting-kinds/{kind_id}", json={"active": False}, headers=city)
    assert retired.json["active"] is False
    assert len(client.get("/api/meeting-kinds", headers=city).json["items"]) == 8  # 8 - 1 + 1
    r = create(client, login_as(world.sec_v1), world.v1.id)
    assert r.status_code == 422 and "kind" in r.json["error"]["fields"]
    assert db.session.get(MeetingKind, kind_id).active is False


def test_home_lists_what_is_due_about_meetings(client, world, login_as, sec):
    def due(member):
        return {d["key"]: d for d in client.get("/api/home", headers=login_as(member)).json["due"]}

    mid = create(client, sec, world.v1.id).json["id"]
    assert due(world.member_v1)["meeting_sign_in"]["page"] == f"/pages/meeting/meeting?id={mid}"
    assert "meeting_sign_in" not in due(world.member_v2)
    client.post(f"/api/meetings/{mid}/held", json={}, headers=sec)
    assert due(world.sec_v1)["meetings_to_submit"]["title"] == "1条会议记录待提交"
    client.post(f"/api/meetings/{mid}/submit", json={}, headers=sec)
    assert due(world.town_a1_admin)["meeting_reviews"]["title"] == "1条会议记录待审核"
    assert "meeting_reviews" not in due(world.town_a2_admin)
    town = login_as(world.town_a1_admin)
    client.post(f"/api/meetings/{mid}/review", json={"decision": "return", "comment": "补充照片"}, headers=town)
    returned = due(world.sec_v1)["meetings_returned"]
    assert returned["level"] == "danger" and returned["page"].endswith("&status=returned")

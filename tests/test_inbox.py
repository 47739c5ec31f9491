"""The inbox API: the member's own notifications only (anyone else's reads as 404, superiors included), paging,
unread counts, marking read; and the subscribe-credit grant the mini-program posts after wx.requestSubscribeMessage."""

from __future__ import annotations

import pytest

from models import Notification, NotificationStatus, SubscribeCredit, db
from services import notifications

# Nobody reads another member's inbox: the branch secretary, the departments above, siblings, the super admin.
OTHERS = [
    "sec_v1",
    "town_a1_admin",
    "county_a_admin",
    "city_admin",
    "super",
    "sec_v2",
    "town_a2_admin",
    "county_b_admin",
    "member_v2",
]
TEMPLATE = "SBX_TODO_REMINDER"


def _post(member, key, category="meeting_due", **extra):
    nid = notifications.post(member.id, key=key, category=category, title=f"标题{key}", body="正文", **extra)
    db.session.commit()
    return nid


@pytest.fixture
def inbox(world):
    ids = [_post(world.member_v1, f"k{i}", page="/pages/meetings/meetings") for i in range(5)]
    _post(world.member_v2, "other")
    cancelled = _post(world.member_v1, "gone")
    notifications.cancel(["gone"])
    db.session.commit()
    return {"ids": ids, "cancelled": cancelled}


def test_list_is_own_newest_first_and_paged(client, world, login_as, inbox):
    h = login_as(world.member_v1)
    r = client.get("/api/inbox?per_page=2", headers=h)
    assert r.status_code == 200
    body = r.get_json()
    assert body["meta"] == {"total": 5, "page": 1, "per_page": 2} and body["unread"] == 5
    assert [i["id"] for i in body["items"]] == inbox["ids"][::-1][:2]
    item = body["items"][0]
    assert item["category_label"] == "会议提醒" and item["read"] is False and item["page"] == "/pages/meetings/meetings"
    assert item["created_at"].endswith("+08:00")
    page3 = client.get("/api/inbox?per_page=2&page=3", headers=h).get_json()
    assert [i["id"] for i in page3["items"]] == [inbox["ids"][0]]
    assert inbox["cancelled"] not in [i["id"] for i in client.get("/api/inbox", headers=h).get_json()["items"]]


def test_mark_one_and_all_read(client, world, login_as, inbox):
    h = login_as(world.member_v1)
    first = inbox["ids"][0]
    r = client.post(f"/api/inbox/{first}/read", headers=h)
    assert r.status_code == 200 and r.get_json()["read"] is True and r.get_json()["unread"] == 4
    read_at = db.session.get(Notification, first).read_at
    client.post(f"/api/inbox/{first}/read", headers=h)
    db.session.expire_all()
    assert db.session.get(Notification, first).read_at == read_at  # the first read time stays
    assert client.get("/api/inbox/unread-count", headers=h).get_json() == {"unread": 4}
    unread = client.get("/api/inbox?unread=true", headers=h).get_json()
    assert first not in [i["id"] for i in unread["items"]] and unread["meta"]["total"] == 4
    assert client.post("/api/inbox/read-all", headers=h).get_json() == {"marked": 4, "unread": 0}
    assert client.get("/api/inbox/unread-count", headers=h).get_json() == {"unread": 0}
    other = db.session.query(Notification).filter_by(key="other").one()
    assert other.read_at is None  # another member's stays unread


@pytest.mark.parametrize("who", OTHERS)
def test_others_cannot_see_or_touch_a_members_notification(client, world, login_as, inbox, who):
    h = login_as(getattr(world, who))
    nid = inbox["ids"][0]
    for method, path in (("get", f"/api/inbox/{nid}"), ("post", f"/api/inbox/{nid}/read")):
        r = getattr(client, method)(path, headers=h)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    listed = client.get("/api/inbox", headers=h).get_json()["items"]
    assert nid not in [i["id"] for i in listed]
    client.post("/api/inbox/read-all", headers=h)
    db.session.expire_all()
    assert db.session.get(Notification, nid).read_at is None


def test_cancelled_and_missing_read_as_404(client, world, login_as, inbox):
    h = login_as(world.member_v1)
    assert client.get(f"/api/inbox/{inbox['cancelled']}", headers=h).status_code == 404
    assert client.get("/api/inbox/999999", headers=h).status_code == 404
    assert db.session.get(Notification, inbox["cancelled"]).status == NotificationStatus.CANCELLED


def test_inbox_needs_login(client, inbox):
    assert client.get("/api/inbox").status_code == 401
    assert client.post("/api/me/subscriptions", json={"results": {TEMPLATE: "accept"}}).status_code == 401


def test_subscribe_results_grant_and_ban_credits(client, world, login_as):
    h = login_as(world.member_v1)
    assert client.get("/api/me/subscriptions", headers=h).get_json() == {
        "templates": [{"template_id": TEMPLATE, "credits": 0}]
    }
    for _ in range(2):
        r = client.post("/api/me/subscriptions", json={"results": {TEMPLATE: "accept", "OTHER": "accept"}}, headers=h)
        assert r.status_code == 200
    assert r.get_json() == {"templates": [{"template_id": TEMPLATE, "credits": 2}]}
    r = client.post("/api/me/subscriptions", json={"results": {TEMPLATE: "reject"}}, headers=h)
    assert r.get_json()["templates"][0]["credits"] == 2
    r = client.post("/api/me/subscriptions", json={"results": {TEMPLATE: "ban"}}, headers=h)
    assert r.get_json()["templates"][0]["credits"] == 0
    rows = db.session.query(SubscribeCredit).all()
    assert [(c.member_id, c.template_id, c.granted_total) for c in rows] == [(world.member_v1.id, TEMPLATE, 2)]
    other = login_as(world.member_v2)
    assert client.get("/api/me/subscriptions", headers=other).get_json()["templates"][0]["credits"] == 0


def test_subscribe_results_are_validated(client, world, login_as):
    h = login_as(world.member_v1)
    r = client.post("/api/me/subscriptions", json={"results": {TEMPLATE: "yes"}}, headers=h)
    assert r.status_code == 422 and list(r.get_json()["error"]["fields"]) == [f"results.{TEMPLATE}.value"]
    many = {f"T{i}": "accept" for i in range(11)}
    r = client.post("/api/me/subscriptions", json={"results": many}, headers=h)
    assert r.status_code == 422 and "results" in r.get_json()["error"]["fields"]
    assert client.post("/api/me/subscriptions", json={}, headers=h).status_code == 422


def test_credits_are_capped(client, world, login_as):
    from services.notify_channels import CREDIT_CAP

    h = login_as(world.member_v1)
    for _ in range(CREDIT_CAP + 2):
        r = client.post("/api/me/subscriptions", json={"results": {TEMPLATE: "accept"}}, headers=h)
    assert r.get_json()["templates"][0]["credits"] == CREDIT_CAP

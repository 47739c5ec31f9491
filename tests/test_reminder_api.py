"""Reminders over HTTP: my reminders, a department's overdue list, the rules (city admins edit, audited), and urges
(督办) with their scope: a foreign branch's secretary, a sibling township, a sibling county and a plain member get
404 and nothing is written; a secretary may not urge; the department above gets through and the branch's
secretary is told."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from models import AuditEntry, db
from models.notifications import Notification
from models.reminders import OrgUrge, ReminderRule
from services.reminder_scan import run_scan

OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"]


@pytest.fixture
def scanned(app, world):
    """The world as of 9 November 2026, 09:00: October's monthly meetings overdue and escalated everywhere."""
    run_scan(datetime(2026, 11, 9, 9, tzinfo=app.config["SETTINGS"].zone))
    db.session.commit()
    return world


def _writes():
    return (
        db.session.scalar(select(func.count(AuditEntry.id))),
        db.session.scalar(select(func.count(OrgUrge.id))),
        db.session.scalar(select(func.count(Notification.id))),
    )


def test_a_secretary_sees_its_branch_reminders_a_member_only_its_own(client, scanned, login_as):
    w = scanned
    r = client.get("/api/reminders", headers=login_as(w.sec_v1))
    assert r.status_code == 200
    items = r.json["items"]
    assert items and {i["org"]["id"] for i in items} == {w.v1.id}
    assert {i["stage"] for i in items} >= {"overdue", "escalate"} and items[0]["stage_label"]
    assert client.get("/api/reminders", headers=login_as(w.member_v1)).json["items"] == []
    closed = client.get("/api/reminders?status=closed", headers=login_as(w.sec_v1))
    assert closed.status_code == 200 and closed.json["items"] == []
    assert client.get("/api/reminders?status=all", headers=login_as(w.sec_v1)).status_code == 422


def test_the_overdue_list_covers_the_departments_subtree(client, scanned, login_as):
    w = scanned
    r = client.get("/api/reminders/overdue", headers=login_as(w.town_a1_admin))
    assert r.status_code == 200, r.json
    orgs = {i["org"]["id"] for i in r.json["items"]}
    assert orgs == {w.v1.id, w.v2.id, w.town_a1_agency.id}
    assert all(i["stage"] == "overdue" and i["escalated"] for i in r.json["items"] if i["period"] == "2026-10")
    county = client.get(f"/api/reminders/overdue?org_id={w.town_a1.id}", headers=login_as(w.county_a_admin))
    assert county.status_code == 200 and county.json["meta"]["total"] == r.json["meta"]["total"]


@pytest.mark.parametrize("actor_name", ["town_a2_admin", "county_b_admin", "sec_v1", "member_v1"])
def test_the_overdue_list_of_another_subtree_reads_as_missing(client, scanned, login_as, actor_name):
    r = client.get(
        f"/api/reminders/overdue?org_id={scanned.town_a1.id}", headers=login_as(getattr(scanned, actor_name))
    )
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_city_admins_edit_rules_and_are_audited(client, world, login_as):
    rule = db.session.scalar(select(ReminderRule).where(ReminderRule.code == "meeting_month"))
    listed = client.get("/api/reminders/rules", headers=login_as(world.sec_v1))
    assert listed.status_code == 200 and "meeting_month" in {r["code"] for r in listed.json["items"]}
    body = {"remind_days_before": 7, "escalate_after_hours": 72, "enabled": False}
    assert (
        client.patch(f"/api/reminders/rules/{rule.id}", json=body, headers=login_as(world.county_a_admin)).status_code
        == 403
    )
    r = client.patch(f"/api/reminders/rules/{rule.id}", json=body, headers=login_as(world.city_admin))
    assert r.status_code == 200 and r.json["remind_days_before"] == 7 and r.json["enabled"] is False
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reminder_rule.update"))
    assert entry.actor_id == world.city_admin.id and entry.detail["changed"]["escalate_after_hours"] == [168, 72]
    bad = client.patch(
        f"/api/reminders/rules/{rule.id}", json={"escalate_after_hours": -1}, headers=login_as(world.city_admin)
    )
    assert bad.status_code == 422 and "escalate_after_hours" in bad.json["error"]["fields"]
    assert client.patch("/api/reminders/rules/9999", json={}, headers=login_as(world.city_admin)).status_code == 404


def test_a_department_urges_a_branch_and_its_secretary_is_told(client, world, login_as):
    r = client.post(
        f"/api/orgs/{world.v1.id}/urges",
        json={"reason": "十月支委会未召开，请本周内补开"},
        headers=login_as(world.town_a1_admin),
    )
    assert r.status_code == 201, r.json
    assert r.json["notified"] is True and r.json["urged_by"]["id"] == world.town_a1_admin.id
    note = db.session.scalar(select(Notification).where(Notification.member_id == world.sec_v1.id))
    assert note.category == "urge" and "十月支委会未召开" in note.body and "甲一镇党委" in note.body
    urge = db.session.get(OrgUrge, r.json["id"])
    assert urge.urged_by == world.town_a1_admin.id and urge.created_at is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "org.urge")).object_id == str(world.v1.id)
    listed = client.get(f"/api/orgs/{world.v1.id}/urges", headers=login_as(world.sec_v1))
    assert listed.status_code == 200 and [u["reason"] for u in listed.json["items"]] == [
        "十月支委会未召开，请本周内补开"
    ]
    county = client.get(f"/api/orgs/{world.v1.id}/urges", headers=login_as(world.county_a_admin))
    assert county.json["meta"]["total"] == 1


def test_urge_needs_a_reason_and_a_subordinate(client, world, login_as):
    admin = login_as(world.town_a1_admin)
    assert client.post(f"/api/orgs/{world.v1.id}/urges", json={}, headers=admin).status_code == 422
    own = client.post(f"/api/orgs/{world.town_a1.id}/urges", json={"reason": "x"}, headers=admin)
    assert own.status_code == 403
    by_secretary = client.post(f"/api/orgs/{world.v1.id}/urges", json={"reason": "x"}, headers=login_as(world.sec_v1))
    assert by_secretary.status_code == 403


@pytest.mark.parametrize("actor_name", OUTSIDERS)
@pytest.mark.parametrize("method", ["post", "get"])
def test_outsiders_cannot_urge_or_read_urges(client, world, login_as, actor_name, method):
    headers = login_as(getattr(world, actor_name))
    before = _writes()
    kwargs = {"json": {"reason": "督办"}} if method == "post" else {}
    r = getattr(client, method)(f"/api/orgs/{world.v1.id}/urges", headers=headers, **kwargs)
    assert r.status_code == 404, (actor_name, r.json)
    assert r.json["error"]["code"] == "not_found" and set(r.json) == {"error"}
    assert _writes() == before


def test_urges_of_a_missing_organisation_read_as_missing(client, world, login_as):
    assert client.get("/api/orgs/999999/urges", headers=login_as(world.city_admin)).status_code == 404

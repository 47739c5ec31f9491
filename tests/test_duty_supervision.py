"""Inspection visits (督查) and instant photo-check requests: who may write and read them, and how a request is
answered in time, late, or not at all."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEntry, DutyCheckin, DutyCheckRequest, db
from models.base import utcnow
from tests import images
from tests.test_duty_support import checkin_body, circle_fence, make_cadre

OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"]


@pytest.fixture
def cadre(world):
    circle_fence(world)
    return make_cadre(world)


def _inspection(world, cadre, **extra):
    return {"org_id": world.v1.id, "member_id": cadre.id, "visited_at": utcnow().isoformat(), **extra}


def _photo_answer(client, headers, world, request_id, seed=31):
    form = {k: str(v) for k, v in checkin_body(world).items()}
    form.update(request_id=str(request_id), file=(io.BytesIO(images.jpeg_bytes(images.scene(seed))), "p.jpg"))
    return client.post("/api/duty/checkins/photo", data=form, headers=headers, content_type="multipart/form-data")


def test_inspections(client, world, cadre, login_as):
    county = login_as(world.county_a_admin)
    r = client.post(
        "/api/duty/inspections", json=_inspection(world, cadre, cadre_present=False, notes="未在村"), headers=county
    )
    assert (
        r.status_code == 201 and r.json["cadre_present"] is False and r.json["inspector_id"] == world.county_a_admin.id
    )
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "duty_inspection")) == (
        "duty.inspection"
    )
    r = client.post("/api/duty/inspections", json=_inspection(world, world.member_v1), headers=county)
    assert r.status_code == 422 and "member_id" in r.json["error"]["fields"]
    future = _inspection(world, cadre, visited_at=(utcnow() + timedelta(hours=2)).isoformat())
    r = client.post("/api/duty/inspections", json=future, headers=county)
    assert r.status_code == 422 and "visited_at" in r.json["error"]["fields"]
    assert (
        client.post("/api/duty/inspections", json=_inspection(world, cadre), headers=login_as(world.sec_v1)).status_code
        == 403
    )
    assert client.get("/api/duty/inspections", headers=login_as(cadre)).json["meta"]["total"] == 1
    url = f"/api/duty/inspections?org_id={world.county_a.id}&descendants=1"
    assert client.get(url, headers=county).json["meta"]["total"] == 1


def test_a_photo_check_answered_in_time(client, world, cadre, login_as):
    county = login_as(world.county_a_admin)
    r = client.post(
        "/api/duty/photo-checks", json={"org_id": world.v1.id, "member_id": cadre.id, "minutes": 20}, headers=county
    )
    assert r.status_code == 201 and r.json["status"] == "pending"
    request_id = r.json["id"]
    mine = login_as(cadre)
    due = client.get("/api/home", headers=mine).json["due"]
    assert any(i["key"] == f"duty_photo_check_{request_id}" and i["level"] == "danger" for i in due)
    no_photo = client.post("/api/duty/checkins", json=checkin_body(world, request_id=request_id), headers=mine)
    assert no_photo.status_code == 422 and "file" in no_photo.json["error"]["fields"]
    answer = _photo_answer(client, mine, world, request_id)
    assert answer.status_code == 201, answer.json
    listed = client.get("/api/duty/photo-checks", headers=county).json["items"]
    assert listed[0]["status"] == "answered" and listed[0]["checkin_id"] == answer.json["id"]
    again = _photo_answer(client, mine, world, request_id, seed=32)
    assert again.status_code == 422 and "request_id" in again.json["error"]["fields"]
    assert db.session.scalar(select(func.count(DutyCheckin.id))) == 1
    assert not [i for i in client.get("/api/home", headers=mine).json["due"] if i["key"].startswith("duty_photo")]


def test_late_missed_and_foreign_requests(client, world, cadre, login_as):
    county = login_as(world.county_a_admin)
    body = {"org_id": world.v1.id, "member_id": cadre.id}
    late_id = client.post("/api/duty/photo-checks", json=body, headers=county).json["id"]
    missed_id = client.post("/api/duty/photo-checks", json=body, headers=county).json["id"]
    for request_id in (late_id, missed_id):
        db.session.get(DutyCheckRequest, request_id).due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert _photo_answer(client, login_as(cadre), world, late_id).status_code == 201
    statuses = {i["id"]: i["status"] for i in client.get("/api/duty/photo-checks", headers=county).json["items"]}
    assert statuses == {late_id: "late", missed_id: "missed"}
    other = make_cadre(world, "别的干部")
    r = _photo_answer(client, login_as(other), world, missed_id, seed=33)
    assert r.status_code == 422 and "request_id" in r.json["error"]["fields"]
    r = client.post("/api/duty/photo-checks", json={**body, "member_id": world.member_v1.id}, headers=county)
    assert r.status_code == 422 and "member_id" in r.json["error"]["fields"]


@pytest.mark.parametrize("actor_name", OUTSIDERS)
def test_outsiders_get_404(client, world, cadre, login_as, actor_name):
    headers = login_as(getattr(world, actor_name))
    calls = [
        ("post", "/api/duty/inspections", _inspection(world, cadre)),
        ("post", "/api/duty/photo-checks", {"org_id": world.v1.id, "member_id": cadre.id}),
        ("get", f"/api/duty/inspections?org_id={world.v1.id}", None),
        ("get", f"/api/duty/photo-checks?org_id={world.v1.id}", None),
    ]
    for method, url, body in calls:
        r = getattr(client, method)(url, json=body, headers=headers)
        assert r.status_code == 404 and set(r.json) == {"error"}, (url, actor_name, r.json)
    assert client.get("/api/duty/photo-checks", headers=headers).json["meta"]["total"] == 0

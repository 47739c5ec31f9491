"""Duty check-ins over HTTP: presence (inside, outside, uncertain; circles and polygons; both coordinate systems),
refusals that name the field, deduplicated retries (also racing), and the audit trail."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEntry, DutyAssignment, DutyCheckin, db
from models.base import utcnow
from services.coords import wgs84_to_gcj02
from services.duty_fences import to_shape
from services.geo import locate
from tests.test_duty_support import (
    VILLAGE,
    checkin_body,
    circle_fence,
    east,
    make_cadre,
    north,
    polygon_fence,
    post_checkin,
)

# Published WGS-84 → GCJ-02 vector (docs: TECH-NOTES.md), Beijing.
WGS_BJ = (39.911954, 116.377817)
GCJ_BJ = (39.91334545536069, 116.38404722455657)


@pytest.fixture
def cadre(world):
    return make_cadre(world)


@pytest.fixture
def headers(cadre, login_as):
    return login_as(cadre)


def count():
    return db.session.scalar(select(func.count(DutyCheckin.id)))


def test_inside_the_circle(client, world, headers, cadre):
    fence = circle_fence(world)
    r = post_checkin(client, headers, world, north(VILLAGE, 50))
    assert r.status_code == 201, r.json
    body = r.json
    assert (body["result"], body["distance_m"], body["fence_id"]) == ("inside", 0, fence.id)
    assert body["flags"] == [] and body["member"]["id"] == cadre.id and "村委会" in body["result_reason"]
    assert body["read_at"].endswith("+08:00") and body["timing"] in ("on_time", "early", "late", "off_roster")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "duty.checkin"))
    assert entry.actor_id == cadre.id and entry.object_id == str(body["id"]) and entry.detail["result"] == "inside"


def test_outside_is_kept_with_the_remark_and_the_distance(client, world, headers):
    circle_fence(world)
    r = post_checkin(client, headers, world, east(VILLAGE, 1000), remark="在镇上开会")
    assert r.status_code == 201
    assert r.json["result"] == "outside" and r.json["distance_m"] == pytest.approx(800, abs=2)
    assert r.json["remark"] == "在镇上开会" and f"{r.json['distance_m']:.0f}米" in r.json["result_reason"]
    assert count() == 1


def test_straddling_the_edge_or_a_poor_fix_is_uncertain(client, world, headers, app):
    circle_fence(world)
    straddle = post_checkin(client, headers, world, north(VILLAGE, 230), accuracy=80)
    assert straddle.json["result"] == "uncertain" and straddle.json["distance_m"] == pytest.approx(30, abs=1)
    limit = app.config["SETTINGS"].duty_max_accuracy_m
    poor = post_checkin(client, headers, world, VILLAGE, accuracy=limit + 50)
    assert poor.json["result"] == "uncertain" and "低于要求" in poor.json["result_reason"]
    just_good = post_checkin(client, headers, world, VILLAGE, accuracy=limit)
    assert just_good.json["result"] == "inside"  # the circle of 100 m lies wholly inside the 200 m fence


def test_the_nearest_of_several_fences_decides(client, world, headers):
    circle_fence(world)
    second = circle_fence(world, center=east(VILLAGE, 3000), radius=100, name="产业基地")
    r = post_checkin(client, headers, world, east(VILLAGE, 3050))
    assert r.json["result"] == "inside" and r.json["fence_id"] == second.id
    r = post_checkin(client, headers, world, east(VILLAGE, 2500))
    assert r.json["result"] == "outside" and r.json["fence_id"] == second.id
    assert r.json["distance_m"] == pytest.approx(400, abs=2)


def test_polygon_inside_outside_and_the_edge(client, world, headers):
    d = 0.002
    square = [(VILLAGE[0] - d, VILLAGE[1] - d), (VILLAGE[0] - d, VILLAGE[1] + d), (VILLAGE[0] + d, VILLAGE[1] + d)]
    square.append((VILLAGE[0] + d, VILLAGE[1] - d))
    fence = polygon_fence(world, square)
    assert post_checkin(client, headers, world, VILLAGE).json["result"] == "inside"
    out = post_checkin(client, headers, world, north(VILLAGE, 400))
    assert out.json["result"] == "outside"
    assert out.json["distance_m"] == pytest.approx(400 - d * 110_800, abs=3)
    on_edge = (VILLAGE[0] + d, VILLAGE[1])
    # The edge itself counts as inside; a fix on it with any accuracy straddles it, hence uncertain.
    assert locate(on_edge, 0.001, [to_shape(fence)]).inside
    assert post_checkin(client, headers, world, on_edge, accuracy=5).json["result"] == "uncertain"


@pytest.mark.parametrize("fence_sys", ["wgs84", "gcj02"])
def test_both_coordinate_systems_with_the_published_vector(client, world, headers, fence_sys):
    """A fence picked on the map (GCJ-02) or typed in WGS-84, and fixes in either system: the same place is inside;
    GCJ numbers read as WGS-84 are hundreds of metres off."""
    circle_fence(world, center=GCJ_BJ if fence_sys == "gcj02" else WGS_BJ, radius=50, coord_sys=fence_sys)
    assert wgs84_to_gcj02(*WGS_BJ) == pytest.approx(GCJ_BJ, abs=1e-9)
    wgs = post_checkin(client, headers, world, WGS_BJ, accuracy=10, coord_sys="wgs84")
    gcj = post_checkin(client, headers, world, GCJ_BJ, accuracy=10, coord_sys="gcj02")
    assert (wgs.json["result"], gcj.json["result"]) == ("inside", "inside")
    misread = post_checkin(client, headers, world, GCJ_BJ, accuracy=10, coord_sys="wgs84")
    assert misread.json["result"] == "outside" and misread.json["distance_m"] > 400
    stored = db.session.get(DutyCheckin, gcj.json["id"])
    assert (stored.latitude, stored.coord_sys.value) == (GCJ_BJ[0], "gcj02")  # as sent
    assert (stored.wgs_lat, stored.wgs_lng) == pytest.approx(WGS_BJ, abs=1e-8)  # and converted


def test_without_a_fence_the_venue_stands_in_and_without_it_uncertain(client, world, headers):
    r = post_checkin(client, headers, world, VILLAGE)
    assert r.json["result"] == "uncertain" and r.json["distance_m"] is None and "尚未设置" in r.json["result_reason"]
    world.v1.venue_lat, world.v1.venue_lng, world.v1.venue_coord_sys = VILLAGE[0], VILLAGE[1], "wgs84"
    db.session.commit()
    r = post_checkin(client, headers, world, east(VILLAGE, 500))
    assert r.json["result"] == "outside" and r.json["distance_m"] == pytest.approx(300, abs=2)
    assert r.json["fence_id"] is None and "活动场所" in r.json["result_reason"]


def test_a_retry_returns_the_stored_check_in(client, world, headers):
    circle_fence(world)
    body = checkin_body(world, client_id="retry-0000000001")
    answers = [client.post("/api/duty/checkins", json=body, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200]
    assert {a.json["id"] for a in answers} == {answers[0].json["id"]} and count() == 1
    other = client.post("/api/duty/checkins", json={**body, "org_id": world.v2.id}, headers=headers)
    assert other.status_code == 409 and other.json["error"]["fields"] == {"client_id": ["该签到编号已用于另一次签到"]}
    assert count() == 1


def test_a_retry_the_checks_would_now_refuse_still_returns_the_stored_check_in(client, world, headers, cadre):
    """Retries are caught at the insert; one sent after the assignment ended (a phone back in coverage days later)
    fails the checks first, and still answers with what was stored."""
    circle_fence(world)
    body = checkin_body(world, client_id="retry-after-the-end")
    first = client.post("/api/duty/checkins", json=body, headers=headers)
    assert first.status_code == 201
    assignment = db.session.scalar(select(DutyAssignment).where(DutyAssignment.member_id == cadre.id))
    assignment.ends_on = utcnow().date() - timedelta(days=1)
    db.session.commit()
    again = client.post("/api/duty/checkins", json=body, headers=headers)
    assert again.status_code == 200 and again.json["id"] == first.json["id"] and count() == 1
    fresh = client.post("/api/duty/checkins", json={**body, "client_id": "a-new-one-0001"}, headers=headers)
    assert fresh.status_code == 422 and "org_id" in fresh.json["error"]["fields"] and count() == 1


def test_checkout_is_a_check_in_of_its_own_kind(client, world, headers):
    circle_fence(world)
    r = post_checkin(client, headers, world, VILLAGE, kind="checkout")
    assert r.status_code == 201 and r.json["kind"] == "checkout"
    mine = select(AuditEntry.action).where(AuditEntry.object_type == "duty_checkin")
    assert db.session.scalar(mine.where(AuditEntry.object_id == str(r.json["id"]))) == "duty.checkout"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"latitude": 999}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"latitude": math.nan}, "latitude"),
        ({"latitude": None}, "latitude"),
        ({"accuracy": 0}, "accuracy"),
        ({"accuracy": -5}, "accuracy"),
        ({"coord_sys": "bd09"}, "coord_sys"),
        ({"read_at": (utcnow() + timedelta(hours=1)).isoformat()}, "read_at"),
        ({"read_at": (utcnow() - timedelta(days=40)).isoformat()}, "read_at"),
        ({"read_at": "2026-12-01T09:00:00"}, "read_at"),  # no zone
        ({"client_id": "x"}, "client_id"),
        ({"kind": "lunch"}, "kind"),
        ({"role": "admin"}, "role"),  # unknown fields are refused by name
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(client, world, headers, change, field):
    circle_fence(world)
    body = {**checkin_body(world), **change}
    r = client.post("/api/duty/checkins", json=body, headers=headers)
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"], r.json
    assert count() == 0


def test_a_village_not_assigned_that_day(client, world, login_as):
    ended = make_cadre(world, "已离任干部", ends_on=utcnow().date() - timedelta(days=3))
    r = post_checkin(client, login_as(ended), world)
    assert r.status_code == 422 and "org_id" in r.json["error"]["fields"]
    # A member of the village itself sees it, but is not assigned there either.
    r = post_checkin(client, login_as(world.member_v1), world)
    assert r.status_code == 422 and "未被派驻" in r.json["error"]["fields"]["org_id"][0]
    # A village the cadre was never sent to and cannot see does not exist for them.
    r = post_checkin(client, login_as(ended), world, org=world.v4)
    assert r.status_code == 404 and set(r.json) == {"error"}
    assert count() == 0


def test_a_late_upload_is_accepted_and_flagged(client, world, headers):
    circle_fence(world)
    r = post_checkin(client, headers, world, read_at=utcnow() - timedelta(days=3))
    assert r.status_code == 201 and "late_upload" in r.json["flags"]
    assert "3.0天后才上传" in r.json["flag_reasons"]["late_upload"]
    fresh = post_checkin(client, headers, world, north(VILLAGE, 3), read_at=utcnow() - timedelta(minutes=5))
    assert "late_upload" not in fresh.json["flags"]


def test_concurrent_retries_store_one_check_in(app, world, cadre, login_as, live_server):
    """The phone fires the same check-in several times at once over a flaky network: one row, every answer names
    it, exactly one answer says created."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    circle_fence(world)
    headers = login_as(cadre)
    body = checkin_body(world, client_id="burst-00000001")

    def send(_):
        r = requests.post(f"{live_server.base_url}/api/duty/checkins", json=body, headers=headers, timeout=30)
        return r.status_code, r.json().get("id")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    db.session.rollback()  # end this session's snapshot (MariaDB's repeatable read) to see the server's commit
    assert count() == 1
    stored = db.session.scalar(select(DutyCheckin.id))
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201], answers
    assert {i for _, i in answers} == {stored}
    audit_rows = select(func.count(AuditEntry.id)).where(AuditEntry.action == "duty.checkin")
    assert db.session.scalar(audit_rows) == 1

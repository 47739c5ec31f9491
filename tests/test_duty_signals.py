"""Spoof signals and roster timing of duty check-ins, each shown to fire and shown not to fire on honest data."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from models.base import utcnow
from services import duty_roster
from services.authz import Actor
from tests import images
from tests.test_duty_support import (
    VILLAGE,
    checkin_body,
    circle_fence,
    east,
    every_day,
    local_at,
    local_yesterday,
    make_cadre,
    north,
    post_checkin,
)


@pytest.fixture
def cadre(world):
    circle_fence(world)
    return make_cadre(world)


@pytest.fixture
def headers(cadre, login_as):
    return login_as(cadre)


def ago(**kw):
    return utcnow() - timedelta(**kw)


def test_the_same_position_to_the_metre_on_another_day(client, world, headers):
    first = post_checkin(client, headers, world, VILLAGE, read_at=ago(days=1, minutes=5))
    assert "repeated_position" not in first.json["flags"]
    same_day = post_checkin(client, headers, world, VILLAGE, read_at=ago(days=1))
    assert "repeated_position" not in same_day.json["flags"]  # within one day a phone may not move at all
    again = post_checkin(client, headers, world, north(VILLAGE, 0.3))
    assert "repeated_position" in again.json["flags"]
    assert "另外1天" in again.json["flag_reasons"]["repeated_position"]
    honest = post_checkin(client, headers, world, north(VILLAGE, 6))
    assert "repeated_position" not in honest.json["flags"]


def test_the_same_accuracy_every_time(client, world, headers, app):
    n = app.config["SETTINGS"].duty_constant_accuracy_count
    answers = [
        post_checkin(client, headers, world, north(VILLAGE, 3 * i), accuracy=15.0, read_at=ago(minutes=60 - i))
        for i in range(n)
    ]
    assert ["constant_accuracy" in a.json["flags"] for a in answers] == [False] * (n - 1) + [True]
    assert f"连续{n}次" in answers[-1].json["flag_reasons"]["constant_accuracy"]
    varied = post_checkin(client, headers, world, north(VILLAGE, 40), accuracy=16.5)
    assert "constant_accuracy" not in varied.json["flags"]


def test_impossible_speed_from_the_previous_check_in(client, world, headers):
    post_checkin(client, headers, world, VILLAGE, read_at=ago(minutes=20))
    cycled = post_checkin(client, headers, world, east(VILLAGE, 1500), read_at=ago(minutes=15))
    assert "impossible_speed" not in cycled.json["flags"]  # 1.5 km in 5 minutes: a motorbike
    jumped = post_checkin(client, headers, world, east(VILLAGE, 60_000), read_at=ago(minutes=10))
    assert "impossible_speed" in jumped.json["flags"]
    assert "公里" in jumped.json["flag_reasons"]["impossible_speed"]


def test_impossible_speed_against_the_next_one_for_a_late_upload(client, world, headers, app):
    app.config["SETTINGS"].duty_late_upload_minutes = 10**6
    post_checkin(client, headers, world, VILLAGE, read_at=ago(minutes=5))
    earlier_far = post_checkin(client, headers, world, east(VILLAGE, 150_000), read_at=ago(minutes=30))
    assert "impossible_speed" in earlier_far.json["flags"]


def test_a_device_used_by_two_cadres(client, world, headers, login_as):
    other = make_cadre(world, "另一名干部", org=world.v2)
    circle_fence(world, org=world.v2)
    mine = post_checkin(client, headers, world, device_id="device-abc")
    assert "shared_device" not in mine.json["flags"]
    again = post_checkin(client, headers, world, north(VILLAGE, 4), device_id="device-abc")
    assert "shared_device" not in again.json["flags"]  # the cadre's own phone, twice
    theirs = post_checkin(client, login_as(other), world, org=world.v2, device_id="device-abc")
    assert "shared_device" in theirs.json["flags"] and "另外1名" in theirs.json["flag_reasons"]["shared_device"]


def _photo_checkin(client, headers, world, data: bytes, **kwargs):
    form = {k: str(v) for k, v in checkin_body(world, **kwargs).items()}
    form["file"] = (io.BytesIO(data), "live.jpg", "image/jpeg")
    return client.post("/api/duty/checkins/photo", data=form, headers=headers, content_type="multipart/form-data")


def test_a_live_photo_reused_on_another_day(client, world, headers):
    scene = images.scene(21, (800, 600))
    first = _photo_checkin(client, headers, world, images.jpeg_bytes(scene), read_at=ago(days=1))
    assert first.status_code == 201, first.json
    assert "reused_photo" not in first.json["flags"] and first.json["photo"]["id"] == first.json["photo_id"]
    assert set(first.json["photo"]["urls"]) == {"thumb", "display", "watermarked"}
    again = _photo_checkin(client, headers, world, images.jpeg_bytes(images.resized(scene, 0.6)))
    assert again.status_code == 201 and "reused_photo" in again.json["flags"]
    assert again.json["flag_reasons"]["reused_photo"]
    fresh = _photo_checkin(client, headers, world, images.jpeg_bytes(images.scene(22, (800, 600))))
    assert "reused_photo" not in fresh.json["flags"]


def test_a_file_that_is_no_photo_writes_nothing(client, world, headers):
    r = _photo_checkin(client, headers, world, b"not a photo at all" * 50)
    assert r.status_code == 422
    assert client.get("/api/duty/checkins", headers=headers).json["meta"]["total"] == 0


# ---------------------------------------------------------------------------------------------------------------
# Timing against the roster (08:30–17:30 every day, grace 10 minutes; check-ins of yesterday, so never "future")


@pytest.fixture
def yesterday(app):
    app.config["SETTINGS"].duty_late_upload_minutes = 10**6  # these are read yesterday and sent now
    return local_yesterday(app)


@pytest.mark.parametrize(
    "kind, hh, mm, timing",
    [
        ("checkin", 5, 0, "early"),
        ("checkin", 8, 0, "on_time"),
        ("checkin", 8, 40, "on_time"),
        ("checkin", 8, 41, "late"),
        ("checkin", 17, 45, "off_roster"),
        ("checkout", 16, 0, "early"),
        ("checkout", 17, 25, "on_time"),
        ("checkout", 19, 0, "on_time"),
    ],
)
def test_timing_against_the_weekly_roster(client, world, headers, app, yesterday, kind, hh, mm, timing):
    r = post_checkin(client, headers, world, read_at=local_at(app, yesterday, hh, mm), kind=kind)
    assert r.status_code == 201 and r.json["timing"] == timing, r.json
    assert r.json["duty_date"] == yesterday.isoformat() and r.json["timing_reason"]


def test_no_shift_that_weekday_is_off_roster(client, world, login_as, app, yesterday):
    days_off = [s for s in every_day() if s["weekday"] != yesterday.weekday()]
    cadre = make_cadre(world, "周休干部", roster=days_off)
    r = post_checkin(client, login_as(cadre), world, read_at=local_at(app, yesterday, 9))
    assert r.json["timing"] == "off_roster" and r.json["timing_reason"] == "当天没有值班安排"


def test_approved_leave_is_off_roster(client, world, headers, cadre, app, yesterday):
    assignment = duty_roster.active_assignment(cadre.id, world.v1.id, yesterday)
    leave = {"kind": "leave", "starts_on": yesterday, "ends_on": yesterday, "reason": "病假"}
    duty_roster.add_exception(Actor(world.county_a_admin), assignment, leave)
    from models import db

    db.session.commit()
    r = post_checkin(client, headers, world, read_at=local_at(app, yesterday, 9))
    assert r.json["timing"] == "off_roster" and "请假" in r.json["timing_reason"]

"""Meeting photos over HTTP: each verdict, the deduplicated retry, the refusals, the scope rules, the signed URLs.

The venue of every meeting here is a 200 m circle around VENUE (WGS-84). Images come from tests/images.py.
"""

from __future__ import annotations

import io
import math
import os
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import Evidence, Meeting, MeetingKind, db
from models.base import utcnow
from services import meetings
from services.authz import Actor
from services.coords import wgs84_to_gcj02
from tests import images

VENUE = (26.5800, 106.7100)
BEIJING = ZoneInfo("Asia/Shanghai")
EAST_1KM = (26.5800, 106.7100 + 1000 / (111_320 * math.cos(math.radians(26.58))))


def plan(world, org=None, actor=None, start=None, hours=2, **extra):
    start = start or utcnow() - timedelta(minutes=30)
    kind = db.session.scalar(select(MeetingKind).where(MeetingKind.code == "branch_committee"))
    data = {
        "org_id": (org or world.v1).id,
        "kind_id": kind.id,
        "title": "支部委员会会议",
        "starts_at": start,
        "ends_at": start + timedelta(hours=hours),
        "venue": {"latitude": VENUE[0], "longitude": VENUE[1], "coord_sys": "wgs84"},
        **extra,
    }
    meeting = meetings.create_meeting(Actor(actor or world.sec_v1), data)
    db.session.commit()
    return meeting


def jpeg(seed=1, size=(800, 600), exif=None, im=None):
    return images.jpeg_bytes(im or images.scene(seed, size), exif=exif)


_counter = iter(range(10**6))


def upload(client, headers, meeting_id, data: bytes, *, position=VENUE, coord_sys="wgs84", accuracy=15.0, **form):
    fields = {
        "file": (io.BytesIO(data), form.pop("filename", "photo.jpg"), form.pop("mimetype", "image/jpeg")),
        "client_id": form.pop("client_id", f"client-{next(_counter):08d}"),
        "taken_at": form.pop("taken_at", utcnow().isoformat()),
    }
    if position is not None:
        fields.update(latitude=str(position[0]), longitude=str(position[1]), coord_sys=coord_sys)
        fields["accuracy"] = str(accuracy)
    fields.update(form)
    url = f"/api/meetings/{meeting_id}/photos"
    return client.post(url, data=fields, headers=headers, content_type="multipart/form-data")


def flags(r):
    assert r.status_code in (200, 201), r.json
    return sorted(r.json["verdict"]["flags"])


def local_naive(dt):
    """Wall-clock time in the business time zone, as a camera writes DateTimeOriginal."""
    return dt.astimezone(BEIJING).replace(tzinfo=None)


@pytest.fixture
def sec(world, login_as):
    return login_as(world.sec_v1)


def test_inside_the_venue_with_agreeing_exif_has_no_flags(client, world, sec):
    m = plan(world)
    exif = images.camera_exif(taken_at=local_naive(utcnow()), lat=VENUE[0] + 0.0003, lng=VENUE[1])
    r = upload(client, sec, m.id, jpeg(exif=exif))
    assert r.status_code == 201 and flags(r) == []
    assert r.json["verdict"]["position"] == "inside" and r.json["verdict"]["distance_m"] == 0
    assert r.json["exif"]["camera"] == "HUAWEI ELS-AN00" and r.json["exif"]["latitude"] == pytest.approx(26.5803)
    assert not db.session.get(Meeting, m.id).flagged


def test_gcj02_positions_are_converted_before_comparing(client, world, sec):
    """The phone's map reports GCJ-02: the venue's own position in GCJ-02 is inside; the same numbers read as
    WGS-84 would be several hundred metres off."""
    m = plan(world)
    gcj = wgs84_to_gcj02(*VENUE)
    inside = upload(client, sec, m.id, jpeg(1), position=gcj, coord_sys="gcj02")
    assert "outside_venue" not in flags(inside) and inside.json["verdict"]["position"] == "inside"
    misread = upload(client, sec, m.id, jpeg(2), position=gcj, coord_sys="wgs84")
    assert "outside_venue" in flags(misread) and misread.json["verdict"]["distance_m"] > 200


def test_outside_the_venue_says_how_far_and_flags_the_meeting(client, world, sec, login_as):
    m = plan(world)
    r = upload(client, sec, m.id, jpeg())
    r = upload(client, sec, m.id, jpeg(2), position=EAST_1KM)
    assert "outside_venue" in flags(r)
    assert r.json["verdict"]["distance_m"] == pytest.approx(800, abs=3)
    assert f"{r.json['verdict']['distance_m']:.0f}米" in r.json["verdict"]["reasons"]["outside_venue"]
    assert db.session.get(Meeting, m.id).flagged
    town = login_as(world.town_a1_admin)
    listed = client.get(f"/api/meetings?org_id={world.town_a1.id}&descendants=1&flag=outside_venue", headers=town)
    assert [i["id"] for i in listed.json["items"]] == [m.id]
    assert client.get(f"/api/meetings?org_id={world.v1.id}&flag=reused_photo", headers=sec).json["items"] == []


def test_a_poor_fix_near_the_edge_is_uncertain_not_outside(client, world, sec):
    m = plan(world)
    near_edge = (VENUE[0] + 230 / 111_000, VENUE[1])  # 30 m outside the 200 m circle
    r = upload(client, sec, m.id, jpeg(), position=near_edge, accuracy=80)
    assert flags(r) == ["no_exif", "uncertain_position"] and r.json["verdict"]["position"] == "uncertain"
    assert not db.session.get(Meeting, m.id).flagged  # information for the reviewer, not an accusation


def test_capture_time_outside_the_meeting_window(client, world, sec):
    m = plan(world)
    r = upload(client, sec, m.id, jpeg(), taken_at=(m.starts_at - timedelta(hours=5)).isoformat())
    assert "time_outside_window" in flags(r) and db.session.get(Meeting, m.id).flagged
    ok = upload(client, sec, m.id, jpeg(2), taken_at=(m.starts_at - timedelta(minutes=20)).isoformat())
    assert "time_outside_window" not in flags(ok)  # inside the 30-minute margin


def test_exif_that_disagrees_with_the_report(client, world, sec):
    m = plan(world)
    now_local = local_naive(utcnow())
    far = images.camera_exif(taken_at=now_local, lat=VENUE[0] + 0.05, lng=VENUE[1])  # 5.5 km north
    r = upload(client, sec, m.id, jpeg(1, exif=far))
    assert flags(r) == ["exif_mismatch"] and "相距" in r.json["verdict"]["reasons"]["exif_mismatch"]
    early = images.camera_exif(taken_at=now_local - timedelta(hours=3), lat=VENUE[0], lng=VENUE[1])
    r = upload(client, sec, m.id, jpeg(2, exif=early))
    assert flags(r) == ["exif_mismatch"] and "180分钟" in r.json["verdict"]["reasons"]["exif_mismatch"]


def test_no_exif_is_noted_but_not_serious(client, world, sec):
    m = plan(world)
    assert flags(upload(client, sec, m.id, jpeg())) == ["no_exif"]
    assert not db.session.get(Meeting, m.id).flagged


def test_no_position_is_kept_and_flagged(client, world, sec):
    m = plan(world)
    r = upload(client, sec, m.id, jpeg(), position=None)
    assert r.status_code == 201 and "no_position" in flags(r)


def test_offline_photo_sent_later_is_a_late_upload_with_its_capture_time(client, world, sec):
    m = plan(world, start=utcnow() - timedelta(hours=4), hours=5)
    taken = utcnow() - timedelta(hours=3)
    r = upload(client, sec, m.id, jpeg(), taken_at=taken.isoformat())
    assert flags(r) == ["late_upload", "no_exif"]
    assert r.json["taken_at"][:16] == taken.astimezone(BEIJING).isoformat()[:16]


@pytest.mark.parametrize(
    "edit", [lambda im: images.resized(im, 0.5), lambda im: images.recompressed(im, 55), images.reshot]
)
def test_a_photo_used_again_for_another_meeting_is_flagged(client, world, sec, edit):
    first, second = plan(world), plan(world)
    original = images.scene(7, (800, 600))
    a = upload(client, sec, first.id, jpeg(im=original))
    assert "reused_photo" not in flags(a)
    again = upload(client, sec, second.id, jpeg(im=edit(original)))
    assert "reused_photo" in flags(again)
    assert again.json["verdict"]["matches"][0]["photo_id"] == a.json["id"]
    assert db.session.get(Meeting, second.id).flagged
    unrelated = upload(client, sec, second.id, jpeg(8))
    assert "reused_photo" not in flags(unrelated)


def test_reuse_across_organisations_and_people_but_not_a_second_shot(client, world, login_as, sec):
    mine, theirs = plan(world), plan(world, org=world.v2, actor=world.sec_v2)
    original = images.scene(11, (800, 600))
    upload(client, sec, mine.id, jpeg(im=original))
    again_here = upload(client, sec, mine.id, jpeg(im=images.resized(original, 0.7)))
    assert "reused_photo" not in flags(again_here)  # the same person's second shot for the same meeting
    elsewhere = upload(client, login_as(world.sec_v2), theirs.id, jpeg(im=original))
    assert "reused_photo" in flags(elsewhere)
    assert elsewhere.json["verdict"]["matches"][0]["subject_id"] == mine.id


def _stored_files(app):
    root = app.config["SETTINGS"].storage_dir
    return sum(len(files) for _, _, files in os.walk(root)) if os.path.isdir(root) else 0


def test_the_same_upload_three_times_is_one_photo(app, client, world, sec):
    m = plan(world)
    data = jpeg()
    codes = [upload(client, sec, m.id, data, client_id="retry-abcdef01").status_code for _ in range(3)]
    assert codes == [201, 200, 200]
    assert db.session.scalar(select(func.count(Evidence.id))) == 1
    assert _stored_files(app) == 4  # original, display, thumbnail, watermarked: once
    other = plan(world)
    r = upload(client, sec, other.id, data, client_id="retry-abcdef01")
    assert r.status_code == 409 and r.json["error"]["fields"] == {"client_id": ["该上传编号已用于另一条记录"]}


@pytest.mark.parametrize(
    "make, field_or_code",
    [
        (
            lambda: {"data": b"just some text, not a photo" * 20, "filename": "a.txt", "mimetype": "text/plain"},
            "unsupported_type",
        ),
        (lambda: {"data": images.png_bytes(images.scene(1, (300, 200)))}, "type_mismatch"),
        (
            lambda: {"data": images.pixel_flood_png(30000, 30000), "filename": "a.png", "mimetype": "image/png"},
            "pixel_flood",
        ),
        (lambda: {"data": jpeg()[:6000]}, "corrupt"),
        (lambda: {"data": jpeg(), "position": (999, 106.7)}, "latitude"),
        (lambda: {"data": jpeg(), "position": ("nan", 106.7)}, "latitude"),
        (lambda: {"data": jpeg(), "accuracy": -5}, "accuracy"),
        (lambda: {"data": jpeg(), "coord_sys": "bd09"}, "coord_sys"),
        (lambda: {"data": jpeg(), "taken_at": (utcnow() + timedelta(hours=2)).isoformat()}, "taken_at"),
        (lambda: {"data": jpeg(), "taken_at": "yesterday"}, "taken_at"),
        (lambda: {"data": jpeg(), "client_id": "x"}, "client_id"),
    ],
)
def test_refusals_write_nothing(app, client, world, sec, make, field_or_code):
    m = plan(world)
    kwargs = make()
    r = upload(client, sec, m.id, kwargs.pop("data"), **kwargs)
    assert r.status_code == 422, r.json
    error = r.json["error"]
    assert error["code"] == field_or_code or field_or_code in (error.get("fields") or {}), error
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    assert _stored_files(app) == 0


def test_a_missing_file_names_the_field(client, world, sec):
    m = plan(world)
    r = client.post(
        f"/api/meetings/{m.id}/photos",
        data={"client_id": "abcdefgh12"},
        headers=sec,
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "file" in r.json["error"]["fields"]


def test_an_oversized_upload_is_413_in_the_envelope(app, client, world, sec):
    m = plan(world)
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    r = upload(client, sec, m.id, jpeg(size=(1600, 1200)) + b"\0" * 60_000)
    assert r.status_code == 413 and r.json["error"]["code"]


def test_who_may_upload(client, world, login_as):
    m = plan(world, host_id=world.member_v1.id)
    for outsider in (world.sec_v2, world.town_a2_admin, world.county_b_admin, world.member_v2):
        r = upload(client, login_as(outsider), m.id, jpeg())
        assert r.status_code == 404 and set(r.json) == {"error"}, outsider.name
    assert upload(client, login_as(world.member_v1), m.id, jpeg(1)).status_code == 201  # the host
    other = plan(world)
    assert upload(client, login_as(world.member_v1), other.id, jpeg(2)).status_code == 403  # not host there
    assert upload(client, login_as(world.town_a1_admin), other.id, jpeg(3)).status_code == 201
    assert db.session.scalar(select(func.count(Evidence.id))) == 2


def test_a_submitted_record_takes_no_new_photo_but_answers_a_retry(client, world, sec):
    m = plan(world)
    first = upload(client, sec, m.id, jpeg(1), client_id="before-submit")
    assert client.post(f"/api/meetings/{m.id}/held", json={}, headers=sec).status_code == 200
    assert client.post(f"/api/meetings/{m.id}/submit", json={}, headers=sec).status_code == 200
    late = upload(client, sec, m.id, jpeg(2))
    assert late.status_code == 409 and late.json["error"]["code"] == "frozen"
    retry = upload(client, sec, m.id, jpeg(1), client_id="before-submit")
    assert retry.status_code == 200 and retry.json["id"] == first.json["id"]


def test_signed_urls_serve_the_copies_without_a_login(client, world, sec):
    m = plan(world)
    r = upload(
        client, sec, m.id, jpeg(exif=images.camera_exif(taken_at=local_naive(utcnow()), lat=VENUE[0], lng=VENUE[1]))
    )
    urls = r.json["urls"]
    assert set(urls) == {"thumb", "display", "watermarked"}  # the original (with its EXIF GPS) is never linked
    for url in urls.values():
        got = client.get(url)
        assert got.status_code == 200 and got.mimetype == "image/jpeg"
        assert got.data[:3] == b"\xff\xd8\xff" and b"Exif" not in got.data[:200]
    tampered = urls["thumb"][:-3] + ("aaa" if not urls["thumb"].endswith("aaa") else "bbb")
    assert client.get(tampered).status_code == 404
    detail = client.get(f"/api/meetings/{m.id}", headers=sec).json
    assert detail["photo_count"] == 1 and detail["photos"][0]["id"] == r.json["id"]


def test_concurrent_retries_of_one_upload_store_it_once(app, world, login_as, live_server):
    """A phone on a flaky network fires the same upload several times at once: one photo, every answer names it."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    url = f"{live_server.base_url}/api/meetings/{plan(world).id}/photos"
    headers = login_as(world.sec_v1)
    data = jpeg(5, size=(1600, 1200))
    form = {"client_id": "burst-0000001", "taken_at": utcnow().isoformat()}

    def send(_):
        r = requests.post(url, data=form, files={"file": ("p.jpg", data, "image/jpeg")}, headers=headers, timeout=30)
        return r.status_code, r.json().get("id")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Evidence.id))) == 1
    stored = db.session.scalar(select(Evidence.id))
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201], answers
    assert {photo_id for _, photo_id in answers} == {stored}

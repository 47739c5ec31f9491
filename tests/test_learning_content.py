"""Learning content: channels, courses, lessons, audiences, media, and who may see or publish what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models import AuditEntry, ChannelKind, Course, CourseTrack, LessonKind, PartyStatus, db
from models.base import utcnow
from services import learning_content as content
from services import learning_lessons as lessons
from services import learning_points as points
from services.authz import SYSTEM, Actor

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200
PDF = b"%PDF-1.4\n" + b"x" * 100
ARTICLE = "学习贯彻党的二十大精神。" * 40


@pytest.fixture(autouse=True)
def point_rules(app):
    points.ensure_default_rules()
    db.session.commit()


def make_channel(code="academy", kind=ChannelKind.ACADEMY, org=None, **extra):
    org_id = org.id if org else None
    if org_id is None:
        from sqlalchemy import select

        from models import Organisation

        org_id = db.session.scalar(select(Organisation.id).where(Organisation.parent_id.is_(None)))
    channel = content.create_channel(
        SYSTEM, {"code": code, "name": "网络学院", "kind": kind, "org_id": org_id, **extra}
    )
    db.session.commit()
    return channel


def make_course(
    world,
    *,
    admin=None,
    audience=None,
    kind=LessonKind.ARTICLE,
    duration_s=None,
    track=CourseTrack.ELECTIVE,
    deadline=None,
    publish=True,
    channel=None,
    title="党章学习",
) -> Course:
    """A course of town A1's department (by default for member v1's branch), with one lesson, published."""
    actor = Actor(admin or world.town_a1_admin)
    channel = channel or make_channel(code=f"ch{db.session.query(Course).count() + 1}x")
    data = {"channel_id": channel.id, "title": title, "track": track, "deadline": deadline}
    data["audience"] = audience if audience is not None else [{"org_id": world.v1.id}]
    course = content.create_course(actor, data)
    lesson_data = {"title": "第一课", "kind": kind, "duration_s": duration_s}
    if kind == LessonKind.ARTICLE:
        lesson_data["body"] = ARTICLE
    lesson = lessons.add_lesson(actor, course, lesson_data)
    if kind != LessonKind.ARTICLE:
        import io

        lessons.store_media(actor, lesson, io.BytesIO(MP4 if kind.timed else PDF))
    if publish:
        content.publish_course(actor, course)
    db.session.commit()
    return course


def course_ids(client, headers, **query) -> list[int]:
    r = client.get("/api/learning/courses", query_string=query, headers=headers)
    assert r.status_code == 200, r.json
    return [c["id"] for c in r.json["items"]]


# ---------------------------------------------------------------- channels


def test_campaign_needs_dates_and_a_department(client, world, login_as):
    h = login_as(world.city_admin)
    body = {"code": "theme2026", "name": "主题教育", "kind": "campaign"}
    r = client.post("/api/learning/channels", json=body, headers=h)
    assert r.status_code == 422 and "starts_on" in r.json["error"]["fields"]
    body |= {"starts_on": "2026-12-01", "ends_on": "2026-11-01"}
    r = client.post("/api/learning/channels", json=body, headers=h)
    assert r.status_code == 422 and "ends_on" in r.json["error"]["fields"]
    body["ends_on"] = "2027-03-31"
    r = client.post("/api/learning/channels", json=body, headers=h)
    assert r.status_code == 201 and r.json["kind_label"] == "主题教育" and r.json["org_id"] == world.city.id
    r = client.post("/api/learning/channels", json=body, headers=h)
    assert r.status_code == 409 and r.json["error"]["fields"] == {"code": ["频道代码已存在"]}
    for who in (world.sec_v1, world.member_v1):
        r = client.post("/api/learning/channels", json=body | {"code": "other"}, headers=login_as(who))
        assert r.status_code == 403
    assert client.get("/api/learning/channels", headers=login_as(world.member_v4)).json["items"][0]["code"] == (
        "theme2026"
    )


def test_channel_is_changed_only_from_its_department_or_above(client, world, login_as):
    channel = content.create_channel(
        Actor(world.town_a1_admin), {"code": "a1", "name": "甲一镇学堂", "kind": ChannelKind.ACADEMY}
    )
    db.session.commit()
    url = f"/api/learning/channels/{channel.id}"
    for who in (world.town_a2_admin, world.county_b_admin, world.sec_v1, world.member_v1):
        assert client.patch(url, json={"name": "改"}, headers=login_as(who)).status_code == 403
    r = client.patch(url, json={"name": "甲一镇网络学院"}, headers=login_as(world.county_a_admin))
    assert r.status_code == 200 and r.json["name"] == "甲一镇网络学院"
    assert db.session.query(AuditEntry).filter_by(action="learning.channel.update").count() == 1


# ---------------------------------------------------------------- audience


def test_members_see_what_is_meant_for_them(client, world, login_as):
    for_v1 = make_course(world)
    for_town = make_course(world, audience=[{"org_id": world.town_a1.id}], title="全镇选修")
    for_city = make_course(
        world,
        admin=world.city_admin,
        audience=[{"org_id": world.city.id}],
        title="全市必修",
        track=CourseTrack.COMPULSORY,
        deadline=utcnow() + timedelta(days=30),
    )
    draft = make_course(world, publish=False)
    assert course_ids(client, login_as(world.member_v1)) == [for_city.id, for_town.id, for_v1.id]
    assert course_ids(client, login_as(world.member_v2)) == [for_city.id, for_town.id]
    assert course_ids(client, login_as(world.member_v4)) == [for_city.id]
    assert course_ids(client, login_as(world.member_v1), track="compulsory") == [for_city.id]
    r = client.get(f"/api/learning/courses/{for_v1.id}", headers=login_as(world.member_v1))
    assert r.status_code == 200 and r.json["lessons"][0]["progress"]["completed"] is False
    assert r.json["audience"] is None and r.json["can"] == {"manage": False}
    for cid in (for_v1.id, draft.id):
        r = client.get(f"/api/learning/courses/{cid}", headers=login_as(world.member_v2))
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_audience_by_member_category(client, world, login_as):
    world.member_v2.party_status = PartyStatus.PROBATIONARY
    db.session.commit()
    course = make_course(world, audience=[{"org_id": world.town_a1.id, "category": "probationary"}])
    assert course_ids(client, login_as(world.member_v2)) == [course.id]
    assert course_ids(client, login_as(world.member_v1)) == []


def test_campaign_courses_wait_for_the_campaign_to_start(client, world, login_as):
    later = make_channel(
        "later", ChannelKind.CAMPAIGN, starts_on=date.today() + timedelta(days=3), ends_on=date.today() + timedelta(60)
    )
    course = make_course(world, channel=later)
    assert course_ids(client, login_as(world.member_v1)) == []
    later.starts_on = date.today() - timedelta(days=1)
    db.session.commit()
    assert course_ids(client, login_as(world.member_v1)) == [course.id]


def test_withdrawn_course_disappears_and_can_be_published_again(client, world, login_as):
    course = make_course(world)
    admin, member = login_as(world.town_a1_admin), login_as(world.member_v1)
    r = client.post(f"/api/learning/courses/{course.id}/withdraw", headers=admin)
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    assert client.get(f"/api/learning/courses/{course.id}", headers=member).status_code == 404
    assert client.post(f"/api/learning/courses/{course.id}/withdraw", headers=admin).status_code == 409
    assert client.post(f"/api/learning/courses/{course.id}/publish", headers=admin).status_code == 200
    assert course_ids(client, member) == [course.id]


# ---------------------------------------------------------------- publishing


def test_publisher_stays_within_its_subtree(client, world, login_as):
    channel = make_channel()
    h = login_as(world.town_a1_admin)
    body = {"channel_id": channel.id, "title": "越界课程"}
    r = client.post("/api/learning/courses", json=body | {"audience": [{"org_id": world.v3.id}]}, headers=h)
    assert r.status_code == 422 and "audience.0.org_id" in r.json["error"]["fields"]
    r = client.post("/api/learning/courses", json=body | {"owner_org_id": world.county_a.id}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"owner_org_id": ["只能选择本级及下级组织"]}
    r = client.post(
        "/api/learning/courses",
        json=body | {"owner_org_id": world.v1.id, "audience": [{"org_id": world.v2.id}]},
        headers=h,
    )
    assert r.status_code == 422 and r.json["error"]["fields"] == {"audience.0.org_id": ["应在发布组织范围内"]}
    for who in (world.sec_v1, world.member_v1):
        assert client.post("/api/learning/courses", json=body, headers=login_as(who)).status_code == 403
    r = client.post("/api/learning/courses", json=body, headers=h)
    assert r.status_code == 201 and r.json["status"] == "draft"
    assert r.json["audience"] == [
        {"org_id": world.town_a1.id, "org_name": "甲一镇党委", "category": None, "category_label": "全体党员"}
    ]
    assert db.session.query(AuditEntry).filter_by(action="learning.course.create").count() == 1


def test_compulsory_needs_a_deadline(client, world, login_as):
    channel = make_channel()
    h = login_as(world.town_a1_admin)
    body = {"channel_id": channel.id, "title": "必修", "track": "compulsory"}
    r = client.post("/api/learning/courses", json=body, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"deadline": ["必修课程须设置完成期限"]}
    r = client.post("/api/learning/courses", json=body | {"deadline": "2027-01-31T23:59:00+08:00"}, headers=h)
    assert r.status_code == 201 and r.json["deadline"] == "2027-01-31T23:59:00+08:00"


def test_publish_needs_lessons_with_their_files(client, world, login_as):
    course = make_course(world, kind=LessonKind.VIDEO, duration_s=600, publish=False)
    h = login_as(world.town_a1_admin)
    r = client.post(
        f"/api/learning/courses/{course.id}/lessons",
        json={"title": "课件", "kind": "slides", "duration_s": 300},
        headers=h,
    )
    assert r.status_code == 201 and r.json["has_media"] is False
    slides_id = r.json["id"]
    r = client.post(f"/api/learning/courses/{course.id}/publish", headers=h)
    assert r.status_code == 422 and "课件" in r.json["error"]["message"]
    import io

    bad = {"file": (io.BytesIO(MP4), "slides.pdf")}
    r = client.put(f"/api/learning/lessons/{slides_id}/media", data=bad, headers=h, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["error"]["fields"] == {"file": ["应为 pdf 文件"]}
    good = {"file": (io.BytesIO(PDF), "slides.pdf")}
    r = client.put(f"/api/learning/lessons/{slides_id}/media", data=good, headers=h, content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["has_media"] is True and r.json["media_type"] == "application/pdf"
    assert client.post(f"/api/learning/courses/{course.id}/publish", headers=h).status_code == 200
    r = client.get(f"/api/learning/lessons/{slides_id}", headers=login_as(world.member_v1))
    assert r.status_code == 200
    media = client.get(r.json["media_url"])
    assert media.status_code == 200 and media.data == PDF and media.mimetype == "application/pdf"
    assert client.get(r.json["media_url"] + "x").status_code == 404


def test_article_needs_text_and_gets_a_reading_time(client, world, login_as):
    course = make_course(world, publish=False)
    h = login_as(world.town_a1_admin)
    url = f"/api/learning/courses/{course.id}/lessons"
    r = client.post(url, json={"title": "空", "kind": "article"}, headers=h)
    assert r.status_code == 422 and "body" in r.json["error"]["fields"]
    r = client.post(url, json={"title": "视频", "kind": "video"}, headers=h)
    assert r.status_code == 422 and "duration_s" in r.json["error"]["fields"]
    r = client.post(url, json={"title": "短文", "kind": "article", "body": "字" * 800}, headers=h)
    assert r.status_code == 201 and r.json["duration_s"] == 120 and r.json["body"] == "字" * 800


def test_managed_list_is_the_subtree(client, world, login_as):
    mine = make_course(world)
    other = make_course(world, admin=world.town_a2_admin, audience=[{"org_id": world.v3.id}])
    ids = lambda who: [c["id"] for c in client.get("/api/learning/manage/courses", headers=login_as(who)).json["items"]]  # noqa: E731
    assert ids(world.town_a1_admin) == [mine.id]
    assert ids(world.county_a_admin) == [other.id, mine.id]
    assert ids(world.county_b_admin) == []
    assert client.get("/api/learning/manage/courses", headers=login_as(world.member_v1)).status_code == 403


# ---------------------------------------------------------------- scope matrix

OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v2"]


def _entry_of(world):
    grant = points.grant(world.member_v1, "login", unique_key="login-test", source_type="login")
    db.session.commit()
    return grant.entry.id


ENDPOINTS = [
    ("course detail", "get", lambda w, c, lid: f"/api/learning/courses/{c}", None),
    ("course update", "patch", lambda w, c, lid: f"/api/learning/courses/{c}", {"title": "改"}),
    ("course publish", "post", lambda w, c, lid: f"/api/learning/courses/{c}/publish", None),
    ("course withdraw", "post", lambda w, c, lid: f"/api/learning/courses/{c}/withdraw", None),
    (
        "lesson add",
        "post",
        lambda w, c, lid: f"/api/learning/courses/{c}/lessons",
        {"title": "新课", "kind": "article", "body": "正文"},
    ),
    ("lesson detail", "get", lambda w, c, lid: f"/api/learning/lessons/{lid}", None),
    ("lesson start", "post", lambda w, c, lid: f"/api/learning/lessons/{lid}/start", {}),
    ("proxy start", "post", lambda w, c, lid: f"/api/learning/lessons/{lid}/start", "member_v1"),
    ("member ledger", "get", lambda w, c, lid: f"/api/learning/points/members/{w.member_v1.id}/ledger", None),
    (
        "correction",
        "post",
        lambda w, c, lid: f"/api/learning/points/entries/{_entry_of(w)}/corrections",
        {"points": -1, "note": "误记"},
    ),
]


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("name,method,url,body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_outsiders_get_404(client, world, login_as, who, name, method, url, body):
    course = make_course(world)
    if body == "member_v1":
        body = {"member_id": world.member_v1.id}
    r = getattr(client, method)(
        url(world, course.id, course.lessons[0].id), json=body, headers=login_as(getattr(world, who))
    )
    assert r.status_code == 404, (name, who, r.json)
    assert r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("name,method,url,body", ENDPOINTS[1:5], ids=[e[0] for e in ENDPOINTS[1:5]])
def test_a_learner_may_not_manage(client, world, login_as, name, method, url, body):
    course = make_course(world)
    r = getattr(client, method)(
        url(world, course.id, course.lessons[0].id), json=body, headers=login_as(world.member_v1)
    )
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_media_upload_by_outsiders(client, world, login_as):
    import io

    course = make_course(world, kind=LessonKind.VIDEO, duration_s=300)
    url = f"/api/learning/lessons/{course.lessons[0].id}/media"
    for who in OUTSIDERS:
        data = {"file": (io.BytesIO(MP4), "v.mp4")}
        r = client.put(url, data=data, headers=login_as(getattr(world, who)), content_type="multipart/form-data")
        assert r.status_code == 404, who
    data = {"file": (io.BytesIO(MP4), "v.mp4")}
    r = client.put(url, data=data, headers=login_as(world.member_v1), content_type="multipart/form-data")
    assert r.status_code == 403
    data = {"file": (io.BytesIO(MP4), "v.mp4")}
    r = client.put(url, data=data, headers=login_as(world.county_a_admin), content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["media_type"] == "video/mp4"


def test_unfinished_compulsory_courses_are_due_on_the_home_page(client, world, login_as):
    course = make_course(
        world, track=CourseTrack.COMPULSORY, deadline=utcnow() + timedelta(days=1), title="党纪学习教育"
    )
    make_course(world, title="选修不提醒")
    r = client.get("/api/home", headers=login_as(world.member_v1))
    assert r.status_code == 200, r.json
    [item] = [d for d in r.json["due"] if d["key"].startswith("learning_course_")]
    assert item["key"] == f"learning_course_{course.id}" and item["title"] == "必修课程：党纪学习教育"
    assert item["level"] == "warning" and item["detail"] == "已完成0/1个课时"
    r = client.get("/api/home", headers=login_as(world.member_v4))
    assert not [d for d in r.json["due"] if d["key"].startswith("learning_course_")]

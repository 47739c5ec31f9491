"""Completion of compulsory courses per organisation: grouped statements checked against a brute-force count on
generated data (random audiences, categories, lessons and completions), the member list of one branch, the .xlsx
exports, and scope (outsiders get 404 and learn nothing)."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import (
    AccountStatus,
    AuditEntry,
    ChannelKind,
    Course,
    CourseAudience,
    CourseStatus,
    CourseTrack,
    LearningChannel,
    Lesson,
    LessonKind,
    LessonProgress,
    Member,
    MemberCategory,
    Organisation,
    PartyStatus,
    db,
)
from models.base import utcnow
from services import learning_stats as stats
from services.authz import SYSTEM, Actor
from tests.factories import member

NOW = None  # set per test: the instant the statistics are computed at


def channel(world, active=True) -> LearningChannel:
    ch = LearningChannel(
        code=f"c{random.randrange(10**9)}",
        name="网络学院",
        kind=ChannelKind.ACADEMY,
        org_id=world.city.id,
        active=active,
    )
    db.session.add(ch)
    db.session.flush()
    return ch


def course(world, ch, audience, *, lessons=2, deadline=None, track=CourseTrack.COMPULSORY, status=None, title="必修课"):
    c = Course(
        channel_id=ch.id,
        title=title,
        owner_org_id=world.city.id,
        track=track,
        deadline=deadline or utcnow() + timedelta(days=5),
        status=status or CourseStatus.PUBLISHED,
    )
    c.audiences = [CourseAudience(org_id=o.id, category=cat) for o, cat in audience]
    c.lessons = [
        Lesson(title=f"第{i + 1}课", kind=LessonKind.ARTICLE, body="正文", duration_s=60) for i in range(lessons)
    ]
    db.session.add(c)
    db.session.flush()
    return c


def complete(m, c, n=None, at=None):
    """Marks the first `n` lessons (default: all) of course `c` completed by member `m` at `at`."""
    for lesson in c.lessons[: len(c.lessons) if n is None else n]:
        db.session.add(
            LessonProgress(
                member_id=m.id, lesson_id=lesson.id, course_id=c.id, credited_s=60, completed_at=at or utcnow()
            )
        )
    db.session.flush()


def row_of(out, org):
    return next(r for r in out["rows"] if r["org"]["id"] == org.id)


# ---------------------------------------------------------------- a small case by hand


def test_counts_by_hand(app, world):
    now = utcnow()
    ch = channel(world)
    early = course(world, ch, [(world.town_a1, None)], deadline=now - timedelta(days=1), title="已到期")
    later = course(world, ch, [(world.county_a, MemberCategory.PROBATIONARY)], deadline=now + timedelta(days=3))
    course(world, ch, [(world.town_a1, None)], track=CourseTrack.ELECTIVE, deadline=None)  # not counted
    course(world, ch, [(world.town_a1, None)], status=CourseStatus.DRAFT)  # not counted
    prob = member(world.v2, "预备党员", party_status=PartyStatus.PROBATIONARY)
    complete(world.member_v1, early, at=now - timedelta(days=2))  # on time
    complete(world.sec_v1, early, at=now - timedelta(hours=1))  # completed late
    complete(world.member_v2, early, n=1)  # half: overdue
    complete(prob, later)
    db.session.commit()

    out = stats.completion(Actor(world.town_a1_admin), now=now)
    assert [c["id"] for c in out["courses"]] == [early.id, later.id]
    v1, v2 = row_of(out, world.v1), row_of(out, world.v2)
    assert v1["courses"][0] == {
        "course_id": early.id,
        "members": 2,
        "completed": 2,
        "on_time": 1,
        "overdue": 0,
        "rate": 100.0,
    }
    # v2: secretary, member, probationary member for `early`; only the probationary one for `later`.
    assert (v2["courses"][0]["members"], v2["courses"][0]["completed"], v2["courses"][0]["overdue"]) == (3, 0, 3)
    assert v2["courses"][1] == {
        "course_id": later.id,
        "members": 1,
        "completed": 1,
        "on_time": 1,
        "overdue": 0,
        "rate": 100.0,
    }
    assert v2["total"]["members"] == 4 and v2["total"]["rate"] == 25.0
    # the township's own agency branch: its admin is in the audience of `early`
    agency = row_of(out, world.town_a1_agency)
    assert agency["courses"][0]["members"] == 1 and agency["courses"][1]["members"] == 0
    assert out["rows"][0]["self"] and out["rows"][0]["total"]["members"] == 0
    assert out["subtree"]["total"]["members"] == 2 + 4 + 1
    # a disabled account drops out
    db.session.get(Member, world.member_v1.id).status = AccountStatus.DISABLED
    db.session.commit()
    v1 = row_of(stats.completion(Actor(world.town_a1_admin), now=now), world.v1)
    assert v1["courses"][0]["members"] == 1 and v1["courses"][0]["on_time"] == 0


# ---------------------------------------------------------------- brute force on generated data


def _brute(world, root, now, course_id=None):
    orgs = {o.id: o for o in db.session.scalars(select(Organisation))}
    root_path = root.path
    ancestors = set(root.ancestor_ids)
    members = [m for m in db.session.scalars(select(Member)) if m.status == AccountStatus.ACTIVE]
    lessons = dict(db.session.execute(select(Lesson.course_id, func.count()).group_by(Lesson.course_id)).all())
    done: dict[tuple[int, int], list] = {}
    for p in db.session.scalars(select(LessonProgress).where(LessonProgress.completed_at.isnot(None))):
        done.setdefault((p.member_id, p.course_id), []).append(p.completed_at)
    counted = []
    for c in db.session.scalars(select(Course).order_by(Course.deadline, Course.id)):
        ch = db.session.get(LearningChannel, c.channel_id)
        if c.track != CourseTrack.COMPULSORY or c.status != CourseStatus.PUBLISHED or not ch.active:
            continue
        if not any(a.org_id in ancestors or orgs[a.org_id].path.startswith(root_path) for a in c.audiences):
            continue
        if course_id is not None and c.id != course_id:
            continue
        counted.append(c)
    rows: dict[tuple[int, int], dict] = {}
    for c in counted:
        for m in members:
            path = orgs[m.org_id].path
            if not path.startswith(root_path):
                continue
            cats = {MemberCategory(m.party_status.value)} | ({MemberCategory.FLOATING} if m.is_floating else set())
            if not any(
                path.startswith(orgs[a.org_id].path) and (a.category is None or a.category in cats) for a in c.audiences
            ):
                continue
            bucket = 0 if m.org_id == root.id else int(path[len(root_path) :].split("/")[0])
            times = done.get((m.id, c.id), [])
            finished = len(times) >= lessons[c.id]
            cell = rows.setdefault((bucket, c.id), {"members": 0, "completed": 0, "on_time": 0, "overdue": 0})
            cell["members"] += 1
            cell["completed"] += finished
            cell["on_time"] += finished and max(times) <= c.deadline
            cell["overdue"] += not finished and c.deadline < now
    return [c.id for c in counted], rows


def _generate(world, rng):
    now = utcnow()
    places = [world.v1, world.v2, world.v3, world.v4, world.town_a1_agency, world.county_a_agency]
    people = []
    for i in range(40):
        status = rng.choice([PartyStatus.FULL, PartyStatus.FULL, PartyStatus.PROBATIONARY])
        m = member(rng.choice(places), f"党员{i}", party_status=status, password=None)
        m.is_floating = rng.random() < 0.2
        if rng.random() < 0.05:
            m.status = AccountStatus.DISABLED
        people.append(m)
    people += [world.member_v1, world.member_v2, world.member_v3, world.member_v4, world.sec_v1, world.sec_v2]
    targets = [world.city, world.county_a, world.county_b, world.town_a1, world.town_a2, world.v1, world.v3]
    ch, off = channel(world), channel(world, active=False)
    courses = []
    for i in range(7):
        audience = {(rng.choice(targets), rng.choice([None, None, *MemberCategory])) for _ in range(rng.randint(1, 3))}
        track = CourseTrack.ELECTIVE if i == 6 else CourseTrack.COMPULSORY
        deadline = now + timedelta(hours=rng.randint(-240, 240))
        courses.append(
            course(
                world,
                off if i == 5 else ch,
                sorted(audience, key=lambda t: (t[0].id, t[1] or "")),
                lessons=rng.randint(1, 3),
                deadline=deadline,
                track=track,
            )
        )
    for m in people:
        for c in courses:
            if rng.random() < 0.6:
                n = rng.randint(0, len(c.lessons))
                complete(m, c, n, at=now - timedelta(hours=rng.randint(0, 480)))
    db.session.commit()
    return now


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_brute_force(app, world, seed):
    rng = random.Random(seed)
    now = _generate(world, rng)
    for root in (world.city, world.county_a, world.town_a1, world.v1, world.county_b):
        ids, expected = _brute(world, root, now)
        out = stats.completion(SYSTEM, root.id, now=now)
        assert [c["id"] for c in out["courses"]] == ids
        got = {}
        for r in out["rows"]:
            bucket = 0 if r["self"] else r["org"]["id"]
            for cell in r["courses"]:
                if cell["members"]:
                    got[bucket, cell["course_id"]] = {
                        k: cell[k] for k in ("members", "completed", "on_time", "overdue")
                    }
        assert got == {k: v for k, v in expected.items() if v["members"]}, root.name
        total = sum(v["members"] for v in expected.values())
        assert out["subtree"]["total"]["members"] == total
    one = ids[0] if (ids := _brute(world, world.city, now)[0]) else None
    if one:
        _, expected = _brute(world, world.city, now, one)
        out = stats.completion(SYSTEM, world.city.id, one, now=now)
        assert [c["id"] for c in out["courses"]] == [one]
        assert out["subtree"]["total"]["members"] == sum(v["members"] for v in expected.values())


@pytest.mark.parametrize("seed", [4, 5])
def test_branch_members_match_brute_force(app, world, seed):
    now = _generate(world, random.Random(seed))
    ids, expected = _brute(world, world.v1, now)
    out = stats.branch_members(SYSTEM, world.v1.id, only_incomplete=False, now=now)
    per_course: dict[int, dict] = {}
    for item in out["items"]:
        cell = per_course.setdefault(item["course"]["id"], {"members": 0, "completed": 0, "on_time": 0, "overdue": 0})
        cell["members"] += 1
        cell["completed"] += item["state"] == "completed"
        cell["on_time"] += item["on_time"]
        cell["overdue"] += item["overdue"]
        assert (item["state"] == "completed") == (item["lessons_done"] == item["lesson_count"])
    assert per_course == {c: v for (b, c), v in expected.items() if b == 0}
    incomplete = stats.branch_members(SYSTEM, world.v1.id, now=now)["items"]
    assert len(incomplete) == sum(v["members"] - v["completed"] for (b, _c), v in expected.items() if b == 0)
    assert all(i["state"] != "completed" and i["completed_at"] is None for i in incomplete)


# ---------------------------------------------------------------- over HTTP, the exports, scope


@pytest.fixture
def setup(world):
    ch = channel(world)
    c = course(world, ch, [(world.town_a1, None)], deadline=utcnow() - timedelta(days=1), title="=HYPERLINK(1)")
    complete(world.member_v1, c)
    db.session.commit()
    return c


def test_over_http(client, world, login_as, setup):
    h = login_as(world.town_a1_admin)
    r = client.get("/api/learning/stats/completion", headers=h)
    assert r.status_code == 200, r.json
    assert r.json["org"]["id"] == world.town_a1.id
    assert row_of(r.json, world.v1)["courses"][0]["completed"] == 1
    r = client.get(f"/api/learning/stats/completion/members?org_id={world.v1.id}", headers=h)
    assert [i["member"]["id"] for i in r.json["items"]] == [world.sec_v1.id]
    assert r.json["items"][0]["state"] == "not_started" and r.json["items"][0]["overdue"] is True
    r = client.get(f"/api/learning/stats/completion/members?org_id={world.v1.id}&status=all", headers=h)
    assert len(r.json["items"]) == 2
    r = client.get(f"/api/learning/stats/completion/members?org_id={world.town_a1.id}", headers=h)
    assert r.status_code == 422 and "org_id" in r.json["error"]["fields"]
    r = client.get(f"/api/learning/stats/completion?course_id={setup.id + 99}", headers=h)
    assert r.status_code == 404
    # a secretary reads its own branch
    r = client.get(f"/api/learning/stats/completion/members?org_id={world.v1.id}", headers=login_as(world.sec_v1))
    assert r.status_code == 200 and len(r.json["items"]) == 1


def _sheet(r):
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.data)).worksheets[0]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    return list(ws.iter_rows(values_only=True))


def test_xlsx_exports(client, world, login_as, setup):
    h = login_as(world.town_a1_admin)
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    rows = _sheet(client.get("/api/learning/stats/completion?format=xlsx", headers=h))
    assert rows[0][:4] == ("组织", "课程", "完成期限", "应学人数")
    v1 = next(r for r in rows if r[0] == "一村党支部")
    assert v1[1] == "'=HYPERLINK(1)" and v1[3:] == (2, 1, 0, 1, 50)  # completed after the deadline: late
    assert rows[-1][0] == "甲一镇党委（合计）"
    rows = _sheet(client.get(f"/api/learning/stats/completion/members?org_id={world.v1.id}&format=xlsx", headers=h))
    assert rows[0][0] == "姓名" and [r[0] for r in rows[1:]] == ["一村书记"]
    db.session.rollback()
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id).offset(before)).all()
    assert actions == ["learning.stats.export", "learning.stats.members_export"]


OUTSIDERS = ["sec_v2", "town_a2_admin", "county_b_admin", "member_v1", "member_v2"]
ENDPOINTS = [
    ("completion", lambda w: f"/api/learning/stats/completion?org_id={w.town_a1.id}"),
    ("completion xlsx", lambda w: f"/api/learning/stats/completion?org_id={w.town_a1.id}&format=xlsx"),
    ("completion of v1", lambda w: f"/api/learning/stats/completion?org_id={w.v1.id}"),
    ("members", lambda w: f"/api/learning/stats/completion/members?org_id={w.v1.id}"),
    ("members xlsx", lambda w: f"/api/learning/stats/completion/members?org_id={w.v1.id}&format=xlsx"),
]


@pytest.mark.parametrize("actor_name", OUTSIDERS)
@pytest.mark.parametrize("name, url", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_outsiders_get_404(client, world, login_as, setup, actor_name, name, url):
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    r = client.get(url(world), headers=login_as(getattr(world, actor_name)))
    assert r.status_code == 404, (name, actor_name, r.status_code)
    assert r.json["error"]["code"] == "not_found"
    db.session.rollback()
    # login_as writes one audit row (the login); nothing else
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before + 1


@pytest.mark.parametrize("actor_name", ["town_a1_admin", "county_a_admin", "city_admin", "super"])
@pytest.mark.parametrize("name, url", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_insiders_get_through(client, world, login_as, setup, actor_name, name, url):
    r = client.get(url(world), headers=login_as(getattr(world, actor_name)))
    assert r.status_code == 200, (name, actor_name, r.status_code, r.data[:200])

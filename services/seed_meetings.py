"""The demo city's organisational life: four months of meetings for every branch, and photo evidence with real
verdicts for the two demo villages. Called by services.seed.seed_demo after the members exist; deterministic.

Every branch gets the months before this one and this month of the monthly kinds, last and this quarter of the
quarterly kinds and this year of the yearly ones, each held with a kind-specific likelihood (so some branches fall
behind), with statuses by age: older records mostly reviewed, last month's waiting for review, this month's held
or planned. Attendance rows are written for every meeting at small scale and for the demo villages at city scale
(20 rows × 120,000 meetings would dwarf the rest of the seed). The photos of the demo villages go through the
real upload path (services.meetings.add_photo), so their flags — outside the venue, outside the meeting time,
EXIF disagreeing, reused by the neighbouring village, uploaded late — are the pipeline's own verdicts.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from models import (
    AbsenceReason,
    AttendanceStatus,
    Cadence,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    MeetingStatus,
    Member,
    Organisation,
    OrgKind,
    Review,
    ReviewDecision,
    Role,
    db,
)
from models.base import utcnow
from services import demo_images, meeting_tallies
from services.authz import Actor
from services.coords import to_gcj02, to_wgs84
from services.evidence import Capture
from services.meetings import add_photo, period_of

SEED = 20261126
BATCH = 5000
# Likelihood that a branch held a kind in a period that has ended (the running period: about half of it).
HELD_SHARE = {
    "branch_committee": 0.93,
    "theme_day": 0.9,
    "party_group": 0.78,
    "branch_general": 0.9,
    "party_lecture": 0.85,
    "org_life": 0.55,
    "member_appraisal": 0.45,
}
TOPICS = (
    "学习贯彻党的二十届四中全会精神",
    "研究村集体经济发展项目",
    "讨论秋收秋种和防汛工作",
    "学习《中国共产党章程》",
    "研究发展党员和入党积极分子培养",
    "部署人居环境整治",
    "通报三务公开情况",
    "研究困难党员和群众走访慰问",
)
S = MeetingStatus
STATUS_SHARES = (  # (status, cumulative share) by age: over 45 days, over 12 days, recent
    ((S.REVIEWED, 0.88), (S.RETURNED, 0.93), (S.SUBMITTED, 1.0)),
    ((S.REVIEWED, 0.45), (S.SUBMITTED, 0.9), (S.HELD, 1.0)),
    ((S.HELD, 0.7), (S.SUBMITTED, 1.0)),
)
RETURN_REASONS = ("请补充会议现场照片", "会议记录过于简略，请补充讨论内容", "参会人员签到不完整")


def seed_meetings(demo_villages: tuple[int, int], full_attendance: bool) -> dict:
    """Writes the meetings, attendance and reviews (bulk), then the demo villages' photos. Returns counts."""
    kinds = {k.code: k for k in db.session.scalars(select(MeetingKind).where(MeetingKind.active.is_(True)))}
    kinds = {code: k for code, k in kinds.items() if code in HELD_SHARE}
    if not kinds:
        return {"meetings": 0, "photos": 0}  # a database built without the migrations has no kinds
    rng = random.Random(SEED)
    now = utcnow()
    zone = current_app.config["SETTINGS"].zone
    branches = db.session.execute(
        select(Organisation.id, Organisation.path, Organisation.venue_lat, Organisation.venue_lng)
        .add_columns(Organisation.venue_coord_sys, Organisation.secretary_id)
        .where(Organisation.kind.in_((OrgKind.BRANCH, OrgKind.JOINT_BRANCH)), Organisation.active.is_(True))
        .order_by(Organisation.id)
    ).all()
    reviewers = _reviewers()
    next_id = (db.session.scalar(select(func.max(Meeting.id))) or 0) + 1
    meetings, reviews = [], []
    for branch in branches:
        if branch.secretary_id is None:
            continue
        for kind, start in _schedule(kinds, rng, now.astimezone(zone)):
            row = _meeting_row(next_id, branch, kind, start, rng, now)
            meetings.append(row)
            reviews.extend(_review_rows(row, rng, _reviewer_of(reviewers, branch.path)))
            next_id += 1
    _insert_all(Meeting, meetings)
    _insert_all(Review, reviews)
    wanted = None if full_attendance else set(demo_villages)
    attendees = _attendance_rows([m for m in meetings if wanted is None or m["org_id"] in wanted], rng)
    _insert_all(MeetingAttendee, attendees)
    meeting_tallies.rebuild()  # the bulk insert bypassed the flushes that keep the statistics' tallies
    db.session.commit()
    photos = _demo_photos(demo_villages, now)
    db.session.commit()
    return {"meetings": len(meetings), "attendance": len(attendees), "reviews": len(reviews), "photos": photos}


PERIOD_MONTHS = {Cadence.MONTH: 1, Cadence.QUARTER: 3, Cadence.YEAR: 12}


def _schedule(kinds: dict, rng: random.Random, local_now: datetime):
    """(kind, local start) of the meetings one branch held or planned: the last three months and this one, last
    and this quarter, this year. A running period is about half done."""
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for code, kind in kinds.items():
        months = PERIOD_MONTHS[kind.cadence]
        if kind.cadence == Cadence.MONTH:
            periods = [_add_months(month_start, -k) for k in (3, 2, 1, 0)]
        elif kind.cadence == Cadence.QUARTER:
            quarter = _add_months(month_start, -((month_start.month - 1) % 3))
            periods = [_add_months(quarter, -3), quarter]
        else:
            periods = [month_start.replace(month=1)]
        for begin in periods:
            end = _add_months(begin, months)
            running = end > local_now
            if rng.random() >= HELD_SHARE[code] * (0.55 if running else 1.0):
                continue
            if kind.fixed_day and months == 1:
                start = begin.replace(day=kind.fixed_day)
            else:
                start = begin + (end - begin) * rng.uniform(0.0, 0.95)
            start = start.replace(hour=rng.choice((9, 10, 14, 15)), minute=0, second=0, microsecond=0)
            if start > local_now + timedelta(days=20):
                continue
            yield kind, start


def _add_months(d: datetime, months: int) -> datetime:
    index = d.year * 12 + d.month - 1 + months
    return d.replace(year=index // 12, month=index % 12 + 1)


def _meeting_row(meeting_id: int, branch, kind: MeetingKind, start: datetime, rng: random.Random, now) -> dict:
    starts_at = start.astimezone(now.tzinfo)
    ends_at = starts_at + timedelta(hours=rng.choice((1, 1.5, 2)))
    age_days = (now - starts_at).days
    status = _status_by_age(age_days, rng) if starts_at < now else MeetingStatus.PLANNED
    held = status != MeetingStatus.PLANNED
    submitted = status in (MeetingStatus.SUBMITTED, MeetingStatus.REVIEWED, MeetingStatus.RETURNED)
    return {
        "id": meeting_id,
        "org_id": branch.id,
        "kind_id": kind.id,
        "title": f"{start.month}月{kind.name}",
        "topic": rng.choice(TOPICS),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "period": period_of(kind.cadence, starts_at),
        "venue_name": "村级组织活动场所",
        "venue_lat": branch.venue_lat,
        "venue_lng": branch.venue_lng,
        "venue_coord_sys": branch.venue_coord_sys,
        "venue_radius_m": 200.0,
        "host_id": branch.secretary_id,
        "recorder_id": None,
        "lecturer_name": "支部书记" if kind.needs_lecturer else None,
        "minutes": "会议由支部书记主持，传达学习了上级文件精神，与会党员结合实际进行了讨论。" if held else None,
        "status": status,
        "held_recorded_at": ends_at if held else None,
        "late_entry": False,
        "submitted_at": ends_at + timedelta(days=rng.randint(1, 5)) if submitted else None,
        "reviewed_at": ends_at + timedelta(days=rng.randint(6, 12)) if status == MeetingStatus.REVIEWED else None,
        "self_score": rng.randint(80, 98) if submitted else None,
        "review_score": rng.randint(75, 96) if status == MeetingStatus.REVIEWED else None,
        "flagged": False,
        "created_by": branch.secretary_id,
        "created_at": starts_at - timedelta(days=rng.randint(2, 7)),
        "updated_at": now,
    }


def _status_by_age(age_days: int, rng: random.Random) -> MeetingStatus:
    roll = rng.random()
    if age_days > 45:
        return (
            MeetingStatus.REVIEWED
            if roll < 0.88
            else MeetingStatus.RETURNED
            if roll < 0.93
            else MeetingStatus.SUBMITTED
        )
    if age_days > 12:
        return MeetingStatus.REVIEWED if roll < 0.45 else MeetingStatus.SUBMITTED if roll < 0.9 else MeetingStatus.HELD
    return MeetingStatus.HELD if roll < 0.7 else MeetingStatus.SUBMITTED


def _reviewers() -> list[tuple[str, int]]:
    """(managed organisation's path, admin id), deepest first; the super admin last, for any branch."""
    admins = db.session.execute(
        select(Organisation.path, Member.id)
        .join(Member, Member.managed_org_id == Organisation.id)
        .where(Member.role == Role.DEPT_ADMIN)
    ).all()
    ranked = sorted(((p, i) for p, i in admins), key=lambda pair: -len(pair[0]))
    superuser = db.session.scalar(select(Member.id).where(Member.role == Role.SUPER_ADMIN).limit(1))
    return ranked + ([("/", superuser)] if superuser else [])


def _reviewer_of(reviewers: list[tuple[str, int]], branch_path: str) -> int | None:
    return next((admin for path, admin in reviewers if branch_path.startswith(path)), None)


def _review_rows(m: dict, rng: random.Random, reviewer: int | None) -> list[dict]:
    if reviewer is None or m["submitted_at"] is None:
        return []
    rows = []
    if m["status"] == MeetingStatus.RETURNED or (m["status"] == MeetingStatus.REVIEWED and rng.random() < 0.1):
        at = m["submitted_at"] + timedelta(days=2)
        rows.append(_review(m, reviewer, ReviewDecision.RETURN, rng.choice(RETURN_REASONS), None, at))
    if m["status"] == MeetingStatus.REVIEWED:
        rows.append(_review(m, reviewer, ReviewDecision.PASS, "记录完整，同意。", m["review_score"], m["reviewed_at"]))
    return rows


def _review(m: dict, reviewer: int, decision, comment, score, at) -> dict:
    return {
        "subject_type": "meeting",
        "subject_id": m["id"],
        "reviewer_id": reviewer,
        "decision": decision,
        "comment": comment,
        "score": score,
        "created_at": at,
    }


def _attendance_rows(meetings: list[dict], rng: random.Random) -> list[dict]:
    org_ids = {m["org_id"] for m in meetings}
    members: dict[int, list[int]] = {}
    for org_id, member_id in db.session.execute(
        select(Member.org_id, Member.id).where(Member.org_id.in_(org_ids)).order_by(Member.id)
    ):
        members.setdefault(org_id, []).append(member_id)
    rows = []
    for m in meetings:
        held = m["status"] != MeetingStatus.PLANNED
        for member_id in members.get(m["org_id"], []):
            row = {
                "meeting_id": m["id"],
                "member_id": member_id,
                "status": AttendanceStatus.EXPECTED,
                "absence_reason": None,
                "signed_at": None,
                "distance_m": None,
                "flags": None,
                "rating": None,
            }
            roll = rng.random()
            if held and roll < 0.86:
                row.update(
                    status=AttendanceStatus.PRESENT,
                    signed_at=m["starts_at"] + timedelta(minutes=rng.randint(-20, 10)),
                    distance_m=0.0,
                    rating=rng.choice((4, 5, 5, None)),
                )
            elif held:
                row.update(status=AttendanceStatus.ABSENT, absence_reason=rng.choice(list(AbsenceReason)))
            rows.append(row)
    return rows


def _insert_all(model, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[i : i + BATCH])


# ---------------------------------------------------------------------------------------------------------------
# Photos of the demo villages, through the real upload path


def _demo_photos(villages: tuple[int, int], now: datetime) -> int:
    """The three latest held records of each demo village get photos whose verdicts show every flag a reviewer
    meets, and wait for review, so the township's review queue shows them."""
    stored = 0
    scenes = {}
    for index, org_id in enumerate(villages):
        org = db.session.get(Organisation, org_id)
        secretary = db.session.get(Member, org.secretary_id) if org and org.secretary_id else None
        if secretary is None or org.venue_lat is None:
            continue
        recent = db.session.scalars(
            select(Meeting)
            .where(Meeting.org_id == org_id, Meeting.status != MeetingStatus.PLANNED)
            .order_by(Meeting.starts_at.desc())
            .limit(3)
        ).all()
        venue_gcj = to_gcj02(org.venue_lat, org.venue_lng, org.venue_coord_sys)
        venue_wgs = to_wgs84(org.venue_lat, org.venue_lng, org.venue_coord_sys)
        for number, meeting in enumerate(recent):
            for shot in _shots(index, number):
                seed = 100 * (index + 1) + 10 * number + shot["n"]
                if "reuse" in shot:  # the neighbour's photo, resized and recompressed on the way
                    image = scenes[shot["reuse"]].resize((1024, 768))
                else:
                    image = scenes[seed] = demo_images.scene(seed, (1280, 960))
                stored += _upload(secretary, meeting, image, shot, venue_gcj, venue_wgs, seed)
    return stored


def _shots(village: int, number: int) -> list[dict]:
    """What each demo photo is meant to show; `reuse` names the seed of an earlier scene to use again."""
    plans = {
        (0, 0): [{"n": 0, "exif": True}, {"n": 1, "purpose": "minutes"}],
        (0, 1): [{"n": 0, "offset_m": 1200}],
        (0, 2): [{"n": 0, "taken": -5}],
        (1, 0): [{"n": 0, "reuse": 100}, {"n": 1, "exif": True}],
        (1, 1): [{"n": 0, "exif": True, "exif_far": True}],
        (1, 2): [{"n": 0, "late": 6}],
    }
    return plans.get((village, number), [])


def _upload(secretary, meeting, image, shot, venue_gcj, venue_wgs, seed) -> int:
    taken = meeting.starts_at + timedelta(minutes=25) + timedelta(hours=shot.get("taken", 0))
    lat, lng = venue_gcj[0] + shot.get("offset_m", 0) / 111_000, venue_gcj[1]
    exif = None
    if shot.get("exif"):
        local = taken.astimezone(current_app.config["SETTINGS"].zone).replace(tzinfo=None)
        far = 0.06 if shot.get("exif_far") else 0.0
        exif = demo_images.camera_exif(taken_at=local, lat=venue_wgs[0] + far, lng=venue_wgs[1])
    meeting.status = MeetingStatus.HELD  # photos are taken before the record moves on
    add_photo(
        Actor(secretary),
        meeting,
        purpose=shot.get("purpose", "scene"),
        client_id=f"demo-{meeting.id}-{seed}",
        upload=demo_images.jpeg_bytes(image, exif=exif),
        declared_type="image/jpeg",
        capture=Capture(lat, lng, 12.0, "gcj02", taken),
        received_at=taken + timedelta(hours=shot.get("late", 0), minutes=3),
    )
    _await_review(meeting)
    return 1


def _await_review(meeting: Meeting) -> None:
    """Puts a demo record back in the review queue: submitted, its pass (if any) undone; a return stays history."""
    meeting.status = MeetingStatus.SUBMITTED
    meeting.submitted_at = meeting.submitted_at or meeting.ends_at + timedelta(hours=2)
    meeting.self_score = meeting.self_score or 90
    meeting.reviewed_at = meeting.review_score = None
    db.session.execute(
        delete(Review).where(
            Review.subject_type == "meeting", Review.subject_id == meeting.id, Review.decision == ReviewDecision.PASS
        )
    )

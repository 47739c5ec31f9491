"""The board's day rows (duty_days) are kept by every flush of check-ins: random inserts, changes and deletes, across
commits (expired objects), always equal a rebuild from the check-ins; a cadre whose assignment was shortened after
checking in stays on the board, never rostered."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from models import CheckinKind, CheckinResult, CheckinTiming, DutyCheckin, DutyDay, db
from models.base import utcnow
from services import duty_days, duty_roster
from tests.test_duty_support import VILLAGE, circle_fence, east, local_at, local_yesterday, make_cadre, post_checkin


def _rows() -> dict:
    return {
        (r.duty_date, r.org_id, r.member_id): tuple(getattr(r, n) for n in duty_days.COUNTED)
        for r in db.session.scalars(select(DutyDay))
        if any(getattr(r, n) for n in duty_days.COUNTED)
    }


def _new(rng, cadres, world, day0):
    cadre = rng.choice(cadres)
    now = utcnow()
    return DutyCheckin(
        member_id=cadre.id,
        org_id=rng.choice((world.v1.id, world.v2.id)),
        assignment_id=cadre.assignment_id,
        client_id=f"r-{rng.getrandbits(48):012x}",
        kind=rng.choice(list(CheckinKind)),
        latitude=VILLAGE[0],
        longitude=VILLAGE[1],
        accuracy_m=10.0,
        coord_sys="wgs84",
        wgs_lat=VILLAGE[0],
        wgs_lng=VILLAGE[1],
        read_at=now,
        received_at=now,
        duty_date=day0 + timedelta(days=rng.randint(0, 2)),
        result=rng.choice(list(CheckinResult)),
        timing=rng.choice(list(CheckinTiming)),
        flagged=rng.random() < 0.3,
        reasons={},
    )


def test_random_changes_keep_the_day_rows_equal_to_a_rebuild(world):
    rng = random.Random(41)
    cadres = []
    for i in range(3):
        cadre = make_cadre(world, f"干部{i}")
        cadre.assignment_id = duty_roster.active_assignment(cadre.id, world.v1.id, utcnow().date()).id
        cadres.append(cadre)
    day0 = utcnow().date() - timedelta(days=3)
    for step in range(40):
        rows = list(db.session.scalars(select(DutyCheckin)))
        action = rng.random()
        if action < 0.5 or not rows:
            for _ in range(rng.randint(1, 3)):
                db.session.add(_new(rng, cadres, world, day0))
        elif action < 0.85:
            row = rng.choice(rows)
            field = rng.choice(("flagged", "result", "timing", "kind", "duty_date", "org_id"))
            value = {
                "flagged": not row.flagged,
                "result": rng.choice(list(CheckinResult)),
                "timing": rng.choice(list(CheckinTiming)),
                "kind": rng.choice(list(CheckinKind)),
                "duty_date": day0 + timedelta(days=rng.randint(0, 2)),
                "org_id": rng.choice((world.v1.id, world.v2.id)),
            }[field]
            setattr(row, field, value)
        else:
            db.session.delete(rng.choice(rows))
        if step % 3 == 0:
            db.session.commit()  # the next changes start from expired objects
        else:
            db.session.flush()
    db.session.commit()
    kept = _rows()
    assert len(kept) > 5
    duty_days.rebuild(db.session.connection())
    assert kept == _rows()


def test_a_shortened_assignment_leaves_the_day_on_the_board_unrostered(client, world, login_as, app):
    app.config["SETTINGS"].duty_late_upload_minutes = 10**6
    day = local_yesterday(app)
    circle_fence(world)
    cadre = make_cadre(world, "已调离")
    r = post_checkin(client, login_as(cadre), world, east(VILLAGE, 3000), read_at=local_at(app, day, 8, 30))
    assert r.json["result"] == "outside"
    assignment = duty_roster.active_assignment(cadre.id, world.v1.id, day)
    assignment.starts_on = day + timedelta(days=1)  # corrected afterwards: not assigned there that day after all
    db.session.commit()
    headers = login_as(world.town_a1_admin)
    board = client.get(f"/api/duty/board?org_id={world.town_a1.id}&date={day}", headers=headers).json
    assert board["totals"]["rostered"] == 0 and board["totals"]["outside"] == 1 and board["cadres"] == 1
    listed = client.get(f"/api/duty/board/cadres?org_id={world.town_a1.id}&date={day}", headers=headers).json
    (row,) = listed["items"]
    assert row["member"]["name"] == "已调离" and row["outside"] and not row["rostered"] and row["checkins"] == 1

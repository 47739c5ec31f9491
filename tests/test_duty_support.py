"""Helpers shared by the duty tests (no tests here): a cadre assigned to village v1 with a 200 m fence around
VILLAGE, and a check-in poster. The cadre's home branch is county A's agency: outside the village's subtree, as
for most real cadres."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, time, timedelta

from models import DutyRole, Role, db
from models.base import utcnow
from services import duty_fences, duty_roster
from services.authz import Actor
from tests.factories import member

VILLAGE = (26.5800, 106.7100)  # WGS-84
RADIUS_M = 200.0
_ids = itertools.count(1)


def north(point, metres):
    return (point[0] + metres / 110_800.0, point[1])


def east(point, metres):
    return (point[0], point[1] + metres / (111_320.0 * math.cos(math.radians(point[0]))))


def every_day(start="08:30", end="17:30"):
    hh, mm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    return [{"weekday": d, "starts_at": time(hh, mm), "ends_at": time(eh, em)} for d in range(7)]


def make_cadre(world, name="驻村干部", org=None, roster=None, home=None, starts_on=None, ends_on=None):
    """A cadre (plain member of county A's agency) assigned by county A to `org` (v1) for the last 60 days on."""
    cadre = member(home or world.county_a_agency, name, Role.MEMBER)
    assign(world, cadre, org or world.v1, roster=roster, starts_on=starts_on, ends_on=ends_on)
    return cadre


def assign(world, cadre, org, roster=None, starts_on=None, ends_on=None, role=DutyRole.FIRST_SECRETARY):
    data = {
        "member_id": cadre.id,
        "org_id": org.id,
        "role": role,
        "starts_on": starts_on or (utcnow().date() - timedelta(days=60)),
        "ends_on": ends_on,
        "roster": every_day() if roster is None else roster,
    }
    assignment = duty_roster.create_assignment(Actor(world.county_a_admin), data)
    db.session.commit()
    return assignment


def circle_fence(world, org=None, center=VILLAGE, radius=RADIUS_M, coord_sys="wgs84", name="村委会"):
    data = {
        "name": name,
        "kind": "circle",
        "center": {"latitude": center[0], "longitude": center[1], "coord_sys": coord_sys},
        "radius_m": radius,
    }
    fence = duty_fences.create_fence(Actor(world.county_a_admin), (org or world.v1).id, data)
    db.session.commit()
    return fence


def polygon_fence(world, points, org=None, coord_sys="wgs84"):
    data = {"name": "村域", "kind": "polygon", "points": [list(p) for p in points], "coord_sys": coord_sys}
    fence = duty_fences.create_fence(Actor(world.county_a_admin), (org or world.v1).id, data)
    db.session.commit()
    return fence


def checkin_body(world, position=VILLAGE, *, accuracy=12.0, coord_sys="wgs84", read_at=None, org=None, **extra):
    body = {
        "client_id": extra.pop("client_id", f"duty-client-{next(_ids):06d}"),
        "org_id": (org or world.v1).id,
        "latitude": position[0],
        "longitude": position[1],
        "accuracy": accuracy,
        "coord_sys": coord_sys,
        "read_at": (read_at or utcnow() - timedelta(minutes=1)).isoformat(),
    }
    body.update(extra)
    return body


def post_checkin(client, headers, world, position=VILLAGE, **kwargs):
    return client.post("/api/duty/checkins", json=checkin_body(world, position, **kwargs), headers=headers)


def local_at(app, day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=app.config["SETTINGS"].zone)


def local_yesterday(app) -> date:
    return utcnow().astimezone(app.config["SETTINGS"].zone).date() - timedelta(days=1)

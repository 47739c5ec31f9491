"""A throwaway server for the mini-program's tests: a fresh SQLite database with the standard test world, the app
with its WeChat sandbox on a free loopback port.

    .venv/bin/python tests/live_server.py

Prints one JSON line (`base_url`, `password`, `accounts`, and for the meeting tests `orgs` and the branches'
`venues`) and serves until its standard input closes or it is terminated. Nothing it writes outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _account(member, **extra) -> dict:
    return {
        "username": member.mobile,
        "id": member.id,
        "name": member.name,
        "org_id": member.org_id,
        "role": member.role.value,
        "must_change_password": member.must_change_password,
        **extra,
    }


def _build(app) -> dict:
    from flask_migrate import upgrade

    from models import db
    from services import members as member_service
    from services.authz import SYSTEM
    from tests.factories import PASSWORD, build_world

    upgrade()
    w = build_world()
    fresh, initial = member_service.create_member(
        SYSTEM, w.v1.id, {"name": "新党员", "gender": "female", "mobile": "13700000001"}
    )
    venues = _set_venues(w)
    db.session.commit()
    names = [
        "member_v1",
        "member_v2",
        "sec_v1",
        "sec_v2",
        "town_a1_admin",
        "town_a2_admin",
        "county_a_admin",
        "city_admin",
        "super",
    ]
    accounts = {name: _account(getattr(w, name)) for name in names}
    accounts["fresh_member"] = _account(fresh, password=initial)
    orgs = {name: {"id": getattr(w, name).id, "name": getattr(w, name).name} for name in _ORGS}
    return {"password": PASSWORD, "accounts": accounts, "orgs": orgs, "venues": venues}


# Organisations the meeting tests address directly (the review queue of a township, statistics of a subtree).
_ORGS = ["city", "county_a", "town_a1", "town_a2", "v1", "v2", "v3"]


def _set_venues(w) -> dict:
    """Activity places of the village branches, in GCJ-02 as a secretary picks them on the map: meetings default
    to them and sign-ins and photos are checked against them."""
    from models import CoordSys
    from services.authz import SYSTEM
    from services.orgs import update_org

    venues = {"v1": (26.5812, 106.7153), "v2": (26.6012, 106.6953), "v3": (26.5412, 106.7553)}
    for name, (lat, lng) in venues.items():
        update_org(SYSTEM, getattr(w, name), {"venue_lat": lat, "venue_lng": lng, "venue_coord_sys": CoordSys.GCJ02})
    return {name: {"latitude": lat, "longitude": lng, "coord_sys": "gcj02"} for name, (lat, lng) in venues.items()}


def main() -> None:
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app
    from tests.live import LiveServer

    tmp = Path(tempfile.mkdtemp(prefix="party-live-"))
    app = create_app(
        {
            "app_env": "testing",
            "database_url": f"sqlite:///{tmp / 'live.db'}",
            "storage_dir": str(tmp / "storage"),
            "redis_url": None,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        info = _build(app)
    server = LiveServer(app).start()
    print(json.dumps({"base_url": server.base_url, **info}, ensure_ascii=False), flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Geofences of an organisation: where a duty check-in counts. Several per organisation (the village committee
office, a second site); each a circle or a polygon stored in the coordinate system it was picked in.

Who: department admins over their subtree and the branch's own secretary manage them; whoever may read the
organisation, and the cadres assigned to it, may read them (the check-in page draws them on its map).
Deleting deactivates: old check-ins keep naming the fence they were judged against.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from models import CoordSys, FenceKind, Geofence, Organisation, db
from services import audit
from services.authz import Action, Actor, authorize_org, can_see_org, get_org_for
from services.errors import Invalid, NotFound
from services.geo import CircleFence, PolygonFence, check_circle, check_coord_sys, check_polygon

DEFAULT_VENUE_RADIUS_M = 200.0  # a village's activity venue with its yard, when no fence was drawn
_CIRCLE_FIELDS = {"lat": "center.latitude", "lng": "center.longitude", "radius_m": "radius_m"}


def org_for_reading(actor: Actor, org_id: int) -> Organisation:
    """The organisation, if the actor may read it or is assigned to it on duty; NotFound otherwise."""
    from services.duty_roster import is_assigned  # the roster module imports this one

    org = db.session.get(Organisation, org_id)
    if org is None or not (can_see_org(actor, org) or (actor.member and is_assigned(actor.member.id, org.id))):
        raise NotFound("组织不存在")
    return org


def list_fences(actor: Actor, org_id: int, include_inactive: bool = False) -> list[Geofence]:
    org = org_for_reading(actor, org_id)
    return fences_of(org.id, include_inactive)


def fences_of(org_id: int, include_inactive: bool = False) -> list[Geofence]:
    """The organisation's fences (active ones only unless asked), oldest first; no authorization (callers check)."""
    stmt = select(Geofence).where(Geofence.org_id == org_id).order_by(Geofence.id)
    if not include_inactive:
        stmt = stmt.where(Geofence.active.is_(True))
    return list(db.session.scalars(stmt))


def get_fence_for(actor: Actor, org_id: int, fence_id: int, action: Action = Action.READ) -> Geofence:
    org = org_for_reading(actor, org_id) if action == Action.READ else get_org_for(actor, org_id)
    fence = db.session.get(Geofence, fence_id)
    if fence is None or fence.org_id != org.id:
        raise NotFound("围栏不存在")
    if action != Action.READ:
        authorize_org(actor, Action.UPDATE, org)
    return fence


def create_fence(actor: Actor, org_id: int, data: dict) -> Geofence:
    """Adds a fence to the organisation after checking its geometry (field errors name the field). Audited."""
    org = get_org_for(actor, org_id)
    authorize_org(actor, Action.UPDATE, org)
    fence = Geofence(org_id=org.id, name=data.get("name") or "签到范围", active=True, created_by=actor.id)
    _apply_geometry(fence, data)
    db.session.add(fence)
    db.session.flush()
    audit.record(actor, "geofence.create", "geofence", fence.id, {"org_id": org.id, "kind": fence.kind.value})
    return fence


def update_fence(actor: Actor, fence: Geofence, data: dict) -> Geofence:
    """Renames, (re)activates or redraws a fence; a redraw is checked like a new fence. Audited."""
    changed = sorted(data)
    if "name" in data:
        fence.name = data["name"]
    if "active" in data:
        fence.active = data["active"]
    geometry = {k: v for k, v in data.items() if k in ("kind", "center", "radius_m", "points", "coord_sys")}
    if geometry:
        _apply_geometry(fence, {**_geometry_of(fence), **geometry})
    audit.record(actor, "geofence.update", "geofence", fence.id, {"fields": changed})
    return fence


def deactivate_fence(actor: Actor, fence: Geofence) -> Geofence:
    fence.active = False
    audit.record(actor, "geofence.deactivate", "geofence", fence.id, {"org_id": fence.org_id})
    return fence


def _geometry_of(fence: Geofence) -> dict:
    if fence.kind == FenceKind.CIRCLE:
        center = {"latitude": fence.center_lat, "longitude": fence.center_lng, "coord_sys": fence.coord_sys.value}
        return {"kind": "circle", "center": center, "radius_m": fence.radius_m, "coord_sys": fence.coord_sys.value}
    return {"kind": "polygon", "points": fence.points, "coord_sys": fence.coord_sys.value}


def _apply_geometry(fence: Geofence, data: dict) -> None:
    kind = data.get("kind")
    if kind == FenceKind.CIRCLE:
        _apply_circle(fence, data)
    elif kind == FenceKind.POLYGON:
        _apply_polygon(fence, data)
    else:
        raise Invalid("请选择围栏类型", fields={"kind": ["应为circle或polygon"]})


def _apply_circle(fence: Geofence, data: dict) -> None:
    center = data.get("center")
    if not isinstance(center, dict):
        raise Invalid("请提供圆心位置", fields={"center": ["请提供圆心的纬度、经度和坐标系"]})
    coord_sys = center.get("coord_sys") or data.get("coord_sys")
    problems = {
        _CIRCLE_FIELDS[k]: v
        for k, v in check_circle(center.get("latitude"), center.get("longitude"), data.get("radius_m")).items()
    }
    problems.update(check_coord_sys(coord_sys, prefix="center."))
    _raise_if(problems)
    fence.kind, fence.coord_sys = FenceKind.CIRCLE, CoordSys(_name(coord_sys))
    fence.center_lat, fence.center_lng = float(center["latitude"]), float(center["longitude"])
    fence.radius_m, fence.points = float(data["radius_m"]), None


def _apply_polygon(fence: Geofence, data: dict) -> None:
    points = [_pair(p) for p in data["points"]] if isinstance(data.get("points"), list) else data.get("points")
    problems = check_polygon(points)
    problems.update(check_coord_sys(data.get("coord_sys")))
    _raise_if(problems)
    ring = list(PolygonFence(tuple(tuple(p) for p in points), _name(data["coord_sys"])).points)
    fence.kind, fence.coord_sys = FenceKind.POLYGON, CoordSys(_name(data["coord_sys"]))
    fence.points = [[lat, lng] for lat, lng in ring]
    fence.center_lat = fence.center_lng = fence.radius_m = None


def _pair(point):
    """[lat, lng] from either [lat, lng] or the map's {"latitude", "longitude"}; anything else as given."""
    if isinstance(point, dict) and set(point) >= {"latitude", "longitude"}:
        return [point["latitude"], point["longitude"]]
    return point


def _name(coord_sys) -> str:
    return coord_sys.value if hasattr(coord_sys, "value") else coord_sys


def _raise_if(problems: dict) -> None:
    if problems:
        field, reasons = next(iter(problems.items()))
        raise Invalid(f"{field}：{reasons[0]}", fields=problems)


# ---------------------------------------------------------------------------------------------------------------
# For the check-in: the organisation's fences as services.geo shapes.


def to_shape(fence: Geofence) -> CircleFence | PolygonFence:
    if fence.kind == FenceKind.CIRCLE:
        return CircleFence(fence.center_lat, fence.center_lng, fence.radius_m, fence.coord_sys.value)
    return PolygonFence(tuple((lat, lng) for lat, lng in fence.points), fence.coord_sys.value)


_G = Geofence
_CHECKIN_FENCES = (
    select(_G.id, _G.name, _G.kind, _G.center_lat, _G.center_lng, _G.radius_m, _G.points, _G.coord_sys)
    .where(_G.org_id == bindparam("org_id"), _G.active.is_(True))
    .order_by(_G.id)
)  # built once: the check-in's hot path (columns, not entities; its cache key is memoized)


def fences_for_checkin(org) -> tuple[list, list]:
    """(rows, shapes) of the organisation's active fences, rows with the id, name and geometry; without any, its
    activity venue as a 200 m circle (row None); without that either, nothing (the check-in is then uncertain, and
    says why). `org`: an Organisation or anything with its id and venue columns."""
    rows = db.session.connection().execute(_CHECKIN_FENCES, {"org_id": org.id}).all()  # Core, as columns
    if rows:
        return rows, [to_shape(r) for r in rows]
    if org.venue_lat is not None and org.venue_lng is not None:
        venue = CircleFence(org.venue_lat, org.venue_lng, DEFAULT_VENUE_RADIUS_M, _name(org.venue_coord_sys or "wgs84"))
        return [None], [venue]
    return [], []

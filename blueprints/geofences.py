"""Geofences of an organisation: /api/orgs/<id>/geofences (contract: docs/api-duty.md)."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.schemas import BaseSchema, iso_local
from blueprints.security import current_actor, login_required
from models import CoordSys, FenceKind, Geofence, Organisation, db
from services import duty_fences
from services.authz import Action, Actor, authorize_org
from services.coords import to_gcj02
from services.errors import Forbidden, NotFound

bp = APIBlueprint("geofences", __name__, url_prefix="/api/orgs", tag="值班签到")


class CenterIn(BaseSchema):
    latitude = fields.Float(required=True, allow_nan=False)
    longitude = fields.Float(required=True, allow_nan=False)
    coord_sys = fields.Enum(CoordSys, by_value=True)


class FenceFields(BaseSchema):
    name = fields.String(validate=validators.Length(min=1, max=50))
    kind = fields.Enum(FenceKind, by_value=True)
    center = fields.Nested(CenterIn)
    radius_m = fields.Float(allow_nan=False)
    # [[lat, lng], ...] or the map's [{"latitude", "longitude"}, ...]; checked by services.geo.check_polygon.
    points = fields.List(fields.Raw(), validate=validators.Length(max=201))
    coord_sys = fields.Enum(CoordSys, by_value=True)


class FenceCreateIn(FenceFields):
    kind = fields.Enum(FenceKind, by_value=True, required=True)


class FenceUpdateIn(FenceFields):
    active = fields.Boolean()


class FenceListQuery(BaseSchema):
    include_inactive = fields.Boolean(load_default=False)


def fence_json(f: Geofence) -> dict:
    out = {
        "id": f.id,
        "org_id": f.org_id,
        "name": f.name,
        "kind": f.kind.value,
        "coord_sys": f.coord_sys.value,
        "center": None,
        "radius_m": f.radius_m,
        "points": None,
        "active": f.active,
        "updated_at": iso_local(f.updated_at),
    }
    if f.kind == FenceKind.CIRCLE:
        out["center"] = {"latitude": f.center_lat, "longitude": f.center_lng, "coord_sys": f.coord_sys.value}
    else:
        out["points"] = [{"latitude": lat, "longitude": lng} for lat, lng in f.points]
    out["display"] = display_geometry(f)
    return out


def display_geometry(f: Geofence) -> dict:
    """The fence in GCJ-02, the system the mini-program's <map> draws in, whatever system it is stored in (a fence
    typed in WGS-84 would otherwise be drawn hundreds of metres off). For drawing only: judging stays in WGS-84."""

    def point(lat: float, lng: float) -> dict:
        g_lat, g_lng = to_gcj02(lat, lng, f.coord_sys)
        return {"latitude": round(g_lat, 7), "longitude": round(g_lng, 7)}

    if f.kind == FenceKind.CIRCLE:
        return {"coord_sys": CoordSys.GCJ02.value, "center": point(f.center_lat, f.center_lng), "points": None}
    return {"coord_sys": CoordSys.GCJ02.value, "center": None, "points": [point(lat, lng) for lat, lng in f.points]}


def _can_edit(actor: Actor, org_id: int) -> bool:
    """Whether the actor may add, redraw or deactivate the organisation's fences (the page shows the tools)."""
    org = db.session.get(Organisation, org_id)
    try:
        authorize_org(actor, Action.UPDATE, org)
    except (Forbidden, NotFound):
        return False
    return True


@bp.get("/<int:org_id>/geofences")
@login_required
@bp.input(FenceListQuery, location="query")
@bp.doc(
    summary="签到围栏",
    description="组织的签到范围（圆形或多边形），派驻该村的干部也可查看。display 为地图显示用的 GCJ-02 坐标；"
    "can_edit 表示当前用户可否设置围栏。",
)
def list_fences(org_id, query_data):
    actor = current_actor()
    fences = duty_fences.list_fences(actor, org_id, query_data["include_inactive"])
    return {"items": [fence_json(f) for f in fences], "can_edit": _can_edit(actor, org_id)}


@bp.post("/<int:org_id>/geofences")
@login_required
@bp.input(FenceCreateIn)
@bp.doc(
    summary="新增签到围栏",
    description="圆形：center（含坐标系）与 radius_m；多边形：points 与 coord_sys。边界上的点算在范围内。"
    "上级组织部门或本支部书记可设置。",
)
def create_fence(org_id, json_data):
    fence = duty_fences.create_fence(current_actor(), org_id, json_data)
    db.session.commit()
    return fence_json(fence), 201


@bp.patch("/<int:org_id>/geofences/<int:fence_id>")
@login_required
@bp.input(FenceUpdateIn)
@bp.doc(summary="修改签到围栏", description="改名、启用/停用或重新绘制；重新绘制时按新围栏校验。")
def update_fence(org_id, fence_id, json_data):
    actor = current_actor()
    fence = duty_fences.get_fence_for(actor, org_id, fence_id, Action.UPDATE)
    duty_fences.update_fence(actor, fence, json_data)
    db.session.commit()
    return fence_json(fence)


@bp.delete("/<int:org_id>/geofences/<int:fence_id>")
@login_required
@bp.doc(summary="停用签到围栏", description="停用而不删除：已有签到仍指向它。")
def deactivate_fence(org_id, fence_id):
    actor = current_actor()
    fence = duty_fences.get_fence_for(actor, org_id, fence_id, Action.UPDATE)
    duty_fences.deactivate_fence(actor, fence)
    db.session.commit()
    return fence_json(fence)

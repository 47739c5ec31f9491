"""Geofences of an organisation: /api/orgs/<id>/geofences (contract: docs/api-duty.md)."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.schemas import BaseSchema, iso_local
from blueprints.security import current_actor, login_required
from models import CoordSys, FenceKind, Geofence, db
from services import duty_fences
from services.authz import Action

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
    return out


@bp.get("/<int:org_id>/geofences")
@login_required
@bp.input(FenceListQuery, location="query")
@bp.doc(summary="签到围栏", description="组织的签到范围（圆形或多边形），派驻该村的干部也可查看。")
def list_fences(org_id, query_data):
    fences = duty_fences.list_fences(current_actor(), org_id, query_data["include_inactive"])
    return {"items": [fence_json(f) for f in fences]}


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

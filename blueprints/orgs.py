"""The organisation tree: /api/orgs."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request
from sqlalchemy import select

from blueprints.presenters import org_json
from blueprints.schemas import BaseSchema, PageQuery, page_out
from blueprints.security import current_actor, login_required
from models import CoordSys, Organisation, OrgKind, OrgLevel, Role, db
from services import orgs as org_service
from services import roster_import
from services.authz import get_org_for, org_scope_clause, require_role
from services.listing import paginate

bp = APIBlueprint("orgs", __name__, url_prefix="/api/orgs", tag="组织")

PHONE = validators.Regexp(r"^[0-9\-+ ]{5,20}$", error="联系电话格式不正确")


class OrgFields(BaseSchema):
    name = fields.String(validate=validators.Length(min=1, max=100))
    code = fields.String(
        validate=validators.Regexp(r"^[A-Za-z0-9\-_]{2,32}$", error="组织编码应为2到32位字母、数字、-或_")
    )
    kind = fields.Enum(OrgKind, by_value=True)
    level = fields.Enum(OrgLevel, by_value=True)
    contact_phone = fields.String(allow_none=True, validate=PHONE)
    venue_lat = fields.Float(allow_none=True, allow_nan=False)
    venue_lng = fields.Float(allow_none=True, allow_nan=False)
    venue_coord_sys = fields.Enum(CoordSys, by_value=True, allow_none=True)


class OrgCreateIn(OrgFields):
    parent_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True, validate=validators.Length(min=1, max=100))
    code = fields.String(required=True, validate=OrgFields._declared_fields["code"].validators)
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    level = fields.Enum(OrgLevel, by_value=True, required=True)


class OrgUpdateIn(OrgFields):
    secretary_id = fields.Integer(allow_none=True)


class MoveIn(BaseSchema):
    parent_id = fields.Integer(required=True)


class OrgListQuery(PageQuery):
    q = fields.String(validate=validators.Length(max=50))
    level = fields.Enum(OrgLevel, by_value=True)
    kind = fields.Enum(OrgKind, by_value=True)
    include_inactive = fields.Boolean(load_default=False)


@bp.get("")
@login_required
@bp.input(OrgListQuery, location="query")
@bp.doc(summary="我可见的组织列表")
def list_orgs(query_data):
    stmt = select(Organisation).where(org_scope_clause(current_actor()))
    if query_data.get("q"):
        stmt = stmt.where(Organisation.name.like(f"%{query_data['q']}%") | (Organisation.code == query_data["q"]))
    for key in ("level", "kind"):
        if query_data.get(key):
            stmt = stmt.where(getattr(Organisation, key) == query_data[key])
    if not query_data["include_inactive"]:
        stmt = stmt.where(Organisation.active.is_(True))
    page = paginate(stmt.order_by(Organisation.path), query_data["page"], query_data["per_page"])
    return page_out(page, org_json)


@bp.post("")
@login_required
@bp.input(OrgCreateIn)
@bp.output({}, status_code=201)
@bp.doc(summary="新建下级组织")
def create_org(json_data):
    org = org_service.create_org(current_actor(), **json_data)
    db.session.commit()
    return org_json(org), 201


@bp.get("/<int:org_id>")
@login_required
@bp.doc(summary="组织详情", description="含自身及下级的组织数、党支部数和党员数。")
def get_org(org_id):
    org = get_org_for(current_actor(), org_id)
    return {**org_json(org), "breadcrumb": org_service.breadcrumb(org), "stats": org_service.subtree_stats(org)}


@bp.patch("/<int:org_id>")
@login_required
@bp.input(OrgUpdateIn)
@bp.doc(summary="修改组织信息", description="书记可改联系电话、驻地和书记；组织部门可改全部字段。")
def update_org(org_id, json_data):
    org = get_org_for(current_actor(), org_id)
    org_service.update_org(current_actor(), org, json_data)
    db.session.commit()
    return org_json(org)


@bp.post("/<int:org_id>/move")
@login_required
@bp.input(MoveIn)
@bp.doc(summary="调整上级组织", description="连同全部下级一起移动。")
def move_org(org_id, json_data):
    org = get_org_for(current_actor(), org_id)
    org = org_service.move_org(current_actor(), org, json_data["parent_id"])
    db.session.commit()
    return org_json(org)


@bp.post("/<int:org_id>/deactivate")
@login_required
@bp.doc(summary="撤销组织", description="须先撤销全部下级组织并转出全部党员。")
def deactivate_org(org_id):
    org = get_org_for(current_actor(), org_id)
    org_service.deactivate_org(current_actor(), org)
    db.session.commit()
    return org_json(org)


@bp.get("/<int:org_id>/children")
@login_required
@bp.input(OrgListQuery, location="query")
@bp.doc(summary="直属下级组织")
def children(org_id, query_data):
    actor = current_actor()
    org = get_org_for(actor, org_id)
    stmt = org_service.children_query(actor, org, query_data["include_inactive"])
    return page_out(paginate(stmt, query_data["page"], query_data["per_page"]), org_json)


@bp.post("/import")
@login_required
@bp.doc(
    summary="导入组织（.xlsx/.csv）", description="先检查全部行；任何一行有误则不写入，返回每个错误的行号、列和原因。"
)
def import_orgs():
    actor = current_actor()
    require_role(actor, Role.DEPT_ADMIN)
    upload = request.files.get("file")
    result = roster_import.import_orgs(actor, roster_import.read_upload(upload))
    db.session.commit()
    return result, 201

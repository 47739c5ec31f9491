"""Members and their accounts: /api/members."""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request, send_file

from blueprints.presenters import export_json, member_json
from blueprints.schemas import BaseSchema, PageQuery, page_out
from blueprints.security import current_actor, login_required
from models import AccountStatus, Gender, PartyStatus, Role, db
from services import exports, roster_import, wechat_accounts
from services import members as member_service
from services.authz import get_member_for, require_role
from tasks import enqueue
from tasks.exports import build_member_export

bp = APIBlueprint("members", __name__, url_prefix="/api/members", tag="党员")


class MemberFields(BaseSchema):
    name = fields.String(validate=validators.Length(min=1, max=50))
    gender = fields.Enum(Gender, by_value=True)
    birth_date = fields.Date(allow_none=True)
    mobile = fields.String(validate=validators.Regexp(r"^1[3-9]\d{9}$", error="手机号应为11位中国大陆手机号"))
    id_card = fields.String(allow_none=True, validate=validators.Length(equal=18))
    party_status = fields.Enum(PartyStatus, by_value=True)
    joined_on = fields.Date(allow_none=True)
    is_floating = fields.Boolean()
    floating_to = fields.String(allow_none=True, validate=validators.Length(max=100))


class MemberCreateIn(MemberFields):
    org_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=validators.Length(min=1, max=50))
    gender = fields.Enum(Gender, by_value=True, required=True)
    mobile = fields.String(required=True, validate=MemberFields._declared_fields["mobile"].validators)
    member_no = fields.String(validate=validators.Regexp(r"^[A-Za-z0-9]{4,20}$", error="党员编号应为4到20位字母或数字"))


class MemberListQuery(PageQuery):
    org_id = fields.Integer()
    descendants = fields.Boolean(load_default=False)
    q = fields.String(validate=validators.Length(max=50))
    include_disabled = fields.Boolean(load_default=False)


class MoveIn(BaseSchema):
    org_id = fields.Integer(required=True)


class RoleIn(BaseSchema):
    role = fields.Enum(Role, by_value=True, required=True)
    managed_org_id = fields.Integer(allow_none=True)
    can_view_id_card = fields.Boolean()


class StatusIn(BaseSchema):
    status = fields.Enum(AccountStatus, by_value=True, required=True)


class ExportIn(BaseSchema):
    org_id = fields.Integer(required=True)


@bp.get("")
@login_required
@bp.input(MemberListQuery, location="query")
@bp.doc(summary="党员名册", description="org_id 指定组织；descendants=1 包含全部下级组织。")
def list_members(query_data):
    actor = current_actor()
    page = member_service.list_members(
        actor,
        query_data.get("org_id"),
        query_data["descendants"],
        query_data.get("q"),
        query_data["include_disabled"],
        query_data["page"],
        query_data["per_page"],
    )
    return page_out(page, lambda m: member_json(actor, m))


@bp.post("")
@login_required
@bp.input(MemberCreateIn)
@bp.doc(summary="新增党员", description="返回一次性初始密码（仅此一次），党员首次登录须修改。")
def create_member(json_data):
    org_id = json_data.pop("org_id")
    member, initial = member_service.create_member(current_actor(), org_id, json_data)
    db.session.commit()
    return {**member_json(current_actor(), member), "initial_password": initial}, 201


@bp.get("/<int:member_id>")
@login_required
@bp.doc(summary="党员详情", description="身份证号默认脱敏显示。")
def get_member(member_id):
    actor = current_actor()
    return member_json(actor, get_member_for(actor, member_id))


@bp.patch("/<int:member_id>")
@login_required
@bp.input(MemberFields)
@bp.doc(summary="修改党员信息", description="本人只能修改流动情况；书记和组织部门可修改基本信息。")
def update_member(member_id, json_data):
    actor = current_actor()
    member = get_member_for(actor, member_id)
    member_service.update_member(actor, member, json_data)
    db.session.commit()
    return member_json(actor, member)


@bp.get("/<int:member_id>/id-card")
@login_required
@bp.doc(summary="查看完整身份证号", description="仅限获授权的组织部门管理员；每次查看都记入审计日志。")
def reveal_id_card(member_id):
    actor = current_actor()
    member = get_member_for(actor, member_id)
    number = member_service.id_card_of(actor, member, reveal=True)
    db.session.commit()
    return {"id": member.id, "id_card": number}


@bp.post("/<int:member_id>/move")
@login_required
@bp.input(MoveIn)
@bp.doc(summary="组织关系转接", description="转入本管理范围内的另一个党支部；书记转出后不再担任书记。")
def move_member(member_id, json_data):
    actor = current_actor()
    member = get_member_for(actor, member_id)
    member_service.move_member(actor, member, json_data["org_id"])
    db.session.commit()
    return member_json(actor, member)


@bp.post("/<int:member_id>/role")
@login_required
@bp.input(RoleIn)
@bp.doc(summary="设置角色")
def set_role(member_id, json_data):
    actor = current_actor()
    member = get_member_for(actor, member_id)
    member_service.set_role(
        actor, member, json_data["role"], json_data.get("managed_org_id"), json_data.get("can_view_id_card")
    )
    db.session.commit()
    return member_json(actor, member)


@bp.post("/<int:member_id>/status")
@login_required
@bp.input(StatusIn)
@bp.doc(summary="启用或停用账号", description="停用立即生效，已登录的设备在下一次请求时退出。")
def set_status(member_id, json_data):
    actor = current_actor()
    member = get_member_for(actor, member_id)
    member_service.set_status(actor, member, json_data["status"])
    db.session.commit()
    return member_json(actor, member)


@bp.post("/<int:member_id>/reset-password")
@login_required
@bp.doc(summary="重置为初始密码", description="返回新的一次性初始密码（仅此一次）。")
def reset_password(member_id):
    actor = current_actor()
    member = get_member_for(actor, member_id)
    initial = member_service.reset_password(actor, member)
    db.session.commit()
    return {"id": member.id, "initial_password": initial}


@bp.delete("/<int:member_id>/wechat")
@login_required
@bp.output({}, status_code=204)
@bp.doc(summary="解除党员的微信绑定", description="党员换手机或微信号丢失时，由本组织书记或上级组织部门解除。")
def unbind_wechat(member_id):
    actor = current_actor()
    wechat_accounts.unbind(actor, get_member_for(actor, member_id))
    db.session.commit()
    return ""


@bp.post("/import")
@login_required
@bp.doc(
    summary="导入党员（.xlsx/.csv）",
    description="先检查全部行；任何一行有误则不写入，返回每个错误的行号、列和原因。成功时返回各账号的一次性初始密码。",
)
def import_members():
    actor = current_actor()
    require_role(actor, Role.DEPT_ADMIN)
    result = roster_import.import_members(actor, roster_import.read_upload(request.files.get("file")))
    db.session.commit()
    return result, 201


@bp.post("/exports")
@login_required
@bp.input(ExportIn)
@bp.doc(summary="导出党员名册（.xlsx）", description="后台生成；用返回的编号查询进度并下载。")
def request_export(json_data):
    actor = current_actor()
    export = exports.create_export(actor, json_data["org_id"])  # authorizes the export of that organisation
    db.session.commit()
    enqueue(build_member_export, export.id, job_id=f"member-export-{export.id}")
    db.session.refresh(export)
    return export_json(export), 202


@bp.get("/exports/<int:export_id>")
@login_required
@bp.doc(summary="导出进度")
def get_export(export_id):
    return export_json(exports.get_export_for(current_actor(), export_id))


@bp.get("/exports/<int:export_id>/file")
@login_required
@bp.doc(summary="下载导出的名册")
def download_export(export_id):
    export = exports.get_export_for(current_actor(), export_id, ready=True)
    return send_file(
        exports.open_file(export),
        as_attachment=True,
        download_name=exports.file_name(export),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

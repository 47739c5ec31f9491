"""Study under /api/learning: opening a lesson, heartbeats, points and their ledger (contract: docs/api-learning.md)."""

from __future__ import annotations

import click
from apiflask import APIBlueprint, fields, validators
from flask.cli import with_appcontext

from blueprints.learning_presenters import entry_json, lesson_json, rule_json, summary_json
from blueprints.schemas import BaseSchema, PageQuery, page_out
from blueprints.security import current_actor, login_required
from models import db
from services import learning_points as points
from services import learning_progress as progress
from services import learning_ranks as ranks

bp = APIBlueprint("learning_study", __name__, url_prefix="/api/learning", tag="学习")

TOKEN = validators.Regexp(r"^[0-9a-f]{32}$", error="学习会话无效")


class StartIn(BaseSchema):
    member_id = fields.Integer(allow_none=True)


class HeartbeatIn(BaseSchema):
    lesson_id = fields.Integer(required=True)
    token = fields.String(required=True, validate=TOKEN)
    seq = fields.Integer(required=True, validate=validators.Range(min=1, max=10**9))
    position = fields.Integer(required=True, validate=validators.Range(min=0, max=24 * 3600))
    elapsed = fields.Integer(required=True, validate=validators.Range(min=0, max=3600))
    visible = fields.Boolean(load_default=True)
    member_id = fields.Integer(allow_none=True)


class CorrectionIn(BaseSchema):
    points = fields.Integer(required=True, validate=validators.Range(min=-1000, max=1000))
    note = fields.String(required=True, validate=validators.Length(min=1, max=200))


OUTCOME_LABELS = {
    "ok": "已记录",
    "background": "页面不在前台，本次不计时",
    "too_soon": "上报过于频繁，本次不计时",
    "duplicate": "重复上报，已忽略",
}


@bp.post("/lessons/<int:lesson_id>/start")
@login_required
@bp.input(StartIn)
@bp.doc(
    summary="开始学习课时",
    description="返回学习会话 token；同一党员同时只能学习一个课时，在别处开始会使本会话失效。"
    "书记可为本支部党员代学（member_id），代学积分不计入排行。",
)
def start_lesson(lesson_id, json_data):
    actor = current_actor()
    row, token = progress.start_lesson(actor, lesson_id, json_data.get("member_id"))
    db.session.commit()
    lesson = progress.progress_lesson(row)
    return {"token": token, "lesson": lesson_json(lesson, row), "heartbeat_s": 30}


@bp.post("/heartbeats")
@login_required
@bp.input(HeartbeatIn)
@bp.doc(
    summary="学习心跳",
    description="学习中约每30秒上报一次；服务器只记可信的学习时长（不超过两次心跳之间的实际时间，后台不计）。"
    "会话已失效时返回409 session_superseded。",
)
def heartbeat(json_data):
    beat = progress.Beat(
        lesson_id=json_data["lesson_id"],
        token=json_data["token"],
        seq=json_data["seq"],
        position=json_data["position"],
        elapsed=json_data["elapsed"],
        visible=json_data["visible"],
    )
    result = progress.heartbeat(current_actor(), beat, json_data.get("member_id"))
    db.session.commit()
    return {
        "outcome": result.outcome,
        "message": OUTCOME_LABELS[result.outcome],
        "credited_s": result.credited,
        "lesson_credited_s": result.lesson_credited_s,
        "completed": result.completed,
    }


@bp.get("/points/rules")
@login_required
@bp.doc(summary="积分规则", description="每项行为的分值与每日上限。")
def point_rules():
    return {"items": [rule_json(r) for r in points.list_rules() if r.code != points.CORRECTION]}


@bp.post("/points/daily-login")
@login_required
@bp.doc(summary="每日登录积分", description="小程序启动时调用；每个自然日只计一次。")
def daily_login():
    grant = points.daily_login(current_actor())
    db.session.commit()
    return {"points": grant.points, "outcome": grant.outcome}


@bp.get("/points/me")
@login_required
@bp.doc(summary="我的积分", description="总积分、今日积分及各项今日进度。")
def my_points():
    return summary_json(points.summary(current_actor().member))


@bp.get("/points/me/ledger")
@login_required
@bp.input(PageQuery, location="query")
@bp.doc(summary="我的积分明细", description="每一分的来源，新的在前；更正记录指向被更正的记录。")
def my_ledger(query_data):
    return page_out(points.ledger(current_actor().member, query_data["page"], query_data["per_page"]), entry_json)


@bp.get("/points/members/<int:member_id>/ledger")
@login_required
@bp.input(PageQuery, location="query")
@bp.doc(summary="党员积分明细", description="管理范围内的党员。")
def member_ledger(member_id, query_data):
    page = points.ledger_for(current_actor(), member_id, query_data["page"], query_data["per_page"])
    return page_out(page, entry_json)


@bp.post("/points/entries/<int:entry_id>/corrections")
@login_required
@bp.input(CorrectionIn)
@bp.doc(summary="更正积分", description="组织部门；以一条新的更正记录增减积分，原记录不变。")
def correct_entry(entry_id, json_data):
    entry = points.correct(current_actor(), entry_id, json_data["points"], json_data["note"])
    db.session.commit()
    return entry_json(entry), 201


class LeaderboardQuery(BaseSchema):
    org_id = fields.Integer()
    period = fields.String(load_default="day", validate=validators.OneOf(ranks.PERIODS))
    date = fields.Date()
    unit = fields.String(validate=validators.OneOf(ranks.UNITS))
    channel_id = fields.Integer()  # period=campaign: the 主题教育 channel (default: the one running on `date`)
    limit = fields.Integer(validate=validators.Range(min=1, max=10000))


@bp.get("/leaderboard")
@login_required
@bp.input(LeaderboardQuery, location="query")
@bp.doc(
    summary="积分排行",
    description="支部内党员排名；其他组织为各直属下级（含其全部下级）排名。unit 可选 branches、townships、counties："
    "范围内全部党支部、乡镇街道或县区排名。period=campaign 为主题教育期间（channel_id，默认当前进行中的）。"
    "代学积分不计入。默认本人所在组织、今日。",
)
def leaderboard(query_data):
    actor = current_actor()
    board = ranks.leaderboard(
        actor,
        query_data.get("org_id") or actor.member.org_id,
        query_data["period"],
        query_data.get("date") or points.business_day(),
        unit=query_data.get("unit"),
        channel_id=query_data.get("channel_id"),
        limit=query_data.get("limit"),
    )
    channel = board["channel"]
    return {
        "org": {"id": board["org"].id, "name": board["org"].name},
        "kind": board["kind"],
        "unit": board["unit"],
        "unit_label": ranks.UNIT_LABELS[board["unit"]],
        "period": board["period"],
        "period_label": ranks.PERIOD_LABELS[board["period"]],
        "channel": {"id": channel.id, "name": channel.name} if channel else None,
        "from": board["first"].isoformat(),
        "to": board["last"].isoformat(),
        "total": board["total"],
        "items": [
            {"rank": r.rank, "id": r.id, "name": r.name, "points": r.points}
            | ({"parent_name": r.parent_name} if board["kind"] == "orgs" else {})
            for r in board["rows"]
        ],
    }


@click.command("learning-flush")
@with_appcontext
def flush_command() -> None:
    """Writes the study time waiting in Redis to the database now (the worker also does it every window)."""
    from tasks import redis_client
    from tasks.learning import flush_study_time

    if redis_client() is None:
        raise click.ClickException("REDIS_URL 未设置：没有 Redis 时学习时长直接写入数据库，无需转存")
    click.echo(f"已写入 {flush_study_time()} 批学习记录")


@click.command("learning-rollup")
@with_appcontext
def rollup_command() -> None:
    """Rebuilds the leaderboards' rollups from the points ledger (after rows were loaded in bulk)."""
    member_days, org_days = ranks.rebuild()
    db.session.commit()
    click.echo(f"已重建排行汇总：{member_days} 条党员日积分、{org_days} 条组织日积分")

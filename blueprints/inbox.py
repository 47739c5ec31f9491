"""The member's in-app inbox (/api/inbox) and subscribe-message credits (/api/me/subscriptions).

Only the member's own notifications exist here: another member's reads as 404, whoever asks.
"""

from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from blueprints.schemas import BaseSchema, PageQuery, iso_local, page_out
from blueprints.security import current_actor, login_required
from models import db
from services import notifications
from services.errors import Invalid, NotFound
from services.listing import paginate

bp = APIBlueprint("inbox", __name__, url_prefix="/api", tag="消息")

ANSWERS = ("accept", "reject", "ban", "filter")


class InboxQuery(PageQuery):
    unread = fields.Boolean(load_default=False)


class SubscriptionsIn(BaseSchema):
    # wx.requestSubscribeMessage's success result: {template_id: "accept" | "reject" | "ban" | "filter", ...}
    results = fields.Dict(
        keys=fields.String(validate=validators.Length(min=1, max=64)),
        values=fields.String(validate=validators.OneOf(ANSWERS)),
        required=True,
    )


def notification_json(row) -> dict:
    return {
        "id": row.id,
        "category": row.category,
        "category_label": notifications.category_label(row.category),
        "title": row.title,
        "body": row.body,
        "page": row.page,
        "org_name": row.org_name,
        "due_at": iso_local(row.due_at),
        "created_at": iso_local(row.created_at),
        "read": row.read_at is not None,
        "read_at": iso_local(row.read_at),
    }


def _own(notification_id: int):
    row = notifications.own_notification(current_actor().id, notification_id)
    if row is None:
        raise NotFound("消息不存在")
    return row


@bp.get("/inbox")
@login_required
@bp.input(InboxQuery, location="query")
@bp.doc(summary="我的消息", description="本人的消息，最新在前；unread=true 只列未读。")
def inbox(query_data):
    stmt = notifications.inbox_query(current_actor().id, unread_only=query_data["unread"])
    page = paginate(stmt, query_data["page"], query_data["per_page"])
    out = page_out(page, notification_json)
    out["unread"] = notifications.unread_count(current_actor().id)
    return out


@bp.get("/inbox/unread-count")
@login_required
@bp.doc(summary="未读消息数")
def unread_count():
    return {"unread": notifications.unread_count(current_actor().id)}


@bp.get("/inbox/<int:notification_id>")
@login_required
@bp.doc(summary="一条消息")
def show(notification_id: int):
    return notification_json(_own(notification_id))


@bp.post("/inbox/<int:notification_id>/read")
@login_required
@bp.doc(summary="标记一条消息已读")
def mark_read(notification_id: int):
    row = notifications.mark_read(_own(notification_id))
    db.session.commit()
    return {**notification_json(row), "unread": notifications.unread_count(current_actor().id)}


@bp.post("/inbox/read-all")
@login_required
@bp.doc(summary="全部标记已读")
def mark_all_read():
    marked = notifications.mark_all_read(current_actor().id)
    db.session.commit()
    return {"marked": marked, "unread": 0}


@bp.get("/me/subscriptions")
@login_required
@bp.doc(summary="订阅消息模板与剩余次数", description="小程序据此调用 wx.requestSubscribeMessage。")
def subscriptions():
    return _subscriptions_json(notifications.credits_of(current_actor().id))


@bp.post("/me/subscriptions")
@login_required
@bp.input(SubscriptionsIn)
@bp.doc(
    summary="记录订阅消息授权结果",
    description="提交 wx.requestSubscribeMessage 的结果：每个 accept 增加该模板一次发送机会，ban 清零。",
)
def record_subscriptions(json_data):
    if len(json_data["results"]) > 10:
        raise Invalid(fields={"results": ["一次最多提交 10 个模板"]})
    credits = notifications.record_subscribe_results(current_actor().id, json_data["results"])
    db.session.commit()
    return _subscriptions_json(credits)


def _subscriptions_json(credits: dict[str, int]) -> dict:
    return {"templates": [{"template_id": t, "credits": c} for t, c in credits.items()]}

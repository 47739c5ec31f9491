"""Request/response schema helpers: a Chinese-speaking base schema and the shared pagination pieces.

Marshmallow's built-in messages are English; members read these, so the defaults are replaced here, once,
for every schema of the project (this module is imported by every blueprint).
"""

from __future__ import annotations

from apiflask import Schema, fields, validators
from marshmallow import fields as mfields
from marshmallow import validate as mvalidate

mfields.Field.default_error_messages.update(required="此项必填", null="不能为空", validator_failed="取值无效")
for _cls, _msgs in {
    mfields.String: {"invalid": "应为文字", "invalid_utf8": "不是有效的UTF-8文字"},
    mfields.Integer: {"invalid": "应为整数"},
    mfields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    mfields.Float: {"special": "不能是NaN或无穷大"},
    mfields.Boolean: {"invalid": "应为true或false"},
    mfields.Date: {"invalid": "应为日期（YYYY-MM-DD）", "format": "日期格式无效"},
    mfields.DateTime: {"invalid": "应为ISO 8601时间", "invalid_awareness": "时间需带时区", "format": "时间格式无效"},
    mfields.Enum: {"unknown": "应为以下之一：{choices}"},
    mfields.List: {"invalid": "应为列表"},
    mfields.Nested: {"type": "格式无效"},
    mfields.Dict: {"invalid": "应为对象"},
}.items():
    _cls.default_error_messages = {**_cls.default_error_messages, **_msgs}
mvalidate.Length.message_min = "至少{min}个字符"
mvalidate.Length.message_max = "最多{max}个字符"
mvalidate.Length.message_all = "长度应为{min}到{max}个字符"
mvalidate.Length.message_equal = "长度应为{equal}"
mvalidate.Range.message_min = "应{min_op}{{min}}"
mvalidate.Range.message_max = "应{max_op}{{max}}"
mvalidate.Range.message_all = "应{min_op}{{min}}且{max_op}{{max}}"
mvalidate.Range.message_gt, mvalidate.Range.message_gte = "大于", "不小于"
mvalidate.Range.message_lt, mvalidate.Range.message_lte = "小于", "不大于"
mvalidate.OneOf.default_message = "应为以下之一：{choices}"
mvalidate.Regexp.default_message = "格式不正确"
UNKNOWN_FIELD = "不允许提交此字段"


class BaseSchema(Schema):
    """Refuses unknown fields, by name: a body cannot smuggle in role, org or status."""

    class Meta:
        ordered = True

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "请求体应为JSON对象"}


class PageQuery(BaseSchema):
    page = fields.Integer(load_default=1, validate=validators.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validators.Range(min=1, max=1000))


def page_out(page, present=None, *, present_all=None) -> dict:
    """A page as the API returns it; `present_all` presents the whole page at once (one query per page for what
    the rows need, not one per row)."""
    items = present_all(page.items) if present_all else [present(i) for i in page.items]
    return {"items": items, "meta": {"total": page.total, "page": page.page, "per_page": page.per_page}}


def iso_local(dt):
    """Timestamps leave the API in the business time zone with their offset (stored in UTC)."""
    from flask import current_app

    return dt.astimezone(current_app.config["SETTINGS"].zone).isoformat() if dt else None

"""The official account's side of the WeChat sandbox, at /_sandbox/wechat/official-account/: plays WeChat's server
towards the bot. It builds a message or event as WeChat would, signs it (plain) or encrypts and signs it (safe,
with wechatpy's WeChatCrypto), posts it to /wechat/callback in-process and shows the reply (decrypted and its
msg_signature checked in safe mode). `_control/send` does the same as JSON for scripts; `_control/bind-code` gives
a member's bind code without the mini-program.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from blueprints.sandbox import control_error, json_body
from blueprints.wechat_callback import parse_xml, signature_of
from models import Member, OfficialAccountFollower, WeChatApp, WeChatIdentity, db
from services import official_account
from services.authz import Actor

bp = Blueprint("oa_sandbox", __name__, url_prefix="/_sandbox/wechat/official-account", template_folder="templates")

KINDS = {
    "text": "文本消息",
    "location": "位置消息",
    "subscribe": "关注事件",
    "unsubscribe": "取消关注事件",
    "LOCATION": "上报地理位置事件",
}
ACCOUNT_ID = "gh_sandbox00001"  # the account's original id (ToUserName)


@dataclass
class Outgoing:
    """One message as WeChat's server would send it."""

    kind: str
    openid: str
    content: str = ""
    latitude: float = 0.0
    longitude: float = 0.0
    precision: float = 30.0
    label: str = ""
    msg_id: int | None = None
    create_time: int | None = None


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(m: Outgoing) -> str:
    """The plain XML WeChat pushes for `m` (MsgId for messages; events carry none)."""
    created = m.create_time or int(time.time())
    head = (
        f"<ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName><FromUserName>{_cdata(m.openid)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
    )
    msg_id = m.msg_id or secrets.randbelow(10**18)
    if m.kind == "text":
        body = f"<MsgType><![CDATA[text]]></MsgType><Content>{_cdata(m.content)}</Content><MsgId>{msg_id}</MsgId>"
    elif m.kind == "location":
        body = (
            f"<MsgType><![CDATA[location]]></MsgType><Location_X>{m.latitude}</Location_X>"
            f"<Location_Y>{m.longitude}</Location_Y><Scale>15</Scale><Label>{_cdata(m.label)}</Label>"
            f"<MsgId>{msg_id}</MsgId>"
        )
    elif m.kind == "LOCATION":
        body = (
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>{m.latitude}</Latitude>"
            f"<Longitude>{m.longitude}</Longitude><Precision>{m.precision}</Precision>"
        )
    else:
        body = f"<MsgType><![CDATA[event]]></MsgType><Event>{_cdata(m.kind)}</Event><EventKey><![CDATA[]]></EventKey>"
    return f"<xml>{head}{body}</xml>"


def _crypto() -> WeChatCrypto:
    s = current_app.config["SETTINGS"]
    return WeChatCrypto(s.wechat_oa_token, s.wechat_oa_aes_key, s.wechat_oa_appid)


def signed_request(xml: str, mode: str) -> tuple[dict, str]:
    """(query parameters, body) of WeChat's POST of `xml` in `mode` ("plain" or "safe")."""
    s = current_app.config["SETTINGS"]
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {"timestamp": timestamp, "nonce": nonce, "signature": signature_of(s.wechat_oa_token, timestamp, nonce)}
    if mode != "safe":
        return query, xml
    body = _crypto().encrypt_message(xml, nonce, timestamp)
    query.update(encrypt_type="aes", msg_signature=parse_xml(body.encode())["MsgSignature"])
    return query, body


def send(m: Outgoing, mode: str) -> dict:
    """Posts `m` to the bot in-process; what WeChat would receive back, decrypted in safe mode."""
    xml = message_xml(m)
    query, body = signed_request(xml, mode)
    response = current_app.test_client().post(
        "/wechat/callback?" + urlencode(query), data=body.encode(), content_type="text/xml"
    )
    raw = response.get_data(as_text=True)
    result = {"status": response.status_code, "sent": xml, "raw_reply": raw, "reply": None}
    if response.status_code == 200 and raw.startswith("<xml>"):
        fields = parse_xml(raw.encode())
        if "Encrypt" in fields:
            plain = _crypto().decrypt_message(raw, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
            fields = parse_xml(plain.encode())
        result["reply"] = fields.get("Content", "")
    return result


def _outgoing(data: dict) -> Outgoing:
    kind = data.get("kind", "text")
    if kind not in KINDS:
        raise ValueError("kind")
    openid = str(data.get("openid") or "").strip()
    if not 1 <= len(openid) <= 64:
        raise ValueError("openid")
    m = Outgoing(kind=kind, openid=openid, content=str(data.get("content") or ""), label=str(data.get("label") or ""))
    for name in ("latitude", "longitude", "precision"):
        if data.get(name) not in (None, ""):
            try:
                setattr(m, name, float(data[name]))
            except (TypeError, ValueError) as exc:
                raise ValueError(name) from exc
    for name in ("msg_id", "create_time"):
        if data.get(name) not in (None, ""):
            try:
                setattr(m, name, int(data[name]))
            except (TypeError, ValueError) as exc:
                raise ValueError(name) from exc
    return m


@bp.post("/_control/send")
def send_json():
    data = json_body()
    try:
        m = _outgoing(data)
    except ValueError as exc:
        return control_error(str(exc))
    mode = data.get("mode") or current_app.config["SETTINGS"].wechat_oa_message_mode
    if mode not in ("plain", "safe"):
        return control_error("mode")
    return jsonify(send(m, mode))


@bp.post("/_control/bind-code")
def bind_code_json():
    """A member's bind code (by mobile), as the mini-program's "绑定公众号" would show it."""
    mobile = str(json_body().get("mobile") or request.form.get("mobile") or "").strip()
    member = db.session.scalar(select(Member).where(Member.mobile == mobile)) if mobile else None
    if member is None:
        return control_error("mobile")
    row = official_account.issue_bind_code(Actor(member))
    db.session.commit()
    return jsonify({"member": member.name, "code": row.code, "send": f"绑定 {row.code}"})


@bp.route("/", methods=["GET", "POST"])
def page():
    settings = current_app.config["SETTINGS"]
    form = request.form.to_dict() if request.method == "POST" else {}
    result, error = None, None
    if request.method == "POST":
        try:
            result = send(_outgoing(form), form.get("mode") or settings.wechat_oa_message_mode)
        except ValueError as exc:
            error = str(exc)
    followers = db.session.scalars(
        select(OfficialAccountFollower).order_by(OfficialAccountFollower.updated_at.desc()).limit(20)
    ).all()
    linked = dict(
        db.session.execute(
            select(WeChatIdentity.openid, Member.name)
            .join(Member, Member.id == WeChatIdentity.member_id)
            .where(WeChatIdentity.app == WeChatApp.OFFICIAL_ACCOUNT)
        ).all()
    )
    return render_template(
        "sandbox/official_account.html",
        settings=settings,
        kinds=KINDS,
        form=form,
        result=result,
        error=error,
        followers=followers,
        linked=linked,
    )

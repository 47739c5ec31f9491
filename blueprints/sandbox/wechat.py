"""The WeChat sandbox at /_sandbox/wechat/: WeChat's HTTP API for what the project calls, answered locally.

Speaks: /cgi-bin/token, /cgi-bin/stable_token, /sns/jscode2session, /cgi-bin/message/subscribe/send,
/cgi-bin/message/template/send and /wxa/msg_sec_check, with WeChat's error codes and rules (one-time login codes,
token expiry, one subscribe credit per message, field length limits). Control endpoints under `_control/` mint
login codes, grant subscribe credits, program faults (an errcode, an HTTP 5xx, a slow answer) and read the log;
`/_sandbox/wechat/` is the outbox page.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from blueprints.sandbox import SandboxState, add_fault, control_error, json_body, sandbox_state
from models import Member, Organisation, WeChatIdentity, db

bp = Blueprint("wechat_sandbox", __name__, url_prefix="/_sandbox/wechat", template_folder="templates")

TOKEN_SECONDS = 7200
OLD_TOKEN_GRACE = 300  # WeChat keeps the previous token valid for 5 minutes after a classic refresh
CODE_SECONDS = 300
ERRMSG = {
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid!",
    87014: "risky content",
    -1: "system error",
}
# Subscribe-message value kinds (the key's prefix, e.g. "thing1") and their limits, as WeChat checks them.
LENGTH_LIMITS = {
    "thing": 20,
    "name": 10,
    "phrase": 5,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "amount": 32,
    "phone_number": 17,
    "car_number": 8,
}
PATTERNS = {
    "time": re.compile(r"^(\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}|\d{1,2}:\d{2})$"),
    "date": re.compile(r"^(\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2})$"),
}
DEFAULT_RISKY_WORDS = ("赌博", "色情", "代开发票")


@dataclass
class WeChatSandbox(SandboxState):
    tokens: dict = field(default_factory=dict)  # token -> (appid, expires_at)
    current: dict = field(default_factory=dict)  # appid -> newest token
    codes: dict = field(default_factory=dict)  # code -> {appid, openid, unionid, expires_at, used}
    users: dict = field(default_factory=dict)  # (appid, openid) -> unionid
    credits: defaultdict = field(default_factory=lambda: defaultdict(int))  # (openid, template_id) -> count
    client_msg_ids: dict = field(default_factory=dict)  # (openid, client_msg_id) -> msgid
    risky_words: list = field(default_factory=lambda: list(DEFAULT_RISKY_WORDS))
    next_msgid: int = 1000

    def apps(self) -> dict:
        s = current_app.config["SETTINGS"]
        return {s.wechat_mini_appid: s.wechat_mini_secret, s.wechat_oa_appid: s.wechat_oa_secret}

    def issue_token(self, appid: str, grace_for_old: bool) -> str:
        now = time.time()
        old = self.current.get(appid)
        if old in self.tokens:
            if grace_for_old:
                self.tokens[old] = (appid, min(self.tokens[old][1], now + OLD_TOKEN_GRACE))
            else:
                del self.tokens[old]
        token = "SBX_" + secrets.token_urlsafe(24)
        self.tokens[token] = (appid, now + TOKEN_SECONDS)
        self.current[appid] = token
        return token

    def token_error(self, token: str | None) -> int | None:
        """None when `token` is valid now, else WeChat's errcode for it."""
        if not token:
            return 41001
        entry = self.tokens.get(token)
        if entry is None:
            return 40001
        return 42001 if entry[1] <= time.time() else None

    def token_app(self, token: str) -> str:
        return self.tokens[token][0]


def state() -> WeChatSandbox:
    return sandbox_state("wechat", WeChatSandbox)


def answer(errcode: int, **extra):
    return jsonify({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error"), **extra})


def serve(api: str, handler):
    """Runs `handler` unless a programmed fault answers instead; logs the call with its outcome."""
    st = state()
    fault = st.take_fault(api)
    if fault and fault.delay:
        time.sleep(fault.delay)
    if fault and fault.http_status:
        st.log_call(api, f"http {fault.http_status}")
        return "sandbox: injected upstream failure", fault.http_status
    if fault and fault.errcode is not None:
        st.log_call(api, fault.errcode)
        return answer(fault.errcode)
    with st.lock:
        response = handler(st)
    st.log_call(api, response.get_json().get("errcode", 0))
    return response


# ---- WeChat's API ------------------------------------------------------------------------------------------


def _credentials_error(st: WeChatSandbox, appid: str | None, secret: str | None) -> int | None:
    apps = st.apps()
    if appid not in apps:
        return 40013
    return 40125 if not secrets.compare_digest(str(secret or ""), apps[appid]) else None


@bp.get("/cgi-bin/token")
def token():
    def handle(st):
        if request.args.get("grant_type") != "client_credential":
            return answer(40002)
        appid = request.args.get("appid")
        error = _credentials_error(st, appid, request.args.get("secret"))
        if error:
            return answer(error)
        return jsonify({"access_token": st.issue_token(appid, grace_for_old=True), "expires_in": TOKEN_SECONDS})

    return serve("token", handle)


@bp.post("/cgi-bin/stable_token")
def stable_token():
    def handle(st):
        body = json_body()
        appid = body.get("appid")
        if body.get("grant_type") != "client_credential":
            return answer(40002)
        error = _credentials_error(st, appid, body.get("secret"))
        if error:
            return answer(error)
        current = st.current.get(appid)
        if body.get("force_refresh") or st.token_error(current):
            current = st.issue_token(appid, grace_for_old=False)
        return jsonify({"access_token": current, "expires_in": int(st.tokens[current][1] - time.time())})

    return serve("stable_token", handle)


@bp.get("/sns/jscode2session")
def jscode2session():
    def handle(st):
        appid, code = request.args.get("appid"), request.args.get("js_code", "")
        error = _credentials_error(st, appid, request.args.get("secret"))
        if error:
            return answer(error)
        entry = st.codes.get(code)
        if entry is None or entry["appid"] != appid or entry["expires_at"] <= time.time():
            return answer(40029)
        if entry["used"]:
            return answer(40163)
        entry["used"] = True
        result = {"openid": entry["openid"], "session_key": secrets.token_urlsafe(16)}
        if entry["unionid"]:
            result["unionid"] = entry["unionid"]
        return jsonify(result)

    return serve("jscode2session", handle)


def _field_error(key: str, value) -> bool:
    kind = key.rstrip("0123456789")
    if not isinstance(value, str) or not value:
        return True
    if kind in LENGTH_LIMITS:
        return len(value) > LENGTH_LIMITS[kind]
    if kind in PATTERNS:
        return not PATTERNS[kind].match(value)
    return True


def _data_error(data) -> str | None:
    """The first invalid data key, or None; WeChat answers 47003 naming it."""
    if not isinstance(data, dict) or not data:
        return "data"
    for key, item in data.items():
        if not isinstance(item, dict) or _field_error(key, item.get("value")):
            return f"data.{key}.value"
    return None


class Refused(Exception):
    def __init__(self, errcode: int, errmsg: str | None = None):
        self.errcode, self.errmsg = errcode, errmsg


def _checked_message(st: WeChatSandbox) -> tuple[str, str, str, dict]:
    """(appid, openid, template_id, body) of a send request that passes WeChat's checks; raises Refused."""
    tok = request.args.get("access_token")
    if error := st.token_error(tok):
        raise Refused(error)
    body = json_body()
    appid, openid, template = st.token_app(tok), body.get("touser"), body.get("template_id")
    if (appid, openid) not in st.users:
        raise Refused(40003)
    if not template or not isinstance(template, str):
        raise Refused(40037)
    if bad := _data_error(body.get("data")):
        raise Refused(47003, f"argument invalid! {bad} invalid")
    return appid, openid, template, body


def _send(kind: str, deliver):
    def handle(st):
        try:
            return deliver(st, *_checked_message(st))
        except Refused as refused:
            extra = {"errmsg": refused.errmsg} if refused.errmsg else {}
            return answer(refused.errcode, **extra)

    return serve(kind, handle)


@bp.post("/cgi-bin/message/subscribe/send")
def subscribe_send():
    def deliver(st, appid, openid, template, body):
        if st.credits[(openid, template)] <= 0:
            return answer(43101)
        st.credits[(openid, template)] -= 1
        st.next_msgid += 1
        st.outbox.append(_message("subscribe", appid, openid, template, body, st.next_msgid))
        return answer(0, msgid=st.next_msgid)

    return _send("subscribe_send", deliver)


@bp.post("/cgi-bin/message/template/send")
def template_send():
    def deliver(st, appid, openid, template, body):
        dedupe = (openid, body.get("client_msg_id")) if body.get("client_msg_id") else None
        if dedupe and dedupe in st.client_msg_ids:  # WeChat sends one message per openid + client_msg_id
            return answer(0, msgid=st.client_msg_ids[dedupe])
        st.next_msgid += 1
        if dedupe:
            st.client_msg_ids[dedupe] = st.next_msgid
        st.outbox.append(_message("template", appid, openid, template, body, st.next_msgid))
        return answer(0, msgid=st.next_msgid)

    return _send("template_send", deliver)


def _message(kind: str, appid: str, openid: str, template: str, body: dict, msgid: int) -> dict:
    fields = {key: item.get("value") for key, item in body["data"].items()}
    page = body.get("page") or (body.get("miniprogram") or {}).get("pagepath") or body.get("url")
    return {
        "msgid": msgid,
        "kind": kind,
        "appid": appid,
        "touser": openid,
        "template_id": template,
        "fields": fields,
        "page": page,
        "sent_at": time.time(),
    }


@bp.post("/wxa/msg_sec_check")
def msg_sec_check():
    def handle(st):
        tok = request.args.get("access_token")
        if error := st.token_error(tok):
            return answer(error)
        body = json_body()
        content = body.get("content")
        if not isinstance(content, str):
            return answer(47001)
        risky = next((w for w in st.risky_words if w in content), None)
        if body.get("version") == 2:
            suggest, label = ("risky", 20002) if risky else ("pass", 100)
            return answer(0, result={"suggest": suggest, "label": label}, detail=[], trace_id=secrets.token_hex(8))
        return answer(87014) if risky else answer(0)

    return serve("msg_sec_check", handle)


# ---- control: for tests and the demo ---------------------------------------------------------------------


@bp.post("/_control/codes")
def mint_code():
    """A one-time login code for an openid (a new random openid when none is given), as `wx.login` would give."""
    body = json_body()
    s = current_app.config["SETTINGS"]
    appid = body.get("appid", s.wechat_mini_appid)
    openid = body.get("openid") or "o" + secrets.token_urlsafe(20)
    if not isinstance(openid, str) or not 1 <= len(openid) <= 64:
        return control_error("openid")
    if appid not in state().apps():
        return control_error("appid")
    code = secrets.token_urlsafe(24)
    st = state()
    with st.lock:
        st.users[(appid, openid)] = body.get("unionid")
        st.codes[code] = {
            "appid": appid,
            "openid": openid,
            "unionid": body.get("unionid"),
            "expires_at": time.time() + CODE_SECONDS,
            "used": False,
        }
    return jsonify({"code": code, "openid": openid, "appid": appid})


@bp.post("/_control/users")
def add_user():
    """Makes an openid known to an app (e.g. a follower of the official account) without a login."""
    body = json_body()
    appid, openid = body.get("appid"), body.get("openid")
    if appid not in state().apps():
        return control_error("appid")
    if not isinstance(openid, str) or not openid:
        return control_error("openid")
    with state().lock:
        state().users[(appid, openid)] = body.get("unionid")
    return jsonify({"appid": appid, "openid": openid})


@bp.post("/_control/subscriptions")
def grant_credits():
    """The member tapped "allow" in `wx.requestSubscribeMessage`: one more message of that template may be sent."""
    body = json_body()
    openid, template, count = body.get("openid"), body.get("template_id"), body.get("count", 1)
    if not isinstance(openid, str) or not openid:
        return control_error("openid")
    if not isinstance(template, str) or not template:
        return control_error("template_id")
    if not isinstance(count, int) or not 1 <= count <= 100:
        return control_error("count")
    st = state()
    with st.lock:
        st.credits[(openid, template)] += count
        return jsonify({"openid": openid, "template_id": template, "credits": st.credits[(openid, template)]})


@bp.post("/_control/faults")
def program_fault():
    return add_fault(state())


@bp.post("/_control/expire-tokens")
def expire_tokens():
    """Every access token expires now (the next call with one gets 42001)."""
    st = state()
    with st.lock:
        st.tokens = {t: (appid, 0) for t, (appid, _exp) in st.tokens.items()}
    return jsonify({"expired": len(st.tokens)})


@bp.post("/_control/revoke-tokens")
def revoke_tokens():
    """Every access token becomes unknown (the next call with one gets 40001), as after a refresh elsewhere."""
    st = state()
    with st.lock:
        count = len(st.tokens)
        st.tokens.clear()
        st.current.clear()
    return jsonify({"revoked": count})


@bp.get("/_control/outbox")
def outbox_json():
    with state().lock:
        return jsonify({"messages": list(state().outbox)})


@bp.get("/_control/calls")
def calls_json():
    with state().lock:
        return jsonify({"calls": list(state().calls)})


@bp.post("/_control/reset")
def reset():
    current_app.extensions.setdefault("sandboxes", {})["wechat"] = WeChatSandbox()
    return jsonify({"reset": True})


@bp.post("/_demo/test-message")
def demo_test_message():
    """For the demo page: the member taps "allow" once, then the platform sends one subscribe message through the
    real adapter (over HTTP to this sandbox). Needs a threaded server, as `flask run` is."""
    from services.wechat import mini_program

    openid = (request.form.get("openid") or json_body().get("openid") or "").strip()
    if not openid:
        return control_error("openid")
    template = "DEMO_MEETING_REMINDER"
    st = state()
    with st.lock:
        st.users.setdefault((current_app.config["SETTINGS"].wechat_mini_appid, openid), None)
        st.credits[(openid, template)] += 1
    now = datetime.now(current_app.config["SETTINGS"].zone)
    data = {"thing1": "支部党员大会（演示）", "time2": now.strftime("%Y年%m月%d日 %H:%M"), "thing3": "请按时参加"}
    mini_program().send_subscribe(openid, template, data, page="/pages/home/home")
    return redirect(url_for("wechat_sandbox.outbox_page"))


@bp.get("/")
def outbox_page():
    st = state()
    with st.lock:
        messages = list(reversed(st.outbox))
        calls = list(reversed(st.calls))[:50]
    names = _recipient_names({m["touser"] for m in messages})
    for m in messages:
        m["sent_at_text"] = _local_time(m["sent_at"])
        m["recipient"] = names.get(m["touser"])
    for c in calls:
        c["at_text"] = _local_time(c["at"])
    settings = current_app.config["SETTINGS"]
    bound = db.session.scalars(select(WeChatIdentity.openid).order_by(WeChatIdentity.id).limit(20)).all()
    return render_template("sandbox/wechat_outbox.html", messages=messages, calls=calls, settings=settings, bound=bound)


def _local_time(ts: float) -> str:
    zone = current_app.config["SETTINGS"].zone
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S")


def _recipient_names(openids: set[str]) -> dict[str, str]:
    """openid -> "name（organisation）" for openids bound to members, so the outbox reads like a message log."""
    if not openids:
        return {}
    rows = db.session.execute(
        select(WeChatIdentity.openid, Member.name, Organisation.name)
        .join(Member, Member.id == WeChatIdentity.member_id)
        .join(Organisation, Organisation.id == Member.org_id)
        .where(WeChatIdentity.openid.in_(openids))
    ).all()
    return {openid: f"{name}（{org}）" for openid, name, org in rows}

"""The SMS sandbox at /_sandbox/sms/: Aliyun's SMS API (dysmsapi 2017-05-25, RPC style) answered locally.

Speaks `SendSms` and `QuerySendDetails` with Aliyun's signature check (HMAC-SHA1, the sandbox key pair of
services/settings.py), its answer shape and error codes. Control endpoints under `_control/` program faults (a
provider code, an HTTP 5xx, a slow answer) and read the outbox and the call log.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from blueprints.sandbox import SandboxState, control_error, json_body, sandbox_state
from services.sms import aliyun_signature

bp = Blueprint("sms_sandbox", __name__, url_prefix="/_sandbox/sms")

MOBILE = re.compile(r"^1\d{10}$")
MESSAGES = {
    "OK": "OK",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.BUSINESS_LIMIT_CONTROL": "业务限流",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "isv.SMS_TEMPLATE_ILLEGAL": "模版不合法",
    "isp.SYSTEM_ERROR": "系统错误",
    "SignatureDoesNotMatch": "Specified signature is not matched with our calculation.",
    "InvalidAccessKeyId.NotFound": "Specified access key is not found.",
    "MissingParameter": "缺少参数",
}


@dataclass
class SmsFault:
    code: str | None = None
    http_status: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class SmsSandbox(SandboxState):
    sms_faults: list = field(default_factory=list)
    next_biz: int = 100000

    def take(self) -> SmsFault | None:
        with self.lock:
            if not self.sms_faults:
                return None
            fault = self.sms_faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.sms_faults.pop(0)
            return fault


def state() -> SmsSandbox:
    return sandbox_state("sms", SmsSandbox)


def _answer(code: str, status: int = 200, **extra):
    body = {"Code": code, "Message": MESSAGES.get(code, code), "RequestId": secrets.token_hex(8).upper(), **extra}
    return jsonify(body), status


def _signature_error(params: dict) -> str | None:
    s = current_app.config["SETTINGS"]
    if params.get("AccessKeyId") != s.sms_access_key_id:
        return "InvalidAccessKeyId.NotFound"
    given = params.pop("Signature", "")
    expected = aliyun_signature(request.method, params, s.sms_access_key_secret)
    return None if secrets.compare_digest(given, expected) else "SignatureDoesNotMatch"


@bp.route("/", methods=["GET", "POST"])
def rpc():
    params = {**request.args.to_dict(), **request.form.to_dict()}
    action = params.get("Action", "")
    st = state()
    fault = st.take() if action == "SendSms" else None
    if fault and fault.delay:
        time.sleep(fault.delay)
    if fault and fault.http_status:
        st.log_call(action, f"http {fault.http_status}")
        return "sandbox: injected upstream failure", fault.http_status
    if fault and fault.code:
        st.log_call(action, fault.code)
        return _answer(fault.code)
    if error := _signature_error(params):
        st.log_call(action, error)
        return _answer(error, 400)
    handler = {"SendSms": _send, "QuerySendDetails": _query}.get(action)
    if handler is None:
        return _answer("InvalidAction.NotFound", 404)
    with st.lock:
        response = handler(st, params)
    st.log_call(action, response[0].get_json()["Code"])
    return response


def _send(st: SmsSandbox, params: dict):
    for name in ("PhoneNumbers", "SignName", "TemplateCode"):
        if not params.get(name):
            return _answer("MissingParameter", 400)
    phone = params["PhoneNumbers"]
    if not MOBILE.match(phone):
        return _answer("isv.MOBILE_NUMBER_ILLEGAL")
    try:
        template_param = json.loads(params.get("TemplateParam") or "{}")
    except ValueError:
        return _answer("isv.SMS_TEMPLATE_ILLEGAL")
    st.next_biz += 1
    biz_id = f"{st.next_biz}^0"
    now = time.time()
    st.outbox.append(
        {
            "biz_id": biz_id,
            "phone": phone,
            "sign_name": params["SignName"],
            "template_code": params["TemplateCode"],
            "params": template_param,
            "content": f"【{params['SignName']}】{template_param.get('content', '')}",
            "out_id": params.get("OutId"),
            "sent_at": now,
            "send_date": datetime.fromtimestamp(now, current_app.config["SETTINGS"].zone).strftime("%Y%m%d"),
        }
    )
    return _answer("OK", BizId=biz_id)


def _query(st: SmsSandbox, params: dict):
    phone, day = params.get("PhoneNumber"), params.get("SendDate")
    if not phone or not day:
        return _answer("MissingParameter", 400)
    rows = [
        {
            "PhoneNum": m["phone"],
            "SendStatus": 3,
            "ErrCode": "DELIVERED",
            "TemplateCode": m["template_code"],
            "Content": m["content"],
            "OutId": m["out_id"],
            "SendDate": datetime.fromtimestamp(m["sent_at"]).strftime("%Y-%m-%d %H:%M:%S"),
        }
        for m in st.outbox
        if m["phone"] == phone and m["send_date"] == day and params.get("BizId") in (None, "", m["biz_id"])
    ]
    return _answer("OK", TotalCount=len(rows), SmsSendDetailDTOs={"SmsSendDetailDTO": rows})


# ---- control: for tests and the demo ---------------------------------------------------------------------


@bp.post("/_control/faults")
def program_fault():
    body = json_body()
    code, status, delay, times = body.get("code"), body.get("http_status"), body.get("delay", 0), body.get("times", 1)
    if code is not None and code not in MESSAGES:
        return control_error("code")
    if status is not None and (not isinstance(status, int) or not 500 <= status <= 599):
        return control_error("http_status")
    if not isinstance(delay, int | float) or not 0 <= delay <= 30:
        return control_error("delay")
    if not isinstance(times, int) or not 1 <= times <= 1000:
        return control_error("times")
    with state().lock:
        state().sms_faults.append(SmsFault(code=code, http_status=status, delay=float(delay), times=times))
    return jsonify({"times": times}), 201


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
    current_app.extensions.setdefault("sandboxes", {})["sms"] = SmsSandbox()
    return jsonify({"reset": True})

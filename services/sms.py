"""The one way the project sends SMS: a provider adapter speaking Aliyun's SMS API (dysmsapi, RPC style, signature
method HMAC-SHA1), pointed at the local sandbox (/_sandbox/sms/, the default outside production) or at Aliyun.

- `send` passes our own `OutId` (the notification's id) with every message, so `find` can later ask the provider
  whether a message whose answer was lost (a timeout, a crashed worker) arrived there.
- Every failure becomes `UpstreamError` with the provider's code and `permanent` set; `ambiguous` tells whether the
  request may have reached the provider (a read timeout, a dropped connection) rather than surely not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, date, datetime

import requests
from flask import current_app

from services.errors import UpstreamError

API_VERSION = "2017-05-25"
# Codes worth a retry later: the provider is busy or throttles us. Everything else refused is permanent.
TRANSIENT_CODES = {"isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "ServiceUnavailable"}


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature wants it (space as %20, `~` kept)."""
    return urllib.parse.quote(str(value), safe="~")


def aliyun_signature(method: str, params: dict, secret: str) -> str:
    """Aliyun RPC signature v1.0: HMAC-SHA1 over the method, "/" and the sorted, encoded query, keyed `secret&`."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class SmsReceipt:
    biz_id: str


def is_ambiguous(exc: BaseException | None) -> bool:
    """True when a failed HTTP call may still have been received: anything but a refused or timed-out connect."""
    cause = exc.__cause__ if isinstance(exc, UpstreamError) else exc
    if isinstance(cause, requests.ConnectTimeout):
        return False
    if isinstance(cause, requests.ConnectionError) and "NewConnectionError" in repr(cause):
        return False
    return isinstance(cause, requests.RequestException) and not isinstance(cause, requests.HTTPError)


class AliyunSms:
    def __init__(self, base: str, key_id: str, secret: str, sign_name: str, template_code: str, timeout: float):
        self.base, self.key_id, self.secret = base, key_id, secret
        self.sign_name, self.template_code, self.timeout = sign_name, template_code, timeout
        self.http = requests.Session()

    def _call(self, action: str, params: dict, what: str) -> dict:
        full = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(12),
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            **params,
        }
        full["Signature"] = aliyun_signature("POST", full, self.secret)
        try:
            response = self.http.post(self.base + "/", data=full, timeout=self.timeout)
        except requests.RequestException as exc:
            raise UpstreamError(f"短信服务暂时无法访问（{what}）", permanent=False) from exc
        try:
            result = response.json()
        except ValueError:
            result = {}
        code = result.get("Code")
        if response.status_code >= 500 or (code is None and response.status_code != 200):
            raise UpstreamError(f"短信服务暂时无法访问（{what}）", upstream_code=response.status_code, permanent=False)
        if code != "OK":
            raise UpstreamError(
                f"短信服务拒绝了请求（{what}，错误码 {code}）",
                upstream_code=code,
                permanent=code not in TRANSIENT_CODES,
            )
        return result

    def send(self, phone: str, content: str, out_id: str) -> SmsReceipt:
        params = {
            "PhoneNumbers": phone,
            "SignName": self.sign_name,
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"content": content}, ensure_ascii=False),
            "OutId": out_id,
        }
        return SmsReceipt(biz_id=self._call("SendSms", params, "发送短信")["BizId"])

    def find(self, phone: str, out_id: str, day: date) -> bool:
        """Whether the provider holds a message to `phone` sent on `day` (its local date) with our `out_id`."""
        params = {"PhoneNumber": phone, "SendDate": day.strftime("%Y%m%d"), "PageSize": "50", "CurrentPage": "1"}
        result = self._call("QuerySendDetails", params, "查询短信发送记录")
        details = (result.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        return any(d.get("OutId") == out_id for d in details)


def provider() -> AliyunSms | None:
    """The configured provider, or None when SMS is off (SMS_PROVIDER=none)."""
    s = current_app.config["SETTINGS"]
    if s.sms_provider == "none":
        return None
    cache = current_app.extensions.setdefault("sms", {})
    key = (s.sms_api_base, s.sms_access_key_id)
    if key not in cache:
        cache.clear()
        cache[key] = AliyunSms(
            s.sms_api_base,
            s.sms_access_key_id,
            s.sms_access_key_secret,
            s.sms_sign_name,
            s.sms_template_code,
            s.sms_timeout,
        )
    return cache[key]

"""The one way the project talks to WeChat: wechatpy, pointed at a configurable base (the sandbox or WeChat).

- Every request, the token fetch included, goes to `WECHAT_API_BASE` through a requests adapter that rewrites
  WeChat's origin, with a timeout (wechatpy's token fetch has none).
- Access tokens come from `/cgi-bin/stable_token` (which hands every caller the same token while it is valid) and
  are cached in Redis when configured, shared by every process; a Redis lock keeps many workers from refreshing
  at once. wechatpy's own retry (unbounded on token errors) is off: a rejected token is refreshed once, then the
  call fails.
- Every failure becomes `UpstreamError` with WeChat's code and `permanent` set: jobs retry transient ones only.
- Login (`/sns/jscode2session`) needs no access token.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import requests
from flask import current_app
from redis.exceptions import LockError
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from services.errors import UpstreamError
from tasks import redis_client

WECHAT_ORIGIN = "https://api.weixin.qq.com"
TOKEN_ERRORS = {40001, 40014, 42001}  # the token is invalid or expired: refresh once and retry
PERMANENT = {
    40003,  # invalid openid
    40013,  # invalid appid
    40029,  # invalid login code
    40037,  # invalid template id
    40125,  # invalid secret
    40163,  # login code already used
    41030,  # invalid page
    43101,  # the member has no subscription credit for this template
    43104,  # appid and openid do not match
    47001,  # malformed body
    47003,  # a field breaks its template's rules
    87014,  # content judged risky
}
TRANSIENT = {-1, 45009, 45011, 45015}  # system busy; rate limits: worth a retry with backoff
TOKEN_MARGIN = 300  # seconds: treat a token as expired this long before WeChat does


class _Rebase(HTTPAdapter):
    """Sends requests addressed to WeChat's origin to the configured base, each with a timeout."""

    def __init__(self, base: str, timeout: float):
        super().__init__()
        self.base, self.timeout = base, timeout

    def send(self, request, **kwargs):
        request.url = self.base + request.url[len(WECHAT_ORIGIN) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _upstream(exc: Exception, what: str) -> UpstreamError:
    if isinstance(exc, WeChatClientException) and exc.errcode is not None:
        code = exc.errcode
        permanent = code in PERMANENT or (code not in TRANSIENT and code not in TOKEN_ERRORS and code > 0)
        return UpstreamError(f"微信接口返回错误（{what}，错误码 {code}）", upstream_code=code, permanent=permanent)
    # HTTP status errors (wechatpy's errcode None), timeouts and refused connections: try again later.
    status = getattr(getattr(exc, "response", None), "status_code", None)
    permanent = status is not None and 400 <= status < 500
    return UpstreamError(f"微信接口暂时无法访问（{what}）", upstream_code=status, permanent=permanent)


@dataclass
class Session:
    """What `/sns/jscode2session` answers: who logged in. `session_key` stays on the server."""

    openid: str
    session_key: str
    unionid: str | None


class WeChatGateway:
    """One WeChat app (the mini-program or the official account) reached through one base URL."""

    def __init__(self, appid: str, secret: str, base: str, timeout: float, redis=None):
        self.appid, self.secret = appid, secret
        storage = RedisStorage(redis, prefix="wechat") if redis is not None else MemoryStorage()
        self.client = WeChatClient(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        if base != WECHAT_ORIGIN:
            self.client._http.mount(WECHAT_ORIGIN, _Rebase(base, timeout))
        self.timeout = timeout
        self.redis = redis
        self._local_lock = threading.Lock()

    # ---- access token --------------------------------------------------------------------------------------

    @property
    def _token_key(self) -> str:
        return self.client.access_token_key

    def access_token(self) -> str:
        token = self.client.session.get(self._token_key)
        return token or self._refresh(stale=None)

    def _refresh(self, stale: str | None) -> str:
        """Fetches a token under a lock; a process that waited finds the token another one fetched. When WeChat
        rejected `stale` but still hands it out, forces a new one (once)."""
        with self._lock():
            token = self.client.session.get(self._token_key)
            if token and token != stale:
                return token
            result = self._stable_token(force=False)
            if result["access_token"] == stale:
                result = self._stable_token(force=True)
            ttl = max(60, int(result.get("expires_in", 7200)) - TOKEN_MARGIN)
            self.client.session.set(self._token_key, result["access_token"], ttl)
            return result["access_token"]

    @contextmanager
    def _lock(self):
        if self.redis is None:
            with self._local_lock:
                yield
            return
        # Held at most for one token fetch; a waiter that times out fetches anyway (stable_token is safe to race).
        wait = self.timeout * 2 + 1
        lock = self.redis.lock(f"wechat:token-lock:{self.appid}", timeout=wait + 5, blocking_timeout=wait)
        acquired = lock.acquire()
        try:
            yield
        finally:
            if acquired:
                with suppress(LockError):
                    lock.release()

    def _stable_token(self, force: bool) -> dict:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": force}
        try:
            return self.client.post(f"{WECHAT_ORIGIN}/cgi-bin/stable_token", data=body, params={"access_token": None})
        except (WeChatClientException, requests.RequestException) as exc:
            raise _upstream(exc, "获取接口凭证") from exc

    # ---- calls ---------------------------------------------------------------------------------------------

    def call(self, path: str, body: dict, what: str) -> dict:
        """POSTs `body` to WeChat's `path` with the access token; refreshes a rejected token once."""
        token = self.access_token()
        for attempt in (1, 2):
            try:
                return self.client.post(f"{WECHAT_ORIGIN}{path}", data=body, params={"access_token": token})
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    token = self._refresh(stale=token)
                    continue
                raise _upstream(exc, what) from exc
            except requests.RequestException as exc:
                raise _upstream(exc, what) from exc
        raise AssertionError("unreachable")

    def code_to_session(self, code: str) -> Session:
        """Trades a `wx.login` code for the member's openid (no access token involved)."""
        params = {
            "appid": self.appid,
            "secret": self.secret,
            "js_code": code,
            "grant_type": "authorization_code",
            "access_token": None,  # present so wechatpy does not fetch one; None so requests drops it
        }
        try:
            result = self.client.get(f"{WECHAT_ORIGIN}/sns/jscode2session", params=params)
        except (WeChatClientException, requests.RequestException) as exc:
            raise _upstream(exc, "微信登录") from exc
        return Session(openid=result["openid"], session_key=result["session_key"], unionid=result.get("unionid"))

    def send_subscribe(self, openid: str, template_id: str, data: dict, page: str | None = None) -> dict:
        """A mini-program subscribe message; spends one of the member's credits for the template."""
        body = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": "formal",
            "lang": "zh_CN",
        }
        if page:
            body["page"] = page
        return self.call("/cgi-bin/message/subscribe/send", body, "发送订阅消息")

    def send_template(
        self, openid: str, template_id: str, data: dict, *, client_msg_id: str | None = None, page: str | None = None
    ) -> dict:
        """An official-account template message; `client_msg_id` makes WeChat send it once however often called."""
        body = {"touser": openid, "template_id": template_id, "data": {k: {"value": v} for k, v in data.items()}}
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        if page:
            body["miniprogram"] = {"appid": current_app.config["SETTINGS"].wechat_mini_appid, "pagepath": page}
        return self.call("/cgi-bin/message/template/send", body, "发送模板消息")

    def text_is_safe(self, content: str) -> bool:
        """WeChat's content check (v1): False when WeChat judges the text risky."""
        try:
            self.call("/wxa/msg_sec_check", {"content": content}, "内容安全检测")
        except UpstreamError as exc:
            if exc.upstream_code == 87014:
                return False
            raise
        return True


def _gateway(kind: str) -> WeChatGateway:
    gateways = current_app.extensions.setdefault("wechat", {})
    if kind not in gateways:
        s = current_app.config["SETTINGS"]
        appid, secret = (
            (s.wechat_mini_appid, s.wechat_mini_secret) if kind == "mini" else (s.wechat_oa_appid, s.wechat_oa_secret)
        )
        gateways[kind] = WeChatGateway(appid, secret, s.wechat_api_base, s.wechat_timeout, redis_client())
    return gateways[kind]


def mini_program() -> WeChatGateway:
    return _gateway("mini")


def official_account() -> WeChatGateway:
    return _gateway("oa")

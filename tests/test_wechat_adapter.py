"""The WeChat adapter against the WeChat sandbox over real HTTP: tokens, every error path, the sandbox's rules."""

from __future__ import annotations

import threading

import pytest
import requests

from services.errors import UpstreamError
from services.settings import ConfigError, load_settings
from services.wechat import WeChatGateway, mini_program, official_account
from tasks import redis_client
from tests.sandbox_client import SandboxClient


class Sandbox(SandboxClient):
    """The WeChat sandbox of a live server: control calls, the call log and the outbox."""

    def outbox(self):
        return requests.get(f"{self.base}/_control/outbox", timeout=5).json()["messages"]

    def user(self, openid="o-member-1"):
        return self.control("codes", {"openid": openid})["openid"]


@pytest.fixture
def sandbox(live_server):
    return Sandbox(f"{live_server.base_url}/_sandbox/wechat")


def _gateway(app, **kw) -> WeChatGateway:
    """A second gateway, as another process would build it (same Redis, if any)."""
    s = app.config["SETTINGS"]
    opts = {"timeout": s.wechat_timeout, "redis": redis_client(), **kw}
    return WeChatGateway(s.wechat_mini_appid, s.wechat_mini_secret, s.wechat_api_base, opts["timeout"], opts["redis"])


THING = {"thing1": "支部委员会会议", "time2": "2026年11月26日 15:00"}


# ---- configuration -----------------------------------------------------------------------------------------


def test_sandbox_refused_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATA_KEY", "k" * 43 + "=")
    monkeypatch.setenv("WECHAT_MINI_APPID", "wx0123456789abcdef")
    monkeypatch.setenv("WECHAT_MINI_SECRET", "s" * 32)
    monkeypatch.setenv("WECHAT_SANDBOX", "1")
    with pytest.raises(ConfigError, match="WECHAT_SANDBOX"):
        load_settings(str(tmp_path))
    monkeypatch.delenv("WECHAT_SANDBOX")
    s = load_settings(str(tmp_path))
    assert s.wechat_sandbox is False and s.wechat_api_base == "https://api.weixin.qq.com"
    monkeypatch.delenv("WECHAT_MINI_SECRET")
    with pytest.raises(ConfigError, match="WECHAT_MINI_APPID"):
        load_settings(str(tmp_path))


def test_sandbox_is_not_mounted_in_production(tmp_path, monkeypatch):
    from app import create_app

    for name, value in {
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATA_KEY": "k" * 43 + "=",
        "WECHAT_MINI_APPID": "wx0123456789abcdef",
        "WECHAT_MINI_SECRET": "s" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }.items():
        monkeypatch.setenv(name, value)
    prod = create_app()
    urls = {rule.rule for rule in prod.url_map.iter_rules()}
    assert not any(u.startswith("/_sandbox") for u in urls)
    assert prod.test_client().get("/_sandbox/wechat/").status_code == 404


def test_sandbox_is_on_by_default_outside_production(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("WECHAT_SANDBOX", raising=False)
    monkeypatch.delenv("WECHAT_API_BASE", raising=False)
    s = load_settings(str(tmp_path))
    assert s.wechat_sandbox and s.wechat_api_base == "http://127.0.0.1:5000/_sandbox/wechat"


# ---- tokens ------------------------------------------------------------------------------------------------


def test_token_fetched_once_and_reused(app, sandbox):
    sandbox.control("subscriptions", {"openid": sandbox.user(), "template_id": "T1", "count": 2})
    gw = mini_program()
    gw.send_subscribe("o-member-1", "T1", THING)
    gw.send_subscribe("o-member-1", "T1", THING)
    assert sandbox.calls("stable_token") == [("stable_token", 0)]
    assert [m["fields"] for m in sandbox.outbox()] == [THING, THING]


def test_expired_token_is_refreshed_once(app, sandbox):
    sandbox.control("subscriptions", {"openid": sandbox.user(), "template_id": "T1"})
    gw = mini_program()
    first = gw.access_token()
    sandbox.control("expire-tokens")
    gw.send_subscribe("o-member-1", "T1", THING, page="/pages/home/home")
    assert sandbox.calls()[-3:] == [("subscribe_send", 42001), ("stable_token", 0), ("subscribe_send", 0)]
    assert gw.access_token() != first
    assert sandbox.outbox()[0]["page"] == "/pages/home/home"


def test_a_token_refused_twice_fails_after_one_refresh(app, sandbox):
    sandbox.user()
    gw = mini_program()
    gw.access_token()
    sandbox.fault("subscribe_send", errcode=40001, times=5)
    with pytest.raises(UpstreamError) as err:
        gw.send_subscribe("o-member-1", "T1", THING)
    assert err.value.upstream_code == 40001 and not err.value.permanent
    sends = sandbox.calls("subscribe_send")
    assert sends == [("subscribe_send", 40001), ("subscribe_send", 40001)]  # one retry, never a loop
    # WeChat still handed out the rejected token, so the one refresh forced a new one.
    assert len(sandbox.calls("stable_token")) == 3


def test_token_shared_between_processes_and_refreshed_under_one_lock(app, sandbox):
    if redis_client() is None:
        pytest.skip("the shared token cache needs Redis (the MariaDB backend runs with it)")
    gateways = [_gateway(app) for _ in range(8)]  # eight "processes", one Redis
    tokens, errors = [], []

    def fetch(gw):
        try:
            tokens.append(gw.access_token())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(gw,)) for gw in gateways]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(tokens)) == 1
    assert sandbox.calls("stable_token") == [("stable_token", 0)]
    assert _gateway(app).access_token() == tokens[0]  # a later process reads it from Redis


def test_token_endpoint_failures_are_upstream_errors(app, sandbox):
    sandbox.fault("stable_token", http_status=503)
    with pytest.raises(UpstreamError) as err:
        mini_program().access_token()
    assert err.value.upstream_code == 503 and not err.value.permanent
    bad = WeChatGateway("wxunknownapp000001", "nope", app.config["SETTINGS"].wechat_api_base, 2.0)
    with pytest.raises(UpstreamError) as err:
        bad.access_token()
    assert err.value.upstream_code == 40013 and err.value.permanent


def test_classic_token_endpoint_speaks_wechat(app, sandbox):
    """/cgi-bin/token as wechatpy's own fetch calls it: a new token each time, the previous one still valid."""
    gw = mini_program()
    first = gw.client.fetch_access_token()["access_token"]
    second = gw.client.fetch_access_token()["access_token"]
    assert first != second
    sandbox.user()
    sandbox.control("subscriptions", {"openid": "o-member-1", "template_id": "T1"})
    gw.client.session.set(gw.client.access_token_key, first, 600)
    gw.send_subscribe("o-member-1", "T1", THING)  # the old token works for its grace period
    assert sandbox.calls("stable_token") == []


# ---- error codes of sends ----------------------------------------------------------------------------------


def test_no_subscription_credit_is_permanent(app, sandbox):
    sandbox.user()
    with pytest.raises(UpstreamError) as err:
        mini_program().send_subscribe("o-member-1", "T1", THING)
    assert err.value.upstream_code == 43101 and err.value.permanent
    sandbox.control("subscriptions", {"openid": "o-member-1", "template_id": "T1"})
    mini_program().send_subscribe("o-member-1", "T1", THING)  # the tap granted exactly one message
    with pytest.raises(UpstreamError) as err:
        mini_program().send_subscribe("o-member-1", "T1", THING)
    assert err.value.upstream_code == 43101
    assert len(sandbox.outbox()) == 1


@pytest.mark.parametrize(
    "fault, code, permanent",
    [
        ({"errcode": 45009}, 45009, False),
        ({"errcode": -1}, -1, False),
        ({"errcode": 47003}, 47003, True),
        ({"errcode": 40003}, 40003, True),
        ({"http_status": 502}, 502, False),
        ({"http_status": 500}, 500, False),
    ],
)
def test_send_errors_are_sorted(app, sandbox, fault, code, permanent):
    sandbox.user()
    sandbox.fault("subscribe_send", **fault)
    with pytest.raises(UpstreamError) as err:
        mini_program().send_subscribe("o-member-1", "T1", THING)
    assert (err.value.upstream_code, err.value.permanent) == (code, permanent)
    assert err.value.status == 502 and "微信" in err.value.message


def test_slow_answer_times_out_as_transient(app, sandbox):
    sandbox.user()
    gw = _gateway(app, timeout=0.3, redis=None)
    gw.access_token()
    sandbox.fault("subscribe_send", delay=1.2)
    with pytest.raises(UpstreamError) as err:
        gw.send_subscribe("o-member-1", "T1", THING)
    assert err.value.upstream_code is None and not err.value.permanent
    sandbox.fault("stable_token", delay=1.2)
    with pytest.raises(UpstreamError) as err:
        _gateway(app, timeout=0.3, redis=None).access_token()
    assert not err.value.permanent


def test_field_limits_are_checked_like_wechat(app, sandbox):
    sandbox.control("subscriptions", {"openid": sandbox.user(), "template_id": "T1", "count": 5})
    gw = mini_program()
    for data in ({"thing1": "长" * 21}, {"time2": "明天下午"}, {"phrase3": "六个字的短语"}, {"unknown4": "x"}):
        with pytest.raises(UpstreamError) as err:
            gw.send_subscribe("o-member-1", "T1", data)
        assert err.value.upstream_code == 47003 and err.value.permanent
    gw.send_subscribe("o-member-1", "T1", {"thing1": "长" * 20, "phrase3": "已逾期", "date4": "2026年11月26日"})
    assert len(sandbox.outbox()) == 1


def test_unknown_recipient_is_refused(app, sandbox):
    with pytest.raises(UpstreamError) as err:
        mini_program().send_subscribe("o-nobody", "T1", THING)
    assert err.value.upstream_code == 40003 and err.value.permanent


def test_template_message_sent_once_per_client_msg_id(app, sandbox):
    s = app.config["SETTINGS"]
    sandbox.control("users", {"appid": s.wechat_oa_appid, "openid": "oa-member-1"})
    oa = official_account()
    data = {"thing1": "三村党支部", "thing2": "本季度支部党员大会未召开"}
    first = oa.send_template("oa-member-1", "TPL1", data, client_msg_id="rem-42", page="/pages/home/home")
    again = oa.send_template("oa-member-1", "TPL1", data, client_msg_id="rem-42")
    assert first["msgid"] == again["msgid"]
    [message] = sandbox.outbox()
    assert message["kind"] == "template" and message["page"] == "/pages/home/home"


def test_content_check(app, sandbox):
    gw = mini_program()
    assert gw.text_is_safe("本周五下午召开支部党员大会")
    assert not gw.text_is_safe("村里有人聚众赌博")


def test_login_needs_no_access_token(app, sandbox):
    sandbox.fault("stable_token", http_status=500, times=10)
    sandbox.fault("token", http_status=500, times=10)
    code = sandbox.control("codes", {"openid": "o-login"})["code"]
    session = mini_program().code_to_session(code)
    assert session.openid == "o-login" and session.session_key
    assert sandbox.calls("stable_token") == [] and sandbox.calls("token") == []


def test_used_and_unknown_codes(app, sandbox):
    code = sandbox.control("codes", {"openid": "o-login"})["code"]
    mini_program().code_to_session(code)
    for bad, errcode in ((code, 40163), ("not-a-code", 40029)):
        with pytest.raises(UpstreamError) as err:
            mini_program().code_to_session(bad)
        assert err.value.upstream_code == errcode and err.value.permanent


# ---- the sandbox itself ------------------------------------------------------------------------------------


def test_sandbox_parses_json_without_content_type(live_server, sandbox):
    r = requests.post(
        f"{sandbox.base}/cgi-bin/stable_token",
        data=b'{"grant_type": "client_credential", "appid": "wxsandboxmini00001", "secret": "sandbox-mini-secret"}',
        headers={"Content-Type": ""},
        timeout=5,
    )
    assert r.json()["access_token"].startswith("SBX_")


def test_sandbox_control_validates(live_server, sandbox):
    r = requests.post(f"{sandbox.base}/_control/faults", json={"api": "subscribe_send", "http_status": 200}, timeout=5)
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"http_status": ["取值无效"]}


def test_outbox_page_lists_messages_in_chinese(app, client, world, sandbox):
    from models import WeChatApp, WeChatIdentity, db

    s = app.config["SETTINGS"]
    db.session.add(
        WeChatIdentity(
            member_id=world.member_v1.id, app=WeChatApp.MINI_PROGRAM, appid=s.wechat_mini_appid, openid="o-v1"
        )
    )
    db.session.commit()
    sandbox.control("subscriptions", {"openid": sandbox.user("o-v1"), "template_id": "MEETING_DUE"})
    mini_program().send_subscribe("o-v1", "MEETING_DUE", THING)
    page = client.get("/_sandbox/wechat/").get_data(as_text=True)
    assert "消息发件箱" in page and "已发送消息（1 条）" in page
    assert "一村党员（一村党支部）" in page and "MEETING_DUE" in page and "支部委员会会议" in page


def test_demo_button_sends_through_the_adapter(app, client, sandbox):
    r = client.post("/_sandbox/wechat/_demo/test-message", data={"openid": "demo-13900000001"})
    assert r.status_code == 302
    [message] = sandbox.outbox()
    assert message["touser"] == "demo-13900000001" and message["fields"]["thing1"] == "支部党员大会（演示）"
    assert client.post("/_sandbox/wechat/_demo/test-message", data={}).status_code == 422

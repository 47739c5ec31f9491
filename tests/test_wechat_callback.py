"""The official-account bot at /wechat/callback, driven as WeChat's server drives it: requests signed (plain mode)
or encrypted and signed (safe mode) with wechatpy's WeChatCrypto; replies read back (and decrypted) the same way.

Covers the signatures (good, bad, stale) in both modes, decryption, WeChat's retries answered once, entity attacks,
each command with data from the factories' world, follow events and a location as a duty check-in."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from models import (
    AuditEntry,
    DutyCheckin,
    MeetingKind,
    Notification,
    NotificationStatus,
    OfficialAccountFollower,
    OfficialAccountMessage,
    WeChatApp,
    WeChatIdentity,
    db,
)
from models.base import utcnow
from services import learning_points, meetings
from services import official_account as oa_service
from services.authz import Actor
from tasks import redis_client
from tests.test_duty_support import VILLAGE, circle_fence, east, make_cadre

_msg_ids = itertools.count(secrets.randbelow(10**12) * 1000)


# ---- WeChat's side ----------------------------------------------------------------------------------------


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(openid: str, content: str, msg_id: int | None = None, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next(_msg_ids)}</MsgId></xml>"
    )


def location_xml(openid: str, lat: float, lng: float, msg_id: int | None = None, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
        f"<Location_X>{lat}</Location_X><Location_Y>{lng}</Location_Y><Scale>15</Scale>"
        f"<Label><![CDATA[村委会附近]]></Label><MsgId>{msg_id or next(_msg_ids)}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, created: int | None = None, **fields) -> str:
    extra = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{extra}</xml>"
    )


class WeChatServer:
    """Posts to the bot as WeChat does, in the app's configured mode, and reads the passive reply."""

    def __init__(self, client, app):
        self.client, self.s = client, app.config["SETTINGS"]

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.s.wechat_oa_token, self.s.wechat_oa_aes_key, self.s.wechat_oa_appid)

    def query(self, timestamp=None, nonce=None, **extra) -> dict:
        timestamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or secrets.token_hex(6)
        return {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": sha1_signature(self.s.wechat_oa_token, timestamp, nonce),
            **extra,
        }

    def post(self, xml: str, *, timestamp=None, crypto=None, query=None):
        q = query or self.query(timestamp)
        body = xml
        if self.s.wechat_oa_message_mode == "safe":
            body = (crypto or self.crypto).encrypt_message(xml, q["nonce"], q["timestamp"])
            encrypted = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
            q = {
                **q,
                "encrypt_type": "aes",
                "msg_signature": sha1_signature(self.s.wechat_oa_token, q["timestamp"], q["nonce"], encrypted),
            }
        return self.client.post("/wechat/callback?" + urlencode(q), data=body.encode(), content_type="text/xml")

    def reply(self, response) -> str | None:
        """The reply's Content (None for "success"), decrypted and its msg_signature checked in safe mode."""
        assert response.status_code == 200, response.get_data(as_text=True)
        raw = response.get_data(as_text=True)
        if raw == "success":
            return None
        if self.s.wechat_oa_message_mode == "safe":
            sig = raw.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
            ts = raw.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
            nonce = raw.split("<Nonce><![CDATA[")[1].split("]]>")[0]
            raw = self.crypto.decrypt_message(raw, sig, ts, nonce)  # raises on a bad signature
        return raw.split("<Content><![CDATA[")[1].split("]]></Content>")[0]

    def say(self, openid: str, content: str, **kwargs) -> str | None:
        return self.reply(self.post(text_xml(openid, content, **kwargs)))


@pytest.fixture(autouse=True)
def _fresh_replay_guard(app):
    conn = redis_client()
    if conn is not None:
        for key in conn.scan_iter("oa:msg:*"):
            conn.delete(key)


@pytest.fixture
def wechat(client, app):
    return WeChatServer(client, app)


@pytest.fixture
def safe_mode(app):
    app.config["SETTINGS"].wechat_oa_message_mode = "safe"


def bind(member, openid: str) -> WeChatIdentity:
    """The member's official-account link, as a finished bind leaves it."""
    identity = WeChatIdentity(member_id=member.id, app=WeChatApp.OFFICIAL_ACCOUNT, appid=_oa_appid(), openid=openid)
    db.session.add(identity)
    db.session.commit()
    return identity


def _oa_appid() -> str:
    from flask import current_app

    return current_app.config["SETTINGS"].wechat_oa_appid


# ---- URL verification (GET) -------------------------------------------------------------------------------


def test_url_verification_echoes_echostr(client, wechat):
    r = client.get("/wechat/callback?" + urlencode(wechat.query(echostr="echo-7788")))
    assert r.status_code == 200 and r.get_data(as_text=True) == "echo-7788"


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_url_verification_refuses_bad_missing_or_stale_signatures(client, wechat, app, mode):
    app.config["SETTINGS"].wechat_oa_message_mode = mode
    bad = {**wechat.query(echostr="x"), "signature": "0" * 40}
    assert client.get("/wechat/callback?" + urlencode(bad)).status_code == 403
    missing = {k: v for k, v in wechat.query(echostr="x").items() if k != "signature"}
    assert client.get("/wechat/callback?" + urlencode(missing)).status_code == 403
    window = app.config["SETTINGS"].wechat_oa_timestamp_window_s
    stale = wechat.query(timestamp=int(time.time()) - window - 5, echostr="x")
    r = client.get("/wechat/callback?" + urlencode(stale))
    assert r.status_code == 403 and r.json["error"]["code"] == "stale_timestamp"
    future = wechat.query(timestamp=int(time.time()) + window + 5, echostr="x")
    assert client.get("/wechat/callback?" + urlencode(future)).status_code == 403
    ok = wechat.query(timestamp=int(time.time()) - window + 30, echostr="x")
    assert client.get("/wechat/callback?" + urlencode(ok)).get_data(as_text=True) == "x"


def test_without_a_token_the_callback_does_not_exist(client, wechat, app):
    query = wechat.query(echostr="x")
    app.config["SETTINGS"].wechat_oa_token = ""
    assert client.get("/wechat/callback?" + urlencode(query)).status_code == 404


# ---- signatures and decryption (POST) ---------------------------------------------------------------------


def test_plain_mode_good_bad_and_stale_signatures(client, wechat, app):
    assert "绑定" in wechat.say("o-plain-1", "帮助")
    bad = {**wechat.query(), "signature": sha1_signature("wrong-token", "1", "2")}
    assert wechat.post(text_xml("o-plain-1", "帮助"), query=bad).status_code == 403
    stale = int(time.time()) - app.config["SETTINGS"].wechat_oa_timestamp_window_s - 1
    r = wechat.post(text_xml("o-plain-1", "帮助"), timestamp=stale)
    assert r.status_code == 403 and r.json["error"]["code"] == "stale_timestamp"


def test_safe_mode_decrypts_and_encrypts_the_reply(wechat, safe_mode, world):
    bind(world.member_v1, "o-safe-1")
    r = wechat.post(text_xml("o-safe-1", "帮助"))
    assert "<Encrypt>" in r.get_data(as_text=True) and "帮助" not in r.get_data(as_text=True)
    assert "一村党员" in wechat.reply(r)  # decrypted with the account's key, msg_signature checked


def test_safe_mode_refuses_a_bad_msg_signature_a_tampered_body_and_plain_text(client, wechat, app, safe_mode):
    s = app.config["SETTINGS"]
    q = wechat.query()
    body = wechat.crypto.encrypt_message(text_xml("o-safe-2", "帮助"), q["nonce"], q["timestamp"])
    encrypted = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    good_sig = sha1_signature(s.wechat_oa_token, q["timestamp"], q["nonce"], encrypted)

    def post(query, data):
        return client.post("/wechat/callback?" + urlencode(query), data=data.encode(), content_type="text/xml")

    assert post({**q, "encrypt_type": "aes", "msg_signature": "f" * 40}, body).status_code == 403
    tampered = body.replace(encrypted, encrypted[:-8] + "AAAAAAA=")
    assert post({**q, "encrypt_type": "aes", "msg_signature": good_sig}, tampered).status_code == 403
    assert post(q, text_xml("o-safe-2", "帮助")).status_code == 403  # plain body, no encrypt_type
    stale = wechat.query(timestamp=int(time.time()) - s.wechat_oa_timestamp_window_s - 10)
    stale_body = wechat.crypto.encrypt_message(text_xml("o-safe-2", "帮助"), stale["nonce"], stale["timestamp"])
    stale_enc = stale_body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    stale_sig = sha1_signature(s.wechat_oa_token, stale["timestamp"], stale["nonce"], stale_enc)
    assert post({**stale, "encrypt_type": "aes", "msg_signature": stale_sig}, stale_body).status_code == 403
    assert post({**q, "encrypt_type": "aes", "msg_signature": good_sig}, body).status_code == 200


def test_safe_mode_refuses_a_message_encrypted_for_another_account(wechat, app, safe_mode):
    s = app.config["SETTINGS"]
    other = WeChatCrypto(s.wechat_oa_token, s.wechat_oa_aes_key, "wxotheraccount0001")
    r = wechat.post(text_xml("o-safe-3", "帮助"), crypto=other)
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_message"
    wrong_key = WeChatCrypto(s.wechat_oa_token, "A" * 43, s.wechat_oa_appid)
    assert wechat.post(text_xml("o-safe-3", "帮助"), crypto=wrong_key).status_code == 400


# ---- WeChat's retries -------------------------------------------------------------------------------------


def test_a_retried_message_is_handled_once_and_answered_alike(wechat, world, monkeypatch):
    calls = []
    real = oa_service.handle
    monkeypatch.setattr(oa_service, "handle", lambda message, now=None: calls.append(message.id) or real(message, now))
    bind(world.member_v1, "o-retry")
    xml = text_xml("o-retry", "积分", msg_id=987654321)
    first = wechat.reply(wechat.post(xml))
    for _ in range(3):  # WeChat retries up to three times
        assert wechat.reply(wechat.post(xml)) == first
    assert calls == [987654321] and "累计" in first
    assert wechat.say("o-retry", "积分") == first  # a new MsgId is a new message
    assert len(calls) == 2


def test_retried_events_are_recognised_by_sender_and_time(wechat, monkeypatch):
    calls = []
    real = oa_service.handle
    monkeypatch.setattr(oa_service, "handle", lambda message, now=None: calls.append(1) or real(message, now))
    created = int(time.time())
    first = wechat.reply(wechat.post(event_xml("o-evt", "subscribe", created, EventKey="")))
    assert wechat.reply(wechat.post(event_xml("o-evt", "subscribe", created, EventKey=""))) == first
    assert len(calls) == 1
    wechat.reply(wechat.post(event_xml("o-evt", "unsubscribe", created)))  # same second, another event
    assert len(calls) == 2


def test_the_replay_guard_uses_the_table_without_redis(wechat, app, world):
    bind(world.member_v1, "o-table")
    xml = text_xml("o-table", "帮助")
    first = wechat.reply(wechat.post(xml))
    assert wechat.reply(wechat.post(xml)) == first
    if redis_client() is None:
        assert db.session.scalar(select(func.count(OfficialAccountMessage.id))) == 1
        row = db.session.scalar(select(OfficialAccountMessage))
        assert row.dedupe_key.startswith("m:") and "一村党员" in row.reply
    else:
        assert db.session.scalar(select(func.count(OfficialAccountMessage.id))) == 0


def test_a_failed_handling_is_not_remembered_so_the_retry_runs(wechat, world, monkeypatch):
    real = oa_service.handle
    failing = {"left": 1}

    def flaky(message, now=None):
        if failing["left"]:
            failing["left"] -= 1
            raise RuntimeError("database hiccup")
        return real(message, now)

    monkeypatch.setattr(oa_service, "handle", flaky)
    xml = text_xml("o-flaky", "帮助")
    assert "系统繁忙" in wechat.reply(wechat.post(xml))
    assert "绑定" in wechat.reply(wechat.post(xml))


# ---- XML attacks ------------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-attacker</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-attacker</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&secret;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion_laughs", "external_entity"])
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_entity_attacks_are_refused_before_expansion(wechat, app, payload, mode):
    app.config["SETTINGS"].wechat_oa_message_mode = mode
    r = wechat.post(payload)  # correctly signed (and encrypted): the attacker knows the token, say
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_message"
    assert "root:" not in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(OfficialAccountFollower.id))) == 0


def test_the_parser_refuses_any_dtd_before_expanding_it():
    from blueprints.wechat_callback import BadMessage, parse_xml

    for payload in (BILLION_LAUGHS, EXTERNAL_ENTITY, '<!DOCTYPE xml [<!ENTITY a "b">]><xml><A>&a;</A></xml>'):
        with pytest.raises(BadMessage):
            parse_xml(payload.encode())
    assert parse_xml(b"<xml><A><![CDATA[x]]></A><B>2</B></xml>") == {"A": "x", "B": "2"}


def test_malformed_and_oversized_bodies_are_refused(wechat):
    assert wechat.post("<xml><FromUserName>o</FromUserName>").status_code == 400
    assert wechat.post("<other><MsgType>text</MsgType></other>").status_code == 400
    assert wechat.post("<xml><MsgType>text</MsgType></xml>").status_code == 400  # no sender
    big = text_xml("o-big", "党" * 30000)
    assert wechat.post(big).status_code == 400


# ---- follow events ----------------------------------------------------------------------------------------


def test_subscribe_welcomes_with_how_to_bind(wechat):
    reply = wechat.reply(wechat.post(event_xml("o-new", "subscribe", EventKey="")))
    assert "欢迎关注" in reply and "绑定 123456" in reply
    follower = db.session.scalar(select(OfficialAccountFollower).where(OfficialAccountFollower.openid == "o-new"))
    assert follower.subscribed and follower.subscribed_at is not None and follower.member_id is None


def test_scanning_a_qr_code_to_subscribe_is_a_subscribe(wechat):
    reply = wechat.reply(wechat.post(event_xml("o-qr", "subscribe", EventKey="qrscene_42", Ticket="t")))
    assert "欢迎关注" in reply


def test_unsubscribe_ends_the_link_keeps_history_and_a_return_restores_it(wechat, world):
    wechat.post(event_xml("o-leaver", "subscribe", EventKey=""))
    bind(world.member_v2, "o-leaver")
    db.session.scalar(
        select(OfficialAccountFollower).where(OfficialAccountFollower.openid == "o-leaver")
    ).member_id = world.member_v2.id
    db.session.commit()
    assert wechat.reply(wechat.post(event_xml("o-leaver", "unsubscribe"))) is None  # "success"
    follower = db.session.scalar(select(OfficialAccountFollower).where(OfficialAccountFollower.openid == "o-leaver"))
    assert not follower.subscribed and follower.unsubscribed_at is not None and follower.member_id == world.member_v2.id
    assert db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.openid == "o-leaver")) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "wechat.oa.unsubscribe")) is not None
    reply = wechat.reply(wechat.post(event_xml("o-leaver", "subscribe", created=int(time.time()) + 1, EventKey="")))
    assert "欢迎回来" in reply and "二村党员" in reply
    identity = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.openid == "o-leaver"))
    assert identity.member_id == world.member_v2.id and identity.app == WeChatApp.OFFICIAL_ACCOUNT


# ---- commands ---------------------------------------------------------------------------------------------


def test_non_members_get_the_bind_text_for_every_command(wechat):
    for text in ("积分", "会议", "待办", "你好"):
        reply = wechat.say("o-stranger", text)
        assert "还没有绑定党员账号" in reply and "绑定 123456" in reply
    reply = wechat.reply(wechat.post(location_xml("o-stranger", *VILLAGE)))
    assert "还没有绑定党员账号" in reply


def test_help_and_unknown_text_list_the_commands(wechat, world):
    bind(world.member_v1, "o-help")
    for text in ("帮助", "随便说点什么", ""):
        reply = wechat.say("o-help", text)
        assert all(cmd in reply for cmd in ("积分", "会议", "待办", "帮助")) and "一村党员" in reply


def test_points_reply_with_the_ledger(wechat, world):
    learning_points.ensure_default_rules()
    learning_points.grant(world.member_v1, "login", unique_key="t-login", source_type="test")
    learning_points.grant(world.member_v1, "article_read", unique_key="t-a1", source_type="test")
    learning_points.grant(world.member_v1, "article_read", unique_key="t-a2", source_type="test")
    db.session.commit()
    bind(world.member_v1, "o-points")
    reply = wechat.say("o-points", "积分")
    assert "累计：3分" in reply and "今日：3分" in reply
    assert "每日登录：1/1分" in reply and "阅读文章：2/6分" in reply


def _kind(code: str) -> MeetingKind:
    return db.session.scalar(select(MeetingKind).where(MeetingKind.code == code))


def test_meetings_reply_with_the_next_meetings_and_what_is_overdue(wechat, world):
    now = utcnow()
    start = now + timedelta(days=2)
    data = {"org_id": world.v1.id, "title": "十二月支委会", "starts_at": start, "ends_at": start + timedelta(hours=2)}
    meetings.create_meeting(Actor(world.sec_v1), {**data, "kind_id": _kind("branch_committee").id})
    held_start = now - timedelta(hours=3)
    held = meetings.create_meeting(
        Actor(world.sec_v1),
        {
            **data,
            "title": "本月主题党日",
            "kind_id": _kind("theme_day").id,
            "starts_at": held_start,
            "ends_at": held_start + timedelta(hours=1),
        },
    )
    meetings.record_held(Actor(world.sec_v1), held)
    db.session.commit()
    bind(world.member_v1, "o-meet")
    reply = wechat.say("o-meet", "会议")
    assert "一村党支部" in reply and "十二月支委会" in reply
    this_month = meetings.period_of(_kind("theme_day").cadence, held_start) == meetings.period_of(
        _kind("theme_day").cadence, now
    )  # false only in the first hours of a month
    assert f"主题党日：本月已开{int(this_month)}/1次" in reply and "支部委员会会议：本月已开0/1次" in reply
    assert "逾期未开" in reply and "支部党员大会" in reply  # nothing was held last quarter
    other = wechat.say("o-meet", "会议")
    assert other == reply
    bind(world.member_v4, "o-meet-4")
    assert "十二月支委会" not in wechat.say("o-meet-4", "会议")  # another branch's meetings are not shown


def test_todo_lists_unread_notifications_and_due_items(wechat, world):
    def notify(key, title, **extra):
        db.session.add(
            Notification(member_id=world.member_v1.id, key=key, category="test", title=title, body="b", **extra)
        )

    notify("n1", "请参加支部党员大会", due_at=utcnow() + timedelta(days=1))
    notify("n2", "已读的提醒", read_at=utcnow())
    notify("n3", "撤回的提醒", status=NotificationStatus.CANCELLED)
    db.session.add(Notification(member_id=world.member_v2.id, key="n4", category="test", title="别人的提醒", body="b"))
    db.session.commit()
    bind(world.member_v1, "o-todo")
    reply = wechat.say("o-todo", "待办")
    assert "未读提醒1条" in reply and "请参加支部党员大会" in reply
    assert "已读的提醒" not in reply and "撤回的提醒" not in reply and "别人的提醒" not in reply
    assert "待办事项" in reply and "绑定微信" in reply  # the home page's due items: the mini-program is not bound


def test_replies_fit_wechats_length_limit(wechat, world):
    for i in range(5):
        db.session.add(
            Notification(member_id=world.member_v1.id, key=f"long{i}", category="t", title="很长的提醒" * 19, body="b")
        )
    db.session.commit()
    bind(world.member_v1, "o-long")
    reply = wechat.say("o-long", "待办")
    assert len(reply.encode()) <= 2048


def test_a_disabled_account_is_told_so(wechat, world):
    from models import AccountStatus

    bind(world.member_v3, "o-disabled")
    world.member_v3.status = AccountStatus.DISABLED
    db.session.commit()
    assert "已停用" in wechat.say("o-disabled", "积分")


# ---- location → duty check-in -----------------------------------------------------------------------------


def checkins() -> list[DutyCheckin]:
    return list(db.session.scalars(select(DutyCheckin).order_by(DutyCheckin.id)))


def test_a_location_message_is_a_check_in_recorded_once_with_its_judgement(wechat, world, app):
    cadre = make_cadre(world)
    circle_fence(world, coord_sys="gcj02")  # location messages come from Tencent Maps: GCJ-02
    bind(cadre, "o-cadre")
    xml = location_xml("o-cadre", *VILLAGE, msg_id=55501)
    reply = wechat.reply(wechat.post(xml))
    assert "值班签到已记录：一村党支部" in reply and "无法确定" in reply  # a map pick proves nothing by default
    assert wechat.reply(wechat.post(xml)) == reply  # WeChat's retry
    rows = checkins()
    assert len(rows) == 1
    row = rows[0]
    assert row.client_id == "oa-msg-55501" and row.coord_sys.value == "gcj02" and row.member_id == cadre.id
    assert row.result.value == "uncertain" and "地图选点" in row.remark
    app.config["SETTINGS"].wechat_oa_location_accuracy_m = 20.0
    reply = wechat.reply(wechat.post(location_xml("o-cadre", *VILLAGE)))
    assert "在村" in reply and checkins()[-1].result.value == "inside"
    far = wechat.reply(wechat.post(location_xml("o-cadre", *east(VILLAGE, 1500))))
    assert "不在范围内" in far and len(checkins()) == 3


def test_a_location_event_is_a_check_in_at_most_once_per_gap(wechat, world, app):
    cadre = make_cadre(world)
    circle_fence(world)  # WGS-84, as the LOCATION event is configured by default
    bind(cadre, "o-cadre-evt")
    created = int(time.time()) - 60
    xml = event_xml("o-cadre-evt", "LOCATION", created, Latitude=VILLAGE[0], Longitude=VILLAGE[1], Precision=15.0)
    assert wechat.reply(wechat.post(xml)) is None  # WeChat allows only "success" here
    assert wechat.reply(wechat.post(xml)) is None  # retry
    rows = checkins()
    assert len(rows) == 1 and rows[0].result.value == "inside" and rows[0].accuracy_m == 15.0
    assert rows[0].client_id == f"oa-evt-{created}" and rows[0].coord_sys.value == "wgs84"
    again = event_xml("o-cadre-evt", "LOCATION", created + 30, Latitude=VILLAGE[0], Longitude=VILLAGE[1], Precision=15)
    wechat.post(again)
    assert len(checkins()) == 1  # within WECHAT_OA_LOCATION_EVENT_GAP_MINUTES


def test_a_location_from_a_member_without_duty_is_not_a_check_in(wechat, world):
    bind(world.member_v1, "o-no-duty")
    reply = wechat.reply(wechat.post(location_xml("o-no-duty", *VILLAGE)))
    assert "没有驻村值班安排" in reply
    wechat.post(event_xml("o-no-duty", "LOCATION", Latitude=VILLAGE[0], Longitude=VILLAGE[1], Precision=10))
    assert checkins() == []


# ---- the sandbox's WeChat side ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_the_sandbox_drives_the_bot_in_either_mode(client, world, app, mode):
    app.config["SETTINGS"].wechat_oa_message_mode = mode
    base = "/_sandbox/wechat/official-account"
    code = client.post(f"{base}/_control/bind-code", json={"mobile": world.member_v1.mobile}).json
    assert code["member"] == "一村党员" and code["send"] == f"绑定 {code['code']}"
    r = client.post(f"{base}/_control/send", json={"openid": "o-sbx", "kind": "text", "content": code["send"]})
    assert r.status_code == 200 and r.json["status"] == 200 and "绑定成功" in r.json["reply"]
    assert ("<Encrypt>" in r.json["raw_reply"]) == (mode == "safe")
    again = client.post(f"{base}/_control/send", json={"openid": "o-sbx", "kind": "subscribe"}).json
    assert "一村党员" in again["reply"]
    page = client.post(f"{base}/", data={"openid": "o-sbx", "kind": "text", "content": "积分", "mode": mode})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "累计：0分" in text and "一村党员" in text and "已关注" in text
    wrong_mode = "plain" if mode == "safe" else "safe"
    refused = client.post(f"{base}/_control/send", json={"openid": "o-sbx", "content": "帮助", "mode": wrong_mode})
    assert refused.json["status"] in (400, 403) and refused.json["reply"] is None  # the other mode is refused
    bad = client.post(f"{base}/_control/send", json={"openid": "", "kind": "text"})
    assert bad.status_code == 422 and "openid" in bad.json["error"]["fields"]

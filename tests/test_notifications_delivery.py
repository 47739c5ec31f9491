"""Delivering one notification against the WeChat and SMS sandboxes over real HTTP: channel order, every error
path (retry, fall through, zero credits), credits spent and given back, the SMS daily limit and cost, claims, and
attempts whose answer was lost."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests

from models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    Notification,
    NotificationStatus,
    SmsUsage,
    SubscribeCredit,
    WeChatApp,
    WeChatIdentity,
    db,
)
from models.base import utcnow
from services import notifications, notify_channels
from services.notify_delivery import TransientDelivery, claim, deliver, deliver_chunk
from tests.sandbox_client import SandboxClient

TEMPLATE = "SBX_TODO_REMINDER"


class Box(SandboxClient):
    def outbox(self):
        return requests.get(f"{self.base}/_control/outbox", timeout=5).json()["messages"]


@pytest.fixture
def env(app, live_server, world):
    s = app.config["SETTINGS"]
    s.sms_api_base = f"{live_server.base_url}/_sandbox/sms"
    app.extensions.pop("sms", None)
    wx = Box(f"{live_server.base_url}/_sandbox/wechat")
    sms = Box(f"{live_server.base_url}/_sandbox/sms")

    class Env:
        pass

    e = Env()
    e.app, e.s, e.wx, e.sms, e.world, e.member = app, s, wx, sms, world, world.member_v1

    def bind(member, app_kind, openid):
        appid = s.wechat_mini_appid if app_kind == WeChatApp.MINI_PROGRAM else s.wechat_oa_appid
        db.session.add(WeChatIdentity(member_id=member.id, app=app_kind, appid=appid, openid=openid))
        db.session.commit()
        wx.control("users", {"appid": appid, "openid": openid})

    def credit(member, openid, ours=1, wechat=1):
        if wechat:
            wx.control("subscriptions", {"openid": openid, "template_id": TEMPLATE, "count": wechat})
        if ours:
            notify_channels.grant_credits(member.id, TEMPLATE, ours)
            db.session.commit()

    e.bind, e.credit = bind, credit
    return e


def _post(member, key="n1", category="meeting_due", title="支部委员会会议待召开", body="本月会议尚未召开"):
    nid = notifications.post(member.id, key=key, category=category, title=title, body=body, org_name="一村党支部")
    db.session.commit()
    return nid


def _row(nid) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, nid)


def _credits(member) -> int:
    db.session.expire_all()
    return db.session.query(SubscribeCredit.credits).filter_by(member_id=member.id, template_id=TEMPLATE).scalar() or 0


def _attempts(nid):
    db.session.expire_all()
    rows = db.session.query(DeliveryAttempt).filter_by(notification_id=nid).order_by(DeliveryAttempt.id).all()
    return [(a.channel, a.outcome, a.upstream_code) for a in rows]


def test_subscribe_message_spends_one_credit_and_fits_the_limits(env):
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.credit(env.member, "o-mini-1", ours=2, wechat=2)
    nid = _post(env.member, title="关于召开二〇二六年第四季度支部党员大会暨党课的提醒事项")
    assert deliver(nid) == "subscribe"
    row = _row(nid)
    assert (row.status, row.channel) == (NotificationStatus.SENT, Channel.SUBSCRIBE) and row.sent_at is not None
    [message] = env.wx.outbox()
    assert message["kind"] == "subscribe" and message["touser"] == "o-mini-1"
    assert len(message["fields"]["thing1"]) == 20 and message["fields"]["thing1"].endswith("…")
    assert message["fields"]["thing3"] == "一村党支部"
    assert _credits(env.member) == 1
    assert _attempts(nid) == [(Channel.SUBSCRIBE, AttemptOutcome.DELIVERED, None)]
    assert deliver(nid) == "skipped" and len(env.wx.outbox()) == 1  # a second run sends nothing


def test_no_credit_skips_subscribe_and_43101_zeroes_the_ledger(env):
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    nid = _post(env.member, key="a")
    assert deliver(nid) == "template"  # no credit in our ledger: subscribe is not even tried
    assert _attempts(nid) == [(Channel.TEMPLATE, AttemptOutcome.DELIVERED, None)]
    env.credit(env.member, "o-mini-1", ours=3, wechat=0)  # our ledger believes in credits WeChat does not hold
    nid = _post(env.member, key="b")
    assert deliver(nid) == "template"
    assert _attempts(nid) == [
        (Channel.SUBSCRIBE, AttemptOutcome.REFUSED, 43101),
        (Channel.TEMPLATE, AttemptOutcome.DELIVERED, None),
    ]
    assert _credits(env.member) == 0
    assert [m["kind"] for m in env.wx.outbox()] == ["template", "template"]


@pytest.mark.parametrize("fault", [{"errcode": -1}, {"errcode": 45009}, {"http_status": 503}])
def test_transient_errors_retry_without_spending_the_credit(env, fault):
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.credit(env.member, "o-mini-1")
    env.wx.fault("subscribe_send", **fault)
    nid = _post(env.member)
    with pytest.raises(TransientDelivery):
        deliver(nid, retries_left=2)
    row = _row(nid)
    assert row.status == NotificationStatus.PENDING and row.claim_token is None
    assert _credits(env.member) == 1  # given back: the message did not go out
    assert deliver(nid, retries_left=1) == "subscribe"
    assert _credits(env.member) == 0 and len(env.wx.outbox()) == 1
    assert [a[:2] for a in _attempts(nid)] == [
        (Channel.SUBSCRIBE, AttemptOutcome.TRANSIENT),
        (Channel.SUBSCRIBE, AttemptOutcome.DELIVERED),
    ]


def test_transient_error_on_the_last_retry_falls_through(env):
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    env.credit(env.member, "o-mini-1")
    env.wx.fault("subscribe_send", errcode=45009)
    nid = _post(env.member)
    assert deliver(nid, retries_left=0) == "template"
    assert _credits(env.member) == 1
    assert [m["kind"] for m in env.wx.outbox()] == ["template"]


@pytest.mark.parametrize("errcode", [40003, 40037, 47003])
def test_permanent_errors_fall_through_and_give_the_credit_back(env, errcode):
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    env.credit(env.member, "o-mini-1")
    env.wx.fault("subscribe_send", errcode=errcode)
    nid = _post(env.member)
    assert deliver(nid, retries_left=3) == "template"  # no retry for a permanent refusal
    assert _attempts(nid) == [
        (Channel.SUBSCRIBE, AttemptOutcome.REFUSED, errcode),
        (Channel.TEMPLATE, AttemptOutcome.DELIVERED, None),
    ]
    assert _credits(env.member) == 1


def test_all_refused_leaves_the_message_in_the_inbox_as_failed(env):
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    env.wx.fault("template_send", errcode=40003)
    nid = _post(env.member)
    assert deliver(nid) == "inbox"
    row = _row(nid)
    assert (row.status, row.channel) == (NotificationStatus.FAILED, Channel.INBOX)
    assert notifications.unread_count(env.member.id) == 1


def test_member_without_any_channel_gets_the_inbox(env):
    nid = _post(env.member)
    assert deliver(nid) == "inbox"
    assert (_row(nid).status, _row(nid).channel) == (NotificationStatus.SENT, Channel.INBOX)
    assert _attempts(nid) == []


def test_field_limits_are_checked_before_sending():
    assert notify_channels.check_fields({"thing1": "一" * 20, "time2": "2026年11月26日 15:01"})
    for bad in ({"thing1": "一" * 21}, {"time2": "2026-11-26T15:01"}, {"name1": "一" * 11}, {"first": "x"}):
        with pytest.raises(notify_channels.FieldError):
            notify_channels.check_fields(bad)


# ---- answers lost: timeouts and crashed runs -------------------------------------------------------------------


def test_subscribe_timeout_is_taken_as_sent_never_repeated(env):
    env.s.wechat_timeout = 0.5
    env.app.extensions.pop("wechat", None)
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    env.credit(env.member, "o-mini-1", ours=2, wechat=2)
    env.wx.fault("subscribe_send", delay=1.0)
    nid = _post(env.member)
    with pytest.raises(TransientDelivery):
        deliver(nid, retries_left=2)
    assert _attempts(nid) == [(Channel.SUBSCRIBE, AttemptOutcome.IN_FLIGHT, None)]
    time.sleep(1.0)  # the sandbox answers the slow call after all: the message is out
    assert deliver(nid, retries_left=1) == "subscribe"
    assert _attempts(nid) == [(Channel.SUBSCRIBE, AttemptOutcome.DELIVERED, None)]
    assert len(env.wx.outbox()) == 1 and _credits(env.member) == 1


def test_template_timeout_is_resent_with_the_same_client_msg_id(env):
    env.s.wechat_timeout = 0.5
    env.app.extensions.pop("wechat", None)
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    env.wx.fault("template_send", delay=1.0)
    nid = _post(env.member)
    with pytest.raises(TransientDelivery):
        deliver(nid, retries_left=2)
    time.sleep(1.0)
    assert deliver(nid, retries_left=1) == "template"
    assert [m["kind"] for m in env.wx.outbox()] == ["template"]  # WeChat deduplicated the resend
    assert [a[:2] for a in _attempts(nid)] == [
        (Channel.TEMPLATE, AttemptOutcome.TRANSIENT),
        (Channel.TEMPLATE, AttemptOutcome.DELIVERED),
    ]


def _crashed(nid, channel):
    """What a run killed right after committing its in-flight attempt leaves behind, its lease over."""
    token = claim(nid)
    old = utcnow() - timedelta(seconds=600)
    db.session.add(
        DeliveryAttempt(
            notification_id=nid,
            channel=channel,
            outcome=AttemptOutcome.IN_FLIGHT,
            claim_token=token,
            cost_fen=0,
            started_at=old,
        )
    )
    db.session.get(Notification, nid).claimed_at = old
    db.session.commit()


def test_a_fresh_claim_is_not_taken_a_stale_one_is(env):
    nid = _post(env.member)
    assert claim(nid) is not None
    assert deliver(nid) == "skipped"
    _row(nid).claimed_at = utcnow() - timedelta(seconds=env.s.notify_claim_lease_s + 1)
    db.session.commit()
    assert deliver(nid) == "inbox"


def test_crash_before_an_sms_reached_the_provider_sends_it_once(env):
    nid = _post(env.member, category="urge", title="督办：请尽快召开支部委员会会议", body="请于本周内召开")
    _crashed(nid, Channel.SMS)
    assert deliver(nid) == "sms"
    [sms] = env.sms.outbox()
    assert sms["out_id"] == f"notification-{nid}" and sms["phone"] == env.member.mobile
    assert sms["content"].startswith("【党建云】督办：请尽快召开")


def test_sms_timeout_is_resolved_by_asking_the_provider(env):
    env.s.sms_timeout = 0.5
    env.app.extensions.pop("sms", None)
    env.sms.control("faults", {"delay": 1.0})
    nid = _post(env.member, category="urge")
    with pytest.raises(TransientDelivery):
        deliver(nid, retries_left=2)
    time.sleep(1.0)
    assert deliver(nid, retries_left=1) == "sms"
    assert len(env.sms.outbox()) == 1
    assert [c["api"] for c in requests.get(f"{env.sms.base}/_control/calls", timeout=5).json()["calls"]] == [
        "SendSms",
        "QuerySendDetails",
    ]
    db.session.expire_all()
    usage = db.session.query(SmsUsage).filter_by(member_id=env.member.id).one()
    assert (usage.count, usage.cost_fen) == (1, env.s.sms_cost_fen)


def test_crash_during_a_subscribe_send_never_sends_twice(env):
    env.bind(env.member, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.bind(env.member, WeChatApp.OFFICIAL_ACCOUNT, "o-oa-1")
    env.credit(env.member, "o-mini-1")
    nid = _post(env.member)
    _crashed(nid, Channel.SUBSCRIBE)
    assert deliver(nid) == "subscribe"  # taken as delivered; neither resent nor sent on another channel
    assert env.wx.outbox() == []


# ---- SMS ---------------------------------------------------------------------------------------------------------


def test_sms_only_for_urgent_categories_within_the_daily_limit(env):
    env.s.sms_daily_limit = 2
    assert deliver(_post(env.member, key="due", category="meeting_due")) == "inbox"
    results = [deliver(_post(env.member, key=f"u{i}", category="urge")) for i in range(3)]
    assert results == ["sms", "sms", "inbox"]
    assert len(env.sms.outbox()) == 2
    db.session.expire_all()
    usage = db.session.query(SmsUsage).filter_by(member_id=env.member.id).one()
    assert (usage.count, usage.cost_fen) == (2, 2 * env.s.sms_cost_fen)
    assert sum(a.cost_fen for a in db.session.query(DeliveryAttempt)) == 2 * env.s.sms_cost_fen


def test_sms_refused_number_falls_to_the_inbox_and_costs_nothing(env):
    env.sms.control("faults", {"code": "isv.MOBILE_NUMBER_ILLEGAL"})
    nid = _post(env.member, category="urge")
    assert deliver(nid, retries_left=3) == "inbox"
    assert _row(nid).status == NotificationStatus.FAILED
    db.session.expire_all()
    assert db.session.query(SmsUsage).filter_by(member_id=env.member.id).one().count == 0


def test_sms_signature_is_checked_by_the_sandbox(env):
    from services.sms import AliyunSms

    s = env.s
    forged = AliyunSms(s.sms_api_base, s.sms_access_key_id, "wrong-secret", s.sms_sign_name, s.sms_template_code, 5)
    env.app.extensions["sms"] = {(s.sms_api_base, s.sms_access_key_id): forged}
    nid = _post(env.member, category="urge")
    assert deliver(nid) == "inbox"
    assert _attempts(nid) == [(Channel.SMS, AttemptOutcome.REFUSED, None)]
    assert "SignatureDoesNotMatch" in db.session.query(DeliveryAttempt).one().detail


def test_cancelled_notification_is_not_sent(env):
    nid = _post(env.member, key="k")
    notifications.cancel(["k"])
    db.session.commit()
    assert deliver(nid) == "skipped" and _row(nid).status == NotificationStatus.CANCELLED


# ---- chunks ------------------------------------------------------------------------------------------------------


def _members(env, count, openid_prefix=None):
    from tests.factories import member

    people = [member(env.world.v1, f"分块党员{i}", password=None) for i in range(count)]
    db.session.commit()
    for m in people:
        if openid_prefix:
            env.bind(m, WeChatApp.OFFICIAL_ACCOUNT, f"{openid_prefix}-{m.id}")
    return people


def test_a_chunk_sends_template_messages_at_once_and_the_rest_row_by_row(env):
    refused, *template = _members(env, 4, "o-oa")
    [inbox_only] = _members(env, 1)
    [subscriber] = _members(env, 1)
    env.bind(subscriber, WeChatApp.MINI_PROGRAM, "o-mini-1")
    env.credit(subscriber, "o-mini-1")
    ids = [_post(m, key=f"c{m.id}") for m in (refused, *template, inbox_only, subscriber)]
    cancelled = _post(env.member, key="cancelled")
    notifications.cancel(["cancelled"])
    db.session.commit()
    env.wx.fault("template_send", errcode=40003)  # the first template message sent: the refused member's
    result = deliver_chunk([*ids, cancelled], retries_left=3)
    assert result.done == {"template": 3, "subscribe": 1, "inbox": 2, "skipped": 1}
    assert (result.retry, result.leftover) == ([], [])
    assert [(_row(i).status, _row(i).channel) for i in ids] == [
        (NotificationStatus.FAILED, Channel.INBOX),
        *[(NotificationStatus.SENT, Channel.TEMPLATE)] * 3,
        (NotificationStatus.SENT, Channel.INBOX),
        (NotificationStatus.SENT, Channel.SUBSCRIBE),
    ]
    assert _attempts(ids[0]) == [(Channel.TEMPLATE, AttemptOutcome.REFUSED, 40003)]
    assert _attempts(ids[1]) == [(Channel.TEMPLATE, AttemptOutcome.DELIVERED, None)]
    assert sorted(m["kind"] for m in env.wx.outbox()) == ["subscribe", "template", "template", "template"]
    again = deliver_chunk(ids)
    assert again.done == {"skipped": len(ids)} and len(env.wx.outbox()) == 4


def test_a_transient_answer_releases_the_rest_of_the_chunk_for_the_retry(env):
    ids = [_post(m, key=f"t{m.id}") for m in _members(env, 3, "o-oa")]
    env.wx.fault("template_send", errcode=45009)
    result = deliver_chunk(ids, retries_left=2)
    assert result.retry == ids and result.done == {}
    assert {(_row(i).status, _row(i).claim_token) for i in ids} == {(NotificationStatus.PENDING, None)}
    assert _attempts(ids[0]) == [(Channel.TEMPLATE, AttemptOutcome.TRANSIENT, 45009)]
    assert _attempts(ids[1]) == [] and _attempts(ids[2]) == []  # never called: no attempt
    assert deliver_chunk(ids, retries_left=1).done == {"template": 3}
    assert len(env.wx.outbox()) == 3


def test_on_the_last_retry_a_transient_answer_falls_through(env):
    ids = [_post(m, key=f"l{m.id}") for m in _members(env, 3, "o-oa")]
    env.wx.fault("template_send", errcode=45009)
    result = deliver_chunk(ids, retries_left=0)
    assert result.done == {"template": 2, "inbox": 1} and result.retry == []
    assert _row(ids[0]).status == NotificationStatus.FAILED
    assert _attempts(ids[0]) == [(Channel.TEMPLATE, AttemptOutcome.TRANSIENT, 45009)]  # not tried twice


def test_a_crashed_chunk_is_resent_once_with_the_same_client_msg_ids(env):
    from services import wechat

    people = _members(env, 2, "o-oa")
    ids = [_post(m, key=f"k{m.id}") for m in people]
    for nid in ids:
        _crashed(nid, Channel.TEMPLATE)
    first = _row(ids[0])  # the dead run got its first message out before it died
    data = notify_channels.wechat_fields(first)
    wechat.official_account().send_template(
        f"o-oa-{people[0].id}", env.s.notify_oa_template, data, client_msg_id=f"notification-{ids[0]}"
    )
    result = deliver_chunk(ids)
    assert result.done == {"template": 2}
    assert sorted(m["touser"] for m in env.wx.outbox()) == sorted(f"o-oa-{m.id}" for m in people)
    assert [a[:2] for a in _attempts(ids[0])] == [
        (Channel.TEMPLATE, AttemptOutcome.TRANSIENT),
        (Channel.TEMPLATE, AttemptOutcome.DELIVERED),
    ]


def test_a_spent_budget_releases_the_chunk_unsent(env):
    ids = [_post(m, key=f"b{m.id}") for m in _members(env, 2, "o-oa")]
    result = deliver_chunk(ids, budget_s=0)
    assert result.leftover == ids and result.retry == []
    assert {(_row(i).status, _row(i).claim_token) for i in ids} == {(NotificationStatus.PENDING, None)}
    assert _attempts(ids[0]) == [] and env.wx.outbox() == []

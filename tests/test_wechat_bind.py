"""Linking the official account to a member: the bind code from /api/me/official-account/bind-code, sent to the
account as "绑定 123456"; expiry, wrong codes (and their limit), codes used twice, an openid already bound, a new
code replacing the old, unbinding from either side, and who may do what (each role binds only itself)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    AccountStatus,
    AuditEntry,
    OfficialAccountBindCode,
    OfficialAccountFollower,
    WeChatApp,
    WeChatIdentity,
    db,
)
from models.base import utcnow
from services.official_account import MAX_BIND_FAILURES
from tests.test_wechat_callback import WeChatServer, _fresh_replay_guard, event_xml  # noqa: F401 - fixture


@pytest.fixture
def wechat(client, app):
    return WeChatServer(client, app)


def get_code(client, login_as, member) -> str:
    r = client.post("/api/me/official-account/bind-code", headers=login_as(member))
    assert r.status_code == 201, r.json
    return r.json["code"]


def oa_identity(member) -> WeChatIdentity | None:
    return db.session.scalar(
        select(WeChatIdentity).where(
            WeChatIdentity.member_id == member.id, WeChatIdentity.app == WeChatApp.OFFICIAL_ACCOUNT
        )
    )


def test_the_bind_code_endpoint_needs_a_login(client):
    assert client.post("/api/me/official-account/bind-code").status_code == 401
    assert client.get("/api/me/official-account").status_code == 401
    assert client.delete("/api/me/official-account").status_code == 401


def test_a_code_binds_the_openid_to_the_member(client, login_as, world, wechat, app):
    r = client.post("/api/me/official-account/bind-code", headers=login_as(world.member_v1))
    assert r.status_code == 201
    code = r.json["code"]
    assert len(code) == 6 and code.isdigit() and code in r.json["instruction"]
    assert r.json["expires_in"] == app.config["SETTINGS"].wechat_oa_bind_code_minutes * 60
    assert r.json["expires_at"].endswith("+08:00")
    status = client.get("/api/me/official-account", headers=login_as(world.member_v1)).json
    assert status == {"bound": False, "bound_at": None}

    reply = wechat.say("o-bind-1", f"绑定 {code}")
    assert "绑定成功" in reply and "一村党员" in reply and "一村党支部" in reply
    identity = oa_identity(world.member_v1)
    assert identity.openid == "o-bind-1" and identity.appid == app.config["SETTINGS"].wechat_oa_appid
    follower = db.session.scalar(select(OfficialAccountFollower).where(OfficialAccountFollower.openid == "o-bind-1"))
    assert follower.member_id == world.member_v1.id and follower.bound_at is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "wechat.oa.bind"))
    assert entry.actor_id == world.member_v1.id and entry.detail == {"replaced": False}
    assert client.get("/api/me/official-account", headers=login_as(world.member_v1)).json["bound"] is True
    assert "一村党员" in wechat.say("o-bind-1", "帮助")  # now a member


@pytest.mark.parametrize("text", ["绑定{}", "绑定　{}", " 绑定  {} ", "BIND {}"])
def test_the_command_tolerates_spacing(client, login_as, world, wechat, text):
    code = get_code(client, login_as, world.member_v2)
    assert "绑定成功" in wechat.say("o-spacing", text.format(code))


def test_a_malformed_bind_command_explains_the_format(wechat):
    assert "6位数字" in wechat.say("o-fmt", "绑定 12345")
    assert "6位数字" in wechat.say("o-fmt", "绑定")


def test_an_expired_code_is_refused(client, login_as, world, wechat):
    code = get_code(client, login_as, world.member_v1)
    row = db.session.scalar(select(OfficialAccountBindCode).where(OfficialAccountBindCode.code == code))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "无效或已过期" in wechat.say("o-late", f"绑定 {code}")
    assert oa_identity(world.member_v1) is None


def test_a_code_is_used_once(client, login_as, world, wechat):
    code = get_code(client, login_as, world.member_v1)
    assert "绑定成功" in wechat.say("o-first", f"绑定 {code}")
    assert "无效或已过期" in wechat.say("o-second", f"绑定 {code}")
    assert oa_identity(world.member_v1).openid == "o-first"


def test_a_new_code_replaces_the_old_one(client, login_as, world, wechat):
    old = get_code(client, login_as, world.member_v1)
    new = get_code(client, login_as, world.member_v1)
    if old != new:
        assert "无效或已过期" in wechat.say("o-replace", f"绑定 {old}")
    assert "绑定成功" in wechat.say("o-replace", f"绑定 {new}")
    assert db.session.scalar(select(func.count(OfficialAccountBindCode.id))) == 1


def test_wrong_codes_are_limited_per_openid(client, login_as, world, wechat):
    code = get_code(client, login_as, world.member_v1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_BIND_FAILURES):
        assert "无效或已过期" in wechat.say("o-guesser", f"绑定 {wrong}")
    assert "错误次数过多" in wechat.say("o-guesser", f"绑定 {code}")  # even the right one, for a while
    assert oa_identity(world.member_v1) is None
    assert "绑定成功" in wechat.say("o-honest", f"绑定 {code}")  # another openid is not held back
    follower = db.session.scalar(select(OfficialAccountFollower).where(OfficialAccountFollower.openid == "o-guesser"))
    follower.bind_failed_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert "无效或已过期" in wechat.say("o-guesser", f"绑定 {wrong}")  # the window passed: counting starts over


def test_an_openid_already_bound_is_told_to_unbind_first(client, login_as, world, wechat):
    assert "绑定成功" in wechat.say("o-taken", f"绑定 {get_code(client, login_as, world.member_v1)}")
    reply = wechat.say("o-taken", f"绑定 {get_code(client, login_as, world.member_v2)}")
    assert "已绑定党员账号（一村党员）" in reply and "解绑" in reply
    assert oa_identity(world.member_v2) is None


def test_binding_a_new_openid_replaces_the_members_old_one(client, login_as, world, wechat):
    assert "绑定成功" in wechat.say("o-old-phone", f"绑定 {get_code(client, login_as, world.member_v1)}")
    assert "绑定成功" in wechat.say("o-new-phone", f"绑定 {get_code(client, login_as, world.member_v1)}")
    assert oa_identity(world.member_v1).openid == "o-new-phone"
    assert db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.openid == "o-old-phone")) is None
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "wechat.oa.bind")).all()
    assert [e.detail["replaced"] for e in entries] == [False, True]
    assert "还没有绑定" in wechat.say("o-old-phone", "积分")


def test_a_disabled_account_cannot_bind(client, login_as, world, wechat):
    code = get_code(client, login_as, world.member_v3)
    world.member_v3.status = AccountStatus.DISABLED
    db.session.commit()
    assert "已停用" in wechat.say("o-disabled", f"绑定 {code}")
    assert oa_identity(world.member_v3) is None


def test_unbinding_from_the_mini_program_is_not_undone_by_a_re_follow(client, login_as, world, wechat):
    wechat.post(event_xml("o-unbind", "subscribe", EventKey=""))
    assert "绑定成功" in wechat.say("o-unbind", f"绑定 {get_code(client, login_as, world.member_v1)}")
    r = client.delete("/api/me/official-account", headers=login_as(world.member_v1))
    assert r.status_code == 204 and oa_identity(world.member_v1) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "wechat.oa.unbind")) is not None
    assert client.delete("/api/me/official-account", headers=login_as(world.member_v1)).status_code == 204
    wechat.post(event_xml("o-unbind", "unsubscribe"))
    reply = wechat.reply(wechat.post(event_xml("o-unbind", "subscribe", EventKey="", created=int(time.time()) + 1)))
    assert reply is None or "欢迎回来" not in reply


def test_unbinding_by_message(client, login_as, world, wechat):
    assert "绑定成功" in wechat.say("o-bye", f"绑定 {get_code(client, login_as, world.sec_v1)}")
    assert "已解除" in wechat.say("o-bye", "解绑")
    assert oa_identity(world.sec_v1) is None
    assert "还没有绑定" in wechat.say("o-bye", "会议")


@pytest.mark.parametrize("who", ["member_v1", "sec_v2", "member_v4", "town_a2_admin", "county_b_admin", "city_admin"])
def test_every_role_binds_only_itself(client, login_as, world, wechat, who):
    """A plain member, a secretary of a sibling branch, a member of a foreign county's branch, a sibling township's
    and a sibling county's department: the code names no one but its holder, whoever sends it."""
    actor = getattr(world, who)
    code = get_code(client, login_as, actor)
    assert "绑定成功" in wechat.say(f"o-role-{who}", f"绑定 {code}")
    assert oa_identity(actor).openid == f"o-role-{who}"
    others = db.session.scalar(
        select(func.count(WeChatIdentity.id)).where(
            WeChatIdentity.app == WeChatApp.OFFICIAL_ACCOUNT, WeChatIdentity.member_id != actor.id
        )
    )
    assert others == 0
    assert client.get("/api/me/official-account", headers=login_as(actor)).json["bound"] is True
    assert client.get("/api/me/official-account", headers=login_as(world.member_v2)).json["bound"] is False

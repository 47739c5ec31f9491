"""WeChat login and binding through the API, with the sandbox answering as WeChat over real HTTP; the home page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from models import AccountStatus, AuditEntry, WeChatIdentity, WeChatLoginTicket, db
from models.base import utcnow
from tests.factories import PASSWORD


@pytest.fixture
def mint(live_server):
    def code(openid="o-wx-1"):
        r = requests.post(f"{live_server.base_url}/_sandbox/wechat/_control/codes", json={"openid": openid}, timeout=5)
        return r.json()["code"]

    return code


def wechat(client, code):
    return client.post("/api/auth/wechat", json={"code": code})


def login(client, member):
    r = client.post("/api/auth/login", json={"username": member.mobile, "password": PASSWORD})
    assert r.status_code == 200, r.json
    return {"Authorization": f"Bearer {r.json['access_token']}"}


def bind(client, member, openid, mint):
    r = wechat(client, mint(openid))
    assert r.status_code == 200 and r.json["bound"] is False, r.json
    headers = login(client, member)
    b = client.post("/api/auth/wechat/bind", json={"bind_token": r.json["bind_token"]}, headers=headers)
    assert b.status_code == 200 and b.json == {"bound": True}, b.json
    return headers


def test_unbound_then_bound_login(client, world, mint):
    r = wechat(client, mint())
    assert r.json["bound"] is False and set(r.json) == {"bound", "bind_token", "expires_in"}
    headers = login(client, world.member_v1)
    assert client.get("/api/me", headers=headers).json["wechat_bound"] is False
    b = client.post("/api/auth/wechat/bind", json={"bind_token": r.json["bind_token"]}, headers=headers)
    assert b.status_code == 200
    again = wechat(client, mint())
    assert again.status_code == 200 and again.json["bound"] is True
    assert again.json["member"]["id"] == world.member_v1.id and again.json["token_type"] == "Bearer"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {again.json['access_token']}"})
    assert me.status_code == 200 and me.json["wechat_bound"] is True
    methods = [e.detail.get("method") for e in db.session.query(AuditEntry).filter_by(action="auth.login")]
    assert methods == ["password", "wechat"]
    assert db.session.query(AuditEntry).filter_by(action="wechat.bind").count() == 1


def test_session_key_never_leaves_the_server(client, world, mint, live_server):
    responses = [wechat(client, mint())]
    headers = login(client, world.member_v1)
    responses.append(
        client.post("/api/auth/wechat/bind", json={"bind_token": responses[0].json["bind_token"]}, headers=headers)
    )
    responses.append(wechat(client, mint()))
    responses.append(client.get("/api/me", headers=headers))
    for r in responses:
        assert "session_key" not in r.get_data(as_text=True)
    identity = db.session.query(WeChatIdentity).one()
    assert identity.session_key_cipher and identity.session_key_cipher.startswith("gAAAAA")  # Fernet, not plain


def test_used_and_unknown_codes_are_refused(client, mint):
    code = mint()
    assert wechat(client, code).status_code == 200
    for bad in (code, "never-issued"):
        r = wechat(client, bad)
        assert r.status_code == 401 and r.json["error"]["code"] == "wechat_code_invalid"
        assert r.json["error"]["message"] == "微信登录凭证无效或已使用，请重新登录"
        assert r.json["error"]["fields"] == {"code": ["登录凭证无效或已使用"]}


def test_missing_code_names_the_field(client):
    r = client.post("/api/auth/wechat", json={})
    assert r.status_code == 422 and "code" in r.json["error"]["fields"]


def test_wechat_down_is_a_clear_502(client, mint, live_server):
    code = mint()
    requests.post(
        f"{live_server.base_url}/_sandbox/wechat/_control/faults",
        json={"api": "jscode2session", "http_status": 503},
        timeout=5,
    )
    r = wechat(client, code)
    assert r.status_code == 502 and r.json["error"]["code"] == "upstream_error"
    assert db.session.query(WeChatLoginTicket).count() == 0


def test_bind_token_is_single_use_and_expires(client, world, mint):
    r = wechat(client, mint())
    headers = login(client, world.member_v1)
    token = r.json["bind_token"]
    assert client.post("/api/auth/wechat/bind", json={"bind_token": token}, headers=headers).status_code == 200
    again = client.post("/api/auth/wechat/bind", json={"bind_token": token}, headers=headers)
    assert again.status_code == 422 and again.json["error"]["code"] == "bind_token_invalid"
    assert again.json["error"]["fields"] == {"bind_token": ["无效或已过期"]}
    late = wechat(client, mint("o-wx-2"))
    db.session.query(WeChatLoginTicket).update({"expires_at": utcnow() - timedelta(seconds=1)})
    db.session.commit()
    r = client.post("/api/auth/wechat/bind", json={"bind_token": late.json["bind_token"]}, headers=headers)
    assert r.status_code == 422
    forged = client.post("/api/auth/wechat/bind", json={"bind_token": "made-up"}, headers=headers)
    assert forged.status_code == 422


def test_bind_needs_a_login(client, mint):
    r = wechat(client, mint())
    assert client.post("/api/auth/wechat/bind", json={"bind_token": r.json["bind_token"]}).status_code == 401


def test_an_openid_binds_to_one_member_at_a_time(client, world, mint):
    first, second = wechat(client, mint()), wechat(client, mint())  # two tickets for the same WeChat user
    a = login(client, world.member_v1)
    assert (
        client.post("/api/auth/wechat/bind", json={"bind_token": first.json["bind_token"]}, headers=a).status_code
        == 200
    )
    b = login(client, world.member_v2)
    r = client.post("/api/auth/wechat/bind", json={"bind_token": second.json["bind_token"]}, headers=b)
    assert r.status_code == 409 and r.json["error"]["code"] == "wechat_bound_elsewhere"
    assert db.session.query(WeChatIdentity).one().member_id == world.member_v1.id


def test_rebinding_a_new_wechat_replaces_the_old(client, world, mint):
    bind(client, world.member_v1, "o-old-phone", mint)
    bind(client, world.member_v1, "o-new-phone", mint)
    assert [i.openid for i in db.session.query(WeChatIdentity)] == ["o-new-phone"]
    assert wechat(client, mint("o-old-phone")).json["bound"] is False
    assert wechat(client, mint("o-new-phone")).json["bound"] is True


def test_member_unbinds_itself(client, world, mint):
    headers = bind(client, world.member_v1, "o-wx-1", mint)
    assert client.delete("/api/auth/wechat/bind", headers=headers).status_code == 204
    assert wechat(client, mint()).json["bound"] is False
    assert db.session.query(AuditEntry).filter_by(action="wechat.unbind").count() == 1


def test_admin_unbinds_a_lost_phone(client, world, mint, login_as):
    bind(client, world.member_v1, "o-wx-1", mint)
    url = f"/api/members/{world.member_v1.id}/wechat"
    for outsider in (world.town_a2_admin, world.sec_v2, world.member_v2):
        assert client.delete(url, headers=login_as(outsider)).status_code == 404
    r = client.delete(url, headers=login_as(world.sec_v1))
    assert r.status_code == 204
    assert db.session.query(WeChatIdentity).count() == 0


def test_disabled_member_cannot_log_in_by_wechat(client, world, mint):
    bind(client, world.member_v1, "o-wx-1", mint)
    world.member_v1.status = AccountStatus.DISABLED
    db.session.commit()
    r = wechat(client, mint())
    assert r.status_code == 401 and r.json["error"]["code"] == "account_disabled"


def test_first_login_binding_then_password_change(client, world, mint):
    from services import members as member_service
    from services.authz import SYSTEM

    fresh, initial = member_service.create_member(
        SYSTEM, world.v1.id, {"name": "新党员", "gender": "female", "mobile": "13700000009"}
    )
    db.session.commit()
    ticket = wechat(client, mint()).json["bind_token"]
    r = client.post("/api/auth/login", json={"username": "13700000009", "password": initial})
    headers = {"Authorization": f"Bearer {r.json['access_token']}"}
    assert client.post("/api/auth/wechat/bind", json={"bind_token": ticket}, headers=headers).status_code == 200
    home = client.get("/api/home", headers=headers)
    assert home.status_code == 200 and home.json["due"][0]["key"] == "change_password"
    assert client.get("/api/orgs", headers=headers).json["error"]["code"] == "password_change_required"


# ---- the home page -----------------------------------------------------------------------------------------


def test_home_by_role(client, world, login_as):
    def home(member):
        r = client.get("/api/home", headers=login_as(member))
        assert r.status_code == 200, r.json
        return r.json

    plain = home(world.member_v1)
    assert [e["title"] for e in plain["entries"]] == ["学习", "组织生活"] and plain["org"]["name"] == "一村党支部"
    assert plain["entries"][0] == {"key": "learning", "title": "学习", "page": "/pages/learning/home"}
    assert [b["name"] for b in plain["org"]["breadcrumb"]] == ["测试市委", "甲县委", "甲一镇党委", "一村党支部"]
    assert [d["key"] for d in plain["due"]] == ["bind_wechat"] and plain["wechat_bound"] is False
    sec = home(world.sec_v1)
    assert [e["title"] for e in sec["entries"]] == ["党员名册", "支部信息", "学习", "组织生活"]
    assert sec["entries"][0]["page"] == f"/pages/members/members?org_id={world.v1.id}"
    assert [d["key"] for d in sec["due"]] == ["set_venue", "bind_wechat"]  # warnings before information
    town = home(world.town_a1_admin)
    titles = ["下级组织", "党员查询", "学习", "会议审核", "组织生活统计", "在岗看板"]  # department staff study too
    assert [e["title"] for e in town["entries"]] == titles
    assert town["entries"][3]["page"].endswith(f"org_id={world.town_a1.id}&descendants=1&status=submitted")
    assert town["scope_org"] == {"id": world.town_a1.id, "name": "甲一镇党委"}
    assert f"org_id={world.town_a1.id}&descendants=1" in town["entries"][1]["page"]
    assert home(world.super)["entries"][0]["page"] == f"/pages/org/org?id={world.city.id}"


def test_home_needs_login(client):
    r = client.get("/api/home")
    assert r.status_code == 401 and r.json["error"]["message"]


def test_demo_accounts_log_in_through_the_sandbox(client, world, mint):
    from services.wechat_accounts import bind_demo_openids

    mobiles = [world.member_v1.mobile, world.sec_v1.mobile]
    assert bind_demo_openids(mobiles) == 2
    assert bind_demo_openids(mobiles) == 0  # demo-setup runs at every `make run`
    db.session.commit()
    r = wechat(client, mint(f"demo-{world.sec_v1.mobile}"))
    assert r.json["bound"] is True and r.json["member"]["id"] == world.sec_v1.id


def test_bind_from_the_me_page_with_a_fresh_code(client, world, mint):
    headers = login(client, world.member_v1)
    r = client.post("/api/auth/wechat/bind", json={"code": mint("o-me-page")}, headers=headers)
    assert r.status_code == 200 and r.json == {"bound": True}
    assert wechat(client, mint("o-me-page")).json["member"]["id"] == world.member_v1.id
    other = login(client, world.member_v2)
    taken = client.post("/api/auth/wechat/bind", json={"code": mint("o-me-page")}, headers=other)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "wechat_bound_elsewhere"
    used = client.post("/api/auth/wechat/bind", json={"code": "never-issued"}, headers=other)
    assert used.status_code == 422 and used.json["error"]["code"] == "wechat_code_invalid"


def test_bind_takes_exactly_one_of_token_and_code(client, world):
    headers = login(client, world.member_v1)
    for body in ({}, {"bind_token": "a", "code": "b"}):
        r = client.post("/api/auth/wechat/bind", json=body, headers=headers)
        assert r.status_code == 422 and "bind_token" in r.json["error"]["fields"]

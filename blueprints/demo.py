"""The demo landing page at `/` (development and testing only): where to go and how to log in."""

from __future__ import annotations

import json
from html import escape

from flask import Blueprint, current_app

from blueprints.cli import account_label, demo_accounts_path

bp = Blueprint("demo", __name__)


@bp.get("/")
def index():
    path = demo_accounts_path()
    accounts = json.loads(path.read_text("utf-8"))["accounts"] if path.exists() else []
    rows = "".join(
        f"<tr><td>{escape(account_label(a['role']))}</td><td>{escape(a['username'])}</td>"
        f"<td>{escape(a['password'])}</td><td>{escape(a.get('org_name', ''))}</td></tr>"
        for a in accounts
    )
    env = escape(current_app.config["SETTINGS"].app_env)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>智慧党建云（演示）</title>
<style>body{{font-family:sans-serif;max-width:860px;margin:2em auto;color:#222}}h1{{color:#c00}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px}}</style></head><body>
<h1>智慧党建云 · 演示环境</h1><p>运行环境：{env}。接口文档：<a href="/api/docs">/api/docs</a>，
OpenAPI：<a href="/api/openapi.json">/api/openapi.json</a>。</p>
<h2>演示账号</h2><table><tr><th>角色</th><th>账号（手机号）</th><th>密码</th><th>组织</th></tr>{rows}</table>
<p>登录：<code>POST /api/auth/login {{"username": "手机号", "password": "密码"}}</code></p>
<h2>微信</h2><p>本地微信沙箱：<a href="/_sandbox/wechat/">消息发件箱</a>（不会联系真实微信）。演示账号已绑定 openid
「demo-手机号」：在沙箱页为它生成登录凭证，再 <code>POST /api/auth/wechat {{"code": "…"}}</code> 即“微信一键登录”。
小程序源码在 <code>miniprogram/</code>，用微信开发者工具打开，接口地址见 <code>miniprogram/config.js</code>。</p>
</body></html>"""

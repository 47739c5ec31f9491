"""/wechat/callback: the official account's server URL (WeChat calls it; no JWT, not under /api).

- GET: WeChat's URL check: `signature` = SHA-1 of the sorted token, timestamp and nonce; answers `echostr`.
- POST: a message or event in the configured mode (WECHAT_OA_MESSAGE_MODE): plain (`signature` as above) or safe
  (the body carries `Encrypt`, AES-256-CBC with the EncodingAESKey; `msg_signature` also covers `Encrypt`; the
  reply is encrypted the same way).
Signatures are compared in constant time; a timestamp further than WECHAT_OA_TIMESTAMP_WINDOW_S from the clock is
refused (403), so a captured request cannot be replayed later. XML is parsed with DTDs forbidden (no entity
expansion, no external entities). Retries of one message are answered from the replay guard without handling it
again (services.official_account). The reply is a passive text reply, or "success" for none.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask import Blueprint, Response, current_app, request
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.replies import TextReply

from blueprints.security import limiter
from models import db
from services import official_account
from services.errors import AppError, Forbidden, NotFound

bp = Blueprint("wechat_callback", __name__, url_prefix="/wechat")
limiter.exempt(bp)  # WeChat calls from a few addresses; signatures, not rates, keep others out

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024  # WeChat's messages are a few KiB
BUSY = "系统繁忙，请稍后再试。"


class BadMessage(AppError):
    status = 400
    code = "bad_message"
    message = "消息格式有误"


def _settings():
    s = current_app.config["SETTINGS"]
    if not s.wechat_oa_token:
        raise NotFound()  # the bot is not configured here
    return s


def signature_of(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _check(expected_parts: tuple[str, ...], given: str | None) -> None:
    if not given or not hmac.compare_digest(signature_of(*expected_parts).encode(), given.encode()):
        raise Forbidden("签名无效", code="bad_signature")


def _fresh_timestamp(s) -> str:
    raw = request.args.get("timestamp", "")
    try:
        stale = abs(time.time() - int(raw)) > s.wechat_oa_timestamp_window_s
    except ValueError:
        stale = True
    if stale:
        raise Forbidden("请求时间戳无效或已过期", code="stale_timestamp")
    return raw


def parse_xml(raw: bytes) -> dict:
    """The top-level fields of a WeChat XML body; a DTD (entity definitions of any kind) or malformed XML is
    refused before anything is expanded."""
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise BadMessage() from exc
    if root.tag != "xml":
        raise BadMessage()
    return {child.tag: child.text or "" for child in root}


@bp.get("/callback")
def verify_url():
    s = _settings()
    timestamp = _fresh_timestamp(s)
    _check((s.wechat_oa_token, timestamp, request.args.get("nonce", "")), request.args.get("signature"))
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


def _plain_body(s, timestamp: str, nonce: str, raw: bytes) -> bytes:
    _check((s.wechat_oa_token, timestamp, nonce), request.args.get("signature"))
    return raw


def _decrypted_body(s, timestamp: str, nonce: str, raw: bytes) -> bytes:
    if request.args.get("encrypt_type", "").lower() != "aes":
        raise Forbidden("安全模式须加密消息", code="encryption_required")
    encrypted = parse_xml(raw).get("Encrypt", "")
    _check((s.wechat_oa_token, timestamp, nonce, encrypted), request.args.get("msg_signature"))
    crypto = WeChatCrypto(s.wechat_oa_token, s.wechat_oa_aes_key, s.wechat_oa_appid)
    try:
        # Raises InvalidAppIdException when the message was encrypted for another account.
        plain = PrpCrypto(crypto.key).decrypt(encrypted, s.wechat_oa_appid)
    except Exception as exc:  # wechatpy raises assorted errors for a corrupt ciphertext
        raise BadMessage("消息解密失败") from exc
    return plain.encode() if isinstance(plain, str) else plain


@bp.post("/callback")
def receive():
    s = _settings()
    timestamp, nonce = _fresh_timestamp(s), request.args.get("nonce", "")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise BadMessage("消息过大")
    safe = s.wechat_oa_message_mode == "safe"
    body = (_decrypted_body if safe else _plain_body)(s, timestamp, nonce, raw)
    fields = parse_xml(body)
    if not fields.get("FromUserName") or not fields.get("MsgType"):
        raise BadMessage()
    message = parse_message(body.decode())
    reply = _reply_once(message, official_account.dedupe_key(fields))
    if not reply:
        return Response("success", mimetype="text/plain")
    if safe:
        reply = WeChatCrypto(s.wechat_oa_token, s.wechat_oa_aes_key, s.wechat_oa_appid).encrypt_message(
            reply, nonce, timestamp
        )
    return Response(reply, mimetype="application/xml")


def _reply_once(message, key: str) -> str:
    """The rendered reply XML ("" for none): handled on the first delivery, read from the guard on retries."""
    previous = official_account.claim_message(key)
    if previous is not None:
        db.session.rollback()
        return previous
    try:
        text = official_account.handle(message)
        reply = TextReply(content=text, message=message).render() if text else ""
        official_account.remember_reply(key, reply)
        db.session.commit()
    except Exception:
        log.exception("official-account message %s failed", key)
        db.session.rollback()
        official_account.release_message(key)
        return TextReply(content=BUSY, message=message).render()
    return reply

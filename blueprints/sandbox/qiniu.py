"""The Qiniu sandbox at /_sandbox/qiniu/: the parts of Qiniu's HTTP protocol the storage adapter uses, answered
locally, one private bucket (QINIU_BUCKET) signed with QINIU_ACCESS_KEY / QINIU_SECRET_KEY.

Speaks: form upload (`POST /_sandbox/qiniu`, the up host) with the upload policy enforced (signature, deadline,
scope, insertOnly → 614, fsizeLimit → 413, fsizeMin and mimeLimit with sniffed types → 403, crc32 → 406) and the
upload callback (form or JSON body with magic variables, signed `QBox` or `Qiniu`; a failed callback → 579);
`stat` and `delete` (the rs host) with `QBox`/`Qiniu` management signatures; private downloads
(`GET /_sandbox/qiniu/dl/<key>?e=…&token=…`, the download domain). Policy keys it does not implement are refused
with 400 instead of being ignored, so a test cannot pass on a limit nothing checked. Signatures are computed here
from Qiniu's documented rules, not with the SDK the adapter uses. Every answer carries `X-Reqid`.

Objects are files under `<STORAGE_DIR>/.qiniu-sandbox/<bucket>/` (a sidecar JSON each), so the demo's photos
survive a restart and go with `make clean-demo`; `_control/reset` empties them. Control endpoints under `_control/`
program faults (`api`: upload, stat, delete, download; `errcode` may be a Qiniu 6xx), choose the callback
signature scheme and list objects and calls; `/_sandbox/qiniu/` is the object list page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import re
import secrets
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests
from flask import Blueprint, Response, current_app, jsonify, render_template, request, send_file

from blueprints.sandbox import SandboxState, add_fault, control_error, json_body, sandbox_state

bp = Blueprint("qiniu_sandbox", __name__, url_prefix="/_sandbox/qiniu", template_folder="templates")

FORM = "application/x-www-form-urlencoded"
BLOCK = 4 * 1024 * 1024  # Qiniu's etag block
CALLBACK_SECONDS = 5  # Qiniu gives the callback server this long
DATE_SKEW = 15 * 60  # X-Qiniu-Date must be this close to now
SUPPORTED_POLICY = {"scope", "deadline", "insertOnly", "fsizeLimit", "fsizeMin", "mimeLimit", "detectMime", "endUser"}
SUPPORTED_POLICY |= {"callbackUrl", "callbackBody", "callbackBodyType"}
SNIFF = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF8": "image/gif"}
SNIFF |= {b"%PDF-": "application/pdf", b"PK\x03\x04": "application/zip"}
HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif"}
_MAGIC = re.compile(r"\$\(([^)]*)\)")


@dataclass
class QiniuSandbox(SandboxState):
    callback_scheme: str = "QBox"


class Refused(Exception):
    def __init__(self, status: int, error: str):
        self.status, self.error = status, error


def state() -> QiniuSandbox:
    return sandbox_state("qiniu", QiniuSandbox)


def _settings():
    return current_app.config["SETTINGS"]


@bp.after_request
def add_reqid(response):
    response.headers.setdefault("X-Reqid", "SBX" + secrets.token_hex(8))  # the SDK rejects answers without it
    return response


def _error(status: int, error: str):
    return jsonify({"error": error}), status


def serve(api: str, handler):
    """Runs `handler(state)` unless a programmed fault answers instead; logs the call with its status."""
    st = state()
    fault = st.take_fault(api)
    if fault and fault.delay:
        time.sleep(fault.delay)
    status = fault and (fault.http_status or fault.errcode)
    if status:
        st.log_call(api, status)
        return _error(status, "sandbox: injected failure")
    try:
        response = current_app.make_response(handler(st))
    except Refused as refused:
        response = current_app.make_response(_error(refused.status, refused.error))
    st.log_call(api, response.status_code)
    return response


# ---- objects on disk ---------------------------------------------------------------------------------------


class Objects:
    """The bucket: `<sha256(key)>` holds the bytes, `<sha256(key)>.json` the key, size, type, hash and put time."""

    def __init__(self):
        s = _settings()
        self.root = Path(s.storage_dir) / ".qiniu-sandbox" / s.qiniu_bucket

    def _paths(self, key: str) -> tuple[Path, Path]:
        name = hashlib.sha256(key.encode()).hexdigest()
        return self.root / name, self.root / f"{name}.json"

    def meta(self, key: str) -> dict | None:
        meta_path = self._paths(key)[1]
        return json.loads(meta_path.read_text()) if meta_path.exists() else None

    def data_path(self, key: str) -> Path:
        return self._paths(key)[0]

    def put(self, key: str, data: bytes, mime: str, etag: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data_path, meta_path = self._paths(key)
        meta = {"key": key, "fsize": len(data), "hash": etag, "mimeType": mime, "putTime": time.time_ns() // 100}
        for path, content in ((data_path, data), (meta_path, json.dumps(meta, ensure_ascii=False).encode())):
            with tempfile.NamedTemporaryFile(dir=self.root, delete=False) as tmp:
                tmp.write(content)
            Path(tmp.name).replace(path)

    def delete(self, key: str) -> bool:
        data_path, meta_path = self._paths(key)
        found = meta_path.exists()
        meta_path.unlink(missing_ok=True)
        data_path.unlink(missing_ok=True)
        return found

    def all(self) -> list[dict]:
        metas = [json.loads(p.read_text()) for p in self.root.glob("*.json")] if self.root.exists() else []
        return sorted(metas, key=lambda m: m["putTime"], reverse=True)


# ---- signatures, from Qiniu's documented rules ---------------------------------------------------------------


def _sign(data: str | bytes) -> str:
    digest = hmac.new(_settings().qiniu_secret_key.encode(), data if isinstance(data, bytes) else data.encode(), "sha1")
    return base64.urlsafe_b64encode(digest.digest()).decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_uri() -> str:
    """Path and query as sent (signatures cover the raw form, not Flask's decoded one)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    query = request.query_string.decode()
    return raw or quote(request.script_root + request.path) + (f"?{query}" if query else "")


def _signed_token(token: str, data: str) -> bool:
    """`token` is `<access key>:<signature of data>` with our keys."""
    ak, _, sign = token.partition(":")
    return ak == _settings().qiniu_access_key and hmac.compare_digest(sign.encode(), _sign(data).encode())


def qbox_data(path_query: str, body: str, content_type: str | None) -> str:
    return f"{path_query}\n" + (body if content_type == FORM and body else "")


def qiniu_data(method: str, path_query: str, host: str, content_type: str | None, headers, body: str) -> str:
    lines = [f"{method} {path_query}", f"Host: {host}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    signed = sorted((k.title(), v) for k, v in headers if k.lower().startswith("x-qiniu-") and len(k) > 8)
    lines += [f"{k}: {v}" for k, v in signed]
    signs_body = content_type and content_type != "application/octet-stream" and body
    return "\n".join(lines) + "\n\n" + (body if signs_body else "")


def _check_date(date: str | None) -> None:
    """A signed X-Qiniu-Date must be near now (the SDK sends one unless told not to)."""
    if date is None:
        return
    try:
        sent = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise Refused(400, "invalid X-Qiniu-Date") from None
    if abs(sent - time.time()) > DATE_SKEW:
        raise Refused(403, "request time too skewed")


def _check_management_auth() -> None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    body, ctype = request.get_data(as_text=True), request.headers.get("Content-Type")
    if scheme == "QBox":
        data = qbox_data(_raw_uri(), body, ctype)
    elif scheme == "Qiniu":
        _check_date(request.headers.get("X-Qiniu-Date"))
        data = qiniu_data(request.method, _raw_uri(), request.host, ctype, request.headers.items(), body)
    else:
        raise Refused(401, "bad token")
    if not _signed_token(token, data):
        raise Refused(401, "bad token")


def _upload_policy(token: str) -> dict:
    signed, _, encoded = token.rpartition(":")
    if not _signed_token(signed, encoded):
        raise Refused(401, "bad token")
    policy = json.loads(_b64decode(encoded))
    if policy.get("deadline", 0) < time.time():
        raise Refused(401, "expired token")
    if unsupported := sorted(set(policy) - SUPPORTED_POLICY):
        raise Refused(400, f"sandbox: policy fields {unsupported} are not supported")
    return policy


# ---- Qiniu's API -------------------------------------------------------------------------------------------


def _sniff(data: bytes) -> str | None:
    for magic, mime in SNIFF.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return HEIF_BRANDS[data[8:12]]
    head = data[:4096]
    if data and b"\x00" not in head and head[:-3].decode("utf-8", "replace").count("\ufffd") == 0:
        return "text/plain"
    return None


def _mime(policy: dict, data: bytes, fname: str, key: str, client: str | None) -> str:
    """Qiniu's order: detectMime sniffs the content first; otherwise the uploader's type wins."""
    by_name = [mimetypes.guess_type(name)[0] for name in (fname, key) if name]
    if policy.get("detectMime"):
        order = [_sniff(data), *by_name]
    else:
        order = [client if client != "application/octet-stream" else None, *by_name, _sniff(data)]
    return next((m for m in order if m), "application/octet-stream")


def _mime_allowed(limit: str, mime: str) -> bool:
    rules = [r.strip() for r in limit.split(";") if r.strip()]

    def match(pattern):
        return pattern == mime or (pattern.endswith("/*") and mime.startswith(pattern[:-1]))

    if any(match(r[1:]) for r in rules if r.startswith("!")):
        return False
    allowed = [r for r in rules if not r.startswith("!")]
    return not allowed or any(match(r) for r in allowed)


def etag(data: bytes) -> str:
    blocks = [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)] or [b""]
    if len(blocks) == 1:
        return base64.urlsafe_b64encode(b"\x16" + hashlib.sha1(blocks[0]).digest()).decode()
    joined = b"".join(hashlib.sha1(b).digest() for b in blocks)
    return base64.urlsafe_b64encode(b"\x96" + hashlib.sha1(joined).digest()).decode()


def _store_upload(st: QiniuSandbox) -> tuple[dict, dict]:
    """Checks the upload against its token's policy and stores it: (policy, magic variable values)."""
    policy = _upload_policy(request.form.get("token", ""))
    bucket, _, scope_key = policy.get("scope", "").partition(":")
    if bucket != _settings().qiniu_bucket:
        raise Refused(631, "no such bucket")
    upload = request.files.get("file")
    if upload is None:
        raise Refused(400, "file is required")
    key = request.form.get("key")
    if scope_key and key is not None and key != scope_key:
        raise Refused(403, "key doesn't match with scope")
    data = upload.read()
    if "crc32" in request.form and request.form["crc32"] != str(zlib.crc32(data) & 0xFFFFFFFF):
        raise Refused(406, "crc32 not match")
    if "fsizeLimit" in policy and len(data) > policy["fsizeLimit"]:
        raise Refused(413, "request entity too large")
    if len(data) < policy.get("fsizeMin", 0):
        raise Refused(403, "file too small")
    fname, digest = upload.filename or "", etag(data)
    key = key if key is not None else scope_key or digest
    mime = _mime(policy, data, fname, key, upload.mimetype or None)
    if "mimeLimit" in policy and not _mime_allowed(policy["mimeLimit"], mime):
        raise Refused(403, f"limited mimeType: this file type ({mime}) is forbidden to upload")
    objects = Objects()
    with st.lock:
        # Scope "bucket" may only add; "bucket:key" may replace unless insertOnly.
        if objects.meta(key) and (policy.get("insertOnly") or not scope_key):
            raise Refused(614, "file exists")
        objects.put(key, data, mime, digest)
    ext = Path(fname).suffix or mimetypes.guess_extension(mime) or ""
    values = dict(bucket=bucket, key=key, etag=digest, fname=fname, fsize=len(data), mimeType=mime, ext=ext)
    values["endUser"] = policy.get("endUser", "")
    return policy, values | {k: v for k, v in request.form.items() if k.startswith("x:")}


def _render(template: str, values: dict, form: bool) -> str:
    def substitute(match):
        name = match.group(1)
        if name not in values and not name.startswith("x:"):
            raise Refused(400, f"sandbox: magic variable $({name}) is not supported")
        value = str(values.get(name, ""))
        return quote(value, safe="") if form else json.dumps(value, ensure_ascii=False)[1:-1]

    return _MAGIC.sub(substitute, template)


def callback_authorization(url: str, body: str, content_type: str, scheme: str) -> str:
    parts = urlsplit(url)
    path_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if scheme == "Qiniu":
        data = qiniu_data("POST", path_query, parts.netloc, content_type, [], body)
    else:
        data = qbox_data(path_query, body, content_type)
    return f"{scheme} {_settings().qiniu_access_key}:{_sign(data)}"


def _callback(st: QiniuSandbox, policy: dict, values: dict):
    """Posts the callback as Qiniu does and answers the uploader with the callback's reply (579 when it fails)."""
    content_type = policy.get("callbackBodyType") or FORM
    body = _render(policy.get("callbackBody", ""), values, form=content_type == FORM)
    url = policy["callbackUrl"]
    headers = {
        "Content-Type": content_type,
        "Authorization": callback_authorization(url, body, content_type, st.callback_scheme),
        "User-Agent": "qiniu-callback/1.0 (sandbox)",
    }
    st.outbox.append({"url": url, "body": body, "content_type": content_type, "at": time.time()})
    try:
        reply = requests.post(url, data=body.encode(), headers=headers, timeout=CALLBACK_SECONDS)
        reply.json()
    except (requests.RequestException, ValueError) as exc:
        return _error(579, f"callback failed: {type(exc).__name__}")
    if reply.status_code != 200:
        return _error(579, f"callback failed: status {reply.status_code}")
    return Response(reply.content, 200, content_type="application/json")


def upload():
    def handle(st):
        policy, values = _store_upload(st)
        if policy.get("callbackUrl"):
            return _callback(st, policy, values)
        return jsonify({"key": values["key"], "hash": values["etag"]})

    return serve("upload", handle)


bp.add_url_rule("", "upload", upload, methods=["POST"])
bp.add_url_rule("/", "upload", upload, methods=["POST"])


def _entry(entry: str) -> str:
    try:
        bucket, _, key = _b64decode(entry).decode().partition(":")
    except ValueError:  # binascii.Error and UnicodeDecodeError
        raise Refused(400, "invalid entry") from None
    if bucket != _settings().qiniu_bucket:
        raise Refused(631, "no such bucket")
    return key


@bp.route("/stat/<entry>", methods=["GET", "POST"])
def stat(entry):
    def handle(st):
        _check_management_auth()
        meta = Objects().meta(_entry(entry))
        if meta is None:
            raise Refused(612, "no such file or directory")
        return jsonify({**{k: meta[k] for k in ("fsize", "hash", "mimeType", "putTime")}, "type": 0})

    return serve("stat", handle)


@bp.post("/delete/<entry>")
def delete(entry):
    def handle(st):
        _check_management_auth()
        with st.lock:
            if not Objects().delete(_entry(entry)):
                raise Refused(612, "no such file or directory")
        return Response(b"", 200)

    return serve("delete", handle)


def _check_download_token() -> None:
    without_token, _, token = _raw_uri().rpartition("&token=")
    deadline = request.args.get("e", "")
    if not token or not deadline.isdigit():
        raise Refused(401, "download token not specified")
    if int(deadline) < time.time():
        raise Refused(401, "token out of date")
    if not _signed_token(token, f"{request.scheme}://{request.host}{without_token}"):
        raise Refused(401, "bad token")


@bp.get("/dl/<path:key>")
def download(key):
    def handle(st):
        _check_download_token()
        meta = Objects().meta(key)
        if meta is None:
            raise Refused(404, "Document not found")
        response = send_file(Objects().data_path(key), mimetype=meta["mimeType"], max_age=0)
        response.headers["ETag"] = f'"{meta["hash"]}"'
        return response

    return serve("download", handle)


# ---- control: for tests and the demo ---------------------------------------------------------------------


@bp.post("/_control/faults")
def program_fault():
    return add_fault(state(), errcodes=range(400, 700))  # HTTP statuses and Qiniu's 6xx codes


@bp.post("/_control/callback-scheme")
def callback_scheme():
    """How the sandbox signs upload callbacks: `QBox` (Qiniu's default) or `Qiniu`."""
    scheme = json_body().get("scheme")
    if scheme not in ("QBox", "Qiniu"):
        return control_error("scheme")
    state().callback_scheme = scheme
    return jsonify({"scheme": scheme})


@bp.get("/_control/objects")
def objects_json():
    return jsonify({"objects": Objects().all()})


@bp.get("/_control/calls")
def calls_json():
    with state().lock:
        return jsonify({"calls": list(state().calls), "callbacks": list(state().outbox)})


@bp.post("/_control/reset")
def reset():
    """Forgets faults, calls and settings, and deletes every stored object."""
    with state().lock:
        shutil.rmtree(Objects().root, ignore_errors=True)
        current_app.extensions.setdefault("sandboxes", {})["qiniu"] = QiniuSandbox()
    return jsonify({"reset": True})


@bp.get("/")
def objects_page():
    zone = _settings().zone
    objects = Objects().all()
    deadline = int(time.time()) + 600
    for meta in objects:
        meta["put_at_text"] = datetime.fromtimestamp(meta["putTime"] / 1e7, zone).strftime("%Y-%m-%d %H:%M:%S")
        path = f"{bp.url_prefix}/dl/{quote(meta['key'])}?e={deadline}"
        meta["url"] = f"{path}&token={_settings().qiniu_access_key}:{_sign(request.host_url.rstrip('/') + path)}"
    with state().lock:
        calls = list(reversed(state().calls))[:50]
    for call in calls:
        call["at_text"] = datetime.fromtimestamp(call["at"], zone).strftime("%Y-%m-%d %H:%M:%S")
    return render_template("sandbox/qiniu_objects.html", objects=objects, calls=calls, settings=_settings())

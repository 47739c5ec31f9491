"""Object storage: local disk, and the Qiniu adapter against the Qiniu sandbox over real HTTP (server-side puts and
reads, direct uploads with their limits and verified callbacks, private download URLs, every error path)."""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from types import SimpleNamespace

import pytest
import qiniu
import requests
from qiniu import Auth
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from models import ExportStatus, MemberExport, db
from services import exports
from services.authz import Actor
from services.errors import UpstreamError
from services.settings import ConfigError, load_settings
from services.storage import KEY_EXISTS, LocalStorage, Storage, storage
from services.storage_qiniu import QiniuStorage
from tasks.exports import build_member_export
from tests import images
from tests.sandbox_client import SandboxClient

PHOTO_TYPES = ["image/jpeg", "image/png", "image/heic"]


@functools.cache
def jpeg_bytes() -> bytes:
    return images.jpeg_bytes(images.scene(1, (80, 60)))


class Sandbox(SandboxClient):
    """The Qiniu sandbox of a live server: control calls, stored objects, uploads as a phone makes them."""

    def objects(self) -> dict:
        return {o["key"]: o for o in requests.get(f"{self.base}/_control/objects", timeout=5).json()["objects"]}

    def upload(self, token, data, *, key=None, filename="photo.jpg", content_type="image/jpeg", **custom):
        """What the mini-program's `wx.uploadFile` sends to the up host."""
        form = {"token": token, **({"key": key} if key is not None else {}), **custom}
        files = {"file": (filename, data, content_type)}
        return requests.post(self.base, data=form, files=files, timeout=10)


class CallbackSink:
    """The app's future callback route, stood in for by a bare HTTP server that records what it is sent."""

    def __init__(self):
        self.received, self.status, self.reply = [], 200, {"ok": True, "photo_id": 7}
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/api/uploads/qiniu-callback?source=qiniu"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def _wsgi(self, request):
        self.received.append({"headers": dict(request.headers), "body": request.get_data()})
        return Response(json.dumps(self.reply), self.status, content_type="application/json")

    def verify(self, backend: QiniuStorage, received: dict, body: bytes | None = None) -> bool:
        h = received["headers"]
        return backend.verify_callback(
            h.get("Authorization"), received["body"] if body is None else body, h.get("Content-Type"), headers=h
        )


@pytest.fixture
def sandbox(app, live_server):
    """STORAGE=qiniu, pointed at the live server's sandbox (emptied first)."""
    s = app.config["SETTINGS"]
    base = f"{live_server.base_url}/_sandbox/qiniu"
    s.storage, s.qiniu_up_host, s.qiniu_rs_host, s.qiniu_domain = "qiniu", base, base, f"{base}/dl"
    sandbox = Sandbox(base)
    sandbox.control("reset")
    return sandbox


@pytest.fixture
def sink(app):
    sink = CallbackSink()
    app.config["SETTINGS"].qiniu_callback_url = sink.url
    yield sink
    sink.server.shutdown()
    sink.server.server_close()


def _other(app, **changes) -> QiniuStorage:
    """An adapter as another configuration would build it."""
    s = app.config["SETTINGS"]
    opts = {
        "access_key": s.qiniu_access_key,
        "secret_key": s.qiniu_secret_key,
        "bucket": s.qiniu_bucket,
        "domain": s.qiniu_domain,
        "up_host": s.qiniu_up_host,
        "rs_host": s.qiniu_rs_host,
        "callback_url": s.qiniu_callback_url,
        "timeout": s.qiniu_timeout,
        **changes,
    }
    return QiniuStorage(**opts)


def _read(backend, key: str) -> bytes:
    with backend.open(key) as f:
        return f.read()


def _read_export(export) -> bytes:
    with exports.open_file(export) as f:
        return f.read(2)


def _policy(token: str) -> dict:
    return Auth.up_token_decode(token)[2]


# ---- local disk --------------------------------------------------------------------------------------------


def test_local_storage(tmp_path, tmp_file):
    local = LocalStorage(str(tmp_path / "root"))
    with open(tmp_file, "wb") as f:
        f.write(b"first")
    local.put_file("exports/a.xlsx", tmp_file)
    local.put_bytes("photos/1/a.jpg", b"\xff\xd8\xffjpeg", "image/jpeg")
    with local.open("exports/a.xlsx") as f:
        assert f.read() == b"first"
    local.put_bytes("exports/a.xlsx", b"second", "application/octet-stream")  # replaces, like before
    assert _read(local, "exports/a.xlsx") == b"second"
    with pytest.raises(UpstreamError) as refused:
        local.put_bytes("exports/a.xlsx", b"third", "text/plain", overwrite=False)
    assert refused.value.upstream_code == KEY_EXISTS and refused.value.permanent
    assert _read(local, "exports/a.xlsx") == b"second"
    assert local.exists("photos/1/a.jpg") and local.url("photos/1/a.jpg") is None
    local.delete("photos/1/a.jpg")
    local.delete("photos/1/a.jpg")  # twice is fine
    assert not local.exists("photos/1/a.jpg")
    with pytest.raises(FileNotFoundError):
        local.open("photos/1/a.jpg")
    for bad in ("../x", "a/../../x", "/etc/passwd", ".hidden", "", "a b"):
        with pytest.raises(ValueError):
            local.put_bytes(bad, b"x", "text/plain")
    leftovers = [p.name for p in (tmp_path / "root").rglob(".part-*")]
    assert leftovers == [] and isinstance(local, Storage)


def test_storage_defaults_to_local_and_is_rebuilt_when_settings_change(app, tmp_path):
    first = storage()
    assert isinstance(first, LocalStorage) and storage() is first
    assert str(first.root) == app.config["SETTINGS"].storage_dir
    app.config["SETTINGS"].storage_dir = str(tmp_path / "elsewhere")
    assert storage() is not first and str(storage().root) == str(tmp_path / "elsewhere")


# ---- Qiniu: server-side puts and reads ---------------------------------------------------------------------


def test_round_trip(app, sandbox, tmp_file):
    backend = storage()
    assert isinstance(backend, QiniuStorage) and isinstance(backend, Storage) and storage() is backend
    photo = jpeg_bytes()
    backend.put_bytes("photos/2026/m1.jpg", photo, "image/jpeg")
    with open(tmp_file, "wb") as f:
        f.write(b"PK\x03\x04 a spreadsheet")
    backend.put_file("exports/members-1.xlsx", tmp_file)
    stored = sandbox.objects()
    assert stored["photos/2026/m1.jpg"]["mimeType"] == "image/jpeg"
    assert stored["photos/2026/m1.jpg"]["hash"] == qiniu.utils.etag_stream(io.BytesIO(photo))
    assert stored["exports/members-1.xlsx"]["mimeType"].endswith("spreadsheetml.sheet")
    assert backend.exists("photos/2026/m1.jpg") and not backend.exists("photos/2026/none.jpg")
    assert _read(backend, "photos/2026/m1.jpg") == photo
    backend.put_bytes("exports/members-1.xlsx", b"PK\x03\x04 v2", "application/octet-stream")  # replaces
    assert _read(backend, "exports/members-1.xlsx") == b"PK\x03\x04 v2"
    backend.delete("photos/2026/m1.jpg")
    backend.delete("photos/2026/m1.jpg")  # a job running twice
    assert not backend.exists("photos/2026/m1.jpg")
    with pytest.raises(FileNotFoundError):
        backend.open("photos/2026/m1.jpg")


def test_put_without_overwrite_finds_the_key_taken(app, sandbox):
    storage().put_bytes("photos/evidence.jpg", jpeg_bytes(), "image/jpeg", overwrite=False)
    with pytest.raises(UpstreamError) as refused:
        storage().put_bytes("photos/evidence.jpg", b"replacement", "image/jpeg", overwrite=False)
    assert refused.value.upstream_code == KEY_EXISTS and refused.value.permanent
    assert refused.value.message.startswith("存储中已有同名文件")
    assert _read(storage(), "photos/evidence.jpg") == jpeg_bytes()


def test_exports_work_unchanged_on_qiniu(app, world, sandbox):
    export = exports.create_export(Actor(world.town_a1_admin), world.town_a1.id)
    db.session.commit()
    build_member_export(export.id)
    db.session.expire_all()
    export = db.session.get(MemberExport, export.id)
    assert export.status == ExportStatus.DONE and export.storage_key in sandbox.objects()
    assert _read_export(export) == b"PK"


# ---- Qiniu: failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "fault", "code", "permanent"),
    [
        ("upload", {"http_status": 503}, 503, False),
        ("upload", {"http_status": 401}, 401, True),
        ("upload", {"errcode": 631}, 631, True),
        ("stat", {"http_status": 599}, 599, False),
        ("stat", {"http_status": 400}, 400, True),
        ("delete", {"http_status": 502}, 502, False),
        ("download", {"http_status": 503}, 503, False),
        ("download", {"http_status": 403}, 403, True),
    ],
)
def test_failures_are_sorted(app, sandbox, api, fault, code, permanent):
    backend = storage()
    backend.put_bytes("a.txt", b"text", "text/plain")
    sandbox.fault(api, **fault)
    call = {
        "upload": lambda: backend.put_bytes("b.txt", b"text", "text/plain"),
        "stat": lambda: backend.exists("a.txt"),
        "delete": lambda: backend.delete("a.txt"),
        "download": lambda: _read(backend, "a.txt"),
    }[api]
    with pytest.raises(UpstreamError) as failed:
        call()
    assert failed.value.upstream_code == code and failed.value.permanent is permanent
    call()  # the fault answered once; the sandbox works again


@pytest.mark.parametrize("api", ["upload", "stat", "download"])
def test_slow_answer_times_out_as_transient(app, sandbox, api):
    impatient = _other(app, timeout=0.3)
    impatient.put_bytes("a.txt", b"text", "text/plain")
    sandbox.fault(api, delay=1.2)
    call = {
        "upload": lambda: impatient.put_bytes("b.txt", b"text", "text/plain"),
        "stat": lambda: impatient.exists("a.txt"),
        "download": lambda: _read(impatient, "a.txt"),
    }[api]
    started = time.monotonic()
    with pytest.raises(UpstreamError) as failed:
        call()
    assert time.monotonic() - started < 1.0
    assert failed.value.permanent is False and failed.value.upstream_code is None
    assert failed.value.message.startswith("对象存储暂时无法访问")


def test_unreachable_or_foreign_hosts(app, sandbox, sink):
    closed = make_server("127.0.0.1", 0, lambda e, s: [])
    nowhere = f"http://127.0.0.1:{closed.server_port}"
    closed.server_close()
    with pytest.raises(UpstreamError) as failed:
        _other(app, up_host=nowhere).put_bytes("a.txt", b"x", "text/plain")
    assert failed.value.permanent is False
    with pytest.raises(UpstreamError) as failed:  # answers 200 without X-Reqid: not Qiniu
        _other(app, rs_host=sink.base).exists("a.txt")
    assert failed.value.permanent is True and "配置有误" in failed.value.message


# ---- Qiniu: direct uploads ---------------------------------------------------------------------------------


def test_upload_token_policy_is_exactly_what_was_meant(app, sandbox, sink):
    before = int(time.time())
    token = storage().upload_token(
        "photos/m1/p1.jpg",
        max_bytes=5_000_000,
        mime_types=PHOTO_TYPES,
        callback_body_fields={"key": "key", "hash": "etag", "size": "fsize", "mime": "mimeType", "m": "x:meeting"},
    )
    policy = _policy(token)
    assert before + 600 <= policy.pop("deadline") <= int(time.time()) + 600
    assert policy == {
        "scope": f"{app.config['SETTINGS'].qiniu_bucket}:photos/m1/p1.jpg",
        "insertOnly": 1,
        "fsizeLimit": 5_000_000,
        "mimeLimit": "image/jpeg;image/png;image/heic",
        "detectMime": 1,
        "callbackUrl": sink.url,
        "callbackBody": "key=$(key)&hash=$(etag)&size=$(fsize)&mime=$(mimeType)&m=$(x:meeting)",
        "callbackBodyType": "application/x-www-form-urlencoded",
    }
    assert set(_policy(storage().upload_token("a.jpg", max_bytes=10, mime_types=["image/*"]))) == {
        "scope",
        "deadline",
        "insertOnly",
        "fsizeLimit",
        "mimeLimit",
        "detectMime",
    }


def test_policy_mistakes_are_refused_before_a_token_exists(app, sandbox, monkeypatch):
    backend = storage()
    with pytest.raises(ValueError, match="unknown upload policy keys"):
        backend._token("a.jpg", {"fsizelimit": 10}, 600)  # the SDK would drop this typo silently
    with pytest.raises(ValueError, match="magic variable"):
        backend.upload_token("a.jpg", max_bytes=10, mime_types=PHOTO_TYPES, callback_body_fields={"h": "hash"})
    with pytest.raises(ValueError, match="QINIU_CALLBACK_URL"):
        backend.upload_token("a.jpg", max_bytes=10, mime_types=PHOTO_TYPES, callback_body_fields={"k": "key"})
    with pytest.raises(ValueError, match="mime_types"):
        backend.upload_token("a.jpg", max_bytes=10, mime_types=[])
    # An SDK that no longer knows a key drops it from the token: the adapter refuses to hand that token out.
    monkeypatch.setattr(qiniu.auth, "_policy_fields", qiniu.auth._policy_fields - {"mimeLimit"})
    with pytest.raises(RuntimeError, match="mimeLimit"):
        backend.upload_token("a.jpg", max_bytes=10, mime_types=PHOTO_TYPES)


def test_direct_upload_limits(app, sandbox, monkeypatch):
    backend = storage()
    token = backend.upload_token("photos/p1.jpg", max_bytes=4096, mime_types=PHOTO_TYPES)
    assert sandbox.upload(token, b"\xff\xd8\xff" + b"x" * 5000).status_code == 413
    disguised = sandbox.upload(token, b"just text, named like a photo", content_type="image/jpeg")
    assert disguised.status_code == 403 and "text/plain" in disguised.json()["error"]
    assert sandbox.upload(token, jpeg_bytes(), key="photos/other.jpg").status_code == 403  # not the token's key
    ok = sandbox.upload(token, jpeg_bytes())
    assert ok.status_code == 200 and ok.json() == {
        "key": "photos/p1.jpg",
        "hash": sandbox.objects()["photos/p1.jpg"]["hash"],
    }
    again = sandbox.upload(token, jpeg_bytes())
    assert again.status_code == 614 and again.headers["X-Reqid"]
    assert sandbox.upload(token[:-4] + "AAAA", jpeg_bytes()).status_code == 401  # policy tampered with
    forged = _other(app, secret_key="y" * 40).upload_token("photos/p2.jpg", max_bytes=4096, mime_types=PHOTO_TYPES)
    assert sandbox.upload(forged, jpeg_bytes()).status_code == 401  # signed with another secret key
    an_hour_ago = time.time() - 3600
    monkeypatch.setattr(qiniu.auth, "time", SimpleNamespace(time=lambda: an_hour_ago))
    expired = backend.upload_token("photos/p3.jpg", max_bytes=4096, mime_types=PHOTO_TYPES)
    monkeypatch.undo()
    assert sandbox.upload(expired, jpeg_bytes()).json() == {"error": "expired token"}
    assert list(sandbox.objects()) == ["photos/p1.jpg"]
    heic = images.heic_bytes(images.scene(2, (64, 48)))  # an iPhone photo, sent without a type
    token = backend.upload_token("photos/p4.heic", max_bytes=len(heic), mime_types=PHOTO_TYPES)
    assert sandbox.upload(token, heic, filename="IMG_0001", content_type="application/octet-stream").ok
    assert sandbox.objects()["photos/p4.heic"]["mimeType"] == "image/heic"


def test_callback_is_verified(app, sandbox, sink):
    backend = storage()
    fields = {"key": "key", "size": "fsize", "mime": "mimeType", "meeting": "x:meeting"}
    token = backend.upload_token(
        "photos/p1.jpg", max_bytes=100_000, mime_types=PHOTO_TYPES, callback_body_fields=fields
    )
    answer = sandbox.upload(token, jpeg_bytes(), **{"x:meeting": "42 & 支部"})
    assert answer.status_code == 200 and answer.json() == sink.reply  # Qiniu relays the app's reply
    [genuine] = sink.received
    assert genuine["headers"]["Authorization"].startswith("QBox ")
    assert sink.verify(backend, genuine)
    assert backend.callback_fields(genuine["body"]) == {
        "key": "photos/p1.jpg",
        "size": str(len(jpeg_bytes())),
        "mime": "image/jpeg",
        "meeting": "42 & 支部",
    }
    assert not sink.verify(backend, genuine, body=genuine["body"].replace(b"meeting=42", b"meeting=43"))
    assert not sink.verify(_other(app, secret_key="y" * 40), genuine)  # signed with another key
    assert not sink.verify(_other(app, callback_url=sink.url + "&x=1"), genuine)  # for another URL
    assert not backend.verify_callback(None, genuine["body"], "application/x-www-form-urlencoded")


def test_json_callback_bodies_are_refused(app, sandbox, sink):
    """A JSON body is not covered by the QBox signature: any body verifies, so the adapter accepts none."""
    s = app.config["SETTINGS"]
    policy = {"callbackUrl": sink.url, "callbackBody": '{"key":"$(key)"}', "callbackBodyType": "application/json"}
    token = Auth(s.qiniu_access_key, s.qiniu_secret_key).upload_token(s.qiniu_bucket, "j.jpg", 600, policy)
    assert sandbox.upload(token, jpeg_bytes()).status_code == 200
    [received] = sink.received
    tampered = b'{"key":"someone-else.jpg"}'
    sdk = Auth(s.qiniu_access_key, s.qiniu_secret_key)
    assert sdk.verify_callback(received["headers"]["Authorization"], sink.url, tampered, "application/json")
    assert not sink.verify(storage(), received)
    assert not sink.verify(storage(), received, body=tampered)


def test_callback_signed_with_the_qiniu_scheme(app, sandbox, sink):
    sandbox.control("callback-scheme", {"scheme": "Qiniu"})
    backend = storage()
    token = backend.upload_token("q.jpg", max_bytes=100_000, mime_types=PHOTO_TYPES, callback_body_fields={"k": "key"})
    assert sandbox.upload(token, jpeg_bytes()).status_code == 200
    [received] = sink.received
    assert received["headers"]["Authorization"].startswith("Qiniu ")
    assert sink.verify(backend, received)
    assert not sink.verify(backend, received, body=b"k=other.jpg")


def test_failed_callback_is_579_and_the_file_stays(app, sandbox, sink):
    sink.status = 500
    token = storage().upload_token(
        "c.jpg", max_bytes=100_000, mime_types=PHOTO_TYPES, callback_body_fields={"k": "key"}
    )
    answer = sandbox.upload(token, jpeg_bytes())
    assert answer.status_code == 579 and "callback failed" in answer.json()["error"]
    assert "c.jpg" in sandbox.objects()


# ---- Qiniu: downloads --------------------------------------------------------------------------------------


def test_private_download_url_works_and_expires(app, sandbox, monkeypatch):
    backend = storage()
    backend.put_bytes("photos/d.jpg", jpeg_bytes(), "image/jpeg")
    url = backend.url("photos/d.jpg", expires=60)
    r = requests.get(url, timeout=5)
    assert r.status_code == 200 and r.content == jpeg_bytes() and r.headers["Content-Type"] == "image/jpeg"
    assert requests.get(url.replace("&token=", "&token=x"), timeout=5).status_code == 401
    assert requests.get(url.split("?")[0], timeout=5).status_code == 401
    assert requests.get(url.replace("photos/d.jpg", "photos/e.jpg"), timeout=5).status_code == 401
    two_minutes_ago = time.time() - 120
    monkeypatch.setattr(qiniu.auth, "time", SimpleNamespace(time=lambda: two_minutes_ago))
    old = backend.url("photos/d.jpg", expires=60)
    monkeypatch.undo()
    r = requests.get(old, timeout=5)
    assert r.status_code == 401 and r.json() == {"error": "token out of date"}
    with pytest.raises(ValueError):
        backend.url("photos/d.jpg", expires=0)


def test_meeting_photos_are_stored_in_qiniu_and_linked_with_its_urls(app, world, sandbox, login_as):
    """The meeting feature does not know which backend it writes to: on Qiniu the photo's links are Qiniu's own
    signed private-download URLs."""
    from datetime import timedelta

    from models.base import utcnow
    from services import meetings
    from services.meetings import kind_by_code

    start = utcnow() - timedelta(minutes=5)
    data = {"org_id": world.v1.id, "kind_id": kind_by_code("branch_committee").id, "title": "支委会"}
    meeting = meetings.create_meeting(
        Actor(world.sec_v1), {**data, "starts_at": start, "ends_at": start + timedelta(hours=1)}
    )
    db.session.commit()
    photo = images.jpeg_bytes(images.scene(3, (640, 480)))
    form = {"file": (io.BytesIO(photo), "p.jpg", "image/jpeg"), "client_id": "qiniu-photo-1"}
    r = app.test_client().post(
        f"/api/meetings/{meeting.id}/photos",
        data=form,
        headers=login_as(world.sec_v1),
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.json
    stored = sandbox.objects()
    assert len(stored) == 4 and sum(1 for key in stored if key.endswith("/original.jpg")) == 1
    original = next(key for key in stored if key.endswith("/original.jpg"))
    assert _read(storage(), original) == photo  # kept byte for byte
    for url in r.json["urls"].values():
        assert url.startswith(sandbox.base)
        got = requests.get(url, timeout=5)
        assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"


# ---- the sandbox itself ------------------------------------------------------------------------------------


def test_management_calls_need_a_signature(app, sandbox):
    s = app.config["SETTINGS"]
    storage().put_bytes("m.txt", b"text", "text/plain")
    path = f"/_sandbox/qiniu/stat/{qiniu.utils.entry(s.qiniu_bucket, 'm.txt')}"
    assert requests.post(sandbox.base.replace("/_sandbox/qiniu", "") + path, timeout=5).status_code == 401
    qbox = Auth(s.qiniu_access_key, s.qiniu_secret_key).token_of_request(path)
    r = requests.get(sandbox.base.replace("/_sandbox/qiniu", "") + path, headers={"Authorization": f"QBox {qbox}"})
    assert r.status_code == 200 and r.json()["fsize"] == 4 and r.json()["mimeType"] == "text/plain"


def test_sandbox_etag_matches_qiniu(app):
    from blueprints.sandbox.qiniu import etag

    for data in (b"", b"abc", b"x" * (4 * 1024 * 1024 + 1)):
        assert etag(data) == qiniu.utils.etag_stream(io.BytesIO(data))


def test_sandbox_page_controls_and_reset(app, client, sandbox):
    storage().put_bytes("photos/page.jpg", jpeg_bytes(), "image/jpeg")
    page = client.get("/_sandbox/qiniu/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "七牛沙箱" in text and "photos/page.jpg" in text
    r = requests.post(f"{sandbox.base}/_control/faults", json={"api": "upload", "errcode": 200}, timeout=5)
    assert r.status_code == 422
    assert requests.post(f"{sandbox.base}/_control/callback-scheme", json={"scheme": "x"}, timeout=5).status_code == 422
    sandbox.control("reset")
    assert sandbox.objects() == {}


# ---- settings ----------------------------------------------------------------------------------------------

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "DATA_KEY": "k" * 43 + "=",
    "WECHAT_MINI_APPID": "wx0123456789abcdef",
    "WECHAT_MINI_SECRET": "s" * 32,
}
QINIU = {
    "QINIU_ACCESS_KEY": "ak" * 20,
    "QINIU_SECRET_KEY": "sk" * 20,
    "QINIU_BUCKET": "party-evidence",
    "QINIU_DOMAIN": "https://files.example.cn",
}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("STORAGE", "QINIU_SANDBOX", "QINIU_UP_HOST", "QINIU_RS_HOST", "QINIU_CALLBACK_URL", *QINIU):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_qiniu_sandbox_refused_in_production(tmp_path, clean_env):
    for name, value in PRODUCTION.items():
        clean_env.setenv(name, value)
    clean_env.setenv("QINIU_SANDBOX", "1")
    with pytest.raises(ConfigError, match="QINIU_SANDBOX"):
        load_settings(str(tmp_path))
    clean_env.delenv("QINIU_SANDBOX")
    s = load_settings(str(tmp_path))
    assert s.storage == "local" and s.qiniu_sandbox is False
    assert (s.qiniu_up_host, s.qiniu_rs_host) == ("https://up-z0.qiniup.com", "https://rs-z0.qiniuapi.com")


def test_qiniu_storage_requires_its_keys_in_production(tmp_path, clean_env):
    for name, value in PRODUCTION.items():
        clean_env.setenv(name, value)
    clean_env.setenv("STORAGE", "qiniu")
    with pytest.raises(ConfigError, match="QINIU_ACCESS_KEY, QINIU_SECRET_KEY, QINIU_BUCKET, QINIU_DOMAIN"):
        load_settings(str(tmp_path))
    for name, value in QINIU.items():
        clean_env.setenv(name, value)
    clean_env.setenv("QINIU_DOMAIN", "files.example.cn")
    with pytest.raises(ConfigError, match="QINIU_DOMAIN must be a URL"):
        load_settings(str(tmp_path))
    clean_env.setenv("QINIU_DOMAIN", "https://files.example.cn/")
    s = load_settings(str(tmp_path))
    assert s.storage == "qiniu" and s.qiniu_domain == "https://files.example.cn" and not s.qiniu_callback_url


def test_qiniu_sandbox_is_the_default_outside_production(tmp_path, clean_env):
    clean_env.setenv("APP_ENV", "development")
    clean_env.setenv("STORAGE", "qiniu")
    s = load_settings(str(tmp_path))
    assert s.qiniu_sandbox and s.qiniu_up_host == s.qiniu_rs_host == "http://127.0.0.1:5000/_sandbox/qiniu"
    assert s.qiniu_domain == "http://127.0.0.1:5000/_sandbox/qiniu/dl" and s.qiniu_bucket and s.qiniu_secret_key
    clean_env.setenv("QINIU_SANDBOX", "0")
    with pytest.raises(ConfigError, match="STORAGE=qiniu requires"):
        load_settings(str(tmp_path))

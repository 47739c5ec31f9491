"""Qiniu object storage through the qiniu SDK, pointed at configurable hosts (Qiniu's, or the local sandbox's).

- Server-side writes are form uploads (`FormUploader`, never the resumable protocol) with a one-object upload token;
  reads go through the bucket's download domain with a signed private URL; `stat` and `delete` through the rs host.
- The SDK's HTTP calls get this adapter's timeout from a transport mounted for our hosts only (the SDK's own is a
  30-second process-wide default), and no transport-level retries: jobs decide about retrying.
- Every failure becomes `UpstreamError` with Qiniu's HTTP status: 5xx and no answer are transient; 4xx and
  Qiniu's 6xx (614 file exists, 631 no such bucket …) are permanent.
- Direct uploads: `upload_token` scopes a token to one server-chosen key with size and type limits and a
  form-encoded callback; `verify_callback` checks Qiniu's signature against the configured callback URL.
"""

from __future__ import annotations

import io
import mimetypes
import re
import tempfile
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from qiniu import Auth, BucketManager
from qiniu.http.default_client import qn_http_client
from qiniu.region import LegacyRegion
from qiniu.services.storage.uploaders import FormUploader
from qiniu.utils import canonical_mime_header_key, etag_stream
from requests.adapters import HTTPAdapter

from services.errors import UpstreamError
from services.storage import KEY_EXISTS, check_key, key_exists_error

FORM = "application/x-www-form-urlencoded"
NO_SUCH_FILE = 612
SERVER_TOKEN_SECONDS = 3600  # a server-side upload token is used at once; an hour covers a slow 20 MB upload
SPOOL_BYTES = 8 * 1024 * 1024  # downloads larger than this go to a temporary file instead of memory
# Every upload-policy key this adapter may set. The SDK silently drops keys it does not know (strict_policy), so a
# typo would lose a limit without a word: policies are checked against this list and the issued token decoded.
POLICY_LIMITS = {"insertOnly", "fsizeLimit", "fsizeMin", "mimeLimit", "detectMime"}
POLICY_KEYS = frozenset(POLICY_LIMITS | {"callbackUrl", "callbackBody", "callbackBodyType"})
# Qiniu magic variables a callback body may carry; `x:<name>` are the uploader's own variables.
MAGIC_VARIABLES = frozenset({"bucket", "key", "etag", "fname", "fsize", "mimeType", "ext", "endUser"})
_CUSTOM_VARIABLE = re.compile(r"^x:[a-z][a-z0-9_]{0,31}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

_timeout: ContextVar[float | None] = ContextVar("qiniu_timeout", default=None)
_mount_lock = threading.Lock()


class _Timeout(HTTPAdapter):
    """The transport of the SDK's session for our Qiniu hosts: the calling adapter's timeout, no retries."""

    def __init__(self):
        super().__init__(max_retries=0)

    def send(self, request, **kwargs):
        if (timeout := _timeout.get()) is not None:
            kwargs["timeout"] = timeout
        return super().send(request, **kwargs)


def _mount(host: str) -> None:
    session = qn_http_client.session  # the SDK's one session, used by uploads and bucket management alike
    with _mount_lock:
        if not isinstance(session.adapters.get(host), _Timeout):
            session.mount(host, _Timeout())


@contextmanager
def _deadline(seconds: float):
    token = _timeout.set(seconds)
    try:
        yield
    finally:
        _timeout.reset(token)


def _failure(status: int | None, what: str, has_reqid: bool = True) -> UpstreamError:
    if status is None or status < 0 or 500 <= status < 600:  # no answer, timed out, or Qiniu busy: later
        code = status if status and status > 0 else None
        return UpstreamError(f"对象存储暂时无法访问（{what}）", upstream_code=code, permanent=False)
    if not has_reqid:  # a 2xx without X-Reqid: something else answers at the configured host
        return UpstreamError(f"对象存储地址配置有误（{what}）", upstream_code=status, permanent=True)
    return UpstreamError(f"对象存储返回错误（{what}，状态码 {status}）", upstream_code=status, permanent=True)


def _checked(ret, info, what: str) -> dict:
    """The SDK's (ret, ResponseInfo) as the answer's dict, or UpstreamError."""
    if not info.ok() or info.req_id is None:
        raise _failure(info.status_code, what, has_reqid=info.req_id is not None)
    return ret if isinstance(ret, dict) else {}


class QiniuStorage:
    """One private Qiniu bucket. Holds no request state: one instance serves every thread of a process."""

    direct_upload = True

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        bucket: str,
        domain: str,
        up_host: str,
        rs_host: str,
        callback_url: str = "",
        timeout: float = 10.0,
    ):
        self.auth = Auth(access_key, secret_key)
        self.bucket, self.domain, self.up_host = bucket, domain.rstrip("/"), up_host.rstrip("/")
        self.callback_url, self.timeout = callback_url, timeout
        rs_host = rs_host.rstrip("/")
        for host in (self.up_host, rs_host):
            _mount(host)
        up_scheme, rs_scheme = urlsplit(self.up_host).scheme, urlsplit(rs_host).scheme
        # Explicit regions: the SDK asks Qiniu's region service (on the internet) for hosts only when given none.
        self.uploader = FormUploader(
            bucket, regions=[LegacyRegion(up_host=self.up_host, scheme=up_scheme)], preferred_scheme=up_scheme
        )
        self.manager = BucketManager(
            self.auth, zone=LegacyRegion(rs_host=rs_host, scheme=rs_scheme), preferred_scheme=rs_scheme
        )

    @classmethod
    def from_settings(cls, s) -> QiniuStorage:
        return cls(
            s.qiniu_access_key,
            s.qiniu_secret_key,
            s.qiniu_bucket,
            s.qiniu_domain,
            s.qiniu_up_host,
            s.qiniu_rs_host,
            s.qiniu_callback_url,
            s.qiniu_timeout,
        )

    # ---- the Storage interface -------------------------------------------------------------------------------

    def put_file(self, key: str, src, *, overwrite: bool = True) -> None:
        """Uploads the file at `src` under `key` (one form upload, read into memory by the SDK)."""
        with open(src, "rb") as f:
            expected = etag_stream(f)
        self._put(key, expected, overwrite, file_path=str(src), mime_type=_guess_type(key))

    def put_bytes(self, key: str, data: bytes, content_type: str, *, overwrite: bool = True) -> None:
        """Uploads `data` under `key` with `content_type`."""
        self._put(key, etag_stream(io.BytesIO(data)), overwrite, data=data, mime_type=content_type)

    def _put(self, key: str, expected_hash: str, overwrite: bool, **upload) -> None:
        policy = None if overwrite else {"insertOnly": 1}
        token = self.auth.upload_token(self.bucket, check_key(key), SERVER_TOKEN_SECONDS, policy, strict_policy=True)
        with _deadline(self.timeout):
            ret, info = self.uploader.upload(key, up_token=token, file_name=key.rsplit("/", 1)[-1], **upload)
        if info.status_code == KEY_EXISTS:
            raise key_exists_error(key)
        ret = _checked(ret, info, "上传文件")
        if ret.get("key") != key or ret.get("hash") != expected_hash:  # stored something else: try again later
            raise UpstreamError("对象存储保存的文件与上传的不一致（上传文件）", upstream_code=info.status_code)

    def open(self, key: str):
        """The object's bytes as a file (in memory up to 8 MB, then on disk); FileNotFoundError when missing."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
        try:
            self._download(key, spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def _download(self, key: str, into) -> None:
        try:
            with requests.get(self.url(key, expires=300), stream=True, timeout=self.timeout) as response:
                if response.status_code in (404, NO_SUCH_FILE):
                    raise FileNotFoundError(key)
                if response.status_code != 200:
                    raise _failure(response.status_code, "下载文件", has_reqid="X-Reqid" in response.headers)
                for chunk in response.iter_content(64 * 1024):
                    into.write(chunk)
        except requests.RequestException as exc:
            raise _failure(None, "下载文件") from exc

    def exists(self, key: str) -> bool:
        with _deadline(self.timeout):
            ret, info = self.manager.stat(self.bucket, check_key(key))
        if info.status_code == NO_SUCH_FILE:
            return False
        _checked(ret, info, "查询文件")
        return True

    def delete(self, key: str) -> None:
        """Deletes the object; a missing one is no error (a job may run twice)."""
        with _deadline(self.timeout):
            ret, info = self.manager.delete(self.bucket, check_key(key))
        if info.status_code != NO_SUCH_FILE:
            _checked(ret, info, "删除文件")

    def url(self, key: str, expires: int = 600) -> str:
        """A download URL for the private bucket, valid for `expires` seconds."""
        if not isinstance(expires, int) or expires <= 0:
            raise ValueError("expires must be a positive number of seconds")
        return self.auth.private_download_url(f"{self.domain}/{quote(check_key(key))}", expires=expires)

    # ---- direct uploads from the client ----------------------------------------------------------------------

    def upload_token(
        self,
        key: str,
        *,
        max_bytes: int,
        mime_types: list[str] | tuple[str, ...],
        callback_body_fields: dict[str, str] | None = None,
        expires: int = 600,
    ) -> str:
        """A token for the client to upload exactly one new object under the server-chosen `key`.

        Qiniu enforces the limits: at most `max_bytes`, a content-sniffed type among `mime_types`, no overwrite.
        `callback_body_fields` maps callback form fields to magic variables (`{"size": "fsize",
        "meeting": "x:meeting"}`); Qiniu then posts them, form-encoded and signed, to the configured callback URL
        and answers the client with the app's reply.
        """
        if not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError("max_bytes must be a positive integer")
        if not isinstance(expires, int) or expires <= 0:
            raise ValueError("expires must be a positive number of seconds")
        if not mime_types or any(not re.fullmatch(r"[a-z]+/[a-z0-9.+*-]+", m) for m in mime_types):
            raise ValueError(f"bad mime_types {mime_types!r}")
        policy = {"insertOnly": 1, "fsizeLimit": max_bytes, "mimeLimit": ";".join(mime_types), "detectMime": 1}
        if callback_body_fields:
            body = _callback_body(callback_body_fields)
            if not self.callback_url:
                raise ValueError("QINIU_CALLBACK_URL is not configured: no upload callbacks")
            policy.update(callbackUrl=self.callback_url, callbackBody=body, callbackBodyType=FORM)
        return self._token(check_key(key), policy, expires)

    def _token(self, key: str, policy: dict, expires: int) -> str:
        if unknown := set(policy) - POLICY_KEYS:
            raise ValueError(f"unknown upload policy keys {sorted(unknown)}")
        token = self.auth.upload_token(self.bucket, key, expires, policy, strict_policy=True)
        issued = set(Auth.up_token_decode(token)[2])
        if issued != set(policy) | {"scope", "deadline"}:  # the SDK dropped a key: never hand out a weaker token
            raise RuntimeError(f"upload policy lost keys {sorted(set(policy) - issued)}")
        return token

    def verify_callback(self, authorization: str | None, body: bytes, content_type: str | None, headers=None) -> bool:
        """True when Qiniu signed this callback for our callback URL with our key.

        Only form-encoded bodies are accepted: Qiniu's QBox signature leaves any other body unsigned. The URL is
        the configured one, not the request's (a proxy may rewrite it). For the `Qiniu` scheme pass the request
        headers: only its `X-Qiniu-*` ones are signed, and the Host is the callback URL's. A genuine callback can
        be replayed (a QBox signature carries no time): handle callbacks idempotently, by key.
        """
        if not self.callback_url or not authorization or not body:
            return False
        if (content_type or "").strip().lower() != FORM:
            return False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        signed = {
            canonical_mime_header_key(k): v for k, v in (headers or {}).items() if k.lower().startswith("x-qiniu-")
        }
        return self.auth.verify_callback(
            authorization, self.callback_url, text, content_type=FORM, method="POST", headers=signed
        )

    @staticmethod
    def callback_fields(body: bytes) -> dict[str, str]:
        """The fields of a verified callback body."""
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _callback_body(fields: dict[str, str]) -> str:
    """`name=$(variable)&…`, form-encoded; unknown names are refused here, not discovered in production."""
    parts = []
    for name, variable in fields.items():
        if not _FIELD_NAME.match(name):
            raise ValueError(f"bad callback field name {name!r}")
        if variable not in MAGIC_VARIABLES and not _CUSTOM_VARIABLE.match(variable):
            raise ValueError(f"unknown Qiniu magic variable {variable!r}")
        parts.append(f"{name}=$({variable})")
    return "&".join(parts)


def _guess_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"

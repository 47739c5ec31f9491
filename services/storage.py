"""Object storage: one interface, two implementations. Local disk is the embedded default; Qiniu is production's.

Callers use `storage()` and the `Storage` methods only, so a job, a view and a CLI command store and read files
the same way whichever backend is configured. Qiniu also offers direct uploads from the mini-program (an upload
token the server issues, a callback the server verifies): see `services/storage_qiniu.py`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from flask import current_app

from services.errors import UpstreamError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,199}$")
KEY_EXISTS = 614  # Qiniu's status for "file exists"; both backends raise it when `overwrite=False` finds the key


def check_key(key: str) -> str:
    """Keys are relative paths of plain characters: the same key must be valid on disk and in a Qiniu bucket."""
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"bad storage key {key!r}")
    return key


def key_exists_error(key: str) -> UpstreamError:
    return UpstreamError(f"存储中已有同名文件（{key}）", upstream_code=KEY_EXISTS, permanent=True)


@runtime_checkable
class Storage(Protocol):
    """What the rest of the code may ask of object storage.

    `put_*` replace an existing object unless `overwrite=False` (then `UpstreamError` with `KEY_EXISTS`);
    `open` raises FileNotFoundError for a missing key; `delete` of a missing key is no error (jobs run twice);
    `url` is a time-limited download URL, or None when files are only served through the app (`open`).
    Outside failures raise `UpstreamError` with `permanent` set.
    """

    def put_file(self, key: str, src: str | os.PathLike, *, overwrite: bool = True) -> None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str, *, overwrite: bool = True) -> None: ...

    def open(self, key: str) -> IO[bytes]: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str, expires: int = 600) -> str | None: ...


class LocalStorage:
    """Files under one directory; writes are atomic (a reader never sees half a file)."""

    direct_upload = False

    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, src: str | os.PathLike, *, overwrite: bool = True) -> None:
        """Stores a copy of `src` under `key`."""
        self._write(key, lambda tmp: shutil.copyfile(src, tmp), overwrite)

    def put_bytes(self, key: str, data: bytes, content_type: str, *, overwrite: bool = True) -> None:
        """Stores `data` under `key`; the content type is not kept (the key's extension tells it on disk)."""
        self._write(key, lambda tmp: Path(tmp).write_bytes(data), overwrite)

    def _write(self, key: str, fill, overwrite: bool) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        os.close(fd)
        try:
            fill(tmp)
            if overwrite:
                os.replace(tmp, dest)
                return
            try:
                os.link(tmp, dest)  # fails if `dest` exists, even when another process just wrote it
            except FileExistsError:
                raise key_exists_error(key) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def open(self, key: str) -> IO[bytes]:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str, expires: int = 600) -> str | None:
        """None: local files have no URL of their own; the app streams them from `open` after its own checks."""
        check_key(key)
        return None


def _signature(s) -> tuple:
    if s.storage == "qiniu":
        names = ("access_key", "secret_key", "bucket", "domain", "up_host", "rs_host", "callback_url", "timeout")
        return ("qiniu", *(getattr(s, "qiniu_" + n) for n in names))
    return ("local", s.storage_dir)


def storage() -> Storage:
    """The configured backend, built once per app (rebuilt when its settings change, as tests do)."""
    s = current_app.config["SETTINGS"]
    signature = _signature(s)
    cached = current_app.extensions.get("storage")
    if cached is None or cached[0] != signature:
        if s.storage == "qiniu":
            from services.storage_qiniu import QiniuStorage

            backend = QiniuStorage.from_settings(s)
        else:
            backend = LocalStorage(s.storage_dir)
        cached = current_app.extensions["storage"] = (signature, backend)
    return cached[1]

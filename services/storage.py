"""Object storage: one adapter. Local disk is the embedded default; Qiniu arrives with the photo-evidence issue."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from flask import current_app

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,199}$")


class LocalStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

    def put_file(self, key: str, src: str | os.PathLike) -> None:
        """Stores a copy of `src` under `key`, atomically (a reader never sees half a file)."""
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        os.close(fd)
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)

    def open(self, key: str):
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


def storage() -> LocalStorage:
    return LocalStorage(current_app.config["SETTINGS"].storage_dir)

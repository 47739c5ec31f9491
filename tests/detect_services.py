"""Prints `export` lines for the real services the suite can use (sourced by `make test`).

Outside CI a service that does not answer is left out (its tests are skipped with a message). Under CI=true
the URLs are always exported, so that a dead service fails the run instead of being skipped.
"""

from __future__ import annotations

import os
import socket

MYSQL = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    ci = os.environ.get("CI") == "true"
    if ci or answers("127.0.0.1", 3306):
        print(f"export TEST_MYSQL_URL={MYSQL}")
    if ci or answers("127.0.0.1", 6379):
        print(f"export TEST_REDIS_URL={REDIS}")


if __name__ == "__main__":
    main()

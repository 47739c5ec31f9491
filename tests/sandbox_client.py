"""The test side of a sandbox served by the live server: its control endpoints over real HTTP."""

from __future__ import annotations

import requests


class SandboxClient:
    def __init__(self, base: str):
        self.base = base  # e.g. http://127.0.0.1:PORT/_sandbox/wechat

    def control(self, path, body=None):
        r = requests.post(f"{self.base}/_control/{path}", json=body or {}, timeout=5)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def fault(self, api, **kw):
        return self.control("faults", {"api": api, **kw})

    def calls(self, api=None):
        calls = requests.get(f"{self.base}/_control/calls", timeout=5).json()["calls"]
        return [(c["api"], c["outcome"]) for c in calls if api is None or c["api"] == api]

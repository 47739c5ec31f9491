"""Local stand-ins for the outside services the platform calls (WeChat, Qiniu, SMS).

Each sandbox speaks its service's real HTTP protocol, keeps what it was sent, and can be told to fail the way the
real service fails, so that adapters are tested over real HTTP and the demo runs offline. Sandboxes are mounted
only outside production (settings refuse them there). Call logs, faults and WeChat's state live in the serving
process's memory (run the demo with one process, `flask run`, as `make run` does); Qiniu's objects are files
under STORAGE_DIR.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from flask import current_app, jsonify, request

RECORD_LIMIT = 5000  # calls and messages kept per sandbox; the oldest drop out of a long-running demo


@dataclass
class Fault:
    """One programmed failure: the next `times` calls of `api` ("*" for any) answer it instead of succeeding."""

    api: str
    errcode: int | None = None
    http_status: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class SandboxState:
    """What every sandbox keeps: a call log, sent messages and the queue of programmed faults."""

    calls: deque = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))
    outbox: deque = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))
    faults: list[Fault] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def take_fault(self, api: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.api in (api, "*"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def log_call(self, api: str, outcome: int | str, **detail) -> None:
        with self.lock:
            self.calls.append({"api": api, "outcome": outcome, "at": time.time(), **detail})


def sandbox_state(name: str, factory):
    """The app's state object of sandbox `name`, created on first use."""
    states = current_app.extensions.setdefault("sandboxes", {})
    if name not in states:
        states[name] = factory()
    return states[name]


def parse_fault(data: dict) -> Fault:
    """A fault from a control request; raises ValueError naming the bad field."""
    api = data.get("api", "*")
    errcode, status = data.get("errcode"), data.get("http_status")
    delay, times = data.get("delay", 0), data.get("times", 1)
    if not isinstance(api, str) or not api:
        raise ValueError("api")
    if errcode is not None and not isinstance(errcode, int):
        raise ValueError("errcode")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError("http_status")
    if not isinstance(delay, int | float) or not 0 <= delay <= 30:
        raise ValueError("delay")
    if not isinstance(times, int) or not 1 <= times <= 1000:
        raise ValueError("times")
    return Fault(api=api, errcode=errcode, http_status=status, delay=float(delay), times=times)


def add_fault(st: SandboxState, errcodes: range | None = None):
    """The `_control/faults` answer of any sandbox: programs one fault, or names the field that is wrong."""
    try:
        fault = parse_fault(json_body())
    except ValueError as exc:
        return control_error(str(exc))
    if fault.errcode is not None and errcodes is not None and fault.errcode not in errcodes:
        return control_error("errcode")
    with st.lock:
        st.faults.append(fault)
    return jsonify({"api": fault.api, "times": fault.times}), 201


def control_error(field_name: str):
    body = {"code": "invalid", "message": "沙箱控制请求有误", "fields": {field_name: ["取值无效"]}}
    return jsonify({"error": body}), 422


def register_sandboxes(app) -> None:
    from blueprints.sandbox.qiniu import bp as qiniu_bp
    from blueprints.sandbox.sms import bp as sms_bp
    from blueprints.sandbox.wechat import bp as wechat_bp

    if app.config["SETTINGS"].wechat_sandbox:
        from blueprints.sandbox.official_account import bp as official_account_bp

        app.register_blueprint(wechat_bp)
        app.register_blueprint(official_account_bp)  # plays WeChat's server towards the bot
    if app.config["SETTINGS"].qiniu_sandbox:
        app.register_blueprint(qiniu_bp)
    if app.config["SETTINGS"].sms_provider == "sandbox":
        app.register_blueprint(sms_bp)


def json_body() -> dict:
    """The request body as JSON whatever its Content-Type (wechatpy sends none); {} when absent or malformed."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

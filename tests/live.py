"""Serving the app on a loopback port from a thread, for tests that need real HTTP (the WeChat adapter calling the
sandbox, the mini-program's tests calling the API)."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        """Serves, and points the app's WeChat adapter at this server's sandbox."""
        settings = self.app.config["SETTINGS"]
        settings.wechat_api_base = f"{self.base_url}/_sandbox/wechat"
        self.app.extensions.pop("wechat", None)  # gateways are rebuilt with the new base
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()

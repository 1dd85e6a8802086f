"""A webhook receiver on loopback for the alert tests (apprise's json:// posts to it)."""

from __future__ import annotations

import http.server
import json
import threading


class Receiver:
    """An HTTP server on 127.0.0.1 keeping every JSON body posted to it."""

    def __init__(self) -> None:
        received: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if receiver.refusing:  # a channel that is down: nothing is delivered
                    self.send_response(503)
                else:
                    received.append({"path": self.path, **body})
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.received = received
        self.refusing = False
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, token: str = "hook") -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/{token}"

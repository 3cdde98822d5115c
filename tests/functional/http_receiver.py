"""A local HTTP endpoint on 127.0.0.1:0 standing in for Slack, LINE or a chat service: records every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


Responder = Callable[[Recorded], tuple[int, dict[str, Any]]]


class Receiver:
    """Requests recorded in ``requests``; each answered by ``respond`` with (status, JSON body)."""

    def __init__(self, respond: Responder) -> None:
        self.requests: list[Recorded] = []
        self.url = ""
        self._respond = respond

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class bound to this receiver."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length))
                receiver.requests.append(got)
                status, answer = receiver._respond(got)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


@contextmanager
def receiving(respond: Responder) -> Iterator[Receiver]:
    """Serve a ``Receiver`` on 127.0.0.1 (a free port) in a thread for the block's duration."""
    receiver = Receiver(respond)
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

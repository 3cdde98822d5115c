"""The local API's HTTP server: Chalice's own local request handler behind a server that holds up.

``chalice local`` serves the app with ``http.server`` defaults: a listen backlog
of 5, so a burst of 20 connections loses some with a reset before they reach the
app. ``APIServer`` keeps Chalice's handler (``chalice.local.ChaliceRequestHandler``:
the same routing, authorizers, CORS and binary handling as ``chalice local``,
over the same app object) and changes the server around it:

- a listen backlog of ``BACKLOG`` (1024; the kernel caps it at ``somaxconn``);
- one daemon thread per connection (HTTP/1.1 keep-alive), at most
  ``MAX_CONNECTIONS`` at once (the next ones wait in the backlog, never reset);
- an idle keep-alive connection is closed after ``IDLE_TIMEOUT_S``;
- ``stop()`` stops accepting, closes the socket and gives requests in flight a
  bounded grace period.

``local_routes`` lets the local stack answer a few paths itself (``/_local/...``)
before Chalice sees the request: such routes exist only in ``make run``, never in
the deployed app. ``authorizer`` replaces Chalice's local authorizer (``HELPDESK_AUTH_MODE=cognito``:
``infra.cognito_standin.CognitoAuthorizer`` verifies ID tokens as API Gateway would).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("infra.http_server")
BACKLOG = 1024
MAX_CONNECTIONS = 256
IDLE_TIMEOUT_S = 30.0
LOCAL_PREFIX = "/_local/"

# (method, path, headers, body) -> (status, JSON-able body)
LocalRoute = Callable[[str, str, dict[str, str], bytes], tuple[int, Any]]


def _handler_class() -> type:
    from chalice.local import ChaliceRequestHandler

    class Handler(ChaliceRequestHandler):
        """Chalice's local handler plus the local-only routes and quiet logging."""

        timeout = IDLE_TIMEOUT_S  # socket timeout: idle keep-alive connections end

        def _generic_handle(self) -> None:
            server: APIServer = self.server  # type: ignore[assignment]
            route = server.local_routes.get(self.path.split("?", 1)[0]) if self.path.startswith(LOCAL_PREFIX) \
                else None
            if route is None:
                if server.authorizer is not None:  # API Gateway's Cognito authorizer, locally
                    self.local_gateway._authorizer = server.authorizer
                with server.tracking():
                    super()._generic_handle()
                return
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            try:
                status, doc = route(self.command, self.path, dict(self.headers), body)
            except Exception as exc:  # a local helper must never hang a client
                LOG.exception("local route %s failed", self.path)
                status, doc = 500, {"error": "LocalRouteError", "message": str(exc)}
            payload = json.dumps(doc, ensure_ascii=False, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug("%s " + format, self.address_string(), *args)

    return Handler


def local_chalice(app: Any) -> Any:
    """Give the app Chalice's local behaviour (thread-local ``current_request``), as ``chalice local`` does."""
    from chalice.local import CustomLocalChalice, LocalChalice

    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return app


class APIServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server for a Chalice app object, with a real backlog and a bounded shutdown."""

    request_queue_size = BACKLOG
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, app: Any, config: Any, host: str, port: int,
                 local_routes: dict[str, LocalRoute] | None = None, authorizer: Any = None) -> None:
        local_chalice(app)
        self.local_routes = dict(local_routes or {})
        self.authorizer = authorizer  # e.g. infra.cognito_standin.CognitoAuthorizer
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._in_flight = 0
        self._in_flight_lock = threading.Condition()
        handler = functools.partial(_handler_class(), app_object=app, config=config)
        super().__init__((host, port), handler)
        self._thread: threading.Thread | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        """Wait for a free connection slot (the backlog holds the rest), then one thread per connection."""
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def tracking(self) -> Any:
        """Context manager counting one request in flight (for the graceful stop)."""
        server = self

        class _Track:
            def __enter__(self) -> None:
                with server._in_flight_lock:
                    server._in_flight += 1

            def __exit__(self, *exc: Any) -> None:
                with server._in_flight_lock:
                    server._in_flight -= 1
                    server._in_flight_lock.notify_all()

        return _Track()

    @property
    def url(self) -> str:
        """Base URL of the API."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a daemon thread; returns it."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="api-server", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, grace_s: float = 2.0) -> int:
        """Stop accepting, close the listening socket, wait up to ``grace_s`` for requests in flight.

        Returns how many requests were still running when the grace period ended."""
        self.shutdown()
        self.server_close()
        deadline = time.monotonic() + grace_s
        with self._in_flight_lock:
            while self._in_flight and (left := deadline - time.monotonic()) > 0:
                self._in_flight_lock.wait(left)
            return self._in_flight

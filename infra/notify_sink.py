"""Notifications on this machine (``make run``): nothing real is sent, everything is observable.

- Email goes to moto's SES: the notification sender ``NOTIFY_EMAIL_FROM``
  (default ``helpdesk@example.com``) and the customer-facing ``EMAIL_FROM``
  (default ``Support <support@example.com>``: replies and auto-replies on
  email and web-form tickets) are verified there at start-up; sent mail is in
  moto's store (``GET <moto>/moto-api/data.json``, key ``ses``).
- SMS goes to moto's SNS.
- Slack and the generic webhook go to this sink, a small HTTP server on
  127.0.0.1 that logs one line per POST (``SLACK_WEBHOOK_URL``,
  ``NOTIFY_WEBHOOK_URL`` and a local ``NOTIFY_WEBHOOK_SECRET`` point at it
  unless already set).
- ``GET /outbox?state=sent`` (and ``failed``, ``pending``) lists every
  notification with its rendered subject and body.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import MutableMapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("infra.notify_sink")
HOST = "127.0.0.1"
DEFAULT_SENDER = "helpdesk@example.com"
DEFAULT_SUPPORT_FROM = "Support <support@example.com>"


def summary(path: str, body: bytes) -> str:
    """One readable line for a POSTed Slack or webhook payload."""
    try:
        doc = json.loads(body)
    except ValueError:
        return f"{path}: {body[:200]!r}"
    text = doc.get("text") or f"{doc.get('subject', '')} -> {doc.get('recipient', '')}"
    return f"{path}: {' '.join(str(text).split())[:300]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        LOG.info("notification POST %s", summary(self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def start_sink(port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """The sink serving in a daemon thread, and its base URL."""
    server = ThreadingHTTPServer((HOST, port), _Handler)
    threading.Thread(target=server.serve_forever, name="notify-sink", daemon=True).start()
    return server, f"http://{HOST}:{server.server_address[1]}"


def configure(environ: MutableMapping[str, str], region: str) -> ThreadingHTTPServer:
    """Verify the email sender in moto's SES and point Slack and webhooks at a new sink (unless set)."""
    from email.utils import parseaddr

    import boto3

    sender = environ.setdefault("NOTIFY_EMAIL_FROM", DEFAULT_SENDER)
    support = parseaddr(environ.setdefault("EMAIL_FROM", DEFAULT_SUPPORT_FROM))[1]
    ses = boto3.session.Session(region_name=region).client("ses")
    for address in {sender, support}:
        ses.verify_email_identity(EmailAddress=address)
    server, url = start_sink()
    environ.setdefault("SLACK_WEBHOOK_URL", f"{url}/slack")
    environ.setdefault("NOTIFY_WEBHOOK_URL", f"{url}/webhook")
    environ.setdefault("NOTIFY_WEBHOOK_SECRET", "local-webhook-secret")
    LOG.info("notifications: email -> moto SES (from %s; replies from %s), Slack/webhook -> %s, "
             "list with GET /outbox?state=sent", sender, support, url)
    return server

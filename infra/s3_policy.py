"""What S3 enforces on pre-signed requests and moto does not: the stand-in's WSGI middleware.

moto stores whatever a browser-based POST upload sends (it never reads the
signed policy) and serves a pre-signed GET after its ``X-Amz-Expires`` has
passed. Real S3 refuses both, and the reply-attachment flow relies on it (the
upload's size limit, type and name; the download link's 60 s life). So the
local stand-in checks them before moto sees the request, with S3's answers:

- POST with a ``policy`` field: the policy's ``expiration``, every exact-match
  (``{"field": "value"}`` / ``["eq", "$field", v]``), ``starts-with`` and
  ``content-length-range`` condition -> ``403 AccessDenied`` ("Invalid according
  to Policy") or ``400 EntityTooLarge`` / ``EntityTooSmall``;
- any pre-signed query request past ``X-Amz-Date`` + ``X-Amz-Expires`` ->
  ``403 AccessDenied`` ("Request has expired").

Signatures are not verified (moto does not either); only the policy's terms.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

WSGIApp = Callable[..., Iterable[bytes]]


def _error(start_response: Callable[..., Any], status: str, code: str, message: str) -> list[bytes]:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
                            ("Access-Control-Allow-Origin", "*")])
    return [body]


def expired_presign(query: dict[str, list[str]], now: datetime) -> bool:
    """A pre-signed (SigV4 query) request whose life is over."""
    if "X-Amz-Expires" not in query or "X-Amz-Date" not in query:
        return False
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return now > signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))


def policy_violation(policy_b64: str, fields: dict[str, str], bucket: str, size: int,
                     now: datetime) -> tuple[str, str, str] | None:
    """``(status, code, message)`` when the form breaks its signed POST policy, else None."""
    try:
        policy = json.loads(base64.b64decode(policy_b64))
        expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return "400 Bad Request", "InvalidPolicyDocument", "Invalid Policy: Invalid JSON."
    if now > expires:
        return "403 Forbidden", "AccessDenied", "Invalid according to Policy: Policy expired."
    values = {k.lower(): v for k, v in fields.items()} | {"bucket": bucket}
    for cond in policy.get("conditions", []):
        if isinstance(cond, dict):
            checks = [("eq", k, v) for k, v in cond.items()]
        elif isinstance(cond, list) and cond and cond[0] == "content-length-range":
            if size > int(cond[2]):
                return "400 Bad Request", "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            if size < int(cond[1]):
                return "400 Bad Request", "EntityTooSmall", "Your proposed upload is smaller than the minimum size"
            continue
        else:
            checks = [(str(cond[0]).lower(), str(cond[1]).lstrip("$"), cond[2])]
        for op, name, expected in checks:
            got = values.get(name.lower())
            ok = got == expected if op == "eq" else got is not None and got.startswith(expected)
            if not ok:
                return ("403 Forbidden", "AccessDenied",
                        f'Invalid according to Policy: Policy Condition failed: ["{op}", "${name}", "{expected}"]')
    return None


class S3PolicyApp:
    """WSGI middleware in front of moto: pre-signed POST policies and URL expiry, as S3 enforces them."""

    def __init__(self, app: WSGIApp, clock: Callable[[], datetime] | None = None) -> None:
        self.app = app
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if expired_presign(query, self.clock()):
            return _error(start_response, "403 Forbidden", "AccessDenied", "Request has expired")
        ctype = environ.get("CONTENT_TYPE", "")
        if environ.get("REQUEST_METHOD") == "POST" and ctype.startswith("multipart/form-data"):
            refused = self._check_form(environ)
            if refused:
                return _error(start_response, *refused)
        return self.app(environ, start_response)

    def _check_form(self, environ: dict[str, Any]) -> tuple[str, str, str] | None:
        from werkzeug.formparser import parse_form_data

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the same bytes afterwards
        copy = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        _, form, files = parse_form_data(copy)
        if "policy" not in form:
            return None
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        bucket = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
        fields = {k: v for k, v in form.items() if k not in ("policy", "x-amz-signature", "file")}
        return policy_violation(form["policy"], fields, bucket, size, self.clock())

"""Web-form channel: ``POST /webhooks/form`` with JSON or URL-encoded fields.

Fields: ``name``, ``email``, ``subject``, ``body`` (required), ``category`` and
``submission_id`` (optional); other scalar fields are kept as ``fields`` for
templates (an order number, say). The sender proves itself with the shared
secret ``FORM_WEBHOOK_SECRET``: either the header ``X-Form-Secret: <secret>``
or ``X-Form-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from chalicelib import jsonbody
from chalicelib.domain import InboundMessage, InboundRequest, Sender
from chalicelib.errors import Unauthorized, ValidationFailed, schema_error
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import LazyValidator

CHANNEL = "form"
SECRET_NAME = "FORM_WEBHOOK_SECRET"
MAX_BODY_CHARS = 20_000
DEFAULT_DEDUPE_WINDOW_S = 600
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")

def _formats() -> Any:
    """The format checker with ``email`` checked by email-validator (both imported on the first delivery)."""
    from email_validator import EmailNotValidError, validate_email
    from jsonschema import FormatChecker

    formats = FormatChecker()

    @formats.checks("email", raises=EmailNotValidError)
    def _is_email(value: object) -> bool:
        if isinstance(value, str):
            validate_email(value, check_deliverability=False)
        return True

    return formats


_SCALAR = {"type": ["string", "number", "boolean"]}
_TEXT = {"type": "string", "pattern": r"\S"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "email", "subject", "body"],
    "properties": {
        "name": {**_TEXT, "maxLength": 200},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "subject": {**_TEXT, "maxLength": 300},
        "body": {**_TEXT, "maxLength": MAX_BODY_CHARS},
        "category": {"type": "string", "maxLength": 100},
        "submission_id": {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"},
    },
    "additionalProperties": _SCALAR,
    "maxProperties": 50,
}
_validator = LazyValidator(SCHEMA, format_checker=_formats)


@hookimpl
def helpdesk_channels() -> list[str]:
    """The form channel."""
    return [CHANNEL]


@hookimpl
def helpdesk_verify_inbound(
    channel: str, request: InboundRequest, get_secret: SecretGetter, now: datetime
) -> bool | None:
    """Check the shared secret or the body HMAC."""
    if channel != CHANNEL:
        return None
    secret = get_secret(SECRET_NAME)
    if not secret:
        raise Unauthorized(f"{SECRET_NAME} is not configured; form deliveries are refused")
    given = request.headers.get("x-form-secret")
    if given is not None and hmac.compare_digest(given.encode(), secret.encode()):
        return True
    signature = request.headers.get("x-form-signature", "")
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature[7:].encode(), expected.encode()):
            return True
    raise Unauthorized("missing or invalid X-Form-Secret / X-Form-Signature")


def _decode(request: InboundRequest) -> dict[str, Any]:
    ctype = request.content_type
    if ctype not in CONTENT_TYPES:
        raise ValidationFailed(
            [schema_error(["content-type"], f"unsupported content type {ctype!r}; use one of {list(CONTENT_TYPES)}")]
        )
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed([schema_error([], f"body is not UTF-8: {exc}")]) from exc
    if ctype == "application/json":
        return jsonbody.loads_object(text)
    return dict(parse_qsl(text, keep_blank_values=True))


def _dedupe(doc: dict[str, Any]) -> tuple[str, int | None]:
    if doc.get("submission_id"):
        return f"form:sub:{doc['submission_id']}", None
    content = "\x1f".join([doc["email"].strip().lower(), doc["subject"].strip(), doc["body"].strip()])
    window = int(os.environ.get("FORM_DEDUPE_WINDOW_S", DEFAULT_DEDUPE_WINDOW_S))
    return f"form:content:{hashlib.sha256(content.encode()).hexdigest()}", window


@hookimpl
def helpdesk_parse_inbound(channel: str, request: InboundRequest, now: datetime) -> list[InboundMessage] | None:
    """Validate the form fields and return the one message they make."""
    if channel != CHANNEL:
        return None
    doc = _decode(request)
    errors = list(_validator.iter_errors(doc))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)
    dedupe_key, window = _dedupe(doc)
    email = doc["email"].strip()
    extra = {k: v for k, v in doc.items() if k not in SCHEMA["properties"]}
    return [
        InboundMessage(
            channel=CHANNEL,
            dedupe_key=dedupe_key,
            dedupe_window_s=window,
            sender=Sender("email", email.lower(), name=doc["name"].strip(), email=email),
            subject=unicodedata.normalize("NFC", doc["subject"].strip()),
            body_text=unicodedata.normalize("NFC", doc["body"]).replace("\r\n", "\n"),
            received_at=now,
            category=(doc.get("category") or "").strip() or None,
            metadata={"fields": extra, "submission_id": doc.get("submission_id")},
        )
    ]

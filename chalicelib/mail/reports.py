"""What a delivery report says: the failed recipients and the message ids of the mail it concerns.

The ids of our message are looked for everywhere reports put them, so a bounce
joins the ticket of the reply that failed:

- the ``Message-ID`` of a returned ``message/rfc822`` part, or of a
  ``text/rfc822-headers`` / ``message/rfc822-headers`` part (RFC 6522: headers only);
- ``X-Original-Message-ID`` / ``Original-Message-ID``, as headers of the report or
  fields of its ``message/delivery-status``, ``message/feedback-report`` or
  ``message/disposition-notification`` part;
- lines of returned headers quoted in a plain-text notice (carriers, ISPs):
  ``Message-ID: <...>``, ``X-Original-Message-ID: <...>``;
- the report's own ``In-Reply-To`` / ``References``.

Recipients come from ``Final-Recipient``/``Original-Recipient`` blocks (with
``Action``, ``Status``, ``Diagnostic-Code``), ``X-Failed-Recipients`` and ARF's
``Original-Rcpt-To``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from chalicelib.mail import headers as h
from chalicelib.mail.parse import ParsedMail, part_text

REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status", "message/feedback-report",
                "message/disposition-notification")
HEADER_PARTS = ("text/rfc822-headers", "message/rfc822-headers", "text/rfc822-header")
ORIGINAL_ID_FIELDS = ("x-original-message-id", "original-message-id", "x-original-message-id-header")
_ID_LINE = re.compile(r"^[ \t>]*(?:X-)?(?:Original-)?Message-ID\s*:\s*(<[^<>\s]{3,250}>)", re.I | re.M)
MAX_IDS = 20


@dataclass(frozen=True)
class FailedRecipient:
    """One recipient line of a delivery status notification."""

    address: str
    action: str = ""
    status: str = ""
    diagnostic: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"address": self.address, "action": self.action, "status": self.status,
                "diagnostic": self.diagnostic}


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001 - a broken Content-Type header is no report
        return ""


def parts_of(msg: Message, types: tuple[str, ...], forwarded: bool = True) -> list[Message]:
    """Every part of one of ``types`` at any depth; with ``forwarded=False`` not inside attached messages."""
    if forwarded:
        return [p for p in msg.walk() if _ctype(p) in types]
    out: list[Message] = []
    stack = [msg]
    while stack:
        part = stack.pop(0)
        if _ctype(part) in types:
            out.append(part)
        payload = part.get_payload() if part.is_multipart() and _ctype(part) != "message/rfc822" else None
        if isinstance(payload, list):
            stack += [p for p in payload if isinstance(p, Message)]
    return out


def field_blocks(part: Message) -> list[Message]:
    """The header-like blocks of a report part (per-message block, then one per recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = part_text(part, []) if not isinstance(payload, str) else payload
    return [HeaderParser().parsestr(chunk) for chunk in re.split(r"\r?\n[ \t]*\r?\n", text or "") if chunk.strip()]


def _field(block: Message, name: str) -> str:
    try:
        return " ".join(str(block.get(name, "") or "").split())
    except Exception:  # noqa: BLE001
        return ""


def recipients(mail: ParsedMail) -> tuple[FailedRecipient, ...]:
    """Failed recipients named by the report parts, ``X-Failed-Recipients`` or ARF's ``Original-Rcpt-To``."""
    found: dict[str, FailedRecipient] = {}
    for part in parts_of(mail.message, REPORT_TYPES):
        for block in field_blocks(part):
            rcpt = _field(block, "Final-Recipient") or _field(block, "Original-Recipient") or _field(
                block, "Original-Rcpt-To")
            if not rcpt:
                continue
            address = rcpt.split(";", 1)[-1].strip().strip("<>").lower()[:320]
            if address and address not in found:
                found[address] = FailedRecipient(address, _field(block, "Action").lower()[:40],
                                                 _field(block, "Status")[:40], _field(block, "Diagnostic-Code")[:500])
    for _name, address in h.addresses(mail.header("x-failed-recipients")):
        found.setdefault(address, FailedRecipient(address, "failed"))
    return tuple(found.values())


def _returned_headers(mail: ParsedMail) -> list[Message]:
    """The headers of the mail a report returns: attached messages and header-only parts."""
    out: list[Message] = []
    for part in parts_of(mail.message, ("message/rfc822",)):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            out.append(inner[0])
    for part in parts_of(mail.message, HEADER_PARTS):
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            out.append(payload[0])
        else:
            out.append(HeaderParser().parsestr(part_text(part, [])))
    return out


def original_ids(mail: ParsedMail) -> tuple[str, ...]:
    """Message ids of the mail this report concerns (see the module docstring), own id excluded."""
    ids: list[str] = []
    for name in ORIGINAL_ID_FIELDS:
        ids += h.message_ids(mail.message.get(name))
    for part in parts_of(mail.message, REPORT_TYPES):
        for block in field_blocks(part):
            for name in ORIGINAL_ID_FIELDS:
                ids += h.message_ids(_field(block, name))
    for headers in _returned_headers(mail):
        for name in ("message-id", *ORIGINAL_ID_FIELDS):
            ids += h.message_ids(_field(headers, name))
    if not ids:
        ids += _ID_LINE.findall(mail.text)
        for part in parts_of(mail.message, ("text/plain",)):
            if len(ids) < MAX_IDS:
                ids += _ID_LINE.findall(part_text(part, []))
    ids += [*mail.in_reply_to, *mail.references]
    own = mail.message_id
    return tuple(dict.fromkeys(i for i in ids if i != own))[:MAX_IDS]

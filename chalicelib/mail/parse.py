"""Raw RFC 822 bytes -> ``ParsedMail``: headers, readable text, attachment metadata, warnings.

Built on ``email.policy.default`` (the modern API) for the MIME structure and
transfer encodings; headers and text are decoded with ``headers`` and
``charsets`` so Japanese mail in any of its encodings reads correctly.
Nothing here raises on bad mail: what could not be read becomes a warning and
the best text available (malformed mail is stored, not rejected).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from chalicelib.mail import headers as h
from chalicelib.mail.charsets import decode_text
from chalicelib.mail.html import html_to_text

KEPT_HEADERS = ("From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-ID", "In-Reply-To", "References",
                "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "List-Id", "Return-Path",
                "X-Mailer", "User-Agent", "Content-Type", "Delivered-To", "X-Failed-Recipients")
MAX_HEADER_CHARS = 1000


@dataclass(frozen=True)
class Attachment:
    """One attachment as the timeline shows it; the bytes stay in the raw message in S3.

    ``part`` is the MIME path (``"2"``, ``"1.3"``) to extract it from the raw message.
    """

    filename: str
    content_type: str
    size: int
    part: str
    content_id: str | None = None
    inline: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready metadata."""
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size,
                "part": self.part, "content_id": self.content_id, "inline": self.inline}


@dataclass(frozen=True)
class ParsedMail:
    """What the help desk needs from one mail."""

    subject: str
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: datetime | None
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, str]
    text: str
    text_from_html: bool
    attachments: tuple[Attachment, ...]
    warnings: tuple[str, ...]
    content_type: str
    message: Message = field(repr=False, compare=False)

    def header(self, name: str) -> str:
        """A decoded header value ('' when absent)."""
        return self.headers.get(name.lower(), "")


def raw_header(msg: Message, name: str) -> str | None:
    """The raw text of the first header ``name`` (before the policy's own decoding); None when absent."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return value
    return None


def _raw_all(msg: Message, name: str) -> list[str]:
    return [v for k, v in msg.raw_items() if k.lower() == name.lower()]


def part_text(part: Message, warnings: list[str]) -> str:
    """The decoded text of a leaf part (transfer encoding, then charset with fallbacks)."""
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        warnings.append(f"could not undo the transfer encoding: {exc}")
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    charset = part.get_param("charset")
    text, warning = decode_text(data, charset if isinstance(charset, str) else None)
    if warning:
        warnings.append(warning)
    return text


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "application/octet-stream"


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:  # noqa: BLE001
        return False


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if not name:
        raw = part.get_param("name")
        name = raw if isinstance(raw, str) else None
    if name:
        return h.decode_value(name) if "=?" in name or not name.isascii() else name
    return None


def _body_part(msg: Message) -> Message | None:
    if isinstance(msg, EmailMessage):
        try:
            found = msg.get_body(preferencelist=("plain", "html"))
        except Exception:  # noqa: BLE001
            found = None
        if found is not None:
            return found
    for part in msg.walk():
        if not part.is_multipart() and _content_type(part).startswith("text/") and not _is_attachment(part):
            return part
    return None


def _leaves(msg: Message, path: str = "") -> list[tuple[str, Message]]:
    """Leaf parts with their MIME path; an attached message counts as one leaf."""
    if not msg.is_multipart() or _content_type(msg) == "message/rfc822":
        return [(path or "1", msg)]
    payload = msg.get_payload()
    if not isinstance(payload, list):
        return [(path or "1", msg)]
    out: list[tuple[str, Message]] = []
    for i, sub in enumerate(payload, start=1):
        out += _leaves(sub, f"{path}.{i}" if path else str(i))
    return out


def _attachments(msg: Message, body: Message | None, alternatives: set[int]) -> tuple[Attachment, ...]:
    found = []
    for path, part in _leaves(msg):
        ctype = _content_type(part)
        if part is body or id(part) in alternatives or ctype == "message/delivery-status" or ctype.startswith(
                "multipart/"):
            continue
        name = _filename(part)
        if ctype.startswith("text/") and not name and not _is_attachment(part):
            continue
        try:
            if ctype == "message/rfc822":
                inner = part.get_payload()
                size = len(inner[0].as_bytes()) if isinstance(inner, list) and inner else 0
            else:
                size = len(part.get_payload(decode=True) or b"")
        except Exception:  # noqa: BLE001
            size = 0
        cid = part.get("Content-ID")
        found.append(Attachment(
            filename=name or ("message.eml" if ctype == "message/rfc822" else f"part-{path}"),
            content_type=ctype, size=size, part=path, content_id=str(cid).strip() if cid else None,
            inline=not _is_attachment(part) and bool(cid)))
    return tuple(found)


def _alternatives_of(body: Message | None, msg: Message) -> set[int]:
    """Ids of the other renderings of the body (the HTML twin of a text/plain body)."""
    out: set[int] = set()
    for part in msg.walk():
        if part.is_multipart() and _content_type(part) == "multipart/alternative":
            subs = part.get_payload()
            if isinstance(subs, list) and any(s is body for s in subs):
                out |= {id(s) for s in subs if _content_type(s).startswith("text/")}
    return out


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _date(raw: str | None, warnings: list[str]) -> datetime | None:
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(h.decode_value(raw))
    except Exception:  # noqa: BLE001
        value = None
    if value is None:
        warnings.append(f"unreadable Date header {raw[:60]!r}")
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _ids(raw: str | None) -> tuple[str, ...]:
    """Message ids of a header; encoded words are undone first (some mailers encode long ids)."""
    return h.message_ids(h.decode_value(raw) if raw and "=?" in raw else raw)


def _addr_list(msg: Message, name: str) -> tuple[str, ...]:
    return tuple(a for raw in _raw_all(msg, name) for _n, a in h.addresses(raw))


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one raw message. Never raises for malformed mail: see ``ParsedMail.warnings``."""
    warnings: list[str] = []
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    warnings += [f"MIME defect: {type(d).__name__}" for d in msg.defects]
    kept = {}
    for name in KEPT_HEADERS:
        values = _raw_all(msg, name)
        if values:
            kept[name.lower()] = h.decode_value(values[0])[:MAX_HEADER_CHARS]
    senders = h.addresses(raw_header(msg, "From")) or h.addresses(raw_header(msg, "Sender"))
    if not senders:
        senders = h.addresses(raw_header(msg, "Reply-To")) or h.addresses(raw_header(msg, "Return-Path"))
        warnings.append("no readable From address")
    if len(_raw_all(msg, "From")) > 1:
        warnings.append("more than one From header; the first is used")
    body = _body_part(msg)
    text, from_html = "", False
    if body is not None:
        text = part_text(body, warnings)
        if _content_type(body) == "text/html":
            text, from_html = html_to_text(text), True
    elif isinstance(msg.get_payload(), str) and _content_type(msg).startswith("multipart/"):
        warnings.append("broken multipart structure; the raw body is kept as text")
        text = part_text(msg, warnings)
    elif not msg.is_multipart() and _content_type(msg).startswith("text/") and not _is_attachment(msg):
        text = part_text(msg, warnings)
    alternatives = _alternatives_of(body, msg)
    return ParsedMail(
        subject=kept.get("subject", ""),
        from_name=senders[0][0] if senders else "",
        from_addr=senders[0][1] if senders else "",
        to=_addr_list(msg, "To"),
        cc=_addr_list(msg, "Cc"),
        reply_to=_addr_list(msg, "Reply-To"),
        date=_date(raw_header(msg, "Date"), warnings),
        message_id=(_ids(raw_header(msg, "Message-ID")) or (None,))[0],
        in_reply_to=_ids(raw_header(msg, "In-Reply-To")),
        references=_ids(" ".join(_raw_all(msg, "References"))),
        headers=kept,
        text=_clean(text),
        text_from_html=from_html,
        attachments=_attachments(msg, body, alternatives),
        warnings=tuple(dict.fromkeys(warnings)),
        content_type=_content_type(msg),
        message=msg,
    )


def extract_part(raw: bytes, part: str) -> tuple[bytes, str] | None:
    """The decoded bytes and content type of the leaf at MIME path ``part`` (as ``Attachment.part``
    names it) of a raw message; None when the message has no such part. An attached message
    comes back as its RFC 822 bytes."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    for path, leaf in _leaves(msg):
        if path != part:
            continue
        ctype = _content_type(leaf)
        if ctype == "message/rfc822":
            inner = leaf.get_payload()
            return (inner[0].as_bytes() if isinstance(inner, list) and inner else b""), ctype
        try:
            return leaf.get_payload(decode=True) or b"", ctype
        except Exception:  # noqa: BLE001 - a broken transfer encoding: the bytes as they are
            return str(leaf.get_payload()).encode("utf-8", "replace"), ctype
    return None

"""Header values: encoded words in any charset, raw 8-bit bytes, addresses and message ids.

The modern email API decodes most headers, but it replaces what it cannot
decode (ISO-2022-JP with Windows extensions, raw Shift_JIS bytes from old
phones). These functions work on the raw header text instead and decode each
piece with ``charsets.decode_text``.
"""

from __future__ import annotations

import re
import unicodedata
from email.header import decode_header
from email.utils import getaddresses

from chalicelib.mail.charsets import decode_text

_MSGID = re.compile(r"<([^<>\s]+)>")
_BARE_ADDR = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+\.[^\s<>\"'(),;:@]+")
_ADDR = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_SPACES = re.compile(r"[ \t]*\r?\n[ \t]+")


def _raw_bytes(text: str) -> bytes:
    """Header text as the parser saw it: surrogate escapes stand for raw 8-bit bytes."""
    return text.encode("utf-8", "surrogateescape")


def _utf8(text: str) -> str:
    """``text`` with its raw 8-bit bytes read as UTF-8 (RFC 6532), those that are not replaced by
    U+FFFD: the same result every time, and nothing UTF-8 cannot encode (DynamoDB refuses that)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return _raw_bytes(text).decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def decode_value(raw: str | None) -> str:
    """A header value as readable text: unfolded, encoded words and raw 8-bit bytes decoded, NFC."""
    if not raw:
        return ""
    raw = _SPACES.sub(" ", str(raw)).replace("\r", "").replace("\n", " ")
    try:
        pieces = decode_header(raw)
    except Exception:  # noqa: BLE001 - malformed encoded words: fall back to the raw text
        pieces = [(raw, None)]
    out = []
    for chunk, charset in pieces:
        data = chunk if isinstance(chunk, bytes) else _raw_bytes(chunk)
        text, _warning = decode_text(data, charset if charset else ("utf-8" if not data.isascii() else "ascii"))
        out.append(text)
    text = "".join(out) if any(isinstance(c, bytes) for c, _ in pieces) else " ".join(out)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def addresses(raw: str | None) -> list[tuple[str, str]]:
    """``(display name, address)`` pairs of an address header; names decoded, addresses lower-cased.

    Tolerates what real mail does: encoded words in quoted names, raw 8-bit
    names, a bare address without angle brackets, garbage around it.
    """
    if not raw:
        return []
    raw = _SPACES.sub(" ", str(raw))
    found: list[tuple[str, str]] = []
    try:
        pairs = getaddresses([raw])
    except Exception:  # noqa: BLE001
        pairs = []
    for name, addr in pairs:
        addr = decode_value(addr).strip().strip("<>").lower()
        if _ADDR.match(addr):
            found.append((decode_value(name), addr))
    if not found:
        for match in _BARE_ADDR.finditer(raw):
            found.append(("", _utf8(match.group(0).strip(".").lower())))
    return found


def message_ids(raw: str | None) -> tuple[str, ...]:
    """Message ids in a Message-ID/In-Reply-To/References value, each as ``<id>``, in order, unique.

    A value without angle brackets (some mailers) counts when it looks like ``x@y``.
    """
    if not raw:
        return ()
    raw = _utf8(str(raw))
    ids = [f"<{m}>" for m in _MSGID.findall(raw)]
    if not ids:
        ids = [f"<{token.strip('<>,;')}>" for token in raw.split() if "@" in token]
    seen: list[str] = []
    for mid in ids:
        if mid not in seen:
            seen.append(mid)
    return tuple(seen)

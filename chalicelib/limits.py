"""Fit what a sender controls into DynamoDB's limits before it reaches an item or a key.

DynamoDB items are at most 400 KB and keys at most 2,048 / 1,024 bytes; a 1 MB
chat text, a 2 KB event id, 10,000 recipients or a 5,000-character Message-ID
once made every retry of a delivery answer 500. ``fit_message`` caps the text
fields, bounds the metadata (depth, list lengths, string lengths, total size),
hashes over-long ids (``keys.bounded``: the same id always gives the same key,
so retries still deduplicate), folds header-like fields to one line (no CR/LF
can reach a later mail header) and replaces lone surrogates. What it cut is
listed in ``metadata["truncated"]`` (JSON pointers), which the timeline shows;
the raw payload in S3 keeps the whole delivery. Pure: no AWS imports.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from chalicelib.domain import InboundMessage
from chalicelib.store.keys import bounded

MAX_BODY_CHARS = 40_000  # at most ~160 KB of UTF-8
MAX_SUBJECT_CHARS = 300
MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 254
MAX_CATEGORY_CHARS = 100
MAX_IDS = 20
MAX_REFERENCES = 100  # of which the threading lookup reads the newest 20 (``threads.MAX_LOOKUP_REFS``)
MAX_META_STRING_CHARS = 4_000
MAX_META_ITEMS = 100
MAX_META_DEPTH = 8
MAX_META_BYTES = 100_000
MAX_DYNAMO_DIGITS = 38
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MARK = "[…]"


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (everything else kept)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def one_line(text: str) -> str:
    """A header-safe value: control characters (CR, LF, tab, NUL, ...) folded to single spaces."""
    return " ".join(_CONTROL.sub(" ", clean_text(text or "")).split())


class _Cutter:
    """Caps values and remembers where (JSON pointers) and what was cut."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []

    def note(self, pointer: str, original: str) -> None:
        self.notes.append({"pointer": pointer, "original": original})

    def text(self, pointer: str, value: str, limit: int, *, line: bool = False) -> str:
        value = one_line(value) if line else clean_text(value)
        if len(value) <= limit + len(_MARK) and (len(value) <= limit or value.endswith(_MARK)):
            return value
        self.note(pointer, f"{len(value)} characters")
        return value[:limit] + _MARK

    def value(self, pointer: str, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return self.text(pointer, value, MAX_META_STRING_CHARS)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                return str(value)
            if isinstance(value, int) and len(str(abs(value))) > MAX_DYNAMO_DIGITS:
                self.note(pointer, "a number beyond DynamoDB's 38 digits (kept as text)")
                return self.text(pointer, str(value), MAX_META_STRING_CHARS)
            return value
        if depth >= MAX_META_DEPTH:
            self.note(pointer, "nested too deeply")
            return _MARK
        if isinstance(value, dict):
            items = list(value.items())
            if len(items) > MAX_META_ITEMS:
                self.note(pointer, f"{len(items)} keys")
                items = items[:MAX_META_ITEMS]
            return {self.text(pointer, str(k), 200): self.value(f"{pointer}/{_escape(str(k))}", v, depth + 1)
                    for k, v in items}
        if isinstance(value, list | tuple | set | frozenset):
            seq = list(value)
            if len(seq) > MAX_META_ITEMS:
                self.note(pointer, f"{len(seq)} items")
                seq = seq[:MAX_META_ITEMS]
            return [self.value(f"{pointer}/{i}", v, depth + 1) for i, v in enumerate(seq)]
        return self.text(pointer, str(value), MAX_META_STRING_CHARS)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))


def fit_metadata(metadata: dict[str, Any], cut: _Cutter) -> dict[str, Any]:
    """Bounded metadata; when still over ``MAX_META_BYTES``, the biggest entries are dropped (noted)."""
    fitted = cut.value("/metadata", dict(metadata))
    for pointer, container, key in sorted(_entries(fitted), key=lambda e: -_size(e[1][e[2]])):
        if _size(fitted) <= MAX_META_BYTES:
            break
        cut.note(pointer, f"{_size(container[key])} bytes (dropped; the raw payload has it)")
        container[key] = _MARK
    return fitted


def _entries(doc: dict[str, Any], pointer: str = "/metadata", depth: int = 0) -> list[tuple[str, Any, str]]:
    """(pointer, container, key) of every entry two levels deep, the candidates to drop."""
    out: list[tuple[str, Any, str]] = []
    for key, value in doc.items():
        out.append((f"{pointer}/{_escape(key)}", doc, key))
        if isinstance(value, dict) and depth < 1:
            out += _entries(value, f"{pointer}/{_escape(key)}", depth + 1)
    return out


def fit_message(msg: InboundMessage) -> InboundMessage:
    """The message with every sender-controlled field fitted (see the module docstring)."""
    cut = _Cutter()
    sender = dataclasses.replace(
        msg.sender,
        identity_value=bounded(one_line(msg.sender.identity_value) or msg.sender.identity_value),
        name=cut.text("/from/name", msg.sender.name or "", MAX_NAME_CHARS, line=True),
        email=cut.text("/from/email", msg.sender.email or "", MAX_ADDRESS_CHARS, line=True),
    )
    ids = tuple(bounded(i) for i in msg.message_ids)
    if len(ids) > MAX_IDS:
        cut.note("/message_ids", f"{len(ids)} ids")
        ids = ids[:MAX_IDS]
    fitted = dataclasses.replace(
        msg,
        dedupe_key=bounded(msg.dedupe_key),
        sender=sender,
        subject=cut.text("/subject", msg.subject or "", MAX_SUBJECT_CHARS, line=True),
        body_text=cut.text("/body_text", msg.body_text or "", MAX_BODY_CHARS),
        category=cut.text("/category", msg.category, MAX_CATEGORY_CHARS, line=True) or None if msg.category else None,
        thread_key=bounded(msg.thread_key) if msg.thread_key else msg.thread_key,
        references=tuple(bounded(r) for r in msg.references[-MAX_REFERENCES:]),
        message_ids=ids,
        metadata=fit_metadata(dict(msg.metadata), cut),
    )
    if cut.notes:
        fitted = dataclasses.replace(fitted, metadata={**fitted.metadata, "truncated": cut.notes})
    return fitted

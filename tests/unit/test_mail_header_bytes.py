"""Raw 8-bit bytes in any header never reach the store as text UTF-8 cannot encode.

Python's mail parser keeps bytes it cannot decode in headers as surrogate escapes
(``"\\udcc1"``); DynamoDB refuses such strings (moto fails the whole transaction), so a
mail with one stray byte in ``References`` made a 500 and no ticket (found by the fuzz
suite). Every string ``parse_mail`` returns must encode as strict UTF-8, for any bytes
in any header, and an id with a stray byte must still read the same every time (a
repeat of the mail threads and deduplicates as the first did).
"""

from __future__ import annotations

from dataclasses import fields

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.mail.parse import parse_mail

HEADERS = ["From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
           "Auto-Submitted", "Return-Path", "Sender", "X-Mailer"]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    return []


def _mail(name: str, value: bytes) -> bytes:
    base = {"From": b"Hanako <hanako@example.jp>", "To": b"support@example.com", "Subject": b"test",
            "Message-ID": b"<m-1@example.jp>"}
    base[name] = value
    head = b"".join(k.encode() + b": " + v + b"\r\n" for k, v in base.items())
    return head + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"


def _assert_utf8(parsed: object) -> None:
    for f in fields(parsed):
        if f.name == "message":
            continue
        for text in _strings(getattr(parsed, f.name)):
            text.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate


def test_the_fuzz_suites_references_with_a_stray_byte():
    raw = _mail("References", b"<e0@example.jp\xc1")
    parsed = parse_mail(raw)
    _assert_utf8(parsed)
    assert parsed.references == parse_mail(raw).references  # the same id every time


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(HEADERS),
       value=st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
       ids=st.booleans())
def test_any_bytes_in_any_header_give_only_utf8_text(name, value, ids):
    if ids:  # shaped like ids, so the id parser sees the bytes
        value = b"<" + value + b"@example.jp> <x\xff@y.example>"
    _assert_utf8(parse_mail(_mail(name, value)))

"""Separate the new text of a reply from the quoted history and the signature.

A small line-based splitter (documented rules, tested on Japanese and English
mail). mail-parser-reply was considered: its Japanese support is one Gmail
header pattern, it has no Outlook-ja (差出人/送信日時) headers or Japanese
sign-offs, and it strips every line's indentation; so the rules live here.

Quoted history starts at the first of:

- an attribution line: ``On <date>, <name> wrote:`` (possibly wrapped over two
  lines), ``2026年1月9日(金) 16:00 山田 <x@y>:``, ``2026/01/09 16:00、山田 wrote:``,
  ``... さんは書きました:``, ``... のメッセージ:``;
- a separator: ``-----Original Message-----``, ``-----元のメッセージ-----``,
  ``---------- Forwarded message ----------``, ``----- 転送メッセージ -----``;
- a header block: a ``From:``/``差出人:``/``送信者:`` line followed within four
  lines by ``Sent:``/``Date:``/``送信日時:``/``日時:``/``To:``/``宛先:``/``Subject:``/``件名:``
  (Outlook, often below a line of underscores);
- a block of ``>`` (or ``＞``) lines that runs to the end of the message.

Quoted lines with unquoted answers after them (inline replies) are left in the
new text: an answer is never dropped. When the message starts with an
attribution line (bottom-posting), the unquoted text after it is the new text.

The signature is the end of the new text from: the RFC 3676 delimiter
``-- ``; ``Sent from my ...``/``Get Outlook for ...``/``...から送信``; or a
line of at least eight rule characters (``-``, ``=``, ``_``, ``━``, ``─``, ``＝``,
``*``, ``～``) among the last twelve lines with at most ten lines after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{4,200}\bwrote\s*:\s*$", re.I),
    re.compile(r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,200}[:：]\s*$"),
    re.compile(r"^\s*\d{4}[/.-]\d{1,2}[/.-]\d{1,2}.{0,200}(wrote|書きました|<[^>]+>)\s*[:：]?\s*$", re.I),
    re.compile(r"^.{1,200}(さんは|様は|氏は|が)書きました\s*[:：]?\s*$"),
    re.compile(r"^.{1,200}のメッセージ\s*[:：]\s*$"),
    re.compile(r"^\s*(Le|Am|El|Il|Op)\s.{4,200}\s(a écrit|schrieb|escribió|ha scritto|schreef)\s*:\s*$", re.I),
]
_SEPARATOR = re.compile(
    r"^\s*[-_=]{2,}\s*(Original Message|Forwarded message|Reply message|元のメッセージ|オリジナルメッセージ|"
    r"転送メッセージ|転送されたメッセージ|返信メッセージ)\s*[-_=]{2,}\s*$", re.I)
_FROM_LINE = re.compile(r"^\s*\**\s*(From|差出人|送信者|送信元)\s*\**\s*[:：]", re.I)
_HEADER_LINE = re.compile(r"^\s*\**\s*(Sent|Date|To|Subject|Cc|送信日時|送信日|日時|日付|宛先|件名)\s*\**\s*[:：]",
                          re.I)
_QUOTED = re.compile(r"^\s*[>＞|]")
_SIG_DELIM = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    r"^\s*(Sent from my .{1,40}|Sent from (Mail|Outlook|Yahoo).{0,40}|Get Outlook for .{1,40}|"
    r".{1,30}から送信(しました)?|送信元\s*[:：]?\s*(iPhone|iPad|Android).{0,20})\s*$", re.I)
_RULE = re.compile(r"^\s*[-=_━─＝*＊~～・━┏┗]{8,}\s*$")


@dataclass(frozen=True)
class ReplyParts:
    """The reply split into new text, quoted history and signature (each stripped, '' if none)."""

    new_text: str
    quoted: str
    signature: str


def _attribution_at(lines: list[str], i: int) -> bool:
    line = lines[i]
    if any(p.match(line) for p in _ATTRIBUTION) or _SEPARATOR.match(line):
        return True
    if re.match(r"^\s*On\b", line, re.I) and i + 1 < len(lines):  # "On Tue, ... <x@y>\nwrote:"
        return bool(re.match(r"^.{0,200}\bwrote\s*:\s*$", lines[i + 1], re.I)) and len(line) < 200
    if _FROM_LINE.match(line):
        return any(_HEADER_LINE.match(nxt) for nxt in lines[i + 1:i + 5])
    return False


def _quote_start(lines: list[str]) -> int | None:
    for i in range(len(lines)):
        if _attribution_at(lines, i):
            return i
        if _QUOTED.match(lines[i]) and all(_QUOTED.match(rest) or not rest.strip() for rest in lines[i:]):
            return i
    return None


def _signature_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _SIG_DELIM.match(line) and i > 0:
            return i
    for i, line in enumerate(lines):
        if _SENT_FROM.match(line) and i > 0 and len(lines) - i <= 3:
            return i
    tail = max(1, len(lines) - 12)
    for i in range(tail, len(lines)):
        after = [x for x in lines[i + 1:] if x.strip()]
        before = [x for x in lines[:i] if x.strip() and not _RULE.match(x)]
        if _RULE.match(lines[i]) and after and len(after) <= 10 and before:
            return i
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def split_reply(text: str) -> ReplyParts:
    """Split a plain-text body; see the module docstring for the rules."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = _quote_start(lines)
    quoted: list[str] = []
    if start is not None:
        head, quoted = lines[:start], lines[start:]
        if not "".join(head).strip():  # bottom-posting: the answer follows the quote
            answer = [x for x in quoted[1:] if not _QUOTED.match(x)]
            if "".join(answer).strip():
                head = answer
                quoted = [quoted[0], *[x for x in quoted[1:] if _QUOTED.match(x)]]
            else:
                head, quoted = lines, []
        lines = head
    sig = _signature_start(lines)
    signature = lines[sig:] if sig is not None else []
    body = lines[:sig] if sig is not None else lines
    if not _join(body).strip():
        body, signature = lines, []
    return ReplyParts(new_text=_join(body), quoted=_join(quoted), signature=_join(signature))

"""Separate the new text of a reply from the quoted history, the signature and injected notices.

A line-based splitter with documented rules. mail-parser-reply 1.36 was
measured beside it on the same files (the note of issue 13, the test
``tests/unit/test_quote_splitter.py``): it strips every line's indentation,
cuts at the first "- " bullet or "Regards," (dropping the customer's words
after it), has no Russian, no Outlook-ja (差出人/送信日時) headers and no
Yandex/Mail.ru attributions, so the rules stay here.

Before splitting: an undecoded quoted-printable body (soft line breaks and
``=XX`` escapes left by a mislabelled transfer encoding) is decoded, and an
external-mail banner at the top (``CAUTION: This email originated from
outside...``, ``[EXTERNAL]``) is set aside as ``notice``.

Quoted history starts at the first of:

- an attribution line, possibly wrapped over up to three lines when its first
  line carries a date: ``On <date>, <name> wrote:``, ``Am ... schrieb ...:``,
  ``Le ... a écrit :``, ``El ... escribió:``, ``Il ... ha scritto:``,
  ``Op ... schreef ...:``, ``Em ... escreveu:``, ``Den ... skrev:`` and
  ``... kl. 20:42 skrev ...:`` (da/sv/no), ``Dnia ... napisał(a):``,
  ``... пишет:``/``написал(а):``; Yandex ``09.01.2026, 16:00, "Иван" <x@y>:``,
  Mail.ru ``Пятница, 9 января 2026, 16:00 +03:00 от Иван <x@y>:``; Japanese
  ``2026年1月9日(金) 16:00 山田 <x@y>:``, ``2026/01/09 16:00、山田 wrote:``,
  iOS ``2026/01/09 16:00、山田 <x@y>のメール:``, ``... さんは書きました:``, ``... のメッセージ:``;
- a separator: ``-----Original Message-----`` and its translations
  (``Ursprüngliche Nachricht``, ``Oprindelig meddelelse``, ``Исходное сообщение``,
  ``元のメッセージ``, ...), ``---------- Forwarded message ----------``,
  ``Begin forwarded message:``;
- a header block: a ``From:`` line in any of the client languages (``Von:``,
  ``De:``, ``Fra:``, ``Från:``, ``Od:``, ``Van:``, ``От:``, ``差出人:``, ``送信者:``),
  bold or not, followed within five lines by ``Sent:``/``Date:``/``To:``/``Subject:``
  or theirs (``Gesendet:``, ``Envoyé :``, ``Sendt:``, ``Wysłano:``, ``Verzonden:``,
  ``Отправлено:``, ``Кому:``, ``Тема:``, ``送信日時:``, ``宛先:``, ``件名:``, ...);
  a divider line (Outlook 2003's underscores, Outlook's dashes) just above it
  belongs to the quote;
- a block of ``>`` (or ``＞``) lines that runs to the end of the message.

A header block at the very top (a pasted or forwarded message) is skipped and
the text under it is the new text. Quoted lines with unquoted answers after
them (inline replies) stay in the new text: an answer is never dropped. When
the message starts with an attribution and quoted lines follow (bottom-posting),
the unquoted text after them is the new text.

The signature is the end of the new text from: the RFC 3676 delimiter ``-- ``;
a device line among the last three (``Sent from my iPhone``, ``Get Outlook for
iOS``, ``Von meinem iPhone gesendet``, ``Отправлено с iPhone``, ``iPhoneから送信``);
a disclaimer paragraph (``Disclaimer``, "confidential ... intended recipient",
"scanned for viruses"); or a rule line (``-``, ``=``, ``_``, ``━``, ``─``, ...) with a
short block after it (at most ten lines, or twenty that include contact details).
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass

_WROTE = (r"(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev|napisał\(a\)|napisała?|pisze|"
          r"пишет|написал\(а\)|написала?|kirjoitti|yazdı|írta|napsal\(a\)|書きました)")
_ATTRIBUTION = [
    re.compile(rf"^\s*(On|Am|Le|El|Il|Op|Em|No dia|Den|Dnia|W dniu|Le|Dne)\b.{{3,250}}\b{_WROTE}\b.{{0,200}}[:：]\s*$",
               re.I),
    re.compile(rf"^.{{0,80}}\d{{1,4}}.{{0,120}}\b{_WROTE}\s*[:：]?\s*$", re.I),
    re.compile(rf"^.{{0,60}}\d{{4}}.{{0,40}}\d{{1,2}}[:.]\d{{2}}.{{0,10}}\b{_WROTE}\b.{{1,200}}[:：]\s*$", re.I),
    re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{2,4},?\s+\d{1,2}:\d{2},?\s+.{1,160}<[^<>\s]+@[^<>\s]+>\s*:\s*$"),  # Yandex
    re.compile(r"^.{0,80}\d{4},?\s+\d{1,2}:\d{2}.{0,20}\s(от|from)\s.{1,160}[:：]\s*$", re.I),  # Mail.ru
    re.compile(r"^.{0,60}\d{4}.{0,30}\d{1,2}:\d{2}.{0,160}<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$"),  # Gmail ru/uk/...
    re.compile(r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,200}[:：]\s*$"),
    re.compile(r"^\s*\d{4}[/.-]\d{1,2}[/.-]\d{1,2}.{0,200}(wrote|書きました|<[^>]+>|のメール|のメッセージ)\s*[:：]?\s*$",
               re.I),
    re.compile(r"^.{1,200}(さんは|様は|氏は|が)書きました\s*[:：]?\s*$"),
    re.compile(r"^.{1,200}のメッセージ\s*[:：]\s*$"),
]
_SEPARATOR = re.compile(
    r"^\s*([-_=*]{2,}\s*)?(Original Message|Forwarded message|Reply message|Ursprüngliche Nachricht|"
    r"Originalnachricht|Weitergeleitete Nachricht|Oprindelig meddelelse|Videresendt meddelelse|"
    r"Ursprungligt meddelande|Vidarebefordrat meddelande|Opprinnelig melding|Alkuperäinen viesti|"
    r"Oorspronkelijk bericht|Doorgestuurd bericht|Wiadomość oryginalna|Oryginalna wiadomość|"
    r"Message d'origine|Message transféré|Mensaje original|Mensaje reenviado|Messaggio originale|"
    r"Messaggio inoltrato|Mensagem original|Исходное сообщение|Пересылаемое сообщение|Пересланное сообщение|"
    r"元のメッセージ|オリジナルメッセージ|転送メッセージ|転送されたメッセージ|返信メッセージ|原始邮件|원본 메시지)"
    r"(\s*[-_=*]{2,})?\s*$|^\s*(Begin forwarded message|Anfang der weitergeleiteten Nachricht|"
    r"Début du message réexpédié)\s*:\s*$|^\s*Original Message processed by\b", re.I)
_FROM = (r"From|Von|De|Fra|Från|Od|Van|Da|Lähettäjä|Kimden|От|Від|差出人|送信者|送信元|发件人|보낸 사람")
_HEADERS = (r"Sent|Date|To|Subject|Cc|Gesendet|Datum|An|Betreff|Envoyé|Date|À|Objet|Enviado|Para|Asunto|"
            r"Inviato|Data|A|Oggetto|Sendt|Til|Emne|Skickat|Till|Ämne|Kopia|Wysłano|Do|Temat|DW|Verzonden|Aan|"
            r"Onderwerp|Lähetetty|Vastaanottaja|Aihe|Отправлено|Дата|Кому|Тема|Копия|Надіслано|"
            r"送信日時|送信日|日時|日付|宛先|件名|CC|发送时间|收件人|主题|보낸 날짜|받는 사람|제목")
_FROM_LINE = re.compile(rf"^\s*\**\s*({_FROM})\s*\**\s*[:：]", re.I)
_HEADER_LINE = re.compile(rf"^\s*\**\s*({_HEADERS})\s*\**\s*[:：]", re.I)
_DIVIDER = re.compile(r"^\s*[-_=─━]{10,}\s*$")
_QUOTED = re.compile(r"^\s*[>＞|]")
_SIG_DELIM = re.compile(r"^--\s?$")
_DEVICE = re.compile(
    r"^\s*(Sent from (my|a|an) [^,.;:!?]{1,50}|Sent from (Mail|Outlook|Yahoo)[^,;!?]{0,40}|Get Outlook for .{1,60}|"
    r"Sent (via|with) [^,.;!?]{1,40}|Envoyé de mon .{1,40}|Von meinem .{1,40} gesendet|Gesendet von .{1,40}|"
    r"Enviado desde mi .{1,40}|Inviato da(l mio)? .{1,40}|Verzonden (met|vanaf) .{1,40}|Skickat från min .{1,40}|"
    r"Sendt fra min .{1,40}|Wysłane z .{1,40}|Отправлено с .{1,40}|Отправлено из .{1,60}|Надіслано з .{1,40}|"
    r".{1,30}から送信(しました)?|送信元\s*[:：]?\s*(iPhone|iPad|Android).{0,20})\s*$", re.I)
_RULE = re.compile(r"^\s*[-=_━─＝*＊~～・┏┗]{8,}\s*$")
_CONTACT = re.compile(r"(\+?\(?\d[\d() -]{6,}\d|@|https?://|www\.|\b(tel|fax|mobile|direct|phone)\b|株式会社|〒|TEL)",
                      re.I)
_DISCLAIMER = re.compile(
    r"^\s*(disclaimer\b|confidentiality notice|this (e-?mail|message) (and any attachments )?(is|are|may be) "
    r"(confidential|privileged|intended)|the information (contained )?in this (communication|e-?mail|message)|"
    r"this email has been scanned|本メールは.{0,40}(機密|秘密)|このメールは.{0,40}(誤って|宛先))", re.I)
_BANNER = re.compile(r"^\s*(\[?EXTERNAL\]?\s*(E-?MAIL)?\s*[:：-]|CAUTION\s*[:：]|"
                     r"WARNING\s*[:：] ?This (e-?mail|message) originated|"
                     r"This (e-?mail|message) originated from outside)",
                     re.I)
_QP_SOFT = re.compile(r"=\r?\n")
_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}")


@dataclass(frozen=True)
class ReplyParts:
    """The reply split into new text, quoted history, signature and a removed banner (each stripped, '' if none)."""

    new_text: str
    quoted: str
    signature: str
    notice: str = ""


def _undo_quoted_printable(text: str) -> str:
    """A body still in quoted-printable (soft breaks and escapes left in) decoded; others unchanged."""
    if len(_QP_SOFT.findall(text)) < 2 or not _QP_ESCAPE.search(text):
        return text
    try:
        return quopri.decodestring(text.encode("utf-8")).decode("utf-8")
    except (UnicodeError, ValueError):
        return text


def _is_attribution(text: str) -> bool:
    return len(text) <= 400 and any(p.match(text) for p in _ATTRIBUTION)


def _attribution_len(lines: list[str], i: int) -> int:
    """How many lines (1-3) the attribution starting at ``i`` spans; 0 if none starts there."""
    if _is_attribution(lines[i]) or _SEPARATOR.match(lines[i]):
        return 1
    if not re.search(r"\d", lines[i]) or len(lines[i]) > 200:
        return 0  # a wrapped attribution starts with its date
    for span in (2, 3):
        if i + span > len(lines) or not lines[i + span - 1].strip() or _QUOTED.match(lines[i + span - 1]):
            return 0
        if _is_attribution(" ".join(x.strip() for x in lines[i:i + span])):
            return span
    return 0


def _header_block_at(lines: list[str], i: int) -> int:
    """Lines of the header block starting at ``i`` (a From-like line, then header lines), 0 if none."""
    if not _FROM_LINE.match(lines[i]):
        return 0
    if not any(_HEADER_LINE.match(nxt) for nxt in lines[i + 1:i + 6]):
        return 0
    end = i + 1
    while end < len(lines) and lines[end].strip() and (_HEADER_LINE.match(lines[end]) or lines[end][:1] in " \t"
                                                       or not re.match(r"^\S+\s*[:：]", lines[end]) and end < i + 6):
        end += 1
    return end - i


def _quote_start(lines: list[str]) -> int | None:
    for i in range(len(lines)):
        if _attribution_len(lines, i) or _header_block_at(lines, i):
            return i
        if _DIVIDER.match(lines[i]):
            nxt = [j for j in range(i + 1, min(i + 4, len(lines))) if lines[j].strip()]
            if nxt and _header_block_at(lines, nxt[0]):
                return i
        if _QUOTED.match(lines[i]) and all(_QUOTED.match(rest) or not rest.strip() for rest in lines[i:]):
            return i
    return None


def _signature_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _SIG_DELIM.match(line) and i > 0:
            return i
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for i in filled[-3:]:
        if _DEVICE.match(lines[i]) and i > 0 and len(lines[i].split()) <= 9:
            return i
    for i in filled[1:]:
        if _DISCLAIMER.match(lines[i]) and (i == 0 or not lines[i - 1].strip()):
            return i
    for i in range(max(1, len(lines) - 30), len(lines)):
        if not _RULE.match(lines[i]):
            continue
        after = [x for x in lines[i + 1:] if x.strip()]
        before = [x for x in lines[:i] if x.strip() and not _RULE.match(x)]
        short = len(after) <= 10 and i >= len(lines) - 12
        contact = len(after) <= 20 and any(_CONTACT.search(x) for x in after)
        if after and before and (short or contact):
            return i
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def _banner(lines: list[str]) -> tuple[list[str], list[str]]:
    """(banner paragraph, the rest) when the text starts with an external-mail warning."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not _BANNER.match(lines[first]):
        return [], lines
    end = first
    while end < len(lines) and lines[end].strip():
        end += 1
    return lines[first:end], lines[end:]


def _bottom_posted(quoted: list[str]) -> tuple[list[str], list[str]] | None:
    """(answer, quote) of a message that starts with an attribution and answers below the quote."""
    span = max(1, _attribution_len(quoted, 0))
    rest = quoted[span:]
    if not any(_QUOTED.match(x) for x in rest):
        return None
    answer, quote, seen_quote = [], quoted[:span], False
    for j, line in enumerate(rest):
        if _QUOTED.match(line):
            seen_quote = True
            quote.append(line)
        elif seen_quote and (_attribution_len(rest, j) or _header_block_at(rest, j)):
            quote += rest[j:]
            break
        elif seen_quote:
            answer.append(line)
        else:
            quote.append(line)
    return (answer, quote) if "".join(answer).strip() else None


def split_reply(text: str) -> ReplyParts:
    """Split a plain-text body; see the module docstring for the rules."""
    text = _undo_quoted_printable(text.replace("\r\n", "\n")).replace("\ufeff", "").replace("\u200b", "")
    banner, lines = _banner(text.split("\n"))
    start = _quote_start(lines)
    quoted: list[str] = []
    if start is not None:
        head, quoted = lines[:start], lines[start:]
        if not "".join(head).strip():
            top = _header_block_at(quoted, 0)
            if top:  # a pasted/forwarded message's headers on top: the text under them is the message
                body = quoted[top:]
                nxt = _quote_start(body)
                head, quoted = (body[:nxt], quoted[:top] + body[nxt:]) if nxt is not None else (body, quoted[:top])
            else:
                split = _bottom_posted(quoted)
                head, quoted = split if split else ([], quoted)
        lines = head
    sig = _signature_start(lines)
    signature = lines[sig:] if sig is not None else []
    body = lines[:sig] if sig is not None else lines
    if not _join(body).strip() and signature:
        body, signature = lines, []
    return ReplyParts(new_text=_join(body), quoted=_join(quoted), signature=_join(signature), notice=_join(banner))

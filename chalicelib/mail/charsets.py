"""Decode bytes in the charsets real mail declares, with the fallbacks Japanese mail needs.

Declared charsets are often wrong or too narrow: ``Shift_JIS`` mail carries
Windows-31J (cp932) characters such as ``①`` or ``髙``, ``ISO-2022-JP`` mail
from Windows carries the same NEC/IBM extensions under ``ESC $ B`` (what
Microsoft calls CP50220), ``us-ascii`` parts contain UTF-8. ``decode_text``
tries the declared charset's best superset strictly, then UTF-8 and the
Japanese encodings, and only then replaces undecodable bytes (with a warning).
"""

from __future__ import annotations

import codecs
import re

_SJIS = ("shift_jis", "shift-jis", "sjis", "x-sjis", "shift_jisx0213", "windows-31j", "cp932", "ms932",
         "ms_kanji", "csshiftjis", "x-ms-cp932")
_JIS = ("iso-2022-jp", "csiso2022jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3", "iso-2022-jp-2004",
        "iso-2022-jp-ms", "cp50220", "cp50221", "cp50222", "jis", "x-jis")
_EUC = ("euc-jp", "x-euc-jp", "eucjp", "cseucpkdfmtjapanese", "cp51932", "euc-jis-2004")
_LATIN = ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii", "iso_8859-1", "cp1252", "windows-1252")
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "cp950", "ks_c_5601-1987": "cp949",
              "euc-kr": "cp949", "tis-620": "cp874", "iso-8859-11": "cp874"}


def normalize_charset(charset: str | None) -> str:
    """Lower-case charset name without quotes or spaces ('' when absent)."""
    return (charset or "").strip().strip("\"'").strip().lower()


def _known(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def candidates(charset: str | None) -> list[str]:
    """Codecs to try in order for a declared charset (strict decoding each)."""
    cs = normalize_charset(charset)
    if cs in _SJIS:
        chain = ["cp932", "shift_jis_2004"]
    elif cs in _JIS:
        chain = ["iso2022_jp", "jis-cp932", "iso2022_jp_2004", "iso2022_jp_ext"]
    elif cs in _EUC:
        chain = ["euc_jp", "euc_jis_2004", "cp932"]
    elif cs in _LATIN:
        chain = ["ascii", "utf-8", "cp1252"]
    elif cs in ("utf-8", "utf8", "utf_8", "unicode-1-1-utf-8"):
        chain = ["utf-8", "cp932", "cp1252"]
    elif cs and _known(_SUPERSETS.get(cs, cs)):
        chain = [_SUPERSETS.get(cs, cs), "utf-8"]
    else:  # missing or unknown (x-unknown, ...): UTF-8, then the Japanese encodings, then Windows Latin
        chain = ["utf-8", "iso2022_jp", "cp932", "euc_jp", "cp1252"]
    if "utf-8" not in chain:
        chain.append("utf-8")
    return chain


def jis_to_text(data: bytes) -> str:
    """Decode ISO-2022-JP by converting JIS X 0208 rows to Shift_JIS and reading them as cp932.

    Handles the Windows extensions (NEC row 13: ``①``, ``㈱``; NEC-selected IBM
    rows 89-92) that Python's strict ``iso2022_jp`` rejects, and half-width
    katakana (``ESC ( I`` and SO/SI). Raises UnicodeDecodeError on bytes that
    are not ISO-2022-JP.
    """
    out = bytearray()
    mode = "ascii"
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            seq = data[i + 1:i + 3]
            if seq in (b"(B", b"(J", b"(H"):
                mode, i = "ascii", i + 3
            elif seq in (b"$@", b"$B"):
                mode, i = "jis", i + 3
            elif seq == b"(I":
                mode, i = "kana", i + 3
            elif data[i + 1:i + 4] in (b"$(D", b"$(Q", b"$(O"):
                mode, i = "jis", i + 4
            else:
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "unknown escape sequence")
            continue
        if b == 0x0E:
            mode, i = "kana", i + 1
            continue
        if b == 0x0F:
            mode, i = "ascii", i + 1
            continue
        if b in (0x0A, 0x0D) or mode == "ascii":
            if b > 0x7F:
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "8-bit byte in ISO-2022-JP")
            out.append(b)
            i += 1
        elif mode == "kana":
            out.append(b + 0x80 if 0x21 <= b <= 0x5F else b)
            i += 1
        else:
            if i + 1 >= n or not (0x21 <= b <= 0x7E and 0x21 <= data[i + 1] <= 0x7E):
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "incomplete JIS character")
            j1, j2 = b, data[i + 1]
            s1 = (j1 - 0x21) // 2 + 0x81
            if s1 > 0x9F:
                s1 += 0x40
            if j1 % 2:
                s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
            else:
                s2 = j2 + 0x7E
            out += bytes((s1, s2))
            i += 2
    return out.decode("cp932")


_GUESSES = ("cp932", "euc_jp", "iso2022_jp")
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")


def _looks_japanese(text: str) -> bool:
    """Kana present: Japanese text nearly always has some; Latin-1 read as cp932 has none."""
    return bool(_KANA.search(text))


_JIS_VARIANTS = ("iso2022_jp", "jis-cp932", "iso2022_jp_2004", "iso2022_jp_ext")


def _decode(data: bytes, codec: str) -> str:
    if codec == "jis-cp932":
        return jis_to_text(data)
    return data.decode(codec)


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode ``data`` declared as ``charset``; returns ``(text, warning or None)``.

    The warning says when the declared charset did not fit (another one was
    used) or when undecodable bytes had to be replaced with U+FFFD.
    """
    chain = candidates(charset)
    if (b"\x1b$B" in data or b"\x1b$@" in data) and chain[0] != "iso2022_jp":
        chain = ["iso2022_jp", "jis-cp932", *chain]  # JIS escapes under a wrong or missing label
    declared = normalize_charset(charset)
    for position, codec in enumerate(chain):
        try:
            text = _decode(data, codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if codec in _GUESSES and position and not _looks_japanese(text):
            continue  # cp932/EUC-JP decode many byte strings; accept them only for Japanese text
        if position == 0 or not declared or codec in _JIS_VARIANTS or declared in _LATIN + ("utf-8",):
            return text, None
        return text, f"declared charset {declared!r} did not fit; decoded as {codec}"
    fallback = chain[0] if chain[0] != "jis-cp932" else "iso2022_jp"
    text = data.decode(fallback, errors="replace")
    return text, f"undecodable bytes replaced (charset {declared or 'none'}, decoded as {fallback})"

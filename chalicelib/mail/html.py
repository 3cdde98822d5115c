"""HTML-only mail to readable plain text with the standard library's HTMLParser.

Block elements become line breaks, list items ``- ``, links ``text (url)``,
images their ``[alt]`` text, ``<blockquote>`` lines are prefixed with ``> `` (so
the quote splitter sees quoted history), scripts, styles and the head are
dropped, entities decoded and whitespace squeezed. (html2text would do this
too, but it is GPL-3.0-licensed and this code is shipped to users' accounts.)
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "h1", "h2", "h3",
          "h4", "h5", "h6", "pre", "address", "center", "form", "dl", "dt", "dd", "hr"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}
_QUOTE_ON, _QUOTE_OFF = "\x00Q+\x00", "\x00Q-\x00"


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "blockquote":
            self.out.append(f"\n{_QUOTE_ON}\n")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "img" and a.get("alt"):
            self.out.append(f"[{a['alt']}]")
        elif tag == "a":
            self.links.append((a.get("href") or "", len(self.out)))
        if tag in _BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre += 1
            if tag == "hr":
                self.out.append("----------\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP:
            self.skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.out.append(f"\n{_QUOTE_OFF}\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.out[start:]).strip()
            if href.startswith(("http://", "https://")) and href.rstrip("/") != text.rstrip("/"):
                self.out.append(f" ({href})" if text else href)
        if tag in _BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (never raises; broken markup gives best-effort text)."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; this is a last resort
        return re.sub(r"<[^>]+>", " ", html)
    depth = 0
    lines: list[str] = []
    for line in "".join(parser.out).replace("\xa0", " ").split("\n"):
        if line == _QUOTE_ON:
            depth += 1
            continue
        if line == _QUOTE_OFF:
            depth = max(0, depth - 1)
            continue
        line = line.strip() if not parser.pre else line.rstrip()
        lines.append(("> " * depth + line).rstrip() if line else "")
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

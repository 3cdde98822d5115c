"""Pre-send checks for any outbound message to a customer. Pure.

Each check returns problems a person can act on; the reply is refused (422)
unless the agent overrides, and the override is recorded. Configuration lives
in ``rules/checks/presend.json``::

    {"placeholder_patterns": ["XX様"], "warning_words": ["絶対に", "100%"],
     "greeting_patterns": ["^\\\\s*(?P<name>[^\\\\s、,]{1,20}?)\\\\s*(様|さま|さん)"]}
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_PLACEHOLDERS = (r"●{2,}", r"○{2,}", r"〇{2,}", r"×{2,}", r"\{\{.*?\}\}", r"\[\[.*?\]\]", r"＿{2,}",
                        r"\bX{2,}\b", r"TODO")
DEFAULT_GREETINGS = (
    r"^\s*(?P<name>[^、,。!！\n]{1,20}?)\s*(?:様|さま|さん|殿)",
    r"^\s*(?:Dear|Hello|Hi)\s+(?P<name>[A-Za-z][\w .'-]{0,40}?)\s*[,\n]",
)


@dataclass(frozen=True)
class PresendConfig:
    """What the checks look for."""

    placeholder_patterns: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    greeting_patterns: tuple[str, ...] = DEFAULT_GREETINGS
    warning_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One reason not to send."""

    check: str
    message: str
    excerpt: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"check": self.check, "message": self.message, "excerpt": self.excerpt}


@dataclass(frozen=True)
class Draft:
    """An outbound message and what we know about its ticket."""

    body: str
    customer_name: str | None
    customer_addresses: tuple[str, ...] = ()
    to: str | None = None
    subject: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


PRESEND_FILE = "checks/presend.json"
PRESEND_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Pre-send checks (rules/checks/presend.json)",
    "type": "object", "additionalProperties": False,
    "properties": {
        "$comment": {"type": "string"},
        "placeholder_patterns": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "greeting_patterns": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "warning_words": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
}


def check_config(rules_dir: Path) -> list[dict[str, Any]]:
    """Problems of ``checks/presend.json`` as ``{file, pointer, message}``: schema, and every
    pattern a valid regular expression."""
    from jsonschema import Draft202012Validator

    from chalicelib.engine.loader import read_json_file, schema_problems

    path = rules_dir / PRESEND_FILE
    if not path.is_file():
        return []
    data, errors = read_json_file(path, PRESEND_FILE)
    if errors:
        return errors
    errors = schema_problems(PRESEND_FILE, data, Draft202012Validator(PRESEND_SCHEMA))
    if errors:
        return errors
    for key in ("placeholder_patterns", "greeting_patterns"):
        for i, pattern in enumerate(data.get(key, [])):
            try:
                re.compile(pattern)
            except re.error as exc:
                errors.append({"file": PRESEND_FILE, "pointer": f"/{key}/{i}", "message": f"bad pattern: {exc}"})
    return errors


def load_config(rules_dir: Path) -> PresendConfig:
    """Config from ``rules_dir/checks/presend.json`` added to the defaults (missing file: defaults).
    Parsed once per version of the file (cached by path, mtime and size)."""
    path = rules_dir / "checks" / "presend.json"
    try:
        stat = path.stat()
    except OSError:
        return PresendConfig()
    return _parse_config(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _parse_config(path: str, _mtime_ns: int, _size: int) -> PresendConfig:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return PresendConfig(
        placeholder_patterns=DEFAULT_PLACEHOLDERS + tuple(doc.get("placeholder_patterns", ())),
        greeting_patterns=DEFAULT_GREETINGS + tuple(doc.get("greeting_patterns", ())),
        warning_words=tuple(doc.get("warning_words", ())),
    )


def _norm(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _excerpt(text: str, start: int, end: int) -> str:
    return text[max(0, start - 15):end + 15].replace("\n", " ")


def placeholders(draft: Draft, config: PresendConfig) -> list[Problem]:
    """Unfilled template placeholders such as ●●, ○○, {{...}}, [[...]]."""
    out = []
    for pattern in config.placeholder_patterns:
        for m in re.finditer(pattern, draft.subject + "\n" + draft.body):
            out.append(Problem("placeholder", f"unfilled placeholder {m.group(0)!r}",
                               _excerpt(draft.subject + "\n" + draft.body, m.start(), m.end())))
    return out


def _name_matches(found: str, customer: str) -> bool:
    f, c = _norm(found), _norm(customer)
    if not f or not c:
        return False
    parts = [_norm(p) for p in re.split(r"[\s　]+", customer) if p]
    return f == c or f in c or c in f or any(p and (p == f or p in f) for p in parts)


def wrong_name(draft: Draft, config: PresendConfig) -> list[Problem]:
    """A greeting naming someone other than this ticket's customer."""
    if not draft.customer_name:
        return []
    head = "\n".join(draft.body.strip().splitlines()[:3])
    for pattern in config.greeting_patterns:
        for line in head.splitlines():
            m = re.search(pattern, line + "\n", re.I)
            name = m.group("name") if m else ""
            if any(re.search(p, name) for p in config.placeholder_patterns):
                continue  # reported as a placeholder already
            if name and not _name_matches(name, draft.customer_name):
                return [Problem("wrong_customer_name",
                                f"the greeting names {name!r} but the customer is {draft.customer_name!r}",
                                line.strip())]
    return []


def wrong_recipient(draft: Draft) -> list[Problem]:
    """A recipient that is not one of this ticket's customer's addresses."""
    if not draft.to or not draft.customer_addresses:
        return []
    if draft.to.strip().lower() in {a.lower() for a in draft.customer_addresses}:
        return []
    return [Problem("wrong_recipient", f"{draft.to} is not an address of this ticket's customer")]


def warning_words(draft: Draft, config: PresendConfig) -> list[Problem]:
    """Configured words a reply should not contain."""
    return [Problem("warning_word", f"contains {w!r}", _excerpt(draft.body, i, i + len(w)))
            for w in config.warning_words if (i := draft.body.find(w)) >= 0]


def run_checks(draft: Draft, config: PresendConfig, extra: Iterable[Problem] = ()) -> list[Problem]:
    """All problems of a draft, in a stable order."""
    return [*placeholders(draft, config), *wrong_name(draft, config), *wrong_recipient(draft),
            *warning_words(draft, config), *extra]

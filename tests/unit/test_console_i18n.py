"""Every user-visible string of the console has a Japanese and an English text.

The catalogues (``i18n-ja.js``, ``i18n-en.js``) must have the same keys; every
``t("key")`` in a module and every ``data-i18n`` in the page must be in both;
every value the API can send that the console translates (statuses,
priorities, channels, timeline event types, pre-send checks, audit events,
roles, queue names, ...) must be in both, taken from the product's own
definitions so a new status or event type fails here; and no module other than
the Japanese catalogue carries Japanese text (a hard-coded label would).
"""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.domain import EventType, Priority, Status
from tests.conftest import ROOT

STATIC = ROOT / "chalicelib" / "console" / "static"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def catalogue(name: str) -> dict[str, str]:
    """Keys and texts of an ``export default { key: "text", ... }`` catalogue."""
    text = (STATIC / name).read_text(encoding="utf-8")
    pairs = re.findall(r'(?:^|[\s,{])("?[A-Za-z0-9_<>+.-]+"?)\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    return {k.strip('"'): json.loads(f'"{v}"') for k, v in pairs}


JA, EN = catalogue("i18n-ja.js"), catalogue("i18n-en.js")
MODULES = {p.name: p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")
           if p.name not in ("chart.umd.min.js", "i18n-ja.js", "i18n-en.js")}


def _values() -> dict[str, list[str]]:
    """Prefix -> the values the API may send for it (from the product's definitions)."""
    from chalicelib.api.console import ASSETS  # noqa: F401 - the console is importable
    from chalicelib.directory import load_directory
    from chalicelib.services.search import IDENTITY_KINDS
    from chalicelib.store.views import SLA_VIEWS, VIEWS

    rules = ROOT / "rules"
    directory = load_directory(rules)
    categories = sorted({c for d in directory.departments.values() for c in d.get("categories", [])})
    policies = sorted(p.stem for p in rules.glob("*.json")
                      if json.loads(p.read_text(encoding="utf-8")).get("kind") == "sla")
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "chalicelib").rglob("*.py"))
    events = {e.value for e in EventType} | set(re.findall(r'"type": "([a-z_]+)", "data"', sources))
    events |= set(re.findall(r'_event\(item, "([a-z_]+)"', sources))
    events |= set(re.findall(r'"(auto_reply_received|delivery_delayed)"', sources))
    checks = set(re.findall(r'Problem\("([a-z_]+)"', sources))
    audits = set(re.findall(r'(?:audit\.record|record)\("([a-z_]+)"', sources))
    audits |= set(re.findall(r'"(agent_(?:disabled|enabled|updated))"', sources))
    return {
        "st_": [s.value for s in Status], "pr_": [p.value for p in Priority],
        "ch_": ["email", "form", "chat", "slack", "line"], "cat_": categories, "policy_": policies,
        "idk_": list(IDENTITY_KINDS), "role_": ["agent", "supervisor", "admin"],
        "target_": ["email", "slack", "sms", "webhook", "log"], "ev_": sorted(events), "chk_": sorted(checks),
        "audit_": sorted(audits), "view_": [v for v in (*VIEWS, *SLA_VIEWS) if v != "closed"],
        "searchKind_": [*IDENTITY_KINDS, "number", "tag", "text", "plugin"],
        "after_": ["open", "pending", "on-hold", "solved"], "endReason_": ["solved", "closed", "cancelled"],
        "esc_": ["open", "answered", "ended", "returned"], "field_": ["status", "priority", "assignee",
                                                                       "department", "tags"],
        "age_": ["<1d", "1-3d", "3-7d", "7d+"], "lang_": ["ja", "en"],
        "agent_": ["name", "email", "role", "department", "phone", "slack_channel", "lang", "disabled", "vip",
                   "notes"],
    }


def test_both_catalogues_have_the_same_keys_and_no_empty_text():
    assert sorted(set(JA) - set(EN)) == [] and sorted(set(EN) - set(JA)) == []
    assert len(JA) > 250
    assert [k for k, v in {**JA, **EN}.items() if not v.strip()] == []


def test_every_key_a_module_uses_is_translated():
    used = {k for src in MODULES.values() for k in re.findall(r'\bt\("([A-Za-z0-9_.<>+-]+)"[,)]', src)}
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    used |= set(re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', html))
    assert used, "the scan found the t() calls"
    assert sorted(used - set(JA)) == [] and sorted(used - set(EN)) == []


def test_every_dynamic_prefix_in_the_modules_is_covered_below():
    prefixes = {p for src in MODULES.values() for p in re.findall(r'\bt\("([A-Za-z]+_)" \+', src)}
    prefixes |= {p + "_" for src in MODULES.values() for p in re.findall(r'\btv\("([a-z]+)"', src)}
    assert sorted(prefixes - set(_values())) == [], "a new t(prefix + value) needs its values listed here"


@pytest.mark.parametrize(("prefix", "values"), sorted(_values().items()))
def test_every_value_the_api_sends_has_both_texts(prefix, values):
    missing = [prefix + v for v in values if prefix + v not in JA or prefix + v not in EN]
    assert missing == []


def test_japanese_appears_only_in_the_japanese_catalogue():
    for name, src in MODULES.items():
        assert not JAPANESE.search(src), f"{name} carries a hard-coded Japanese text: {JAPANESE.search(src)}"
    assert all(not JAPANESE.search(v) for k, v in EN.items() if k != "otherLang"), "English texts are English"
    assert "「" not in "".join(EN.values()), "English quotes are “ ”"


def test_module_strings_shown_to_people_come_from_the_catalogue():
    """Text children of h(...) are variables, t()/tv() calls or punctuation, never a literal word."""
    offenders = []
    for name, src in MODULES.items():
        for literal in re.findall(r'h\("[a-z0-9]+", (?:\{[^{}]*\}|null), "([^"]*)"', src):
            if re.search(r"[A-Za-z]{2,}", literal) and literal not in ("VIP", "ID"):
                offenders.append((name, literal))
    assert offenders == []

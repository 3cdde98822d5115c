"""Rule-side files and templates are parsed/compiled once per version, not per call (issue 15)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from chalicelib import directory, presend, templates
from tests.conftest import ROOT


def _copy_rules(tmp_path: Path) -> Path:
    dest = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", dest)
    return dest


def test_departments_and_presend_are_parsed_once_per_file_version(tmp_path):
    rules = _copy_rules(tmp_path)
    first, again = directory.load_directory(rules), directory.load_directory(rules)
    assert first is again
    assert presend.load_config(rules) is presend.load_config(rules)

    doc = json.loads((rules / "directory" / "departments.json").read_text())
    doc["departments"][0]["name"] = "renamed"
    path = rules / "directory" / "departments.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    changed = directory.load_directory(rules)
    assert changed is not first
    assert changed.departments[doc["departments"][0]["id"]]["name"] == "renamed"


def test_template_sources_are_compiled_once(monkeypatch):
    calls = []
    real = templates._env.from_string
    monkeypatch.setattr(templates._env, "from_string", lambda s: calls.append(s) or real(s))
    templates._compiled.cache_clear()
    doc = {"ja": {"subject": "[#{{ ticket.id }}] 件名", "body": "{{ customer.name }} 様"}}
    for n in range(5):
        out = templates.render(doc, {"ticket": {"id": n}, "customer": {"name": "山田"}})
    assert out.subject == "[#4] 件名" and out.body == "山田 様"
    assert len(calls) == 2  # subject and body, once each

"""Rule directories for the replay tests: the shipped rules and a candidate change of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "rules"


def candidate_rules(into: Path) -> Path:
    """A copy of rules/: normal first-reply target 120 -> 60, the warning 60 -> 30 business minutes before."""
    cand = into / "rules"
    shutil.copytree(RULES, cand)
    sla = json.loads((cand / "sla-default.json").read_text(encoding="utf-8"))
    sla["targets"]["normal"]["first_reply"] = 60
    (cand / "sla-default.json").write_text(json.dumps(sla, ensure_ascii=False, indent=2), encoding="utf-8")
    warn = json.loads((cand / "warn-assignee-1h-before-breach.json").read_text(encoding="utf-8"))
    key = "offset_business_minutes" if "offset_business_minutes" in warn["at"] else "offset_minutes"
    warn["at"][key] = -30
    (cand / "warn-assignee-1h-before-breach.json").write_text(json.dumps(warn, indent=2), encoding="utf-8")
    return cand


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    return candidate_rules(tmp_path)

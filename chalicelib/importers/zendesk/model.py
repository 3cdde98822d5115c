"""What an import produces: files and findings. PURE."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One thing that did not carry over exactly."""

    source: str
    pointer: str
    rule: str
    item: Any
    reason: str
    status: str = "unmapped"  # or "approximated"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"status": self.status, "source": self.source, "pointer": self.pointer, "rule": self.rule,
                "item": self.item, "reason": self.reason}


@dataclass
class Import:
    """Files to write (relative path -> JSON document) and the findings."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {"files": sorted(self.files), "unmapped": sum(f.status == "unmapped" for f in self.findings),
                "approximated": sum(f.status == "approximated" for f in self.findings),
                "findings": [f.to_dict() for f in self.findings]}

    def text(self) -> str:
        """The report for a terminal."""
        r = self.report()
        lines = [f"wrote {len(r['files'])} file(s); {r['unmapped']} unmapped, {r['approximated']} approximated"]
        for f in self.findings:
            lines.append(f"{f.status:12} {f.source} {f.pointer} [{f.rule}] {f.reason}")
        return "\n".join(lines) + "\n"


def rule_id(prefix: str, title: str, zendesk_id: Any, taken: set[str]) -> str:
    """A file-name-safe, unique rule id from a title (``zd-<prefix>-<slug>``, the Zendesk id if no slug)."""
    ascii_title = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60] or str(zendesk_id)
    base = f"zd-{prefix}-{slug}"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}-{n}", n + 1
    taken.add(out)
    return out

"""Department directory as data: ``rules/directory/departments.json``. Pure.

    {"departments": [{"id": "warehouse", "name": "倉庫", "manager": {"name": "...", "email": "..."},
                      "contacts": [{"id": "suzuki", "name": "...", "email": "..."}],
                      "categories": ["shipping"], "escalation_deadline_minutes": 240}]}

The department ``support`` is the help desk itself; its manager is "the manager".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPPORT = "support"


@dataclass(frozen=True)
class Directory:
    """Departments by id."""

    departments: dict[str, dict[str, Any]]

    def manager(self, department: str | None) -> dict[str, Any] | None:
        """The manager of ``department`` (or of support when it has none)."""
        dept = self.departments.get(department or SUPPORT) or self.departments.get(SUPPORT) or {}
        return dept.get("manager") or (self.departments.get(SUPPORT) or {}).get("manager")

    def contact_by_email(self, address: str) -> dict[str, Any] | None:
        """The contact (or manager) with this email address, with its department id."""
        wanted = (address or "").strip().lower()
        for dept_id, dept in self.departments.items():
            for c in [*dept.get("contacts", []), dept.get("manager") or {}]:
                if wanted and (c.get("email") or "").lower() == wanted:
                    return {**c, "department": dept_id}
        return None

    def suggest(self, category: str | None) -> list[dict[str, Any]]:
        """Departments whose typical categories include ``category`` (support when none does)."""
        found = [d for d in self.departments.values() if category and category in d.get("categories", [])]
        return found or [d for d in self.departments.values() if d["id"] == SUPPORT]

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        """A contact by id, with its department id."""
        for dept_id, dept in self.departments.items():
            for c in dept.get("contacts", []):
                if c.get("id") == contact_id:
                    return {**c, "department": dept_id}
        return None


def load_directory(rules_dir: Path) -> Directory:
    """The directory from ``rules_dir/directory/departments.json`` (empty when the file is absent)."""
    path = rules_dir / "directory" / "departments.json"
    if not path.is_file():
        return Directory({})
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Directory({d["id"]: d for d in doc.get("departments", [])})

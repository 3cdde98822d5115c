"""Department directory as data: ``rules/directory/departments.json``. Pure.

    {"departments": [{"id": "warehouse", "name": "倉庫", "manager": {"name": "...", "email": "..."},
                      "contacts": [{"id": "suzuki", "name": "...", "email": "..."}],
                      "categories": ["shipping"], "escalation_deadline_minutes": 240,
                      "calendar": "jp-office", "contact_method": "email"}]}

The department ``support`` is the help desk itself; its manager is "the manager".

Per department: ``escalation_deadline_minutes`` (business minutes, default 240) on
``calendar`` (a ``rules/calendars`` id; default: the calendar of the ticket's SLA policy);
``contact_method``, the notification target the escalation request goes out on (``email``
by default; ``slack``, ``sms`` or a plugin's target: the contact needs that address, e.g. a
``phone`` for ``sms``); ``slack_channel`` for the department's Slack posts. A person may have
``lang`` (``ja``/``en``) and ``timezone`` (times in their notifications are shown in it,
else in the calendar's zone). ``check_directory`` validates all of it (``DIRECTORY_SCHEMA``,
no unknown keys) with a JSON pointer per problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SUPPORT = "support"
FILE = "directory/departments.json"
DEFAULT_CONTACT_METHOD = "email"
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}
_PERSON_FIELDS: dict[str, Any] = {
    "id": _ID,
    "name": {"type": "string", "minLength": 1},
    "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
    "phone": {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$", "description": "E.164"},
    "slack_channel": {"type": "string", "pattern": r"^[#@]?[A-Za-z0-9._-]+$"},
    "lang": {"enum": ["ja", "en"]},
    "timezone": {"type": "string", "minLength": 1, "description": "IANA zone, e.g. Asia/Tokyo"},
}


def directory_schema(extra_targets: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON Schema of ``departments.json``; a person may also carry an address field for each
    installed notification target (``extra_targets``, e.g. ``fax``)."""
    person_props = dict(_PERSON_FIELDS)
    for target in extra_targets:
        person_props.setdefault(target, {"type": "string", "minLength": 1})
    person = {"type": "object", "additionalProperties": False, "required": ["name"], "properties": person_props}
    contact = {**person, "required": ["id", "name"]}
    department = {
        "type": "object", "additionalProperties": False, "required": ["id", "name"],
        "properties": {
            "id": _ID,
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "manager": person,
            "contacts": {"type": "array", "items": contact},
            "categories": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
            "slack_channel": _PERSON_FIELDS["slack_channel"],
            "escalation_deadline_minutes": {"type": "integer", "minimum": 1, "maximum": 43_200},
            "calendar": _ID,
            "contact_method": {"type": "string", "minLength": 1},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Department directory (rules/directory/departments.json)",
        "type": "object", "additionalProperties": False, "required": ["departments"],
        "properties": {"$comment": {"type": "string"}, "departments": {"type": "array", "minItems": 1,
                                                                      "items": department}},
    }


DIRECTORY_SCHEMA = directory_schema()


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
    """The directory from ``rules_dir/directory/departments.json`` (empty when the file is absent).
    Parsed once per version of the file (cached by path, mtime and size); treat it as read-only."""
    path = rules_dir / "directory" / "departments.json"
    try:
        stat = path.stat()
    except OSError:
        return Directory({})
    return _parse_directory(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _parse_directory(path: str, _mtime_ns: int, _size: int) -> Directory:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return Directory({d["id"]: d for d in doc.get("departments", [])})


def _problem(pointer: str, message: str) -> dict[str, Any]:
    return {"file": FILE, "pointer": pointer, "message": message}


def check_directory(rules_dir: Path, calendars: Iterable[str] | None = None,
                    targets: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every problem of ``departments.json`` as ``{file, pointer, message}`` ([] when fine or absent).

    Beyond the schema: department and contact ids unique, a ``support`` department with a
    manager, ``calendar`` a known calendar, ``contact_method`` an installed target whose address
    every contact has, ``timezone`` a real zone.
    """
    from chalicelib.engine.loader import read_json_file, schema_problems
    from chalicelib.sla.display import valid_zone

    path = rules_dir / FILE
    if not path.is_file():
        return []
    data, errors = read_json_file(path, FILE)
    if errors:
        return errors
    known_targets = sorted(set(targets)) if targets is not None else None
    extra = [t for t in (known_targets or []) if t not in ("email", "sms", "slack", "webhook", "log")]
    from jsonschema import Draft202012Validator  # checking the file is rare; jsonschema is slow to import

    errors = schema_problems(FILE, data, Draft202012Validator(directory_schema(extra)))
    if errors or not isinstance(data, dict):
        return errors
    seen_depts: dict[str, int] = {}
    seen_contacts: dict[str, str] = {}
    for i, dept in enumerate(data["departments"]):
        where = f"/departments/{i}"
        if dept["id"] in seen_depts:
            errors.append(_problem(f"{where}/id", f"department id '{dept['id']}' is also /departments/"
                                                  f"{seen_depts[dept['id']]}"))
        seen_depts.setdefault(dept["id"], i)
        if calendars is not None and "calendar" in dept and dept["calendar"] not in set(calendars):
            errors.append(_problem(f"{where}/calendar", f"unknown calendar '{dept['calendar']}' "
                                                        f"(known: {', '.join(sorted(calendars)) or 'none'})"))
        method = dept.get("contact_method", DEFAULT_CONTACT_METHOD)
        if known_targets is not None and method not in known_targets:
            errors.append(_problem(f"{where}/contact_method", f"unknown notification target '{method}' "
                                                              f"(installed: {', '.join(known_targets)})"))
        field = {"email": "email", "sms": "phone"}.get(method, method)
        for j, contact in enumerate(dept.get("contacts", [])):
            cwhere = f"{where}/contacts/{j}"
            if contact["id"] in seen_contacts:
                errors.append(_problem(f"{cwhere}/id", f"contact id '{contact['id']}' is also at "
                                                       f"{seen_contacts[contact['id']]}"))
            seen_contacts.setdefault(contact["id"], cwhere)
            if method not in ("slack", "webhook", "log") and not contact.get(field):
                errors.append(_problem(cwhere, f"contact_method is '{method}' but this contact has no '{field}'"))
        for k, person in [("manager", dept.get("manager"))] + [(f"contacts/{j}", c)
                                                                 for j, c in enumerate(dept.get("contacts", []))]:
            if person and "timezone" in person and not valid_zone(person["timezone"]):
                errors.append(_problem(f"{where}/{k}/timezone", f"unknown time zone '{person['timezone']}'"))
    support = next((d for d in data["departments"] if d["id"] == SUPPORT), None)
    if support is None or not support.get("manager"):
        errors.append(_problem("/departments", "a 'support' department with a 'manager' is required "
                                               "(the manager told at breach)"))
    return errors

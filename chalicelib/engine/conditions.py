"""Conditions: check, compile once, evaluate, explain.

A condition is a JSON Schema (draft 2020-12) over the document described by
``chalicelib.engine.schema.DOCUMENT_SCHEMA``; it matches when the document is
valid against it. No condition (``None``) or ``true`` always matches.

- ``condition_problems(condition, kind)``: everything wrong with a condition,
  as ``(path relative to the condition, message)``: not a valid schema (all
  meta-schema errors, including bad regexes), unknown fields or keywords
  (``chalicelib.engine.fields``), or not compilable by jsonschema-rs.
- ``compile_condition(condition)``: a fast predicate (jsonschema-rs ``is_valid``).
- ``explain(condition, doc)``: why a matching condition matched, for humans:
  ``(text, pointers)`` where pointers name the ``anyOf``/``oneOf`` branches
  that matched (relative to the condition). Only call it for matches; it
  compiles sub-schemas lazily and is not meant for the hot path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from chalicelib.engine.fields import Problem, field_problems

Predicate = Callable[[Any], bool]
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _always(_doc: Any) -> bool:
    return True


def _never(_doc: Any) -> bool:
    return False


def condition_problems(condition: Any, kind: str = "trigger") -> list[Problem]:
    """All problems of one condition; empty when it is fine to compile."""
    if condition is None or isinstance(condition, bool):
        return []
    if not isinstance(condition, Mapping):
        return [([], "a condition is a JSON Schema object (or true/false)")]
    problems = [([str(p) for p in err.absolute_path], err.message) for err in _META.iter_errors(condition)]
    invalid = [path for path, _ in problems]
    # Field problems too (all at once), except at or under a place the meta-schema already rejected.
    problems += [(path, msg) for path, msg in field_problems(condition, kind)
                 if not any(path[: len(bad)] == bad for bad in invalid)]
    if problems:
        unique = dict.fromkeys((tuple(path), msg) for path, msg in problems)
        return [(list(path), msg) for path, msg in unique]
    try:
        jsonschema_rs.Draft202012Validator(condition)
    except ValueError as exc:
        return [([], f"cannot compile condition: {str(exc).splitlines()[0]}")]
    return []


def compile_condition(condition: Any) -> Predicate:
    """A predicate ``doc -> bool`` for a checked condition (compiled once; reuse it)."""
    if condition is None or condition is True:
        return _always
    if condition is False:
        return _never
    return jsonschema_rs.Draft202012Validator(condition).is_valid


@lru_cache(maxsize=1024)
def _cached(text: str) -> Predicate:
    return compile_condition(json.loads(text))


def matches(schema: Any, value: Any) -> bool:
    """Whether ``value`` is valid against ``schema`` (compiled and cached; for cold paths)."""
    return _cached(json.dumps(schema, sort_keys=True))(value)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_LEAVES = (
    "const", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minLength", "maxLength", "minItems", "maxItems", "contains", "format",
)


def explain(condition: Any, doc: Any) -> tuple[str, tuple[str, ...]]:
    """Why ``doc`` matches ``condition``: readable reasons and matched branch pointers."""
    if condition is None:
        return "no condition (always matches)", ()
    if isinstance(condition, bool):
        return f"condition is {str(condition).lower()}", ()
    reasons: list[str] = []
    pointers: list[str] = []
    _explain(condition, doc, [], "", reasons, pointers)
    return "; ".join(reasons) or f"matches {_short(condition, 200)}", tuple(pointers)


def _explain(node: Any, value: Any, field: list[str], ptr: str, reasons: list[str], pointers: list[str]) -> None:
    if not isinstance(node, Mapping):
        return
    name = ".".join(field) or "document"
    leaves = [k for k in _LEAVES if k in node]
    for key in leaves:
        found = _found(node[key], value) if key == "pattern" else None
        if found is not None:
            reasons.append(f"{name} contains {_short(found)} (pattern)")
        else:
            reasons.append(f"{name} {key} {_short(node[key], 120 if key == 'contains' else 60)} (is {_short(value)})")
    if not leaves and "type" in node and not any(k in node for k in ("properties", "required", "allOf",
                                                                    "anyOf", "oneOf", "not", "if")):
        reasons.append(f"{name} is {_short(value)}")
    props = node.get("properties") if isinstance(node.get("properties"), Mapping) else {}
    required = [str(p) for p in node.get("required") or [] if p not in props]
    if required:
        reasons.append(f"{name} has {', '.join(required)}")
    if isinstance(node.get("properties"), Mapping) and isinstance(value, Mapping):
        for prop, sub in node["properties"].items():
            if prop in value:
                _explain(sub, value[prop], [*field, prop], f"{ptr}/properties/{_escape(prop)}", reasons, pointers)
    for i, sub in enumerate(node.get("allOf") or []):
        _explain(sub, value, field, f"{ptr}/allOf/{i}", reasons, pointers)
    for key in ("anyOf", "oneOf"):
        for i, sub in enumerate(node.get(key) or []):
            if matches(sub, value):
                pointers.append(f"{ptr}/{key}/{i}")
                _explain(sub, value, field, f"{ptr}/{key}/{i}", reasons, pointers)
    if "not" in node:
        reasons.append(f"{name} not {_short(node['not'], 120)}")
    if "if" in node:
        branch = "then" if matches(node["if"], value) else "else"
        if branch in node:
            _explain(node[branch], value, field, f"{ptr}/{branch}", reasons, pointers)


def _found(pattern: Any, value: Any) -> str | None:
    """The text a pattern matched, when Python's ``re`` reads it the same way (else None)."""
    if not isinstance(pattern, str) or not isinstance(value, str):
        return None
    try:
        match = re.search(pattern, value)
    except re.error:
        return None
    return match.group(0) if match else None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


"""Check a condition's field names and values against the document schema.

A JSON Schema silently ignores what it does not know: a misspelt property
(``prioirty``) or keyword (``enun``) makes a condition match everything or
nothing without a word. ``field_problems`` walks a condition (``properties``,
``required``, ``allOf``/``anyOf``/``oneOf``/``not``/``if``/``then``/``else``,
``items``/``contains``/``prefixItems``, ``dependent*``) alongside
``DOCUMENT_SCHEMA`` and reports, as ``(path, message)`` with ``path`` relative
to the condition:

- a property that the document does not have at that place;
- an unknown or unsupported keyword (``$ref``/``$defs``/``$id`` are not
  supported: write conditions inline);
- a ``const``/``enum`` value the field can never have (``"opne"``);
- a ``type`` the field never has;
- a type-specific keyword that has no effect on the field (``pattern`` on a
  number), or that also lets other types through: ``{"minimum": 3}`` on a
  field that may be null matches null, so it needs ``"type"`` beside it.

``event`` and ``changes`` only exist when triggers are evaluated; naming them
in an SLA or automation condition is reported too.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.engine.schema import DOCUMENT_SCHEMA, DRAFT

Problem = tuple[list[str], str]

_FAMILIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # family: (keywords, instance types they apply to)
    "object": (
        frozenset({
            "properties", "patternProperties", "additionalProperties", "propertyNames",
            "unevaluatedProperties", "required", "dependentRequired", "dependentSchemas",
            "minProperties", "maxProperties",
        }),
        frozenset({"object"}),
    ),
    "array": (
        frozenset({
            "items", "prefixItems", "contains", "minContains", "maxContains", "minItems",
            "maxItems", "uniqueItems", "unevaluatedItems",
        }),
        frozenset({"array"}),
    ),
    "number": (
        frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}),
        frozenset({"number", "integer"}),
    ),
    "string": (
        frozenset({"pattern", "minLength", "maxLength", "format", "contentEncoding", "contentMediaType",
                   "contentSchema"}),
        frozenset({"string"}),
    ),
}
_KEYWORD_FAMILY = {kw: fam for fam, (kws, _) in _FAMILIES.items() for kw in kws}
_SAME_INSTANCE = ("not", "if", "then", "else")
_LISTS = ("allOf", "anyOf", "oneOf")
_GENERIC = frozenset({
    "type", "enum", "const", "$schema", "$comment", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", *_SAME_INSTANCE, *_LISTS,
})
_UNSUPPORTED = frozenset({
    "$ref", "$dynamicRef", "$defs", "definitions", "$id", "$anchor", "$dynamicAnchor",
    "$vocabulary", "$recursiveRef", "$recursiveAnchor",
})
TRIGGER_ONLY = ("event", "changes")


def document_schema_for(kind: str) -> dict[str, Any]:
    """The document schema a rule of ``kind`` sees (no event/changes outside triggers)."""
    if kind == "trigger":
        return DOCUMENT_SCHEMA
    props = {k: v for k, v in DOCUMENT_SCHEMA["properties"].items() if k not in TRIGGER_ONLY}
    return {**DOCUMENT_SCHEMA, "properties": props,
            "required": [k for k in DOCUMENT_SCHEMA["required"] if k in props]}


def field_problems(condition: Any, kind: str = "trigger") -> list[Problem]:
    """Every problem of ``condition`` against the document a ``kind`` rule sees."""
    if not isinstance(condition, Mapping):
        return []
    return list(_walk(condition, document_schema_for(kind), [], []))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types(node: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The instance types a document node admits (None: anything)."""
    if node is None:
        return None
    if "type" in node:
        t = node["type"]
        return frozenset([t] if isinstance(t, str) else t)
    if "enum" in node:
        return frozenset(_json_type(v) for v in node["enum"])
    if "const" in node:
        return frozenset([_json_type(node["const"])])
    if "anyOf" in node:
        parts = [_types(sub) for sub in node["anyOf"]]
        return None if any(p is None for p in parts) else frozenset().union(*parts)  # type: ignore[arg-type]
    return None


def _meet(have: frozenset[str], allowed: frozenset[str]) -> frozenset[str]:
    """Types in ``have`` that ``allowed`` accepts (integer is a number)."""
    out = set()
    for t in have:
        if t in allowed or (t == "integer" and "number" in allowed):
            out.add(t)
        elif t == "number" and "integer" in allowed:
            out.add("integer")
    return frozenset(out)


def _describe(node: Mapping[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(repr(v) for v in node["enum"])
    types = _types(node)
    return " or ".join(sorted(types)) if types else "anything"


@lru_cache(maxsize=256)
def _value_checker(key: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(key))


def _admits(node: Mapping[str, Any], value: Any) -> bool:
    return _value_checker(json.dumps(node, sort_keys=True)).is_valid(value)


def _walk(cond: Mapping[str, Any], doc: Mapping[str, Any] | None, path: list[str],
          field: list[str]) -> Iterator[Problem]:
    name = "".join(f if f.startswith("[") else "." + f for f in field).lstrip(".") or "the document"
    for key in cond:
        if key in _UNSUPPORTED:
            yield [*path, key], f"'{key}' is not supported in conditions; write the schema inline"
        elif key == "$schema" and cond[key] != DRAFT:
            yield [*path, key], f"conditions are JSON Schema draft 2020-12 ('{DRAFT}')"
        elif key not in _GENERIC and key not in _KEYWORD_FAMILY:
            yield [*path, key], f"unknown JSON Schema keyword '{key}'"

    have = _types(doc)
    wanted = cond.get("type")
    if have is not None and isinstance(wanted, (str, list)):
        wanted_set = frozenset([wanted] if isinstance(wanted, str) else (t for t in wanted if isinstance(t, str)))
        effective = _meet(have, wanted_set)
        if not effective:
            yield [*path, "type"], f"{name} is never of type {wanted!r} (it is {_describe(doc)})"  # type: ignore[arg-type]
            return
        have = effective
    if have is not None:
        yield from _family_problems(cond, have, path, name)
    if doc is not None:
        for key in ("const", "enum"):
            if key not in cond:
                continue
            values = [(cond[key], [*path, key])] if key == "const" else [
                (v, [*path, key, str(i)]) for i, v in enumerate(_list(cond[key]))
            ]
            for value, where in values:
                if not _admits(doc, value):
                    yield where, f"{name} is never {value!r} (it is {_describe(doc)})"

    props = doc.get("properties") if doc is not None else None
    closed = doc is not None and doc.get("additionalProperties") is False and props is not None

    def known(prop: str, where: list[str]) -> Iterator[Problem]:
        if not isinstance(prop, str):
            return
        if closed and prop not in props:  # type: ignore[operator]
            if not field and prop in TRIGGER_ONLY:
                yield where, f"'{prop}' is only in the document when triggers are evaluated"
            else:
                close = difflib.get_close_matches(prop, list(props), n=1)  # type: ignore[arg-type]
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                yield where, f"unknown field '{prop}' in {name}{hint}; known: {', '.join(props)}"  # type: ignore[arg-type]

    if isinstance(cond.get("properties"), Mapping):
        for prop, sub in cond["properties"].items():
            where = [*path, "properties", prop]
            problems = list(known(prop, where))
            yield from problems
            if isinstance(sub, Mapping):
                child = None if problems or props is None else props.get(prop)
                yield from _walk(sub, child, where, [*field, prop])
    if isinstance(cond.get("required"), list):
        for i, prop in enumerate(_list(cond["required"])):
            yield from known(prop, [*path, "required", str(i)])
    if isinstance(cond.get("dependentRequired"), Mapping):
        for prop, needs in cond["dependentRequired"].items():
            yield from known(prop, [*path, "dependentRequired", prop])
            for i, other in enumerate(_list(needs)):
                yield from known(other, [*path, "dependentRequired", prop, str(i)])
    if isinstance(cond.get("dependentSchemas"), Mapping):
        for prop, sub in cond["dependentSchemas"].items():
            yield from known(prop, [*path, "dependentSchemas", prop])
            if isinstance(sub, Mapping):
                yield from _walk(sub, doc, [*path, "dependentSchemas", prop], field)

    for key in _LISTS:
        for i, sub in enumerate(_list(cond.get(key))):
            if isinstance(sub, Mapping):
                yield from _walk(sub, doc, [*path, key, str(i)], field)
    for key in _SAME_INSTANCE:
        if isinstance(cond.get(key), Mapping):
            yield from _walk(cond[key], doc, [*path, key], field)

    items = doc.get("items") if doc is not None else None
    for key in ("items", "contains", "unevaluatedItems"):
        if isinstance(cond.get(key), Mapping):
            yield from _walk(cond[key], items, [*path, key], [*field, "[*]"])
    for i, sub in enumerate(_list(cond.get("prefixItems"))):
        if isinstance(sub, Mapping):
            yield from _walk(sub, items, [*path, "prefixItems", str(i)], [*field, f"[{i}]"])
    for key in ("additionalProperties", "unevaluatedProperties", "propertyNames", "contentSchema"):
        if isinstance(cond.get(key), Mapping):
            yield from _walk(cond[key], None, [*path, key], [*field, "*"])
    if isinstance(cond.get("patternProperties"), Mapping):
        for pattern, sub in cond["patternProperties"].items():
            if isinstance(sub, Mapping):
                yield from _walk(sub, None, [*path, "patternProperties", pattern], [*field, "*"])


def _family_problems(cond: Mapping[str, Any], have: frozenset[str], path: list[str],
                     name: str) -> Iterator[Problem]:
    for key in cond:
        family = _KEYWORD_FAMILY.get(key)
        if family is None:
            continue
        applies = _FAMILIES[family][1]
        if not _meet(have, applies):
            yield [*path, key], f"'{key}' has no effect: {name} is {' or '.join(sorted(have))}"
        elif others := have - applies:
            wanted = "number" if family == "number" else family
            yield [*path, key], (
                f"'{key}' also matches {' and '.join(sorted(others))} values of {name}; "
                f'add "type": "{wanted}" beside it'
            )

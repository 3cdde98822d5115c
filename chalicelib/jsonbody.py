"""Parse JSON request bodies at the edge: every way a body can parse badly is a 400, never a 500.

Python's ``json`` raises ``RecursionError`` on deep nesting and ``ValueError``
on integers of more than 4,300 digits, and lets lone surrogates (``"\\ud800"``)
through, which fail later when the value is encoded (DynamoDB, the JSON
answer). ``loads`` turns all three, and nesting deeper than ``MAX_DEPTH``, into
``ValidationFailed`` naming the JSON pointer. Pure: plugins use it too.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import ValidationFailed, schema_error

MAX_DEPTH = 32
"""Deepest nesting a request body may have (provider payloads use fewer than 10 levels)."""


def _pointer(path: list[str]) -> list[str]:
    return [str(p) for p in path]


def has_surrogate(text: str) -> bool:
    """Does ``text`` hold a lone surrogate (which UTF-8 cannot encode)?"""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_document(doc: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``ValidationFailed`` at the first too-deep value or string with a lone surrogate (iterative)."""
    stack: list[tuple[Any, list[str]]] = [(doc, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > max_depth:
            raise ValidationFailed([schema_error(_pointer(path), f"nested deeper than {max_depth} levels")])
        if isinstance(value, str):
            if has_surrogate(value):
                raise ValidationFailed([schema_error(_pointer(path), "string holds a lone surrogate (not UTF-8)")])
        elif isinstance(value, dict):
            for key, item in value.items():
                if has_surrogate(key):
                    raise ValidationFailed([schema_error(_pointer(path), "a key holds a lone surrogate")])
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, str(i)]) for i, item in enumerate(value))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes | str | None, *, what: str = "body") -> Any:
    """The JSON document in ``raw`` (UTF-8); ``ValidationFailed`` for anything that is not sound JSON."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else (raw or "")
    except UnicodeDecodeError as exc:
        raise ValidationFailed([schema_error([], f"{what} is not UTF-8: {exc}")]) from exc
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValidationFailed([schema_error([], f"{what} is nested too deeply")]) from exc
    except ValueError as exc:  # JSONDecodeError, and "Exceeds the limit (4300 digits)" for huge integers
        raise ValidationFailed([schema_error([], f"{what} is not valid JSON: {exc}")]) from exc
    check_document(doc)
    return doc


def loads_object(raw: bytes | str | None, *, what: str = "body") -> dict[str, Any]:
    """Like ``loads`` but the document must be a JSON object."""
    doc = loads(raw, what=what)
    if not isinstance(doc, dict):
        raise ValidationFailed([schema_error([], f"{what} must be a JSON object")])
    return doc

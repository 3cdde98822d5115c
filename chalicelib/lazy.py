"""Import on first use, so a cold start loads only what the invoked function needs.

Every Lambda function of the app imports ``app.py``, which registers every
blueprint. The blueprints therefore import their services with
``lazy_import``: the module object exists at once, its code (and pynamodb,
botocore, jsonschema, ... behind it) runs on the first attribute access, i.e.
in the first request that uses it. ``importlib.util.LazyLoader`` does the work.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

_lock = threading.RLock()


def lazy_import(name: str) -> ModuleType:
    """The module ``name``, executed on first attribute access (at once if already imported)."""
    with _lock:
        module = sys.modules.get(name)
        if module is not None:
            return module
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"no module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
        return module


class LazyValidator:
    """A jsonschema ``Draft202012Validator`` built on first use (jsonschema costs ~100 ms to import)."""

    def __init__(
        self, schema: dict[str, Any] | Callable[[], dict[str, Any]], format_checker: Callable[[], Any] | None = None
    ) -> None:
        self._schema = schema
        self._format_checker = format_checker
        self._validator: Any = None

    @property
    def schema(self) -> dict[str, Any]:
        """The schema (a callable given instead is called once, on first use)."""
        if callable(self._schema):
            self._schema = self._schema()
        return self._schema

    def _get(self) -> Any:
        if self._validator is None:
            from jsonschema import Draft202012Validator

            checker = self._format_checker() if self._format_checker else None
            self._validator = Draft202012Validator(self.schema, format_checker=checker)
        return self._validator

    def iter_errors(self, instance: Any) -> Any:
        """All validation errors of ``instance``."""
        return self._get().iter_errors(instance)

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` is valid."""
        return self._get().is_valid(instance)

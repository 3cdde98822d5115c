"""Import on first use, so a cold start loads only what the invoked function needs.

Every Lambda function of the app imports ``app.py``, which registers every
blueprint. The blueprints therefore import their services with
``lazy_import``: the module object exists at once, its code (and pynamodb,
botocore, jsonschema, ... behind it) runs on the first attribute access, i.e.
in the first request that uses it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands for a module until first use, then forwards to the real one.

    The import itself is ``importlib.import_module``, so a second thread asking while the first is
    still executing the module waits on Python's own per-module import lock. (``importlib.util.LazyLoader``
    is not thread-safe before Python 3.12: a second thread could see the half-executed module and
    fail with AttributeError; the threaded local server and in-process race tests hit that.)
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_real"] = None

    def _lazy_load(self) -> ModuleType:
        real = self.__dict__["_lazy_real"]
        if real is None:
            real = importlib.import_module(self.__name__)
            self.__dict__["_lazy_real"] = real
        return real

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._lazy_load(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self._lazy_load(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._lazy_load(), attr)


def lazy_import(name: str) -> ModuleType:
    """The module ``name``, executed on first attribute access (the module itself if already imported)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    return _LazyModule(name)


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

"""Loads the built-in plugins from ``plugins/`` and installed ones by entry point.

Installed plugins are found by the ``helpdesk`` entry-point group. The deployment package
lists its dependencies' entry points at build time in ``helpdesk_entry_points.json`` next to
app.py (``ENTRY_POINTS_FILE``): a Lambda's installed set cannot change, and scanning every
distribution with ``importlib.metadata`` cost a cold start about a quarter of its import time.
Without that file (a working tree, a pip install) the installed distributions are scanned.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
from collections.abc import Iterable

import pluggy

from chalicelib import hookspecs

ENTRY_POINT_GROUP = "helpdesk"
ENTRY_POINTS_FILE = "helpdesk_entry_points.json"
"""``[{"name", "value"}]``: the ``helpdesk`` entry points of the packaged dependencies (the build writes it)."""


def entry_points_file() -> str:
    """Where a deployment package keeps its entry-point list: next to app.py (the parent of ``chalicelib``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ENTRY_POINTS_FILE)


def load_entry_point(value: str) -> object:
    """The object an entry point's value (``module`` or ``module:attr.attr``, extras ignored) names."""
    module, _, attr = value.partition(":")
    obj: object = importlib.import_module(module.strip())
    attr = attr.split("[", 1)[0].strip()
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def register_entry_points(pm: pluggy.PluginManager, listed: str | None = None) -> None:
    """Register the ``helpdesk`` entry-point plugins: those the package lists in ``listed`` (default
    ``entry_points_file()``) if it has that file, else every installed distribution's (pluggy)."""
    try:
        with open(listed or entry_points_file(), encoding="utf-8") as f:
            entries = json.load(f)
    except FileNotFoundError:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        return
    for entry in entries:
        if pm.get_plugin(entry["name"]) is None and not pm.is_blocked(entry["name"]):
            pm.register(load_entry_point(entry["value"]), name=entry["name"])


def builtin_plugin_modules() -> list[str]:
    """Module names of the built-in plugins: every module in the ``plugins`` package."""
    import plugins

    return sorted(f"plugins.{m.name}" for m in pkgutil.iter_modules(plugins.__path__))


def build_plugin_manager(extra: Iterable[object] = (), entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the hook specs, built-ins, entry-point plugins and ``extra``.

    ``check_pending()`` fails start-up when a plugin implements a hook that
    does not exist (a misspelled hook would otherwise never be called).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in builtin_plugin_modules():
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        register_entry_points(pm)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (built once per Lambda container)."""
    return build_plugin_manager()


def channel_names(pm: pluggy.PluginManager) -> list[str]:
    """Every channel some plugin connects."""
    return sorted({c for names in pm.hook.helpdesk_channels() for c in names})


def notification_targets(pm: pluggy.PluginManager) -> list[str]:
    """Every notification target some plugin delivers to."""
    return sorted({t for names in pm.hook.helpdesk_notification_targets() for t in names})

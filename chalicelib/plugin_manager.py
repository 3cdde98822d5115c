"""Loads the built-in plugins from ``plugins/`` and installed ones by entry point."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable

import pluggy

from chalicelib import hookspecs

ENTRY_POINT_GROUP = "helpdesk"


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
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
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

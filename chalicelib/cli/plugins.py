"""``helpdesk plugins``: which plugins are loaded (built-in and installed by entry point) and what they add."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    """``plugins``: one JSON line per plugin, then the channels and notification targets."""
    cmd = sub.add_parser("plugins", help="list loaded plugins, channels and notification targets (no AWS needed)")
    cmd.set_defaults(func=_cmd_plugins, needs_aws=False)


def _cmd_plugins(args: argparse.Namespace) -> int:
    from chalicelib.plugin_manager import build_plugin_manager, channel_names, notification_targets

    pm = build_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda p: p[0]):
        dist = dists.get(id(plugin))
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        print(json.dumps({"plugin": name, "distribution": f"{dist.project_name} {dist.version}" if dist else None,
                          "hooks": hooks}))
    print(json.dumps({"channels": channel_names(pm), "notification_targets": notification_targets(pm)}))
    return 0

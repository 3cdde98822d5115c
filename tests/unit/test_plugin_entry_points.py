"""Installed plugins by entry point: the package's build-time list, and the scan without it.

A distribution laid out as pip/uv install it (``*.dist-info`` with ``entry_points.txt``) is
listed by the build's ``write_entry_points`` and registered from that list by
``register_entry_points``, as a deployment package does at cold start; without a list the
installed distributions are scanned (pluggy), as in a working tree or a pip install.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pluggy
import pytest

from chalicelib import hookspecs
from chalicelib.plugin_manager import ENTRY_POINTS_FILE, load_entry_point, register_entry_points
from infra.build_stage import write_entry_points

PLUGIN = '''
from chalicelib.hookspecs import hookimpl


class Targets:
    @hookimpl
    def helpdesk_notification_targets(self):
        return ["pager"]


targets = Targets()


@hookimpl
def helpdesk_channels():
    return ["fax"]
'''


@pytest.fixture
def vendor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vendor folder holding one third-party plugin distribution with two entry points."""
    (tmp_path / "acme_fax.py").write_text(PLUGIN)
    dist = tmp_path / "acme_fax-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fax\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[helpdesk]\nfax = acme_fax\npager = acme_fax:targets [extra]\n\n[console_scripts]\nfax = acme_fax:main\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("acme_fax", None)


def _pm() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def test_the_build_lists_the_helpdesk_entry_points_of_the_installed_distributions(vendor):
    assert write_entry_points(vendor) == 2
    assert json.loads((vendor / ENTRY_POINTS_FILE).read_text()) == [
        {"name": "fax", "value": "acme_fax"}, {"name": "pager", "value": "acme_fax:targets [extra]"}]


def test_a_package_registers_the_listed_plugins_without_scanning(vendor, monkeypatch):
    write_entry_points(vendor)
    pm = _pm()
    monkeypatch.setattr(pm, "load_setuptools_entrypoints", lambda *_: pytest.fail("scanned distributions"))
    register_entry_points(pm, str(vendor / ENTRY_POINTS_FILE))
    assert sorted(c for names in pm.hook.helpdesk_channels() for c in names) == ["fax"]
    assert sorted(t for names in pm.hook.helpdesk_notification_targets() for t in names) == ["pager"]
    assert pm.get_plugin("pager") is load_entry_point("acme_fax:targets")
    register_entry_points(pm, str(vendor / ENTRY_POINTS_FILE))  # a name already registered is skipped
    assert len(pm.get_plugins()) == 2
    pm.check_pending()


def test_without_a_list_the_installed_distributions_are_scanned(tmp_path, monkeypatch):
    pm, scanned = _pm(), []
    monkeypatch.setattr(pm, "load_setuptools_entrypoints", lambda group: scanned.append(group))
    register_entry_points(pm, str(tmp_path / ENTRY_POINTS_FILE))
    assert scanned == ["helpdesk"]


def test_the_working_tree_has_no_list():
    from chalicelib.plugin_manager import entry_points_file

    assert Path(entry_points_file()).parent == Path(__file__).resolve().parents[2]
    assert not Path(entry_points_file()).exists(), "a stale list would hide pip-installed plugins"

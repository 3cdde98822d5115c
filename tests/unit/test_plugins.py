"""The plugin contract: every hook documented and tested, built-ins and entry points load."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pluggy
import pytest

from chalicelib import hookspecs
from chalicelib.plugin_manager import build_plugin_manager, channel_names, notification_targets

TESTS = Path(__file__).resolve().parents[1]


def _hooks() -> list[str]:
    return [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("helpdesk_")]


@pytest.mark.parametrize("name", _hooks())
def test_every_hook_is_documented_with_when_and_what(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert "Called" in doc, f"{name}: say when it is called"
    assert "Return" in doc, f"{name}: say what it returns"


@pytest.mark.parametrize("name", _hooks())
def test_every_hook_is_exercised_by_some_test(name):
    calls = (f"hook.{name}", f"def {name}(")
    sources = [p.read_text() for p in TESTS.rglob("test_*.py")]
    assert any(c in s for s in sources for c in calls), f"no test calls or implements {name}"


def test_builtin_plugins_register_the_form_channel_and_log_target():
    pm = build_plugin_manager(entry_points=False)
    assert ["form"] in pm.hook.helpdesk_channels()
    assert ["log"] in pm.hook.helpdesk_notification_targets()
    assert "form" in channel_names(pm)
    assert "log" in notification_targets(pm)


def test_send_message_goes_to_the_plugin_owning_the_channel():
    from chalicelib.domain import OutboundMessage, SendResult

    hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)
    sent = []

    class Fax:
        @hookimpl
        def helpdesk_send_message(self, message, get_secret):
            if message.channel != "fax":
                return None
            sent.append((message.to, get_secret("FAX_KEY")))
            return SendResult(provider_message_id="fax-1")

    pm = build_plugin_manager(extra=[Fax()], entry_points=False)
    msg = OutboundMessage(ticket_id=1, channel="fax", to="+81-3-0000", subject="s", body_text="b")
    result = pm.hook.helpdesk_send_message(message=msg, get_secret={"FAX_KEY": "k"}.get)
    assert result.provider_message_id == "fax-1"
    assert sent == [("+81-3-0000", "k")]
    other = OutboundMessage(ticket_id=1, channel="pigeon", to="x", subject="s", body_text="b")
    assert pm.hook.helpdesk_send_message(message=other, get_secret=lambda _: None) is None


def test_misspelled_hook_fails_start_up():
    hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

    class Typo:
        @hookimpl
        def helpdesk_chanels(self):  # misspelled on purpose
            return ["x"]

    with pytest.raises(pluggy.PluginValidationError):
        build_plugin_manager(extra=[Typo()], entry_points=False)


def test_third_party_plugin_loads_from_entry_point(tmp_path, monkeypatch):
    (tmp_path / "acme_fax.py").write_text(
        "from chalicelib.hookspecs import hookimpl\n"
        "@hookimpl\n"
        "def helpdesk_channels():\n"
        "    return ['fax']\n"
    )
    dist = tmp_path / "acme_fax-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fax\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[helpdesk]\nfax = acme_fax\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = build_plugin_manager()
    assert "fax" in channel_names(pm)
    sys.modules.pop("acme_fax", None)


def test_log_target_delivers_and_other_targets_are_left_to_other_plugins(caplog):
    from chalicelib.domain import Notification

    pm = build_plugin_manager(entry_points=False)
    note = Notification(target="log", recipient="sato", subject="期限まで1時間", body_text="#12",
                        dedupe_key="k", ticket_id=12)
    with caplog.at_level("INFO", logger="chalicelib.notify.log"):
        result = pm.hook.helpdesk_notify(notification=note, get_secret=lambda _: None)
    assert result.delivered is True
    assert "期限まで1時間" in caplog.text
    other = Notification(target="pager", recipient="x", subject="s", body_text="b", dedupe_key="k2")
    assert pm.hook.helpdesk_notify(notification=other, get_secret=lambda _: None) is None

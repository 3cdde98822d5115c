"""The README's minimal channel plugin runs as printed: loaded from the README, registered, used end to end."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from chalicelib.plugin_manager import get_plugin_manager
from tests.conftest import ROOT
from tests.functional.conftest import auth
from tests.functional.http_receiver import receiving


def readme_example() -> str:
    """The first Python block of the README's "Writing a plugin" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Writing a plugin\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "README 'Writing a plugin' has no python example"
    return blocks[0]


@pytest.fixture
def fax(tmp_path: Path, aws) -> Iterator[ModuleType]:
    """The README example written to a module of its own and registered like an installed plugin."""
    path = tmp_path / "readme_fax.py"
    path.write_text(readme_example())
    spec = importlib.util.spec_from_file_location("readme_fax", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pm = get_plugin_manager()
    pm.register(module, name="readme_fax")
    try:
        yield module
    finally:
        pm.unregister(name="readme_fax")


def _fax(client, fax_id: str, text: str, key: str | None = "fax-key", number: str = "+81-3-1234-5678"):
    headers = {"Content-Type": "text/plain", "X-Fax-From": number, "X-Fax-Id": fax_id}
    if key is not None:
        headers["X-Fax-Key"] = key
    return client.http.post("/webhooks/fax", headers=headers, body=text.encode())


def test_readme_channel_verifies_threads_and_replies(client, agents, fax, monkeypatch):
    assert _fax(client, "f-1", "見積もりをお願いします").status_code == 401  # FAX_KEY not configured
    monkeypatch.setenv("FAX_KEY", "fax-key")
    assert _fax(client, "f-1", "見積もりをお願いします", key="wrong").status_code == 401
    assert _fax(client, "f-1", "見積もりをお願いします", key=None).status_code == 401

    first = _fax(client, "f-1", "見積もりをお願いします")
    assert first.status_code == 201, first.body
    again = _fax(client, "f-1", "見積もりをお願いします")
    follow = _fax(client, "f-2", "追記: 10部です")
    number = first.json_body["results"][0]["ticket_id"]
    assert again.json_body["results"][0]["duplicate"]
    assert follow.json_body["results"][0]["ticket_id"] == number

    with receiving(lambda req: (200, {"id": "out-1"})) as fax_api:
        monkeypatch.setenv("FAX_API_URL", f"{fax_api.url}/send")
        resp = client.http.post(f"/tickets/{number}/replies", headers={**auth(), "Content-Type": "application/json"},
                                body=json.dumps({"body": "お見積もりを送付します。",
                                                 "last_seen_event_id": follow.json_body["results"][0]["event_id"]}))
    assert resp.status_code == 201, resp.body
    assert resp.json_body["provider_message_id"] == "fax:out-1"
    sent = [r.json() for r in fax_api.requests if r.path == "/send"]
    assert {"to": "+81-3-1234-5678", "text": "お見積もりを送付します。"} in sent


def test_readme_channel_answers_400_naming_a_missing_header(client, fax, monkeypatch):
    monkeypatch.setenv("FAX_KEY", "fax-key")
    headers = {"Content-Type": "text/plain", "X-Fax-Key": "fax-key", "X-Fax-Id": "f-9"}
    resp = client.http.post("/webhooks/fax", headers=headers, body="番号なし".encode())
    assert resp.status_code == 400, resp.body
    assert [e["field"] for e in resp.json_body["errors"]] == ["X-Fax-From"]
    assert resp.json_body["raw_ref"]  # kept, as for any channel
    latin = client.http.post("/webhooks/fax", headers={**headers, "X-Fax-From": "+81-3-1"}, body=b"\xff\xfe fax")
    assert latin.status_code == 201, latin.body

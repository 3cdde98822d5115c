"""Issue 11: input that once answered 500 is a clear 4xx, naming the field or JSON pointer."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT
from tests.functional.conftest import auth, sample_form
from tests.functional.signing import headers_for

DEEP = b"[" * 5000 + b"]" * 5000
HUGE_INT = b'{"n": ' + b"9" * 5000 + b"}"
SURROGATE = b'{"text": "\\ud800"}'
WEBHOOKS = ["form", "chat", "slack", "line"]
AGENT_JSON_ROUTES = [
    ("PATCH", "/tickets/{n}"), ("POST", "/tickets/{n}/claim"), ("POST", "/tickets/{n}/replies"),
    ("POST", "/tickets/{n}/replies/preview"), ("POST", "/tickets/{n}/notes"), ("POST", "/tickets/{n}/escalations"),
    ("POST", "/tickets/{n}/escalations/decline"), ("POST", "/customers/{c}/merge"), ("POST", "/reports/aggregates"),
]


def _ticket(client) -> dict:
    posted = client.http.post("/webhooks/form", **_form(sample_form()))
    assert posted.status_code == 201, posted.body
    number = json.loads(posted.body)["results"][0]["ticket_id"]
    return json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)


def _form(fields: dict) -> dict:
    body = json.dumps(fields, ensure_ascii=False).encode()
    return {"body": body, "headers": headers_for("form", body)}


def _assert_400_json(resp, pointer: str | None = None) -> dict:
    assert resp.status_code == 400, (resp.status_code, resp.body[:300])
    doc = json.loads(resp.body)
    assert doc["error"] == "ValidationFailed" and doc["errors"], doc
    assert all({"field", "pointer", "message"} <= set(e) for e in doc["errors"]), doc
    if pointer is not None:
        assert [e["pointer"] for e in doc["errors"]] == [pointer], doc
    return doc


def test_slack_body_that_is_not_utf8_is_401_not_500(client, channel_secrets):
    body = b'{"type": "event_callback", "text": "\xff\xfe\x80"}'
    resp = client.http.post("/webhooks/slack", body=body, headers=headers_for("slack", body))
    assert resp.status_code == 401, resp.body
    assert json.loads(resp.body)["error"] == "Unauthorized"


BAD_JSON = {"deep": (DEEP, ""), "huge-int": (HUGE_INT, ""), "surrogate": (SURROGATE, "/text"),
            "nan": (b'{"n": NaN}', "")}


@pytest.mark.parametrize("channel", WEBHOOKS)
def test_json_that_parses_badly_is_400_on_every_webhook(client, channel_secrets, channel):
    for name, (body, pointer) in BAD_JSON.items():
        resp = client.http.post(f"/webhooks/{channel}", body=body, headers=headers_for(channel, body))
        doc = _assert_400_json(resp, pointer)
        assert doc["raw_ref"].startswith(f"raw/{channel}/"), (name, "the payload is kept")


def test_json_that_parses_badly_is_400_on_every_agent_route(client, agents, channel_secrets):
    from chalicelib.store import agents as store

    store.upsert_agent("sato", name="Sato", email="sato@example.com", role="admin", department="support")
    ticket = _ticket(client)
    for method, path in AGENT_JSON_ROUTES:
        url = path.format(n=ticket["id"], c=ticket["customer"]["id"])
        for name, (body, _pointer) in BAD_JSON.items():
            resp = client.http.request(method, url, body=body, headers={**auth(), "Content-Type": "application/json"})
            assert resp.status_code == 400, (method, path, name, resp.status_code, resp.body[:200])
            _assert_400_json(resp)


def test_a_note_with_a_lone_surrogate_is_refused_and_the_ticket_still_reads(client, agents, channel_secrets):
    ticket = _ticket(client)
    resp = client.http.post(f"/tickets/{ticket['id']}/notes", body=b'{"body": "memo \\udc00 end"}',
                            headers={**auth(), "Content-Type": "application/json"})
    _assert_400_json(resp, "/body")
    shown = client.http.get(f"/tickets/{ticket['id']}", headers=auth())
    assert shown.status_code == 200 and json.loads(shown.body)["id"] == ticket["id"]


def test_tags_can_be_set(client, agents, channel_secrets):
    ticket = _ticket(client)
    resp = client.http.patch(f"/tickets/{ticket['id']}", body=json.dumps({"tags": ["vip", "請求"]}),
                             headers={**auth(), "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.body
    assert json.loads(resp.body)["tags"] == sorted(["vip", "請求"])
    bad = client.http.patch(f"/tickets/{ticket['id']}", body=json.dumps({"tags": ["two words"]}),
                            headers={**auth(), "Content-Type": "application/json"})
    _assert_400_json(bad, "/tags/0")


def test_email_webhook_without_a_configured_secret_is_401_not_configured(client, channel_secrets, monkeypatch):
    monkeypatch.delenv("EMAIL_WEBHOOK_SECRET")  # the stage config names an SSM parameter that does not exist
    resp = client.http.post("/webhooks/email", body=b"From: a@example.jp\r\n\r\nhi",
                            headers={"Content-Type": "message/rfc822", "X-Email-Secret": "guess"})
    assert resp.status_code == 401, resp.body
    assert "not configured" in json.loads(resp.body)["message"]


def _b64(doc) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


TAMPERED = {
    "object": _b64({"a": 1}), "table-key": _b64({"pk": {"S": "TICKET#1"}, "sk": {"S": "TICKET"}}),
    "list": _b64([1, 2]), "string": _b64("x"),
    "wrong-type": _b64({"i": "AllTickets", "k": {"pk": {"N": "1"}, "sk": {"S": "TICKET"}, "ticket_list": {"S": "ALL"},
                                                 "created_at": {"S": "2026"}}}),
    "nested": _b64({"i": "AllTickets", "k": {"pk": {"S": "TICKET#1"}, "sk": {"S": "TICKET"},
                                             "ticket_list": {"S": "ALL"}, "created_at": {"S": {"x": 1}}}}),
    "not-base64": "!!!", "too-long": "A" * 5000,
}


def test_a_tampered_cursor_is_400(client, agents, channel_secrets):
    for i in range(3):
        client.http.post("/webhooks/form", **_form(sample_form(subject=f"件名 {i}")))
    for path in ["/tickets", "/tickets?view=open", "/tickets?view=mine", "/outbox"]:
        for name, cursor in TAMPERED.items():
            sep = "&" if "?" in path else "?"
            resp = client.http.get(f"{path}{sep}cursor={cursor}", headers=auth())
            assert resp.status_code == 400, (path, name, resp.status_code, resp.body[:200])
            _assert_400_json(resp, "/cursor")


def test_a_cursor_still_pages_and_cannot_cross_views(client, agents, channel_secrets):
    for i in range(3):
        client.http.post("/webhooks/form", **_form(sample_form(subject=f"件名 {i}")))
    first = json.loads(client.http.get("/tickets?limit=2", headers=auth()).body)
    second = json.loads(client.http.get(f"/tickets?limit=2&cursor={first['next_cursor']}", headers=auth()).body)
    assert len(first["tickets"]) == 2 and len(second["tickets"]) == 1
    resp = client.http.get(f"/tickets?view=new&cursor={first['next_cursor']}", headers=auth())
    _assert_400_json(resp, "/cursor")


def test_kpi_csv_escapes_formula_cells(client, agents, channel_secrets):
    client.http.post("/webhooks/form", **_form(sample_form(category='=HYPERLINK("http://evil.example","x")')))
    client.http.post("/webhooks/form", **_form(sample_form(subject="二件目", category="@SUM(A1)")))
    from chalicelib.domain import utcnow
    from chalicelib.services import kpis

    kpis.aggregate_recent(utcnow(), days=1)  # the hourly job: today so far (a report never computes)
    resp = client.http.get("/reports/kpis?group_by=category&format=csv", headers=auth())
    assert resp.status_code == 200, resp.body
    text = resp.body.decode("utf-8-sig")
    cells = [c for line in text.splitlines() for c in next(iter(__import__("csv").reader([line])))]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells and "'@SUM(A1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@")], "no cell starts a formula"


def test_a_misspelled_hook_stops_the_app_import():
    plugin = textwrap.dedent('''
        from chalicelib.hookspecs import hookimpl

        @hookimpl
        def helpdesk_chanels():
            return ["typo"]
    ''')
    code = textwrap.dedent(f'''
        import sys, types
        mod = types.ModuleType("typo_plugin")
        exec({plugin!r}, mod.__dict__)
        sys.modules["typo_plugin"] = mod
        import chalicelib.plugin_manager as pmod
        builtin = pmod.builtin_plugin_modules
        pmod.builtin_plugin_modules = lambda: [*builtin(), "typo_plugin"]
        import app
    ''')
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, "importing the app must fail"
    assert "PluginValidationError" in done.stderr and "helpdesk_chanels" in done.stderr, done.stderr[-2000:]


SLACK_OK = {"type": "event_callback", "team_id": "T0HELP", "event_id": "Ev0TYPES",
            "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
            "event": {"type": "message", "channel": "C0SUPPORT", "user": "U0HANAKO", "text": "質問", "ts": "1.000100",
                      "user_profile": {"real_name": "山田 花子"}}}
LINE_OK = {"destination": "U0dest", "events": [{
    "type": "message", "mode": "active", "webhookEventId": "01TYPES", "timestamp": 1767949200000,
    "source": {"type": "user", "userId": "U4af"}, "message": {"type": "text", "id": "4687", "text": "質問"}}]}
WRONG_TYPES = [
    ("slack", ["event", "user_profile"], "x"), ("slack", ["event", "source"], None),
    ("slack", ["event", "files"], "x"), ("slack", ["event", "files"], ["x"]), ("slack", ["authorizations"], {}),
    ("slack", ["authorizations"], ["x"]), ("slack", ["event", "text"], 5), ("slack", ["event", "user"], ["U1"]),
    ("slack", ["event", "ts"], 1.5), ("slack", ["event"], "x"), ("slack", ["event", "user_profile", "real_name"], 1),
    ("line", ["events", 0, "source"], "x"), ("line", ["events", 0, "message"], []),
    ("line", ["events", 0, "message", "text"], 5), ("line", ["events", 0, "source", "userId"], {"a": 1}),
    ("line", ["events", 0, "message", "fileSize"], "big"), ("line", ["events", 0, "deliveryContext"], 1),
    ("line", ["events", 0, "message", "contentProvider"], "x"), ("line", ["events", 0], "x"),
]


def _set(doc, path, value):
    import copy

    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return doc


def test_provider_payloads_of_the_wrong_shape_are_400_naming_the_pointer(client, channel_secrets):
    for channel, ok in (("slack", SLACK_OK), ("line", LINE_OK)):
        body = json.dumps(ok).encode()
        assert client.http.post(f"/webhooks/{channel}", body=body,
                                headers=headers_for(channel, body)).status_code == 201
    for channel, path, value in WRONG_TYPES:
        doc = _set(SLACK_OK if channel == "slack" else LINE_OK, path, value)
        if value is None:  # a missing optional field is fine: a new event id, a new message
            continue
        body = json.dumps(doc).encode()
        resp = client.http.post(f"/webhooks/{channel}", body=body, headers=headers_for(channel, body))
        assert resp.status_code == 400, (channel, path, value, resp.status_code, resp.body[:300])
        pointer = "".join(f"/{p}" for p in path)
        assert any(e["pointer"].startswith(pointer) for e in json.loads(resp.body)["errors"]), (pointer, resp.body)


def test_slack_events_that_are_not_messages_keep_their_own_shapes(client, channel_secrets):
    doc = {"type": "event_callback", "event_id": "Ev0USER", "event": {"type": "user_change", "user": {"id": "U1"}}}
    body = json.dumps(doc).encode()
    resp = client.http.post("/webhooks/slack", body=body, headers=headers_for("slack", body))
    assert resp.status_code == 200, resp.body

"""Slack Events API: signed by slack_sdk as Slack signs, retries deduplicated, threads -> tickets, replies in thread."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import boto3
import pytest
from slack_sdk.signature import SignatureVerifier

from chalicelib.domain import InboundRequest, utcnow
from chalicelib.plugin_manager import get_plugin_manager
from tests.conftest import ROOT
from tests.functional.conftest import auth
from tests.functional.http_receiver import Recorded, receiving

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
EVENT = json.loads((ROOT / "tests" / "events" / "slack_message.json").read_text())
CHALLENGE = json.loads((ROOT / "tests" / "events" / "slack_url_verification.json").read_text())
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def slack(aws, monkeypatch):
    """Slack secrets set and the Web API served by a local receiver."""
    posted = {"n": 0}

    def respond(req: Recorded) -> tuple[int, dict[str, Any]]:
        if req.path != "/api/chat.postMessage":
            return 200, {"ok": False, "error": "unknown_method"}
        posted["n"] += 1
        sent = req.json()
        return 200, {"ok": True, "channel": sent["channel"], "ts": f"1767949300.{posted['n']:06d}",
                     "message": {"type": "message", "text": sent["text"], "bot_id": "B0HELPBOT"}}

    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    with receiving(respond) as api:
        monkeypatch.setenv("SLACK_API_URL", f"{api.url}/api/")
        yield api


def event(event_id: str = "Ev0HELPDESK001", **fields: Any) -> dict[str, Any]:
    """The sample message event with ``fields`` replaced in its ``event``."""
    doc = copy.deepcopy(EVENT)
    doc["event_id"] = event_id
    doc["event"].update(fields)
    return {**doc, "event": {k: v for k, v in doc["event"].items() if v is not None}}


def signed(doc: dict[str, Any], *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
           retry: int | None = None, tamper: bool = False) -> dict[str, Any]:
    """Request kwargs for a delivery signed exactly as Slack signs it (slack_sdk's verifier)."""
    body = json.dumps(doc, ensure_ascii=False)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {**JSON, "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    if tamper:
        body = body.replace("A-1001", "A-9999")
    return {"headers": headers, "body": body}


def _deliver(client, doc: dict[str, Any], **kw: Any):
    return client.http.post("/webhooks/slack", **signed(doc, **kw))


def _tickets(client) -> list[dict]:
    return client.http.get("/tickets?view=all&limit=100", headers=auth()).json_body["tickets"]


def _ticket(client, number: int) -> dict:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body


def _raw_objects(aws) -> int:
    return boto3.client("s3", region_name=aws["region"]).list_objects_v2(Bucket=aws["bucket"])["KeyCount"]


def test_url_verification_challenge_is_answered_and_nothing_stored(client, agents, slack, aws):
    resp = _deliver(client, CHALLENGE)
    assert resp.status_code == 200, resp.body
    assert resp.json_body == {"challenge": CHALLENGE["challenge"]}
    assert _tickets(client) == [] and _raw_objects(aws) == 0
    assert _deliver(client, CHALLENGE, secret="wrong").status_code == 401


def test_inbound_response_hook_answers_only_the_handshake():
    hook = get_plugin_manager().hook.helpdesk_inbound_response
    body = json.dumps(CHALLENGE).encode()
    assert hook(channel="slack", request=InboundRequest("slack", {}, body), now=utcnow()) == {
        "challenge": CHALLENGE["challenge"]}
    assert hook(channel="slack", request=InboundRequest("slack", {}, json.dumps(EVENT).encode()), now=utcnow()) is None
    assert hook(channel="slack", request=InboundRequest("slack", {}, b"not json"), now=utcnow()) is None
    assert hook(channel="form", request=InboundRequest("form", {}, body), now=utcnow()) is None


@pytest.mark.parametrize("attack", ["tampered-body", "wrong-secret", "stale-timestamp", "future-timestamp",
                                    "unsigned"])
def test_forged_or_replayed_deliveries_are_refused_and_create_nothing(client, agents, slack, aws, attack):
    kwargs = {"tampered-body": {"tamper": True}, "wrong-secret": {"secret": "not-the-signing-secret"},
              "stale-timestamp": {"timestamp": int(time.time()) - 301},
              "future-timestamp": {"timestamp": int(time.time()) + 301}}.get(attack, {})
    request = signed(event(), **kwargs)
    if attack == "unsigned":
        request["headers"].pop("X-Slack-Signature")
    resp = client.http.post("/webhooks/slack", **request)
    assert resp.status_code == 401, resp.body
    assert _tickets(client) == [] and _raw_objects(aws) == 0
    # The genuine delivery still works afterwards.
    assert _deliver(client, event()).status_code == 201


def test_three_deliveries_of_one_event_make_one_message_on_one_ticket(client, agents, slack):
    first = _deliver(client, event())
    retries = [_deliver(client, event(), retry=n) for n in (1, 2)]
    assert first.status_code == 201 and [r.status_code for r in retries] == [200, 200]
    result = first.json_body["results"][0]
    assert all(r.json_body["results"] == [{**result, "created": False, "duplicate": True}] for r in retries)
    assert [t["id"] for t in _tickets(client)] == [result["ticket_id"]]
    detail = _ticket(client, result["ticket_id"])
    messages = [e for e in detail["timeline"] if e["type"] == "message_in"]
    assert [m["data"]["body_text"] for m in messages] == ["注文 A-1001 でクーポンが適用されません & 送料もかかりました"]
    assert detail["channel"] == "slack"
    assert detail["customer"]["identities"] == [{"kind": "slack", "value": "U0HANAKO"}]


def test_a_thread_is_one_ticket_and_a_new_top_level_message_another(client, agents, slack):
    root = _deliver(client, event()).json_body["results"][0]
    in_thread = _deliver(client, event("Ev002", text="追記です", ts="1767949260.000200",
                                       thread_ts="1767949200.000100")).json_body["results"][0]
    other = _deliver(client, event("Ev003", text="別の質問", ts="1767949320.000300")).json_body["results"][0]
    assert in_thread["ticket_id"] == root["ticket_id"] and not in_thread["created"]
    assert other["created"] and other["ticket_id"] != root["ticket_id"]


@pytest.mark.parametrize("fields", [
    {"bot_id": "B0HELPBOT", "user": "U0HELPBOT", "text": "our own reply"},
    {"subtype": "bot_message", "bot_id": "B0OTHER", "user": None},
    {"subtype": "message_changed", "user": None, "message": {"text": "edited"}},
    {"subtype": "message_deleted", "user": None},
    {"subtype": "channel_join", "text": "<@U0HANAKO> has joined the channel"},
    {"user": "U0HELPBOT"},  # our bot user, even without bot_id
], ids=["own-bot", "bot_message", "message_changed", "message_deleted", "channel_join", "bot-user"])
def test_bot_messages_edits_and_joins_are_ignored(client, agents, slack, fields):
    resp = _deliver(client, event(**fields))
    assert resp.status_code == 200, resp.body
    assert resp.json_body["results"] == [] and _tickets(client) == []


def test_agent_reply_is_posted_into_the_original_thread(client, agents, slack):
    root = _deliver(client, event()).json_body["results"][0]
    follow = _deliver(client, event("Ev002", text="追記です", ts="1767949260.000200",
                                    thread_ts="1767949200.000100")).json_body["results"][0]
    number = root["ticket_id"]
    resp = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON}, body=json.dumps(
        {"body": "お問い合わせありがとうございます。クーポン <A-1001> を確認しました。",
         "last_seen_event_id": follow["event_id"]}))
    assert resp.status_code == 201, resp.body
    posts = [r for r in slack.requests if r.path == "/api/chat.postMessage"]
    replies = [p.json() for p in posts if "確認しました" in p.json()["text"]]
    assert len(replies) == 1
    assert replies[0]["channel"] == "C0SUPPORT" and replies[0]["thread_ts"] == "1767949200.000100"
    assert replies[0]["text"] == "お問い合わせありがとうございます。クーポン &lt;A-1001&gt; を確認しました。"
    assert posts[-1].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    out = [e for e in _ticket(client, number)["timeline"] if e["id"] == resp.json_body["event_id"]][0]
    assert out["data"]["state"] == "sent" and out["data"]["provider_message_id"].startswith("slack:C0SUPPORT:")


def test_a_slack_api_error_marks_the_reply_failed(client, agents, slack, monkeypatch):
    number = _deliver(client, event()).json_body["results"][0]
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    with receiving(lambda req: (200, {"ok": False, "error": "invalid_auth"})) as broken:
        monkeypatch.setenv("SLACK_API_URL", f"{broken.url}/api/")
        resp = client.http.post(f"/tickets/{number['ticket_id']}/replies", headers={**auth(), **JSON},
                                body=json.dumps({"body": "確認します", "last_seen_event_id": number["event_id"]}))
    assert resp.status_code == 502 and "invalid_auth" in resp.json_body["error"]

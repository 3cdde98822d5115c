"""LINE Messaging API: deliveries checked with line-bot-sdk, redeliveries deduplicated, one ticket per user,
replies pushed (asserted on a local receiver standing in for api.line.me)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from linebot.v3 import SignatureValidator, WebhookParser
from linebot.v3.messaging import PushMessageRequest, TextMessage
from linebot.v3.webhooks import MessageEvent, TextMessageContent

from tests.conftest import ROOT
from tests.functional.conftest import auth, make_supervisor
from tests.functional.http_receiver import Recorded, receiving

CHANNEL_SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
ACCESS_TOKEN = "line-test-access-token"
PAYLOAD = json.loads((ROOT / "tests" / "events" / "line_message.json").read_text())
USER = PAYLOAD["events"][0]["source"]["userId"]
JSON = {"Content-Type": "application/json"}
T0 = datetime(2026, 1, 13, 1, 0, tzinfo=timezone.utc)  # Tuesday 10:00 JST


@pytest.fixture
def line(aws, monkeypatch):
    """LINE secrets set and the Messaging API served by a local receiver."""
    sent = {"n": 0}

    def respond(req: Recorded) -> tuple[int, dict[str, Any]]:
        if req.path != "/v2/bot/message/push":
            return 404, {"message": "Not found"}
        sent["n"] += 1
        return 200, {"sentMessages": [{"id": f"5000000000000{sent['n']:05d}", "quoteToken": "qt"}]}

    monkeypatch.setenv("LINE_CHANNEL_SECRET", CHANNEL_SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN)
    with receiving(respond) as api:
        monkeypatch.setenv("LINE_API_URL", api.url)
        yield api


@pytest.fixture
def clock(monkeypatch):
    state = {"now": T0}
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow", "chalicelib.api.agent.utcnow"):
        monkeypatch.setattr(target, lambda: state["now"])
    return state


def payload(webhook_event_id: str = "01JGZ6Q4W3T8M2B5K7N9P1R3S5", *, text: str | None = None,
            message_id: str | None = None, redelivery: bool = False, **event_fields: Any) -> dict[str, Any]:
    """The sample webhook body with one text message event, fields replaced."""
    doc = copy.deepcopy(PAYLOAD)
    ev = doc["events"][0]
    ev.update(webhookEventId=webhook_event_id, deliveryContext={"isRedelivery": redelivery}, **event_fields)
    if text is not None:
        ev["message"]["text"] = text
    if message_id is not None:
        ev["message"]["id"] = message_id
    return doc


def signed(doc: dict[str, Any], *, secret: str = CHANNEL_SECRET, tamper: bool = False) -> dict[str, Any]:
    """Request kwargs signed as LINE signs; the SDK's validator and parser accept exactly this delivery."""
    body = json.dumps(doc, ensure_ascii=False)
    sig = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()
    assert SignatureValidator(secret).validate(body, sig)
    events = WebhookParser(secret).parse(body, sig)
    assert all(isinstance(e, MessageEvent) for e in events if e.type == "message")
    if tamper:
        body = body.replace("A-1001", "A-9999")
        assert not SignatureValidator(CHANNEL_SECRET).validate(body, sig)
    return {"headers": {**JSON, "X-Line-Signature": sig}, "body": body}


def _deliver(client, doc: dict[str, Any], **kw: Any):
    return client.http.post("/webhooks/line", **signed(doc, **kw))


def _tickets(client) -> list[dict]:
    return client.http.get("/tickets?view=all&limit=100", headers=auth()).json_body["tickets"]


def _ticket(client, number: int) -> dict:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body


def _messages(client, number: int) -> list[str]:
    return [e["data"]["body_text"] for e in _ticket(client, number)["timeline"] if e["type"] == "message_in"]


def test_the_sample_delivery_is_what_the_sdk_parses():
    body = json.dumps(PAYLOAD, ensure_ascii=False)
    sig = base64.b64encode(hmac.new(CHANNEL_SECRET.encode(), body.encode(), hashlib.sha256).digest()).decode()
    [ev] = WebhookParser(CHANNEL_SECRET).parse(body, sig)
    assert isinstance(ev.message, TextMessageContent) and ev.source.user_id == USER
    from plugins.channel_line import signature

    assert signature(CHANNEL_SECRET, body.encode()) == sig


@pytest.mark.parametrize("attack", ["tampered-body", "wrong-secret", "unsigned"])
def test_forged_deliveries_are_refused_and_create_nothing(client, agents, line, aws, attack):
    request = signed(payload(), **{"tampered-body": {"tamper": True},
                                   "wrong-secret": {"secret": "0" * 32}}.get(attack, {}))
    if attack == "unsigned":
        request["headers"].pop("X-Line-Signature")
    resp = client.http.post("/webhooks/line", **request)
    assert resp.status_code == 401, resp.body
    assert _tickets(client) == []
    assert boto3.client("s3", region_name=aws["region"]).list_objects_v2(Bucket=aws["bucket"])["KeyCount"] == 0


def test_redelivered_event_makes_one_message_on_one_ticket(client, agents, line):
    first = _deliver(client, payload())
    again = _deliver(client, payload(redelivery=True))
    assert first.status_code == 201 and again.status_code == 200, (first.body, again.body)
    result = first.json_body["results"][0]
    assert again.json_body["results"] == [{**result, "created": False, "duplicate": True}]
    assert [t["id"] for t in _tickets(client)] == [result["ticket_id"]]
    assert _messages(client, result["ticket_id"]) == ["注文 A-1001 の配送状況を教えてください"]
    detail = _ticket(client, result["ticket_id"])
    assert detail["channel"] == "line"
    assert detail["customer"]["identities"] == [{"kind": "line", "value": USER}]


def test_verify_button_and_non_message_events_create_nothing(client, agents, line):
    verify = {"destination": PAYLOAD["destination"], "events": []}
    follow = payload(type="follow", follow={"isUnblocked": False})
    del follow["events"][0]["message"]
    standby = payload("01JGZ6Q4W3T8M2B5K7N9P1R3S6", mode="standby")
    for doc in (verify, follow, standby):
        resp = _deliver(client, doc)
        assert resp.status_code == 200 and resp.json_body["results"] == [], resp.body
    assert _tickets(client) == []


def test_messages_of_one_user_join_until_solved_and_the_quiet_window_passes(client, agents, line, clock,
                                                                            monkeypatch):
    monkeypatch.setenv("CHAT_QUIET_WINDOW_S", "3600")
    first = _deliver(client, payload("e1", text="配送状況を教えてください", message_id="1")).json_body["results"][0]
    clock["now"] = T0 + timedelta(minutes=5)
    sticker = payload("e2", message_id="2")
    sticker["events"][0]["message"] = {"type": "sticker", "id": "2", "quoteToken": "q", "packageId": "446",
                                       "stickerId": "1988", "stickerResourceType": "STATIC"}
    joined = _deliver(client, sticker).json_body["results"][0]
    assert joined["ticket_id"] == first["ticket_id"] and not joined["created"]
    number = first["ticket_id"]
    resp = client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"status": "solved"}))
    assert resp.status_code == 200, resp.body

    clock["now"] = T0 + timedelta(minutes=30)  # within the quiet window: reopens the solved ticket
    reopened = _deliver(client, payload("e3", text="ありがとうございました", message_id="3")).json_body["results"][0]
    assert reopened["ticket_id"] == number and _ticket(client, number)["status"] == "open"
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"status": "solved"}))

    clock["now"] = T0 + timedelta(hours=2)  # the window has passed since it was solved: a new ticket
    fresh = _deliver(client, payload("e4", text="別の注文について", message_id="4")).json_body["results"][0]
    assert fresh["created"] and fresh["ticket_id"] != number
    assert _messages(client, number) == ["配送状況を教えてください", "[sticker 446/1988]", "ありがとうございました"]
    assert _messages(client, fresh["ticket_id"]) == ["別の注文について"]


def test_agent_reply_is_pushed_to_the_user(client, agents, line):
    first = _deliver(client, payload()).json_body["results"][0]
    number = first["ticket_id"]
    resp = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON}, body=json.dumps(
        {"body": "お問い合わせありがとうございます。A-1001 は本日発送しました。",
         "last_seen_event_id": first["event_id"]}))
    assert resp.status_code == 201, resp.body
    pushes = [r for r in line.requests if r.path == "/v2/bot/message/push"]
    agent_pushes = [p for p in pushes if "本日発送" in p.body.decode()]
    assert len(agent_pushes) == 1
    push = agent_pushes[0]
    assert push.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert len(push.headers["x-line-retry-key"]) == 36  # a UUID: LINE refuses a second push with the same key
    request = PushMessageRequest.from_json(push.body.decode())  # the SDK's own model of the push body
    assert request.to == USER
    assert all(isinstance(m, TextMessage) for m in request.messages)
    assert [m.text for m in request.messages] == ["お問い合わせありがとうございます。A-1001 は本日発送しました。"]
    out = next(e for e in _ticket(client, number)["timeline"] if e["id"] == resp.json_body["event_id"])
    assert out["data"]["state"] == "sent" and out["data"]["provider_message_id"] == resp.json_body[
        "provider_message_id"]
    assert resp.json_body["provider_message_id"].startswith("line:5000000000000")


def test_a_refused_push_marks_the_reply_failed(client, agents, line, monkeypatch):
    first = _deliver(client, payload()).json_body["results"][0]
    with receiving(lambda req: (401, {"message": "Authentication failed"})) as broken:
        monkeypatch.setenv("LINE_API_URL", broken.url)
        resp = client.http.post(f"/tickets/{first['ticket_id']}/replies", headers={**auth(), **JSON},
                                body=json.dumps({"body": "確認します", "last_seen_event_id": first["event_id"]}))
    assert resp.status_code == 502 and "401" in resp.json_body["error"]


def test_the_line_identity_is_a_plain_identity_the_merge_api_joins_to_email(client, agents, line):
    from tests.functional.conftest import form_json, sample_form

    on_line = _deliver(client, payload()).json_body["results"][0]
    by_form = client.http.post("/webhooks/form", **form_json(sample_form(submission_id="s-1"))).json_body["results"][0]
    email_customer = _ticket(client, by_form["ticket_id"])["customer"]["id"]
    line_customer = _ticket(client, on_line["ticket_id"])["customer"]["id"]
    make_supervisor()  # merging customers is a supervisor's (chalicelib.roles)
    resp = client.http.post(f"/customers/{email_customer}/merge", headers={**auth(), **JSON},
                            body=json.dumps({"customer_id": line_customer}))
    assert resp.status_code == 200, resp.body
    identities = {(i["kind"], i["value"]) for i in resp.json_body["customer"]["identities"]}
    assert identities == {("line", USER), ("email", "hanako.yamada@example.jp")}
    follow = _deliver(client, payload("e-after-merge", text="追記です", message_id="9")).json_body["results"][0]
    assert follow["ticket_id"] == on_line["ticket_id"]
    assert _ticket(client, follow["ticket_id"])["customer"]["id"] == email_customer

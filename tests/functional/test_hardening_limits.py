"""Issue 11: DynamoDB limits, bounded work per delivery, header injection and the first-message race."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from bench.ddb_cost import counting, item_size
from tests.functional.conftest import auth, sample_form
from tests.functional.mailkit import make_mail, post_mail, sent_mail
from tests.functional.signing import headers_for

ITEM_LIMIT = 400 * 1024


class ItemSizes:
    """The largest item any DynamoDB write of the service carried, and the longest key."""

    def __init__(self) -> None:
        self.largest = 0
        self.longest_key = 0

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        items = [params.get("Item")] if model.name == "PutItem" else [
            (next(iter(e.values())).get("Item")) for e in params.get("TransactItems", [])]
        for item in [i for i in items if i]:
            self.largest = max(self.largest, item_size(item))
            for name in ("pk", "sk"):
                if name in item:
                    self.longest_key = max(self.longest_key, len(item[name]["S"].encode()))


@pytest.fixture
def sizes():
    from chalicelib.store.models import shared_connection

    watcher = ItemSizes()
    events = shared_connection().client.meta.events
    events.register("before-parameter-build.dynamodb", watcher)
    yield watcher
    events.unregister("before-parameter-build.dynamodb", watcher)


def _post(client, channel: str, doc: dict[str, Any] | bytes):
    body = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode()
    return client.http.post(f"/webhooks/{channel}", body=body, headers=headers_for(channel, body))


def _slack(event_id: str, text: str, ts: str = "1767949200.000100") -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T0HELP", "event_id": event_id,
            "event": {"type": "message", "channel": "C0SUPPORT", "channel_type": "channel", "user": "U0HANAKO",
                      "text": text, "ts": ts}}


def _timeline(client, number: int) -> list[dict[str, Any]]:
    return json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)["timeline"]


def _raw_size(aws, raw_ref: str) -> int:
    return boto3.client("s3", region_name=aws["region"]).head_object(Bucket=aws["bucket"], Key=raw_ref)[
        "ContentLength"]


def test_a_1mb_slack_text_is_capped_on_the_item_kept_whole_in_s3_and_noted(client, agents, channel_secrets, aws,
                                                                           sizes):
    text = "長文" * 500_000  # 1,000,000 characters, 3 MB of UTF-8
    resp = _post(client, "slack", _slack("Ev0BIG", text))
    assert resp.status_code == 201, resp.body[:300]
    out = json.loads(resp.body)
    assert _raw_size(aws, out["raw_ref"]) > 3_000_000, "the raw payload is whole"
    first = _timeline(client, out["results"][0]["ticket_id"])[0]
    assert 0 < len(first["data"]["body_text"]) <= 40_003
    assert {"pointer": "/body_text", "original": "1000000 characters"} in first["data"]["truncated"]
    assert sizes.largest < ITEM_LIMIT


def test_a_2kb_event_id_is_hashed_into_the_key_and_its_retry_is_still_one_message(client, agents, channel_secrets,
                                                                                   sizes):
    event_id = "Ev" + "x" * 3000
    first = _post(client, "slack", _slack(event_id, "こんにちは"))
    again = _post(client, "slack", _slack(event_id, "こんにちは"))
    assert (first.status_code, again.status_code) == (201, 200), (first.body, again.body)
    assert json.loads(again.body)["results"][0]["duplicate"] is True
    assert sizes.longest_key <= 1024


def test_a_mail_with_10000_recipients_fits_one_item(client, agents, mail_env, sizes):
    to = ", ".join(f"user{i}@example.jp" for i in range(5000))
    cc = ", ".join(f"copy{i}@example.jp" for i in range(5000))
    raw = make_mail(headers={"Cc": cc}).replace(b"To: support@example.com", b"To: support@example.com, " + to.encode())
    resp = post_mail(client, raw)
    assert resp.status_code == 201, resp.body[:300]
    first = _timeline(client, json.loads(resp.body)["results"][0]["ticket_id"])[0]
    assert len(first["data"]["metadata"]["email"]["to"]) <= 100
    assert any(n["pointer"] == "/metadata/email/to" for n in first["data"]["truncated"]), first["data"]["truncated"]
    assert sizes.largest < ITEM_LIMIT


def test_a_5000_character_message_id_is_hashed_and_still_threads(client, agents, mail_env, sizes):
    long_id = "<" + "m" * 5000 + "@example.jp>"
    first = post_mail(client, make_mail(message_id=long_id))
    assert first.status_code == 201, first.body[:300]
    reply = post_mail(client, make_mail(subject="Re: 注文の件", body="追記です",
                                        headers={"In-Reply-To": long_id, "References": long_id}))
    assert reply.status_code == 201, reply.body[:300]
    numbers = {json.loads(r.body)["results"][0]["ticket_id"] for r in (first, reply)}
    assert len(numbers) == 1, "the reply joined the ticket of the long Message-ID"
    assert sizes.longest_key <= 1024 and sizes.largest < ITEM_LIMIT


def test_10000_references_cost_the_same_reads_as_one(client, agents, mail_env):
    def mail(n: int, i: int) -> bytes:
        refs = " ".join(f"<ref{i}-{k}@example.jp>" for k in range(n))
        return make_mail(subject=f"件名 {i}", headers={"References": refs})

    assert post_mail(client, mail(1, 0)).status_code == 201  # the customer exists from here on
    with counting() as one:
        assert post_mail(client, mail(1, 1)).status_code == 201
    with counting() as many:
        assert post_mail(client, mail(10_000, 2)).status_code == 201
    assert many.ops == one.ops, (dict(one.ops), dict(many.ops))
    assert many.ops["GetItem"] + many.ops["BatchGetItem"] <= one.ops["GetItem"] + one.ops["BatchGetItem"]


def test_a_subject_or_name_with_crlf_is_stored_on_one_line_and_replies_still_send(client, agents, mail_env):
    fields = sample_form(subject="返品について\r\nBcc: victim@example.org", name="山田\r\nX-Evil: 1")
    body = json.dumps(fields, ensure_ascii=False).encode()
    resp = client.http.post("/webhooks/form", body=body, headers=headers_for("form", body, {
        "FORM_WEBHOOK_SECRET": "test-form-secret"}))
    assert resp.status_code == 201, resp.body
    number = json.loads(resp.body)["results"][0]["ticket_id"]
    ticket = json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)
    assert ticket["subject"] == "返品について Bcc: victim@example.org"
    assert "\n" not in json.dumps(ticket["customer"]["name"])
    last = ticket["timeline"][-1]["id"]
    reply = client.http.post(f"/tickets/{number}/replies", headers={**auth(), "Content-Type": "application/json"},
                             body=json.dumps({"body": "山田様\nご連絡感謝します。", "last_seen_event_id": last,
                                              "override": True}))
    assert reply.status_code == 201, reply.body
    raw = sent_mail()[-1].raw_data
    assert "victim@example.org" not in [line.split(":", 1)[-1].strip() for line in raw.splitlines()
                                        if line.lower().startswith("bcc:")]


def test_a_stored_subject_with_crlf_never_makes_a_reply_fail(client, agents, mail_env):
    from chalicelib.store import tickets

    resp = client.http.post("/webhooks/form", body=json.dumps(sample_form()).encode(), headers=headers_for(
        "form", json.dumps(sample_form()).encode(), {"FORM_WEBHOOK_SECRET": "test-form-secret"}))
    number = json.loads(resp.body)["results"][0]["ticket_id"]
    ticket = tickets.get_ticket(number)
    ticket.subject = "stored before the fix\r\nBcc: victim@example.org"
    ticket.save()
    last = _timeline(client, number)[-1]["id"]
    reply = client.http.post(f"/tickets/{number}/replies", headers={**auth(), "Content-Type": "application/json"},
                             body=json.dumps({"body": "山田様\nお待たせしました。", "last_seen_event_id": last,
                                              "override": True}))
    assert reply.status_code == 201, reply.body


def test_a_reply_to_with_crlf_is_400(client, agents, mail_env):
    body = json.dumps(sample_form()).encode()
    resp = client.http.post("/webhooks/form", body=body, headers=headers_for(
        "form", body, {"FORM_WEBHOOK_SECRET": "test-form-secret"}))
    number = json.loads(resp.body)["results"][0]["ticket_id"]
    last = _timeline(client, number)[-1]["id"]
    to = "hanako@example.jp\r\nBcc: victim@example.org"
    for path, extra in ((f"/tickets/{number}/replies", {"last_seen_event_id": last}),
                        (f"/tickets/{number}/replies/preview", {})):
        bad = client.http.post(path, headers={**auth(), "Content-Type": "application/json"},
                               body=json.dumps({"body": "x", "to": to, **extra}))
        assert bad.status_code == 400, bad.body
        assert [e["pointer"] for e in json.loads(bad.body)["errors"]] == ["/to"]


def test_a_first_message_that_lost_the_race_joins_the_winners_ticket(client, agents, channel_secrets, monkeypatch):
    """Deterministic form of the race: the second message's lookup ran before the first committed."""
    from chalicelib.services import thread_match

    def chat(msg_id: str) -> dict[str, Any]:
        return {"id": msg_id, "conversation_id": "conv-race", "sender": {"id": "visitor-1"}, "text": f"質問 {msg_id}"}

    first = _post(client, "chat", chat("m1"))
    real_find = thread_match.find
    calls = {"n": 0}

    def stale_find(msg, customer_id, now):  # the first call sees the world before m1 committed
        calls["n"] += 1
        return thread_match.Match(None, {}) if calls["n"] == 1 else real_find(msg, customer_id, now)

    monkeypatch.setattr(thread_match, "find", stale_find, raising=False)
    monkeypatch.setattr(thread_match, "find_ticket", lambda *a: None if calls["n"] == 0 else real_find(*a).ticket,
                        raising=False)
    second = _post(client, "chat", chat("m2"))
    assert second.status_code == 201, second.body
    numbers = [json.loads(r.body)["results"][0]["ticket_id"] for r in (first, second)]
    assert numbers[0] == numbers[1], "no second ticket for one conversation"
    listed = json.loads(client.http.get("/tickets?view=all", headers=auth()).body)["tickets"]
    assert len(listed) == 1
    assert [e["type"] for e in _timeline(client, numbers[0])].count("message_in") == 2

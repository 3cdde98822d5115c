"""The acknowledgement (auto-reply) goes through the durable outbox: written in the ingest
transaction, never sent inside the webhook's answer, delivered by the dispatch job through the
ticket's channel, retried with backoff when the channel fails, recorded once (message_out event,
threading references and the item's state in one transaction)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from bench.requests_count import count_requests
from chalicelib.services.dispatch import dispatch_due
from chalicelib.store import outbox
from tests.functional.conftest import auth, form_json, run_dispatch, sample_form
from tests.functional.mailkit import make_mail, post_mail

REGION = "ap-northeast-1"


def _acks() -> list[Any]:
    return [i for i in outbox.list_state("pending", limit=100)[0] + outbox.list_state("sent", limit=100)[0]
            + outbox.list_state("failed", limit=100)[0] if i.target.startswith("auto_reply:")]


def _timeline(client, number: int) -> list[dict[str, Any]]:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body["timeline"]


def _sent_to(address: str) -> list[Any]:
    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages if address in json.dumps(
        m.destinations) or address in (getattr(m, "raw_data", "") or "")]


def test_a_failing_channel_leaves_the_ack_queued_and_the_job_retries_it_until_it_goes(
        client, agents, mail_env, monkeypatch):
    import plugins.channel_email as channel

    calls: list[int] = []
    real = channel._ses

    class Flaky:
        def send_raw_email(self, **kw: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise ConnectionError("SES endpoint unreachable")
            return real().send_raw_email(**kw)

    monkeypatch.setattr(channel, "_ses", lambda: Flaky())
    with count_requests() as answer:
        resp = client.http.post("/webhooks/form", **form_json(sample_form()))
    assert resp.status_code == 201, resp.body
    number = resp.json_body["results"][0]["ticket_id"]
    assert calls == [] and answer.other == {"s3.PutObject": 1}  # nothing sent inside the answer
    (ack,) = _acks()
    assert ack.outbox_state == "pending" and ack.ticket_id == number and ack.recipient == "hanako.yamada@example.jp"
    assert f"[#{number}]" in ack.subject and ack.body

    report = run_dispatch(client)  # the first run: the channel fails, the item waits for its backoff
    assert report["retrying"] == 1 and calls == [1]
    retry = outbox.get(ack.outbox_id)
    assert retry.outbox_state == "pending" and int(retry.attempts) == 1 and "unreachable" in retry.last_error
    assert not [e for e in _timeline(client, number) if e["type"] in ("message_out", "auto_reply_not_sent")]

    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    assert dispatch_due(later).sent == [ack.outbox_id]
    dispatch_due(later + timedelta(hours=1))  # nothing is sent twice
    assert calls == [1, 1] and len(_sent_to("hanako.yamada@example.jp")) == 1
    done = outbox.get(ack.outbox_id)
    assert done.outbox_state == "sent" and int(done.attempts) == 2
    (out,) = [e for e in _timeline(client, number) if e["type"] == "message_out"]
    assert out["data"]["auto_reply"] and out["data"]["outbox_id"] == ack.outbox_id
    assert out["id"] == ack.data["event_id"] and out["data"]["to"] == "hanako.yamada@example.jp"
    # The customer answers the acknowledgement by the id SES gave it: the same ticket.
    ses_ref = next(i for i in out["data"]["message_ids"] if i.endswith("amazonses.com>"))
    answer_mail = make_mail(sender="山田 花子 <hanako.yamada@example.jp>", subject="Re: 受付",
                            headers={"In-Reply-To": ses_ref, "References": ses_ref})
    assert post_mail(client, answer_mail).json_body["results"][0]["ticket_id"] == number


def test_an_ack_to_a_machine_address_is_refused_in_the_ingest_transaction_and_never_queued(
        client, agents, mail_env):
    resp = client.http.post("/webhooks/form", **form_json(sample_form(email="no-reply@shop.example.jp")))
    number = resp.json_body["results"][0]["ticket_id"]
    assert _acks() == []
    (refused,) = [e for e in _timeline(client, number) if e["type"] == "auto_reply_not_sent"]
    assert refused["data"]["guard"] == "machine_mail"
    assert run_dispatch(client)["sent"] == 0 and _sent_to("no-reply@shop.example.jp") == []


def test_chat_ack_is_delivered_by_the_job_into_the_conversation(client, agents, monkeypatch):
    from tests.functional.http_receiver import receiving
    from tests.functional.test_channel_chat import SECRET, message, signed

    monkeypatch.setenv("CHAT_WEBHOOK_SECRET", SECRET)
    with receiving(lambda req: (200, {"id": f"widget-{req.json()['id']}"})) as widget:
        monkeypatch.setenv("CHAT_CALLBACK_URL", f"{widget.url}/helpdesk/replies")
        first = client.http.post("/webhooks/chat", **signed(message())).json_body["results"][0]
        assert widget.requests == []
        assert run_dispatch(client)["sent"] == 1
        (got,) = widget.requests
    doc = got.json()
    assert doc["auto_reply"] is True and doc["conversation_id"] == "conv-42" and doc["to"] == {"id": "visitor-9"}
    (out,) = [e for e in _timeline(client, first["ticket_id"]) if e["type"] == "message_out"]
    assert doc["id"] == out["id"]  # the delivery id is the message_out's id: stable across retries


@pytest.mark.parametrize("count", [1, 3])
def test_events_recorded_after_a_commit_are_one_batch_request(client, agents, count):
    from chalicelib.store import changes

    number = client.http.post("/webhooks/form", **form_json(sample_form())).json_body["results"][0]["ticket_id"]
    with count_requests() as tally:
        changes.append_events(number, [{"type": "note", "data": {"n": n}} for n in range(count)],
                              datetime.now(timezone.utc), "system")
    assert tally.total == 1, dict(tally.ops)


def test_locally_the_ack_goes_out_right_after_the_answer_without_waiting_for_the_schedule(
        client, agents, mail_env, monkeypatch):
    from chalicelib import background

    monkeypatch.setenv("NOTIFY_AFTER_INGEST", "1")  # the default (tests turn it off to stay deterministic)
    resp = client.http.post("/webhooks/form", **form_json(sample_form()))
    number = resp.json_body["results"][0]["ticket_id"]
    assert background.wait(60)
    (ack,) = _acks()
    assert ack.outbox_state == "sent" and len(_sent_to("hanako.yamada@example.jp")) == 1
    assert [e["type"] for e in _timeline(client, number)].count("message_out") == 1
    assert run_dispatch(client)["sent"] == 0  # the schedule finds nothing left to send


def test_deployed_the_webhook_hands_its_queued_mail_to_the_worker_with_one_async_invoke(
        client, agents, mail_env, monkeypatch):
    import chalicelib.aws

    invoked: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kw: Any) -> dict[str, Any]:
            invoked.append(kw)
            return {"StatusCode": 202}

    real = chalicelib.aws.client
    monkeypatch.setattr(chalicelib.aws, "client", lambda name, *a, **k: FakeLambda() if name == "lambda"
                        else real(name, *a, **k))
    monkeypatch.setenv("NOTIFY_AFTER_INGEST", "1")
    monkeypatch.setenv("HELPDESK_WORKER_FUNCTION", "helpdesk-dev-Worker-ABC")
    resp = client.http.post("/webhooks/form", **form_json(sample_form()))
    (call,) = invoked
    assert call["FunctionName"] == "helpdesk-dev-Worker-ABC" and call["InvocationType"] == "Event"
    event = json.loads(call["Payload"])
    (ack,) = _acks()
    assert event == {"kind": "deliver_outbox", "payload": {"ids": [ack.outbox_id]}}
    assert _sent_to("hanako.yamada@example.jp") == []  # the answer sent nothing
    out = client.lambda_.invoke("worker", event).payload  # what Lambda then runs, asynchronously
    assert out == {"states": {ack.outbox_id: "sent"}}
    assert len(_sent_to("hanako.yamada@example.jp")) == 1
    assert resp.json_body["results"][0]["ticket_id"] == ack.ticket_id

"""Issue 11: once the provider accepted a reply, the request succeeds and the record is repaired; a reply
stuck in ``sending`` is reconciled: counted once, never silently dropped, never sent twice."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.domain import utcnow
from chalicelib.plugin_manager import get_plugin_manager
from tests.functional.conftest import auth
from tests.functional.fakes import TestChat

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def chat():
    pm = get_plugin_manager()
    plugin = TestChat()
    pm.register(plugin)
    yield plugin
    pm.unregister(plugin)


def _says(client, msg_id: str, text: str) -> dict:
    resp = client.http.post("/webhooks/testchat", headers=JSON, body=json.dumps(
        {"id": msg_id, "user": "u1", "name": "山田 花子", "email": "hanako@example.jp", "conversation": "c-1",
         "text": text}))
    assert resp.status_code in (200, 201), resp.body
    return json.loads(resp.body)["results"][0]


def _reply(client, number: int, last_seen: str):
    return client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON},
                            body=json.dumps({"body": "山田様\n\n確認いたします。", "last_seen_event_id": last_seen}))


def _out(client, number: int) -> list[dict]:
    timeline = json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)["timeline"]
    return [e for e in timeline if e["type"] == "message_out" and e["data"].get("agent")]


def _replies_counted(client) -> int:
    """Replies the KPI report counts today, after the hourly job stored today's aggregate (reports
    never compute inside a request)."""
    from chalicelib.services import kpis

    kpis.aggregate_recent(utcnow())
    return json.loads(client.http.get("/reports/kpis", headers=auth()).body)["totals"]["replies"]


def _agent_sent(chat: TestChat) -> list:
    return [m for m in chat.sent if not m.metadata.get("auto_reply")]


def test_a_reply_sent_but_not_recorded_succeeds_and_is_repaired(client, agents, chat, monkeypatch):
    from chalicelib.store import sending

    first = _says(client, "m1", "質問です")
    real = sending.finish
    failures = {"n": 0}

    def flaky(event, patch, refs=()):  # DynamoDB fails once, right after the provider accepted the reply
        if patch.get("state") == "sent" and not failures["n"]:
            failures["n"] += 1
            raise RuntimeError("ProvisionedThroughputExceededException")
        return real(event, patch, refs)

    monkeypatch.setattr(sending, "finish", flaky)
    resp = _reply(client, first["ticket_id"], first["event_id"])
    assert resp.status_code == 201, resp.body
    assert json.loads(resp.body)["sent"] is True
    [out] = _out(client, first["ticket_id"])
    assert out["data"]["state"] == "sending", "recording failed: the marker remembers the acceptance"
    assert _replies_counted(client) == 0, "not counted while unconfirmed"

    from chalicelib.services import replies

    later = utcnow() + timedelta(minutes=15)
    assert replies.reconcile(later) == {"sent": 1, "failed": 0, "skipped": 0}
    [out] = _out(client, first["ticket_id"])
    assert out["data"]["state"] == "sent" and out["data"]["provider_message_id"]
    assert len(_agent_sent(chat)) == 1, "reconciling never sends again"
    assert _replies_counted(client) == 1
    assert replies.reconcile(later) == {"sent": 0, "failed": 0, "skipped": 0}
    assert _replies_counted(client) == 1, "counted once"


def test_a_reply_interrupted_before_the_send_is_marked_failed_not_lost(client, agents, chat, monkeypatch):
    from chalicelib.domain import utcnow as now_fn
    from chalicelib.services import replies
    from chalicelib.store import agents as agent_store

    first = _says(client, "m1", "質問です")

    class Crash(BaseException):
        """The Lambda died between the commit and the send."""

    def crash(*_args, **_kwargs):
        raise Crash()

    monkeypatch.setattr(replies, "send", crash)
    with pytest.raises(Crash):
        request = replies.ReplyRequest(body="山田様\n\n確認します。", last_seen_event_id=first["event_id"])
        replies.reply(first["ticket_id"], agent_store.get_agent("sato"), request, now_fn())
    [out] = _out(client, first["ticket_id"])
    assert out["data"]["state"] == "sending"
    assert replies.reconcile(utcnow()) == {"sent": 0, "failed": 0, "skipped": 0}, "too recent to call"
    assert replies.reconcile(utcnow() + timedelta(minutes=15)) == {"sent": 0, "failed": 1, "skipped": 0}
    [out] = _out(client, first["ticket_id"])
    assert out["data"]["state"] == "failed" and "interrupted" in out["data"]["error"]
    assert _agent_sent(chat) == [] and _replies_counted(client) == 0


def test_a_normal_reply_leaves_nothing_to_reconcile(client, agents, chat):
    from chalicelib.services import replies

    first = _says(client, "m1", "質問です")
    assert _reply(client, first["ticket_id"], first["event_id"]).status_code == 201
    assert replies.reconcile(utcnow() + timedelta(minutes=15)) == {"sent": 0, "failed": 0, "skipped": 0}
    assert _replies_counted(client) == 1

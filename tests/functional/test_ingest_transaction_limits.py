"""DynamoDB holds at most 100 items in one transaction: a new ticket that would need more (a mail
answering a long thread, dozens of rules firing at once) still lands whole, once, with a 201."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chalicelib.domain import InboundMessage, Sender
from chalicelib.store import outbox, threads
from tests.conftest import ROOT
from tests.functional.conftest import auth
from tests.functional.mailkit import make_mail, post_mail

RULES = 60


def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    for n in range(RULES):
        (rules / f"log-new-{n:02d}.json").write_text(json.dumps({
            "kind": "trigger", "position": 500 + n, "description": f"log every new ticket ({n})",
            "on": ["ticket_created"],
            "actions": [{"type": "notify", "target": "log", "to": {"address": f"audit-{n}"},
                         "body": "#{{ ticket.id }}"}]}))
    return rules


def test_a_new_ticket_too_big_for_one_transaction_lands_whole_and_once(client, agents, mail_env, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("HELPDESK_RULES_DIR", str(_rules(tmp_path)))
    refs = " ".join(f"<old-{n}@example.jp>" for n in range(100))  # a long thread nobody here knows
    raw = make_mail(subject="長いスレッド", message_id="<new-1@example.jp>", headers={"References": refs})
    first = post_mail(client, raw)
    assert first.status_code == 201, first.body
    number = first.json_body["results"][0]["ticket_id"]
    again = post_mail(client, raw)  # a retry of the delivery: the same ticket, nothing new
    assert again.status_code in (200, 201) and again.json_body["results"][0]["ticket_id"] == number
    timeline = client.http.get(f"/tickets/{number}", headers=auth()).json_body["timeline"]
    fired = [e for e in timeline if e["type"] == "rule_fired" and e["data"].get("rule_id", "").startswith("log-new-")]
    assert len(fired) == RULES
    items = [i for state in ("pending", "sent", "failed") for i in outbox.list_state(state, limit=100)[0]
             if i.ticket_id == number and (i.rule_id or "").startswith("log-new-")]
    assert sorted(i.rule_id for i in items) == sorted(f"log-new-{n:02d}" for n in range(RULES))
    assert threads.find_ref("msg", "<new-1@example.jp>") == number  # its own id always points at it
    assert len(client.http.get("/tickets?view=all&limit=100", headers=auth()).json_body["tickets"]) == 1


def _msg(own: int, answered: int) -> InboundMessage:
    from datetime import datetime, timezone

    return InboundMessage(channel="email", dedupe_key="x",
                          sender=Sender(identity_kind="email", identity_value="a@example.jp"),
                          subject="", body_text="", received_at=datetime(2026, 1, 13, tzinfo=timezone.utc),
                          message_ids=tuple(f"<own-{n}>" for n in range(own)),
                          references=tuple(f"<old-{n}>" for n in range(answered)), thread_key="conv")


def test_claims_keep_the_message_and_its_conversation_and_cut_the_oldest_answered_ids():
    msg = _msg(2, 20)
    claimed = [*(("msg", r) for r in msg.references), *threads.own_refs(msg)]
    assert threads.fit_claims(claimed, msg, 100) == claimed
    kept = threads.fit_claims(claimed, msg, 8)
    assert kept == [("msg", "<own-0>"), ("msg", "<own-1>"), ("thread", "conv"),
                    *(("msg", f"<old-{n}>") for n in (19, 18, 17, 16, 15))]
    assert threads.fit_claims(claimed, msg, 0) == threads.own_refs(msg)

"""Notifications through the durable outbox: once per dedupe key, retried with backoff, failures
visible and redrivable, webhooks verifiable. Email lands in moto's SES store; Slack and webhook
POSTs land on a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.services import effects as effects_service
from chalicelib.services import flow
from chalicelib.services.dispatch import dispatch_due
from chalicelib.store import changes, outbox, tickets
from tests.conftest import ROOT
from tests.functional.conftest import auth, form_json, make_supervisor, sample_form

T0 = datetime(2026, 1, 13, 1, 0, tzinfo=timezone.utc)  # Tuesday 10:00 JST
RULE_ID = "alert-new-ticket"
SENDER = "helpdesk@example.com"
MANAGER = "kato.manager@example.com"
TEMPLATE = {
    "ja": {"subject": "[#{{ ticket.id }}] 新しいお問い合わせ: {{ ticket.subject }}",
           "body": "お客様: {{ customer.name }}\n優先度: {{ ticket.priority }}\n{{ ticket.url }}\n"},
    "en": {"subject": "[#{{ ticket.id }}] New inquiry: {{ ticket.subject }}",
           "body": "Customer: {{ customer.name }}\nPriority: {{ ticket.priority }}\n{{ ticket.url }}\n"},
}
SLACK_TEMPLATE = {"ja": {"subject": "#{{ ticket.id }} {{ ticket.subject }}",
                         "body": "{{ customer.name }} 様 / {{ ticket.url }}"}}


@dataclass
class Receiver:
    """A local HTTP endpoint: answers POSTs with queued statuses (then 200) and records them."""

    url: str
    statuses: list[int] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.posts.append({"headers": headers, "body": body, "status": status})
            self.delivered += status == 200
            return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real ThreadingHTTPServer on 127.0.0.1:0 in a thread."""
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = box["r"].answer({k.lower(): v for k, v in self.headers.items()}, body)
            reply = b"ok" if status == 200 else b"unavailable"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    _RECEIVERS[:] = [box["r"]]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def notify_env(aws, agents, receiver, monkeypatch, tmp_path) -> Path:
    """Rules with a trigger that alerts the manager by email and #support-alerts on Slack for
    every new ticket; SES sender verified in moto; Slack webhook URL pointing at the receiver."""
    from plugins import notify_ses

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "templates" / "new-ticket-alert.json").write_text(json.dumps(TEMPLATE, ensure_ascii=False))
    (rules / "templates" / "new-ticket-alert.slack.json").write_text(json.dumps(SLACK_TEMPLATE, ensure_ascii=False))
    write_rule(rules, [{"type": "notify", "target": "email", "to": "manager", "template": "new-ticket-alert"},
                       {"type": "notify", "target": "slack", "to": {"address": "#support-alerts"},
                        "template": "new-ticket-alert"}])
    monkeypatch.setenv("HELPDESK_RULES_DIR", str(rules))
    monkeypatch.setenv("NOTIFY_EMAIL_FROM", SENDER)
    monkeypatch.setenv("SLACK_WEBHOOK_URL_SUPPORT_ALERTS", receiver.url)
    notify_ses.reset_clients()
    boto3.client("ses", region_name=aws["region"]).verify_email_identity(EmailAddress=SENDER)
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow"):
        monkeypatch.setattr(target, lambda: T0)
    return rules


def write_rule(rules: Path, actions: list[dict[str, Any]]) -> None:
    rule = {"kind": "trigger", "position": 90, "description": "Alert the team about every new ticket.",
            "on": ["ticket_created"], "actions": actions}
    (rules / f"{RULE_ID}.json").write_text(json.dumps(rule))


def sent_mail(region: str = "ap-northeast-1") -> list[Any]:
    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages if m.source == SENDER]


def new_ticket(client, **over: Any) -> int:
    resp = client.http.post("/webhooks/form", **form_json(sample_form(**over)))
    assert resp.status_code == 201, resp.body
    return resp.json_body["results"][0]["ticket_id"]


def items(state: str) -> list[dict[str, Any]]:
    """Notification items in ``state`` (the acknowledgement to the customer is an outbox item too)."""
    return [outbox.to_dict(i) for i in outbox.list_state(state, limit=100)[0]
            if not i.target.startswith("auto_reply:")]


def new_ticket_dispatched(client, **over: Any) -> int:
    """A new ticket, then the dispatch job's first run at T0 (ingest sends nothing inside its answer)."""
    number = new_ticket(client, **over)
    assert items("sent") == [] and receiver_untouched()
    dispatch_due(T0)
    return number


_RECEIVERS: list[Any] = []


def receiver_untouched() -> bool:
    return all(not r.posts for r in _RECEIVERS)


def timeline(client, number: int) -> list[dict[str, Any]]:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body["timeline"]


def test_a_rule_firing_twice_with_the_same_dedupe_key_sends_one_email_and_one_slack_post(
        client, notify_env, receiver, monkeypatch):
    monkeypatch.setenv("NOTIFY_FAST_PATH", "0")  # leave delivery to the dispatchers below
    number = new_ticket(client)
    queued = items("pending")
    assert sorted(i["target"] for i in queued) == ["email", "slack"]

    # The same firing committed again (a retried Lambda, a replayed event): same dedupe keys.
    ticket = tickets.get_ticket(number)
    again = [{"type": "notify", "rule_id": RULE_ID, "template": "new-ticket-alert", "dedupe_key": i["dedupe_key"],
              "target": i["target"], "to": i["to"]} for i in queued]
    failures = effects_service.queue_notifications(ticket, again, T0)
    changes.commit(ticket, failures, [], T0, "system", outbox_items=outbox.attached(again))
    flow.run_effects(ticket, again, T0)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two dispatchers at once, then a late one
        list(pool.map(dispatch_due, [T0, T0]))
    dispatch_due(T0 + timedelta(hours=1))

    mail = sent_mail()
    assert len(mail) == 1
    assert mail[0].destinations["ToAddresses"] == [MANAGER]
    assert mail[0].subject == f"[#{number}] 新しいお問い合わせ: クーポンが適用されません"
    assert len(receiver.posts) == 1
    text = json.loads(receiver.posts[0]["body"])["text"]
    assert text.startswith(f"*#{number} クーポンが適用されません*") and "山田 花子 様" in text
    assert sorted(i["target"] for i in items("sent")) == ["email", "slack"]
    sent_events = [e for e in timeline(client, number) if e["type"] == "notification_sent"]
    assert sorted(e["data"]["target"] for e in sent_events) == ["email", "slack"]


def test_slack_failing_twice_then_succeeding_delivers_exactly_once_after_backoff(client, notify_env, receiver):
    receiver.statuses = [500, 503]
    number = new_ticket_dispatched(client)  # the dispatch job makes attempt 1 at T0: 500
    [slack] = items("pending")
    assert slack["attempts"] == 1 and slack["next_attempt_at"] == "2026-01-13T01:01:00Z"
    assert "500" in slack["last_error"]

    assert dispatch_due(T0 + timedelta(seconds=59)).sent == []  # not due yet: no sleeping, an injected now
    assert dispatch_due(T0 + timedelta(seconds=60)).retrying == [slack["id"]]  # attempt 2: 503, wait 2 min
    assert dispatch_due(T0 + timedelta(seconds=179)).sent == []
    assert dispatch_due(T0 + timedelta(seconds=180)).sent == [slack["id"]]  # attempt 3 succeeds
    dispatch_due(T0 + timedelta(hours=2))

    assert [p["status"] for p in receiver.posts] == [500, 503, 200]
    assert receiver.delivered == 1
    done = outbox.to_dict(outbox.get(slack["id"]))
    assert done["state"] == "sent" and done["attempts"] == 3
    assert [a["outcome"].split(":")[0] for a in done["attempt_log"]] == ["SlackUnavailable", "SlackUnavailable", "sent"]
    events = timeline(client, number)
    assert [e["data"]["target"] for e in events if e["type"] == "notification_sent"].count("slack") == 1
    assert not [e for e in events if e["type"] == "notification_failed"]
    assert len(sent_mail()) == 1


def test_slack_always_failing_ends_failed_visibly_and_a_redrive_delivers_it(client, notify_env, receiver):
    receiver.statuses = [503] * 5
    number = new_ticket_dispatched(client)
    [slack] = items("pending")
    tried_at = [T0]
    while (current := outbox.to_dict(outbox.get(slack["id"])))["state"] == "pending":
        at = datetime.fromisoformat(current["next_attempt_at"].replace("Z", "+00:00"))
        tried_at.append(at)
        dispatch_due(at)
    assert [int((t - T0).total_seconds()) for t in tried_at] == [0, 60, 180, 420, 900]  # 1, 2, 4, 8 min backoff
    assert current["state"] == "failed" and current["attempts"] == 5
    assert "503" in current["last_error"]

    failed = [e for e in timeline(client, number) if e["type"] == "notification_failed"]
    assert len(failed) == 1 and "503" in failed[0]["data"]["error"] and failed[0]["data"]["target"] == "slack"
    listing = client.http.get("/outbox?state=failed", headers=auth())
    assert listing.status_code == 200
    # (the acknowledgement failed too: this stage sets no EMAIL_FROM, so no plugin sends form replies)
    [row] = [r for r in listing.json_body["items"] if not r["target"].startswith("auto_reply:")]
    assert row["id"] == slack["id"] and "503" in row["last_error"]
    assert row["subject"] == f"#{number} クーポンが適用されません" and row["recipient"] == "#support-alerts"
    assert client.http.get("/outbox?state=failed").status_code == 401
    assert len(sent_mail()) == 1  # the email of the same firing went out; nothing else was lost

    assert client.http.post(f"/outbox/{slack['id']}/redrive", headers=auth()).status_code == 403  # agents may not
    make_supervisor()
    redriven = client.http.post(f"/outbox/{slack['id']}/redrive", headers=auth())
    assert redriven.status_code == 200, redriven.body
    assert redriven.json_body["state"] == "sent"
    assert receiver.delivered == 1
    assert [r["target"] for r in client.http.get("/outbox?state=failed", headers=auth()).json_body["items"]] == [
        "auto_reply:form"]
    kinds = [e["type"] for e in timeline(client, number)]
    assert kinds.index("notification_failed") < kinds.index("notification_redriven") < len(kinds)
    assert client.http.post(f"/outbox/{slack['id']}/redrive", headers=auth()).status_code == 409
    assert client.http.post("/outbox/nope/redrive", headers=auth()).status_code == 404


def verify_helpdesk_signature(secret: bytes, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The README's receiver recipe, verbatim: only hmac and hashlib."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = fields["t"]
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    return fresh and hmac.compare_digest(expected, fields["v1"])


def readme_recipe() -> Any:
    """The verification snippet from the README's Notifications section, executed as published."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Notifications"):]
    code = section[section.index("```python\nimport hashlib"):].split("\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["verify_helpdesk_signature"]


def test_generic_webhook_signature_verifies_with_the_documented_recipe(client, notify_env, receiver, monkeypatch):
    write_rule(notify_env, [{"type": "notify", "target": "webhook", "to": {"address": "crm"},
                             "template": "new-ticket-alert"}])
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL_CRM", receiver.url)
    monkeypatch.setenv("NOTIFY_WEBHOOK_SECRET", "whsec-test-secret")
    number = new_ticket_dispatched(client)

    [post] = receiver.posts
    body, headers = post["body"], post["headers"]
    assert verify_helpdesk_signature(b"whsec-test-secret", headers["x-helpdesk-signature"], body)
    assert not verify_helpdesk_signature(b"another-secret", headers["x-helpdesk-signature"], body)
    assert not verify_helpdesk_signature(b"whsec-test-secret", headers["x-helpdesk-signature"], body + b" ")
    assert readme_recipe()(b"whsec-test-secret", headers["x-helpdesk-signature"], body)
    payload = json.loads(body)
    assert payload["type"] == "helpdesk.notification" and payload["ticket_id"] == number
    assert payload["id"] == headers["x-helpdesk-delivery"] == items("sent")[0]["id"]
    assert payload["subject"] == f"[#{number}] 新しいお問い合わせ: クーポンが適用されません"
    assert payload["link"] == f"/console#/ticket/{number}"


def test_a_notification_nobody_can_receive_is_failed_on_the_timeline_in_the_same_commit(client, notify_env):
    write_rule(notify_env, [{"type": "notify", "target": "sms", "to": "assignee", "body": "#{{ ticket.id }}"}])
    number = new_ticket(client)
    [item] = items("failed")
    assert item["target"] == "sms" and item["attempts"] == 0 and "nobody is the assignee" in item["last_error"]
    assert [e["data"]["outbox_id"] for e in timeline(client, number) if e["type"] == "notification_failed"] == \
        [item["id"]]


def test_sms_goes_to_the_assignees_phone_through_sns(client, notify_env, monkeypatch):
    from moto.sns.models import sns_backends

    from chalicelib.store import agents as store_agents
    from plugins import notify_sms

    notify_sms.reset_clients()
    store_agents.upsert_agent("sato", name="Sato", email="sato@example.com", department="support",
                              phone="+819012345678")
    action = {"type": "notify", "target": "sms", "to": "assignee", "body": "#{{ ticket.id }} {{ ticket.url }}"}
    rule = {"kind": "trigger", "position": 91, "description": "Text the new assignee.", "on": ["assignee_changed"],
            "actions": [action]}
    (notify_env / "sms-assignee.json").write_text(json.dumps(rule))
    number = new_ticket(client)
    resp = client.http.patch(f"/tickets/{number}", headers={**auth(), "Content-Type": "application/json"},
                             body=json.dumps({"assignee": "sato"}))
    assert resp.status_code == 200, resp.body
    texts = list(sns_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sms_messages.values())
    assert texts == [("+819012345678", f"#{number} /console#/ticket/{number}")]


def test_cli_lists_failed_notifications_and_redrives_one(client, notify_env, receiver, monkeypatch, capsys):
    from chalicelib.cli import main

    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "1")
    receiver.statuses = [502]
    number = new_ticket_dispatched(client)
    assert main(["outbox", "list", "--state", "failed"]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if '"auto_reply:' not in x]  # no EMAIL_FROM here
    failed = json.loads(line)
    assert failed["target"] == "slack" and failed["ticket_id"] == number and "502" in failed["last_error"]

    assert main(["outbox", "redrive", failed["id"]]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "sent"
    assert main(["outbox", "redrive", failed["id"]]) == 1  # not failed any more
    assert receiver.delivered == 1


def test_a_dispatcher_dying_mid_attempt_leaves_the_item_to_be_retried_after_its_lease(
        client, notify_env, receiver, monkeypatch):
    monkeypatch.setenv("NOTIFY_FAST_PATH", "0")
    new_ticket(client)
    queued = {i["target"]: i["id"] for i in items("pending")}
    slack = outbox.get(queued["slack"])
    assert outbox.claim(slack, T0, lease_s=300)  # ...and the process dies before sending
    assert dispatch_due(T0 + timedelta(seconds=299)).sent == [queued["email"]]  # the leased item is not due
    assert receiver.posts == []
    assert dispatch_due(T0 + timedelta(seconds=300)).sent == [slack.outbox_id]
    assert receiver.delivered == 1 and outbox.get(slack.outbox_id).attempts == 2


def test_notify_effects_that_skipped_the_commit_are_still_written_before_sending(client, notify_env, receiver):
    number = new_ticket_dispatched(client)
    ticket = tickets.get_ticket(number)
    late = {"type": "notify", "target": "slack", "to": {"address": "#support-alerts"}, "body": "late #{{ ticket.id }}"}
    flow.run_effects(ticket, [late], T0)
    [item] = [i for i in items("sent") if i["body"] == f"late #{number}"]
    assert item["dedupe_key"].startswith(f"adhoc#{number}#") and receiver.delivered == 2

"""Robots never open tickets or get answers: the flufl-bounce corpus through the webhook and the SES/S3
path, delivery reports that name our message only indirectly, carrier bounces on the delivery_failed
path, and the outbound guard. Every test here fails if anything logs a traceback (``no_tracebacks``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import boto3
import pytest

from tests import machine_mail as mm
from tests.conftest import ROOT
from tests.functional.conftest import auth, form_json, sample_form
from tests.functional.mailkit import REGION, make_mail, post_mail, sent_mail

pytestmark = pytest.mark.usefixtures("no_tracebacks")

FLUFL = ROOT.parent / "shared" / "corpus" / "email" / "flufl-bounce"
BOUNCES = sorted(p for p in FLUFL.glob("*.txt"))
# Not a bounce: a person's reply (Outlook 2003, Spanish) to a list's VERP address, kept by flufl.bounce as
# a negative sample. It is a person writing, so it becomes a ticket (the only one) and is acknowledged.
NOT_BOUNCES = {"groupwise_03.txt"}
CHUNK = 30
JSON = {"Content-Type": "application/json"}


def _tickets(client) -> list[dict]:
    return client.http.get("/tickets?view=all&limit=100", headers=auth()).json_body["tickets"]


def _ticket(client, number: int) -> dict:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body


def _machine_acks() -> list[str]:
    """Recipients of mail we sent that are not the one person of the corpus."""
    return [d for m in sent_mail() for d in m.destinations if d != "reservas@yyyyy.cu"]


def test_the_bounce_corpus_is_there():
    assert len(BOUNCES) == 117, "the shared corpus (../shared/corpus/email/flufl-bounce) is missing"


@pytest.mark.parametrize("start", range(0, len(BOUNCES), CHUNK))
def test_every_corpus_bounce_is_machine_mail_through_the_webhook(client, agents, mail_env, start):
    kinds: Counter[str] = Counter()
    for path in BOUNCES[start:start + CHUNK]:
        resp = post_mail(client, path.read_bytes())
        assert resp.status_code in (200, 201), (path.name, resp.status_code, resp.body)
        body = resp.json_body
        if path.name in NOT_BOUNCES:
            assert "automatic" not in body and body["results"][0]["created"], (path.name, body)
            continue
        (auto,) = body["automatic"]
        assert auto["kind"] != "message" and auto["rule"] and auto["reason"], (path.name, auto)
        assert body["results"] == [], (path.name, body)  # concerns none of our tickets: nothing recorded
        kinds[auto["kind"]] += 1
    expected_tickets = len(NOT_BOUNCES & {p.name for p in BOUNCES[start:start + CHUNK]})
    assert len(_tickets(client)) == expected_tickets
    assert _machine_acks() == []
    print(dict(kinds))


def test_every_corpus_bounce_is_machine_mail_through_ses_and_s3(client, agents, mail_env):
    s3 = boto3.client("s3", region_name=REGION)
    done = {"tickets": [], "automatic": []}
    for i, path in enumerate(BOUNCES):  # as SES's receipt rule stores it and S3 tells EventBridge
        key = f"inbound/email/flufl-{i:03d}"
        raw = path.read_bytes()
        s3.put_object(Bucket=mail_env["bucket"], Key=key, Body=raw)
        event = client.events.generate_cw_event(
            source="aws.s3", detail_type="Object Created", resources=[], region=REGION,
            detail={"bucket": {"name": mail_env["bucket"]}, "object": {"key": key, "size": len(raw)}})
        payload = client.lambda_.invoke("email_inbound", event).payload
        assert "errorMessage" not in payload, (path.name, payload)
        done["tickets"] += payload["tickets"]
        done["automatic"] += payload["automatic"]
    assert len(done["automatic"]) == len(BOUNCES) - len(NOT_BOUNCES)
    assert all(a["kind"] != "message" and a["rule"] and a["reason"] for a in done["automatic"])
    assert len(done["tickets"]) == len(NOT_BOUNCES) == len(_tickets(client))
    assert _machine_acks() == []


def _reply_ids(client, number: int) -> tuple[str, str]:
    """(our Message-ID, the one SES gave it) of the agent's reply on the ticket."""
    last = _ticket(client, number)["timeline"][-1]["id"]
    resp = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON},
                            body=json.dumps({"body": "ご確認ください。", "last_seen_event_id": last}))
    assert resp.status_code == 201, resp.body
    out = [e for e in _ticket(client, number)["timeline"] if e["type"] == "message_out" and e["data"].get("agent")]
    ids = out[-1]["data"]["message_ids"]
    ours = next(i for i in ids if i.startswith("<") and "amazonses.com" not in i)
    ses = next(i for i in ids if i.endswith(f"@{REGION}.amazonses.com>"))
    return ours, ses


def _two_tickets(client) -> tuple[int, int]:
    first = post_mail(client, make_mail(sender="山田 花子 <hanako@example.jp>", subject="注文の件")).json_body
    other = post_mail(client, make_mail(sender="Ken <ken@example.com>", subject="別件")).json_body
    return first["results"][0]["ticket_id"], other["results"][0]["ticket_id"]


def _failures(client, number: int) -> list[dict]:
    return [e for e in _ticket(client, number)["timeline"] if e["type"] == "delivery_failed"]


@pytest.mark.parametrize("where", ["x-original-message-id", "original-message-id-field", "rfc822-headers"])
def test_a_bounce_naming_our_reply_only_indirectly_joins_its_ticket_as_delivery_failed(
        client, agents, mail_env, where):
    number, other = _two_tickets(client)
    _reply_ids(client, other)  # a reply on another ticket must not attract the bounce
    ours, ses = _reply_ids(client, number)
    if where == "x-original-message-id":  # no returned part, no In-Reply-To: only the header names it
        raw = mm.raw_mail(mm.base_headers("Mail Delivery System <mailer-daemon@mx.example.jp>", "Undeliverable",
                                          extra=[("X-Original-Message-ID", ours)]),
                          "Delivery has failed to these recipients or groups:\n\nhanako@example.jp\n")
    elif where == "original-message-id-field":
        raw = mm.dsn(None, f"Original-Message-ID: {ours}")
    else:  # RFC 6522 headers-only return, with the Message-ID the recipient's server saw (SES's)
        raw = mm.dsn(("text/rfc822-headers", mm.original_headers(ses, "hanako@example.jp")))
    body = post_mail(client, raw).json_body
    assert body["automatic"][0]["kind"] == "bounce" and body["automatic"][0]["ticket_id"] == number, body
    (failure,) = _failures(client, number)
    assert failure["data"]["rule"] and failure["data"]["reason"]
    assert _failures(client, other) == []
    out = next(e for e in _ticket(client, number)["timeline"] if e["type"] == "message_out" and e["data"].get("agent"))
    assert out["data"]["undelivered"] is True
    assert "delivery-failed" in _ticket(client, number)["tags"]
    assert len(_tickets(client)) == 2


@pytest.mark.parametrize("charset", ["iso-2022-jp", "shift_jis"])
@pytest.mark.parametrize("carrier", ["au-ezweb", "au-ja", "docomo", "softbank"])
def test_a_carrier_bounce_feeds_delivery_failed_even_without_our_ids(client, agents, mail_env, carrier, charset):
    address = "hanako@ezweb.ne.jp"
    number = post_mail(client, make_mail(sender=f"山田 花子 <{address}>", subject="注文の件",
                                         charset=charset)).json_body["results"][0]["ticket_id"]
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"assignee": "sato"}))
    _reply_ids(client, number)
    raw = mm.carrier_notice(carrier, charset, rcpt=address, message_id="<unknown-to-us@example.invalid>")
    body = post_mail(client, raw).json_body
    assert body["results"] and body["automatic"][0]["ticket_id"] == number, body
    (failure,) = _failures(client, number)
    assert failure["data"]["carrier"] == "au" and failure["data"]["recipients"][0]["address"] == address
    ticket = _ticket(client, number)
    assert {"carrier-mail", "delivery-failed"} <= set(ticket["tags"])
    told = [e for e in ticket["timeline"] if e["type"] in ("notification_sent", "notification_queued",
                                                           "notification_failed")
            and e["data"].get("rule_id") == "notify-assignee-on-delivery-failure"]
    assert told, [e["type"] for e in ticket["timeline"]]
    draft = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON}, body=json.dumps(
        {"body": "山田様\n\n別の方法でご連絡します。", "last_seen_event_id": ticket["timeline"][-1]["id"]}))
    checks = [c["check"] for c in draft.json_body.get("checks", []) + draft.json_body.get("problems", [])]
    assert "carrier_address" in checks, draft.json_body  # the pre-send advisory
    assert len(_tickets(client)) == 1


def test_no_auto_reply_to_a_machine_or_missing_address_and_no_traceback(client, agents, mail_env):
    before = len(sent_mail())
    form = client.http.post("/webhooks/form", **form_json(sample_form(email="no-reply@shop.example.jp")))
    number = form.json_body["results"][0]["ticket_id"]
    (not_sent,) = [e for e in _ticket(client, number)["timeline"] if e["type"] == "auto_reply_not_sent"]
    assert "no-reply address" in not_sent["data"]["error"]
    # A mail with no From at all (broken headers) still becomes a ticket (nothing lost), and is not answered.
    raw = b"To: support@example.com\r\nSubject: help\r\nMessage-ID: <nofrom@x.example>\r\n\r\nMy order.\r\n"
    resp = post_mail(client, raw).json_body
    ticket = _ticket(client, resp["results"][0]["ticket_id"])
    (not_sent,) = [e for e in ticket["timeline"] if e["type"] == "auto_reply_not_sent"]
    assert not_sent["data"]["error"] == "the ticket has no address to send to"
    assert len(sent_mail()) == before


def test_an_agent_reply_to_a_role_address_needs_an_override(client, agents, mail_env):
    number = post_mail(client, make_mail(sender="山田 花子 <hanako@example.jp>")).json_body["results"][0]["ticket_id"]
    last = _ticket(client, number)["timeline"][-1]["id"]
    resp = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON}, body=json.dumps(
        {"body": "山田様\n\nご連絡です。", "last_seen_event_id": last, "to": "postmaster@example.jp"}))
    assert resp.status_code == 422, resp.body
    assert "machine_address" in json.dumps(resp.json_body)


def test_rules_fired_by_a_bounce_never_mail_the_customer(client, agents, mail_env, tmp_path: Path, monkeypatch):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "answer-the-bounce.json").write_text(json.dumps({  # a careless rule: answer every failure
        "kind": "trigger", "position": 977, "description": "mail the customer again when a reply bounced",
        "on": ["delivery_failed"], "actions": [
            {"type": "auto_reply", "template": "received"},
            {"type": "notify", "target": "email", "to": "customer", "template": "received"}]}))
    monkeypatch.setenv("HELPDESK_RULES_DIR", str(rules))
    number = post_mail(client, make_mail(sender="山田 花子 <hanako@example.jp>")).json_body["results"][0]["ticket_id"]
    ours, _ses = _reply_ids(client, number)
    before = len(sent_mail())
    post_mail(client, mm.dsn(None, f"X-Original-Message-ID: {ours}"))
    assert len(sent_mail()) == before  # neither the auto-reply nor the rule notification went out
    timeline = _ticket(client, number)["timeline"]
    (refused,) = [e for e in timeline if e["type"] == "auto_reply_not_sent"]
    assert "machine mail is never answered" in refused["data"]["error"]
    (failed,) = [e for e in timeline if e["type"] == "notification_failed"
                 and e["data"]["rule_id"] == "answer-the-bounce"]
    assert "machine mail is never answered" in failed["data"]["error"]
    told = [e for e in timeline if e["type"] in ("notification_sent", "notification_queued")
            and e["data"].get("rule_id") == "notify-assignee-on-delivery-failure"]
    assert told or not _ticket(client, number)["assignee"]  # staff are still told (to the agent, not the robot)


def test_no_automatic_mail_to_machine_addresses(client, agents, mail_env):
    from chalicelib.services import outbound
    from chalicelib.store import tickets

    number = post_mail(client, make_mail(sender="山田 花子 <hanako@example.jp>")).json_body["results"][0]["ticket_id"]
    ticket = tickets.get_ticket(number)
    assert outbound.automatic_send_refusal(ticket, "hanako@example.jp") is None
    for address in ("MAILER-DAEMON", "post_master@example.jp", "no-reply@sns.amazonaws.com", "", None):
        assert outbound.automatic_send_refusal(ticket, address)
    with outbound.answering_machine_mail("bounce"):
        assert outbound.automatic_send_refusal(ticket, "hanako@example.jp")


def test_the_readme_example_answer_is_what_the_webhook_says(client, agents, mail_env):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Machine mail**"):]
    example = json.loads(section[section.index("```json") + 7:section.index("```", section.index("```json") + 7)])
    body = post_mail(client, mm.role_notice("postmaster@example.net")).json_body
    assert body["automatic"] == example["automatic"] and body["results"] == example["results"] == []

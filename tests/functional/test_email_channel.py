"""The email channel end to end: Japanese mail in, replies that thread, loops stopped, bounces on the ticket."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
from email import policy
from email.header import Header

import boto3
import pytest

from chalicelib.store import outbox
from tests.functional.conftest import auth, run_dispatch
from tests.functional.mailkit import (
    EMAIL_SECRET,
    REGION,
    SUPPORT,
    make_mail,
    post_mail,
    sent_mail,
    ses_notification,
)

pytestmark = pytest.mark.usefixtures("no_tracebacks")  # the mail suite logs no exception
JSON = {"Content-Type": "application/json"}
CARRIER = "山田 花子 <hanako@docomo.ne.jp>"


def _ticket(client, number: int) -> dict:
    resp = client.http.get(f"/tickets/{number}", headers=auth())
    assert resp.status_code == 200, resp.body
    return resp.json_body


def _all_tickets(client) -> list[dict]:
    return client.http.get("/tickets?view=all&limit=100", headers=auth()).json_body["tickets"]


def _ingest(client, raw: bytes) -> dict:
    resp = post_mail(client, raw)
    assert resp.status_code in (200, 201), resp.body
    return resp.json_body


def _agent_reply(client, number: int, body: str) -> dict:
    last = _ticket(client, number)["timeline"][-1]["id"]
    resp = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON},
                            body=json.dumps({"body": body, "last_seen_event_id": last}))
    assert resp.status_code == 201, resp.body
    return resp.json_body


def _jis_mail_with_attachment() -> bytes:
    """What a Windows mailer sends: ISO-2022-JP with a NEC-row-13 character (①), a PDF attachment."""
    jis = lambda text: text.encode("iso2022_jp")  # noqa: E731
    rest = "が届きません。\n\n2026年1月9日(金) 16:00 サポート <support@example.com>:\n> 承りました。\n"
    body = (jis("注文") + b"\x1b$B-!\x1b(B" + jis(rest)).replace(b"\n", b"\r\n")
    head = (f"From: {Header('山田 花子', 'iso-2022-jp').encode()} <hanako@example.jp>\r\n"
            f"To: {SUPPORT}\r\nSubject: {Header('注文が届かないのですが', 'iso-2022-jp').encode()}\r\n"
            "Message-ID: <jis-1@example.jp>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
            "--XX\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
    tail = ("\r\n--XX\r\nContent-Type: application/pdf; name=\"=?UTF-8?B?6aCY5Y+O5pu4LnBkZg==?=\"\r\n"
            "Content-Disposition: attachment; filename=\"=?UTF-8?B?6aCY5Y+O5pu4LnBkZg==?=\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQgcmVjZWlwdA==\r\n--XX--\r\n")
    return head.encode() + body + tail.encode()


def test_iso_2022_jp_mail_with_attachment_becomes_a_readable_ticket(client, agents, mail_env):
    raw = _jis_mail_with_attachment()
    result = _ingest(client, raw)["results"][0]
    ticket = _ticket(client, result["ticket_id"])
    assert ticket["subject"] == "注文が届かないのですが"
    assert ticket["customer"]["name"] == "山田 花子"
    first = ticket["timeline"][0]
    assert first["data"]["body_text"] == "注文①が届きません。"
    meta = first["data"]["metadata"]["email"]
    assert meta["quoted"].startswith("2026年1月9日(金) 16:00 サポート")
    assert meta["attachments"][0]["filename"] == "領収書.pdf"
    assert meta["attachments"][0]["content_type"] == "application/pdf"
    assert meta["attachments"][0]["size"] == len(b"%PDF-1.4 receipt")
    assert meta["headers"]["message-id"] == "<jis-1@example.jp>"
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket=mail_env["bucket"],
                                                               Key=first["data"]["raw_ref"])["Body"].read()
    assert stored == raw


def test_webhook_needs_the_secret_or_a_signature(client, agents, mail_env):
    raw = make_mail()
    assert post_mail(client, raw, secret=None).status_code == 401
    assert post_mail(client, raw, secret="wrong").status_code == 401
    sig = hmac.new(EMAIL_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    resp = client.http.post("/webhooks/email", body=raw, headers={
        "Content-Type": "application/octet-stream", "X-Email-Signature": f"sha256={sig}"})
    assert resp.status_code == 201
    again = post_mail(client, raw)
    assert again.status_code == 200 and again.json_body["results"][0]["duplicate"]


def test_replies_thread_by_ses_id_by_token_and_by_subject_from_a_carrier_phone(client, agents, mail_env):
    first = _ingest(client, make_mail(sender=CARRIER, subject="注文の件", message_id="<m1@docomo.ne.jp>",
                                      charset="shift_jis"))["results"][0]
    number = first["ticket_id"]
    ticket = _ticket(client, number)
    assert "carrier-mail" in ticket["tags"]
    assert ticket["timeline"][0]["data"]["body_text"] == "注文 A-1001 が届きません。"
    reply = _agent_reply(client, number, "山田様\n\nお問い合わせありがとうございます。確認いたします。")
    assert reply["sent"], reply
    out = email.message_from_bytes(sent_mail()[-1].raw_data.encode(), policy=policy.default)
    assert out["In-Reply-To"] == "<m1@docomo.ne.jp>"
    assert out["Reply-To"] == f"support+{number}@reply.example.com"
    assert f"[#{number}]" in out["Subject"]
    assert out.get_body(("plain",)).get_content().startswith("山田様")
    ses_id = reply["provider_message_id"]

    by_ses = _ingest(client, make_mail(sender="hanako@example.jp", subject="別の件名にしました",
                                       headers={"In-Reply-To": f"<{ses_id}@{REGION}.amazonses.com>"}))
    by_token = _ingest(client, make_mail(sender=CARRIER, subject=f"Re: [#{number}] 追記"))
    by_subject = _ingest(client, make_mail(sender=CARRIER, subject="Re: 注文の件", body="まだです"))
    assert [r["results"][0]["ticket_id"] for r in (by_ses, by_token, by_subject)] == [number] * 3
    assert len(_all_tickets(client)) == 1


def test_auto_reply_from_the_customer_server_opens_nothing_and_gets_no_answer(client, agents, mail_env):
    number = _ingest(client, make_mail(subject="返品したい"))["results"][0]["ticket_id"]
    ses_id = _agent_reply(client, number, "山田様\n\n承知しました。")["provider_message_id"]
    sent_before = len(sent_mail())
    vacation = make_mail(subject="自動応答: 不在のお知らせ", body="1月20日まで不在です。", headers={
        "Auto-Submitted": "auto-replied", "In-Reply-To": f"<{ses_id}@{REGION}.amazonses.com>"})
    joined = _ingest(client, vacation)
    stray = _ingest(client, make_mail(sender="noreply@example.jp", subject="Out of Office: away",
                                      headers={"X-Autoreply": "yes"}))
    assert stray["results"] == []
    ours = _ingest(client, make_mail(sender=f"サポート <{SUPPORT}>", subject="ループ?"))
    assert ours["results"] == []
    assert joined["results"][0]["ticket_id"] == number
    assert len(_all_tickets(client)) == 1
    assert len(sent_mail()) == sent_before
    timeline = _ticket(client, number)["timeline"]
    assert [e["data"]["kind"] for e in timeline if e["type"] == "auto_reply_received"] == ["auto_reply"]
    assert not [e for e in timeline if e["type"] == "message_in" and "不在" in e["data"]["body_text"]]


def test_bounce_notification_marks_the_reply_and_fires_delivery_failed(client, agents, mail_env):
    number = _ingest(client, make_mail(sender=CARRIER, subject="届きますか"))["results"][0]["ticket_id"]
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"assignee": "sato"}))
    ses_id = _agent_reply(client, number, "山田様\n\nご確認ください。")["provider_message_id"]
    event = client.events.generate_sns_event(message=ses_notification("bounce", ses_id))
    resp = client.lambda_.invoke("email_feedback", event)
    assert resp.payload["ticket_id"] == number
    again = client.lambda_.invoke("email_feedback", event)  # SNS delivers at least once
    assert again.payload["ticket_id"] is None
    ticket = _ticket(client, number)
    failures = [e for e in ticket["timeline"] if e["type"] == "delivery_failed"]
    assert len(failures) == 1 and failures[0]["data"]["recipients"][0]["status"] == "5.1.1"
    out = next(e for e in ticket["timeline"] if e["type"] == "message_out" and e["data"].get("agent"))
    assert out["data"]["undelivered"] is True and out["data"]["delivery"]["state"] == "bounced"
    fired = [e["data"]["rule_id"] for e in ticket["timeline"] if e["type"] == "rule_fired"]
    assert "notify-assignee-on-delivery-failure" in fired
    assert "delivery-failed" in ticket["tags"]
    notified = [e for e in ticket["timeline"] if e["type"] in ("notification_sent", "notification_failed")
                and e["data"].get("rule_id") == "notify-assignee-on-delivery-failure"]
    assert notified

    dsn = _bounce_mail(f"<{ses_id}@{REGION}.amazonses.com>")
    result = _ingest(client, dsn)
    assert result["results"] == []  # the same failure, already recorded: no second event
    assert len([e for e in _ticket(client, number)["timeline"] if e["type"] == "delivery_failed"]) == 1
    assert len(_all_tickets(client)) == 1


def _bounce_mail(original_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.docomo.ne.jp\r\nTo: support@example.com\r\nSubject: Undelivered Mail\r\n"
        "Message-ID: <dsn-1@mx.docomo.ne.jp>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.docomo.ne.jp\r\n\r\n"
        "Final-Recipient: rfc822; hanako@docomo.ne.jp\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--B\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: {original_id}\r\nSubject: x\r\n\r\nbody\r\n"
        "--B--\r\n").encode()


def test_inbound_mail_stored_by_ses_in_s3_is_ingested_on_the_event(client, agents, mail_env):
    raw = make_mail(subject="S3 経由", message_id="<s3-1@example.jp>")
    key = "inbound/email/abc123"
    boto3.client("s3", region_name=REGION).put_object(Bucket=mail_env["bucket"], Key=key, Body=raw)
    event = client.events.generate_cw_event(
        source="aws.s3", detail_type="Object Created", resources=[],
        detail={"bucket": {"name": mail_env["bucket"]}, "object": {"key": key, "size": len(raw)}}, region=REGION)
    resp = client.lambda_.invoke("email_inbound", event)
    assert len(resp.payload["tickets"]) == 1
    ticket = _ticket(client, resp.payload["tickets"][0])
    assert ticket["subject"] == "S3 経由"
    assert ticket["timeline"][0]["data"]["raw_ref"] == key
    again = client.lambda_.invoke("email_inbound", event)
    assert again.payload["tickets"] == resp.payload["tickets"]
    assert len(_all_tickets(client)) == 1
    foreign = client.events.generate_cw_event(
        source="aws.s3", detail_type="Object Created", resources=[],
        detail={"bucket": {"name": "someone-else"}, "object": {"key": key}}, region=REGION)
    assert client.lambda_.invoke("email_inbound", foreign).payload["skipped"] == [key]


def test_form_customers_get_email_replies(client, agents, mail_env):
    from tests.functional.conftest import form_json, sample_form

    number = client.http.post("/webhooks/form", **form_json(sample_form())).json_body["results"][0]["ticket_id"]
    assert not [m for m in sent_mail() if "hanako.yamada@example.jp" in m.destinations]  # not inside the answer
    (queued,) = [i for i in outbox.list_state("pending")[0] if i.ticket_id == number]
    assert queued.target == "auto_reply:form" and queued.recipient == "hanako.yamada@example.jp"
    assert run_dispatch(client)["sent"] == 1  # the dispatch job (every minute) delivers it
    acks = [m for m in sent_mail() if "hanako.yamada@example.jp" in m.destinations]
    assert len(acks) == 1
    assert outbox.get(queued.outbox_id).outbox_state == "sent"
    (out,) = [e for e in _ticket(client, number)["timeline"] if e["type"] == "message_out"]
    assert out["data"]["auto_reply"] and out["data"]["outbox_id"] == queued.outbox_id
    ack = email.message_from_bytes(acks[0].raw_data.encode(), policy=policy.default)
    assert ack["Auto-Submitted"] == "auto-replied"
    assert f"[#{number}]" in ack["Subject"]


@pytest.mark.parametrize("kind", ["complaint"])
def test_complaint_also_counts_as_a_delivery_failure(client, agents, mail_env, kind):
    number = _ingest(client, make_mail(subject="件名"))["results"][0]["ticket_id"]
    ses_id = _agent_reply(client, number, "山田様\n\nご連絡です。")["provider_message_id"]
    event = client.events.generate_sns_event(message=ses_notification(kind, ses_id))
    assert client.lambda_.invoke("email_feedback", event).payload["ticket_id"] == number
    failures = [e for e in _ticket(client, number)["timeline"] if e["type"] == "delivery_failed"]
    assert failures[0]["data"]["kind"] == "complaint"


def test_record_sent_makes_replies_to_any_outbound_mail_thread(client, agents, mail_env):
    from datetime import datetime, timezone

    from chalicelib.domain import OutboundMessage
    from chalicelib.plugin_manager import get_plugin_manager
    from chalicelib.secrets import get_secret
    from chalicelib.services.outbound import record_sent

    number = _ingest(client, make_mail(subject="問い合わせ"))["results"][0]["ticket_id"]
    msg = OutboundMessage(ticket_id=number, channel="email", to="hanako@example.jp", subject="お知らせ",
                          body_text="ご案内です。", metadata={"auto_reply": True})
    result = get_plugin_manager().hook.helpdesk_send_message(message=msg, get_secret=get_secret)
    ids = record_sent(number, result, datetime.now(timezone.utc), msg)
    assert f"<{result.provider_message_id}@{REGION}.amazonses.com>" in ids
    reply = _ingest(client, make_mail(sender="other@example.jp", subject="無関係な件名", headers={
        "References": f"<zzz@example.jp> <{result.provider_message_id}@{REGION}.amazonses.com>"}))
    assert reply["results"][0]["ticket_id"] == number


def test_acknowledgement_threads_under_the_customers_mail_and_its_reply_joins_the_ticket(client, agents, mail_env):
    first = _ingest(client, make_mail(subject="配送について", message_id="<orig-1@example.jp>"))["results"][0]
    assert not [m for m in sent_mail() if "orig-1@example.jp" in m.raw_data]
    run_dispatch(client)
    (ack,) = [m for m in sent_mail() if "orig-1@example.jp" in m.raw_data]
    parsed = email.message_from_string(ack.raw_data, policy=policy.default)
    assert parsed["In-Reply-To"] == "<orig-1@example.jp>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    # The customer answers the acknowledgement: it lands in the same ticket through the id SES gave it.
    ses_id = f"<{ack.id}@{REGION}.amazonses.com>"
    answer = make_mail(subject="Re: お問い合わせを受け付けました", body="追加の質問です",
                       headers={"In-Reply-To": ses_id, "References": ses_id})
    assert _ingest(client, answer)["results"][0]["ticket_id"] == first["ticket_id"]

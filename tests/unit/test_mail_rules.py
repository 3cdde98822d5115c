"""Quote/signature splitting, loop and bounce classification, carriers, outbound MIME, SES feedback."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest

from chalicelib.domain import SendResult
from chalicelib.mail.carriers import CARRIER_DOMAINS, carrier_of, is_carrier_address
from chalicelib.mail.classify import classify
from chalicelib.mail.compose import build_reply, thread_headers
from chalicelib.mail.feedback import parse_ses_notification
from chalicelib.mail.parse import parse_mail
from chalicelib.mail.quotes import split_reply
from chalicelib.mail.refs import expand_references, outbound_refs, routed_ticket, ses_message_ids, subject_token
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("no_tracebacks")  # the mail suite logs no exception

JA_REPLY = """山田です。
届きました、ありがとうございます。

━━━━━━━━━━━━
山田 花子
株式会社テスト TEL 03-0000-0000
━━━━━━━━━━━━

2026年1月9日(金) 16:00 山田 <x@y.jp>:
> お問い合わせありがとうございます。
"""


@pytest.mark.parametrize(("text", "new", "quoted_start", "signature_start"), [
    (JA_REPLY, "山田です。\n届きました、ありがとうございます。", "2026年1月9日(金) 16:00 山田 <x@y.jp>:", "━━━"),
    ("Thanks, it works.\n\nOn Fri, Jan 9, 2026 at 4:00 PM Support <s@example.com>\nwrote:\n> hello\n",
     "Thanks, it works.", "On Fri, Jan 9", ""),
    ("Thanks!\n\n-- \nBob\n", "Thanks!", "", "-- "),
    ("了解です\niPhoneから送信", "了解です", "", "iPhoneから送信"),
    ("返信です\n\n-----Original Message-----\nFrom: a\nSent: b\n", "返信です", "-----Original Message-----", ""),
    ("ありがとうございます。\n\n差出人: サポート <s@example.com>\n送信日時: 2026年1月9日 16:00\n件名: Re: 注文\n本文",
     "ありがとうございます。", "差出人: サポート", ""),
    ("> question?\nanswer.\n> q2\na2", "> question?\nanswer.\n> q2\na2", "", ""),  # inline answers are kept
    ("新しい質問です。\n\n> 以前の回答\n> です\n", "新しい質問です。", "> 以前の回答", ""),
])
def test_split_reply_separates_new_text_quotes_and_signatures(text, new, quoted_start, signature_start):
    parts = split_reply(text)
    assert parts.new_text == new
    assert parts.quoted.startswith(quoted_start) and bool(parts.quoted) == bool(quoted_start)
    assert parts.signature.startswith(signature_start) and bool(parts.signature) == bool(signature_start)


def _mail(headers: str, body: str = "hello", ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (f"From: a@example.jp\r\nTo: support@example.com\r\nSubject: hi\r\nMessage-ID: <m@x>\r\n{headers}"
            f"Content-Type: {ctype}\r\n\r\n{body}").encode()


@pytest.mark.parametrize(("headers", "kind"), [
    ("", "message"),
    ("Auto-Submitted: no\r\n", "message"),
    ("Auto-Submitted: auto-replied\r\n", "auto_reply"),
    ("Auto-Submitted: auto-generated (warning)\r\n", "auto_reply"),
    ("Precedence: bulk\r\n", "bulk"),
    ("Precedence: junk\r\n", "bulk"),
    ("Precedence: list\r\n", "bulk"),
    ("Precedence: auto_reply\r\n", "auto_reply"),
    ("X-Autoreply: yes\r\n", "auto_reply"),
    ("X-Autorespond: yes\r\n", "auto_reply"),
])
def test_loop_control_headers(headers, kind):
    assert classify(parse_mail(_mail(headers))).kind == kind


def _subject(subject: str) -> bytes:
    return _mail("").replace(b"Subject: hi", f"Subject: {subject}".encode())


def test_auto_reply_subject_and_daemon_senders():
    assert classify(parse_mail(_subject("自動応答: 不在です"))).kind == "auto_reply"
    assert classify(parse_mail(_subject("自動返信メールが来ません"))).kind == "message"
    daemon = _mail("").replace(b"From: a@example.jp", b"From: MAILER-DAEMON@mx.example.jp").replace(
        b"Subject: hi", b"Subject: Undelivered Mail Returned to Sender")
    assert classify(parse_mail(daemon)).kind == "bounce"


def test_delivery_status_report_yields_original_id_and_recipients():
    body = ("--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            "Final-Recipient: rfc822; hanako@docomo.ne.jp\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 unknown user\r\n\r\n"
            "--B\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <orig@ap-northeast-1.amazonses.com>\r\n\r\nx\r\n"
            "--B--\r\n")
    result = classify(parse_mail(_mail("", body, 'multipart/report; report-type=delivery-status; boundary="B"')))
    assert result.kind == "bounce" and result.automatic
    assert result.original_message_ids[0] == "<orig@ap-northeast-1.amazonses.com>"
    assert result.recipients[0].to_dict() == {"address": "hanako@docomo.ne.jp", "action": "failed",
                                               "status": "5.1.1", "diagnostic": "smtp; 550 unknown user"}


@pytest.mark.parametrize(("address", "carrier"), [
    ("hanako@docomo.ne.jp", "docomo"), ("x@ezweb.ne.jp", "au"), ("x@biz.ezweb.ne.jp", "au"), ("x@au.com", "au"),
    ("x@softbank.ne.jp", "softbank"), ("x@i.softbank.jp", "softbank"), ("x@d.vodafone.ne.jp", "softbank"),
    ("x@disney.ne.jp", "softbank"), ("x@ymobile.ne.jp", "ymobile"), ("x@wm.pdx.ne.jp", "willcom"),
    ("x@rakumail.jp", "rakuten"), ("X@DOCOMO.NE.JP", "docomo"),
    ("x@gmail.com", None), ("x@notdocomo.ne.jp", None), ("x@softbank.jp", None), ("x@rakuten.jp", None), ("", None),
])
def test_carrier_domains(address, carrier):
    assert carrier_of(address) == carrier
    assert is_carrier_address(address) is (carrier is not None)


def test_carrier_tag_rule_matches_exactly_the_carrier_domains():
    rule = json.loads((ROOT / "rules" / "tag-carrier-mail.json").read_text())
    pattern = rule["condition"]["properties"]["customer"]["properties"]["email"]["pattern"]
    for domain in CARRIER_DOMAINS:
        assert re.search(pattern, f"someone@{domain}") and re.search(pattern, f"someone@sub.{domain}"), domain
    for other in ("x@gmail.com", "x@notdocomo.ne.jp", "x@docomo.ne.jp.evil.com"):
        assert not re.search(pattern, other)


def test_references_tokens_and_routing():
    assert expand_references(["<a@b>", "<0106abc-000000@ap-northeast-1.amazonses.com>"]) == (
        "<a@b>", "<0106abc-000000@ap-northeast-1.amazonses.com>", "0106abc-000000")
    assert ses_message_ids("X", "us-east-1") == ["<X@email.amazonses.com>", "<X@us-east-1.amazonses.com>"]
    assert ses_message_ids("X", "ap-northeast-1") == ["<X@ap-northeast-1.amazonses.com>"]
    assert subject_token("Re: [#1234] 注文") == 1234 and subject_token("注文") is None
    assert routed_ticket(["support+77@reply.example.com"], "reply.example.com") == 77
    assert routed_ticket(["support+77@other.example.com"], "reply.example.com") is None
    result = SendResult("ses-1", {"message_ids": ["<ours@x>", "<ses-1@ap-northeast-1.amazonses.com>"]})
    assert outbound_refs(result) == ["ses-1", "<ours@x>", "<ses-1@ap-northeast-1.amazonses.com>"]


def test_outbound_mime_threads_routes_and_marks_auto_replies():
    refs = ["<c1@cust.jp>", "ses-1", "<ses-1@ap-northeast-1.amazonses.com>", "<ours@reply.example.com>",
            "<c2-with-a-very-long-local-part-0123456789-0123456789@cust.jp>"]
    composed = build_reply(from_addr="support@example.com", from_name="サポート", to="hanako@docomo.ne.jp",
                           subject="Re: 注文の件", body_text="山田様\n\n" + "長い行" * 400, ticket_id=12,
                           now=datetime(2026, 1, 13, tzinfo=timezone.utc), reply_domain="reply.example.com",
                           references=refs, auto_reply=True)
    msg = message_from_bytes(composed.raw, policy=policy.default)
    assert msg["Subject"] == "[#12] Re: 注文の件"
    assert msg["Reply-To"] == "support+12@reply.example.com"
    assert msg["In-Reply-To"] == "<c2-with-a-very-long-local-part-0123456789-0123456789@cust.jp>"
    assert msg["References"].split() == [refs[0], refs[2], refs[4]]
    assert b"=?utf-8?q?=3C" not in composed.raw  # ids are never encoded words
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_body(("plain",)).get_content().startswith("山田様")
    assert composed.message_id.endswith("@reply.example.com>")
    assert thread_headers([], None) == (None, [])


def test_ses_notifications_parse():
    doc = json.loads((ROOT / "tests" / "events" / "ses_bounce_notification.json").read_text())
    doc["mail"]["messageId"] = "ses-1"
    fb = parse_ses_notification(json.dumps(doc))
    assert fb.kind == "bounce" and fb.ses_message_id == "ses-1" and fb.detail_type == "Permanent/General"
    assert fb.recipients[0].status == "5.1.1"
    event_publishing = {**doc, "eventType": "Bounce"}
    del event_publishing["notificationType"]
    assert parse_ses_notification(event_publishing).kind == "bounce"
    assert parse_ses_notification({"notificationType": "Delivery", "mail": {}}) is None

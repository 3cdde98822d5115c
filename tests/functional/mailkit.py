"""Helpers for email-channel tests: secrets and SES identity in moto, posting raw mail, reading what SES sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT

EMAIL_SECRET = "test-email-secret"
SUPPORT = "support@example.com"
REPLY_DOMAIN = "reply.example.com"
REGION = "ap-northeast-1"
EVENTS = ROOT / "tests" / "events"


@pytest.fixture
def mail_env(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The email channel configured against moto: webhook secret, a verified sender domain."""
    import plugins.channel_email as channel

    monkeypatch.setenv("EMAIL_WEBHOOK_SECRET", EMAIL_SECRET)
    monkeypatch.setenv("EMAIL_FROM", f"サポート <{SUPPORT}>")
    monkeypatch.setenv("EMAIL_REPLY_DOMAIN", REPLY_DOMAIN)
    channel.reset_clients()
    boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="example.com")
    yield aws


def post_mail(client: Any, raw: bytes, secret: str | None = EMAIL_SECRET,
              content_type: str = "message/rfc822") -> Any:
    """POST a raw message to /webhooks/email."""
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers["X-Email-Secret"] = secret
    return client.http.post("/webhooks/email", headers=headers, body=raw)


def sent_mail() -> list[Any]:
    """Every message moto's SES accepted in this account (RawMessage objects: id, raw_data)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def make_mail(*, sender: str = "山田 花子 <hanako@example.jp>", to: str = SUPPORT, subject: str = "注文の件",
              body: str = "注文 A-1001 が届きません。", message_id: str | None = None, charset: str = "utf-8",
              headers: dict[str, str] | None = None) -> bytes:
    """A realistic raw message (``charset`` iso-2022-jp / shift_jis for Japanese phone mail)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(__import__("datetime").datetime(2026, 1, 13, 10, 0))
    msg["Message-ID"] = message_id or make_msgid(domain="example.jp")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, charset=charset)
    return msg.as_bytes()


def ses_notification(kind: str, ses_id: str) -> str:
    """An SES bounce notification (tests/events) for ``ses_id``, as the SNS message text."""
    doc = json.loads((EVENTS / "ses_bounce_notification.json").read_text())
    doc["mail"]["messageId"] = ses_id
    if kind == "complaint":
        doc["notificationType"] = "Complaint"
        doc["complaint"] = {"complainedRecipients": [{"emailAddress": "hanako@docomo.ne.jp"}],
                            "complaintFeedbackType": "abuse", "feedbackId": "c-1", "timestamp": "2026-01-13T02:00:05Z"}
        del doc["bounce"]
    return json.dumps(doc, ensure_ascii=False)


def corpus_files() -> list[Path]:
    """The shared real-world mail corpus."""
    root = ROOT.parent / "shared" / "corpus" / "email"
    return sorted(root.rglob("*.eml"))

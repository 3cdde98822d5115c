"""The user-facing paths of issue 15, each run once through ``chalice.test.Client`` with its AWS
requests counted at the client (``bench.requests_count``). Shared by ``bench/bench_paths.py`` and
``tests/functional/test_request_counts.py``, so the benchmark and the test measure the same thing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from bench.requests_count import Requests, count_requests

FORM_SECRET = "bench-form-secret"
EMAIL_SECRET = "bench-email-secret"
TOKEN = "bench-agent-token"
SUPPORT = "support@example.com"
REGION = "ap-northeast-1"
JSON = {"Content-Type": "application/json"}

TARGETS = {
    "form ingest, new ticket": 4,
    "email joining a ticket": 4,
    "agent reply": 6,
    "PATCH assignee": 5,
    "agent request auth (warm)": 0,
}
"""DynamoDB requests allowed inside the HTTP answer (issue 15); auth: GetItem on a warm container."""


def form_fields(n: int) -> dict[str, str]:
    """A realistic Japanese form inquiry from customer ``n``."""
    return {"name": "山田 花子", "email": f"hanako{n}@example.jp", "subject": "クーポンが適用されません",
            "body": "注文番号 A-1001 でクーポンを入力しましたが割引されませんでした。", "category": "billing"}


def post_form(client: Any, fields: dict[str, str]) -> Any:
    """POST a JSON form delivery with the shared secret."""
    return client.http.post("/webhooks/form", headers={**JSON, "X-Form-Secret": FORM_SECRET},
                            body=json.dumps(fields, ensure_ascii=False))


def mail(message_id: str, *, in_reply_to: str | None = None, sender: str = "山田 花子 <hanako@example.jp>") -> bytes:
    """A plain Japanese customer mail."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, SUPPORT, "注文の件"
    msg["Date"] = "Tue, 13 Jan 2026 10:00:00 +0900"
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content("注文 A-1001 が届きません。")
    return msg.as_bytes()


def post_mail(client: Any, raw: bytes) -> Any:
    """POST a raw mail to the email channel's webhook."""
    return client.http.post("/webhooks/email", headers={"Content-Type": "message/rfc822",
                                                        "X-Email-Secret": EMAIL_SECRET}, body=raw)


def _counted(fn: Callable[[], Any], expect: tuple[int, ...]) -> Requests:
    with count_requests() as tally:
        resp = fn()
    assert resp.status_code in expect, (resp.status_code, resp.body)
    return tally


def form_new_ticket(client: Any) -> Requests:
    """A web-form inquiry from a new customer: the webhook answer's requests."""
    post_form(client, form_fields(0))  # warm: rules, templates, plugins, clients
    return _counted(lambda: post_form(client, form_fields(1)), (201,))


def email_joins_ticket(client: Any) -> Requests:
    """A customer's second mail, In-Reply-To their first: joins its ticket."""
    post_mail(client, mail("<warm-1@example.jp>", sender="Warm <warm@example.jp>"))
    first = post_mail(client, mail("<m1@example.jp>"))
    assert first.status_code == 201, first.body
    second = _counted(lambda: post_mail(client, mail("<m2@example.jp>", in_reply_to="<m1@example.jp>")), (201,))
    assert post_mail(client, mail("<m3@example.jp>", in_reply_to="<m1@example.jp>")).json_body["results"][0][
        "ticket_id"] == first.json_body["results"][0]["ticket_id"]
    return second


def _new_form_ticket(client: Any, n: int) -> tuple[int, str]:
    resp = post_form(client, form_fields(n))
    assert resp.status_code == 201, resp.body
    result = resp.json_body["results"][0]
    return result["ticket_id"], result["event_id"]


def agent_reply(client: Any) -> Requests:
    """An agent's reply to a form ticket (sent by email): the reply request's requests."""
    headers = {**JSON, "Authorization": f"Bearer {TOKEN}"}
    warm, warm_seen = _new_form_ticket(client, 10)
    client.http.post(f"/tickets/{warm}/replies", headers=headers,
                     body=json.dumps({"body": "山田様\n\nお待たせしました。", "last_seen_event_id": warm_seen}))
    number, seen = _new_form_ticket(client, 11)
    body = json.dumps({"body": "山田様\n\nご連絡ありがとうございます。確認いたします。", "last_seen_event_id": seen})
    return _counted(lambda: client.http.post(f"/tickets/{number}/replies", headers=headers, body=body), (201,))


def patch_assignee(client: Any) -> Requests:
    """PATCH a ticket's assignee (the notify-new-assignee rule mails the agent)."""
    headers = {**JSON, "Authorization": f"Bearer {TOKEN}"}
    warm, _ = _new_form_ticket(client, 20)
    client.http.patch(f"/tickets/{warm}", headers=headers, body=json.dumps({"assignee": "tanaka"}))
    number, _ = _new_form_ticket(client, 21)
    return _counted(lambda: client.http.patch(f"/tickets/{number}", headers=headers,
                                              body=json.dumps({"assignee": "tanaka"})), (200,))


def warm_auth(client: Any) -> Requests:
    """``GET /me`` on a warm container (the agent already authenticated once)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.http.get("/me", headers=headers).status_code == 200
    return _counted(lambda: client.http.get("/me", headers=headers), (200,))


PATHS: dict[str, Callable[[Any], Requests]] = {
    "form ingest, new ticket": form_new_ticket,
    "email joining a ticket": email_joins_ticket,
    "agent reply": agent_reply,
    "PATCH assignee": patch_assignee,
    "agent request auth (warm)": warm_auth,
}


@contextmanager
def stack() -> Iterator[Any]:
    """A fresh moto account with the service's table, bucket, SES identity, secrets and two agents;
    yields a ``chalice.test.Client`` over the app."""
    import os
    from datetime import datetime, timezone

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from bench import aws_env

    env = aws_env.fake_aws_env(FORM_WEBHOOK_SECRET=FORM_SECRET, EMAIL_WEBHOOK_SECRET=EMAIL_SECRET,
                               EMAIL_FROM=f"サポート <{SUPPORT}>", EMAIL_REPLY_DOMAIN="reply.example.com",
                               NOTIFY_EMAIL_FROM="helpdesk@example.com",
                               # deployed, a webhook hands its queued mail to the worker with one
                               # asynchronous lambda:Invoke (no DynamoDB request); locally that is a
                               # thread whose requests would land in the count
                               NOTIFY_AFTER_INGEST="0")
    with mock_aws():
        import plugins.channel_email as channel
        from app import app
        from chalicelib.store import agents, auth, raw, schema

        raw.reset_clients()
        auth.forget()
        channel.reset_clients()
        schema.create_table(boto3.client("dynamodb", region_name=REGION), env["HELPDESK_TABLE"])
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=env["HELPDESK_RAW_BUCKET"], CreateBucketConfiguration={"LocationConstraint": REGION})
        boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="example.com")
        now = datetime.now(timezone.utc)
        agents.upsert_agent("sato", name="Sato", email="sato@example.com", department="support",
                            role="supervisor")  # reassigns to tanaka: a supervisor's right
        agents.issue_token("sato", now, TOKEN)
        agents.upsert_agent("tanaka", name="Tanaka", email="tanaka@example.com", department="support")
        os.environ.setdefault("HELPDESK_AUTH_MODE", "token")
        with Client(app, project_dir=str(aws_env.ROOT)) as client:
            yield client


def measure_all() -> dict[str, Requests]:
    """Every path, each in a fresh account."""
    out = {}
    for name, fn in PATHS.items():
        with stack() as client:
            out[name] = fn(client)
    return out

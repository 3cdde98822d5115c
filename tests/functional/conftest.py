"""Functional tests: moto for every AWS call, requests through chalice.test.Client."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from infra.moto_standin import install_key_level_rollback
from tests.conftest import ROOT

FORM_SECRET = "test-form-secret"
AGENT_TOKEN = "test-agent-token"
OTHER_TOKEN = "test-other-token"


_moto_lock = threading.RLock()
_process_request = BotocoreStubber.process_request


def _atomic_process_request(self, request):
    # Real DynamoDB executes each request atomically; in-process moto is not
    # thread-safe (a transaction deep-copies tables other threads mutate).
    # One request at a time keeps that guarantee while threads still interleave
    # between requests, which is where the races under test live.
    with _moto_lock:
        return _process_request(self, request)


BotocoreStubber.process_request = _atomic_process_request
# The stand-in `make run` uses: a cancelled transaction rolls back its own keys. moto's own rollback
# deep-copies every table on every transaction (a test's cost grew with its table: 60 swept tickets
# took 118 s) and puts back a copy taken before the transaction, erasing writes made meanwhile.
install_key_level_rollback()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh moto account with the service table and raw bucket, as the stage config names them."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = config["environment_variables"]
    monkeypatch.setenv("HELPDESK_TABLE", env["HELPDESK_TABLE"])
    monkeypatch.setenv("HELPDESK_RAW_BUCKET", env["HELPDESK_RAW_BUCKET"])
    monkeypatch.setenv("FORM_WEBHOOK_SECRET", FORM_SECRET)
    # What a webhook queues is delivered by the dispatch schedule in tests (``run_dispatch``), not by a
    # background thread racing the test (test_ack_outbox turns the hand-off on where it is the subject).
    monkeypatch.setenv("NOTIFY_AFTER_INGEST", "0")
    with mock_aws():
        from chalicelib.store import auth, raw, schema

        raw.reset_clients()
        auth.forget()  # cached agents belong to the previous test's account
        region = "ap-northeast-1"
        schema.create_table(boto3.client("dynamodb", region_name=region), env["HELPDESK_TABLE"])
        boto3.client("s3", region_name=region).create_bucket(
            Bucket=env["HELPDESK_RAW_BUCKET"],
            CreateBucketConfiguration={"LocationConstraint": region},
        )
        try:
            yield {"table": env["HELPDESK_TABLE"], "bucket": env["HELPDESK_RAW_BUCKET"], "region": region}
        finally:
            from chalicelib import background

            background.wait(120)  # a queued job finishes inside this moto account, never outside it


@pytest.fixture
def agents(aws: dict[str, str]) -> dict[str, str]:
    """Two agents with bearer tokens: sato (support) and tanaka."""
    from chalicelib.store import agents as store

    now = datetime.now(timezone.utc)
    store.upsert_agent("sato", name="Sato", email="sato@example.com", department="support")
    store.issue_token("sato", now, AGENT_TOKEN)
    store.upsert_agent("tanaka", name="Tanaka", email="tanaka@example.com", department="support")
    store.issue_token("tanaka", now, OTHER_TOKEN)
    return {"sato": AGENT_TOKEN, "tanaka": OTHER_TOKEN}


@pytest.fixture
def client(aws: dict[str, str]) -> Iterator[Any]:
    """chalice.test.Client over the app with the real stage config."""
    from chalice.test import Client

    from app import app

    with Client(app, project_dir=str(ROOT)) as c:
        yield c


def run_dispatch(client: Any) -> dict[str, Any]:
    """Run the ``dispatch`` scheduled function once, as EventBridge does every minute: it delivers
    the outbox items ingest queued (acknowledgements, notifications). Returns its report."""
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=["arn:aws:events:ap-northeast-1:123456789012:rule/dispatch"])
    return client.lambda_.invoke("dispatch", event).payload


def make_supervisor(agent_id: str = "sato") -> None:
    """Give an agent of the ``agents`` fixture the supervisor role (reassign, merge, redrive, ...)."""
    from chalicelib.store import agents as store

    agent = store.get_agent(agent_id)
    store.upsert_agent(agent_id, name=agent.name, email=agent.email, role="supervisor", department=agent.department)


def auth(token: str = AGENT_TOKEN) -> dict[str, str]:
    """Authorization header for an agent."""
    return {"Authorization": f"Bearer {token}"}


def form_json(fields: dict[str, Any], secret: str | None = FORM_SECRET) -> dict[str, Any]:
    """Request kwargs for a JSON form delivery with the shared secret."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Form-Secret"] = secret
    return {"headers": headers, "body": json.dumps(fields, ensure_ascii=False)}


def form_urlencoded(fields: dict[str, str], secret: str = FORM_SECRET) -> dict[str, Any]:
    """Request kwargs for a URL-encoded form delivery signed with HMAC-SHA256."""
    body = urlencode(fields)
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Form-Signature": f"sha256={sig}"},
        "body": body,
    }


def sample_form(**over: Any) -> dict[str, Any]:
    """A realistic Japanese inquiry."""
    fields = {
        "name": "山田 花子",
        "email": "hanako.yamada@example.jp",
        "subject": "クーポンが適用されません",
        "body": "注文番号 A-1001 でクーポンを入力しましたが割引されませんでした。",
        "category": "billing",
    }
    fields.update(over)
    return fields


from tests.functional.browser_kit import browser  # noqa: E402, F401 - one Chromium per browser test module
from tests.functional.mailkit import mail_env  # noqa: E402, F401 - the email channel fixture, for every test
from tests.functional.signing import channel_secrets  # noqa: E402, F401 - every channel secret set, for every test

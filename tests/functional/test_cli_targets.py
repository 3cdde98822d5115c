"""The ``helpdesk`` command as an operator runs it, as a subprocess: against ``make run`` with one flag
(``--local``), and against a "deployed" stack found by its CloudFormation outputs (``--stage``) in a
moto server standing in for the account; plus the on-failure queue's list and redrive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import requests

from tests.conftest import ROOT
from tests.functional.stack_kit import free_port, running_stack

pytestmark = [pytest.mark.slow]
REGION = "ap-northeast-1"


def helpdesk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "chalicelib.cli", *args]
    print("$ helpdesk", " ".join(args))
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_"))}
    return {**env, **extra}


@pytest.mark.xdist_group("local_stack")
def test_local_flag_talks_to_make_run():
    with running_stack() as stack:
        moto_port = str(urlparse(stack.moto_url).port)
        done = helpdesk("--local", "agent", "add", "ops", "--name", "Ops", "--role", "admin",
                        env=clean_env(MOTO_PORT=moto_port))
        assert done.returncode == 0, done.stderr
        token = json.loads(done.stdout)["token"]
        me = requests.get(f"{stack.url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert me.status_code == 200 and me.json()["id"] == "ops"
        listing = helpdesk("--local", "outbox", "list", "--state", "sent", env=clean_env(MOTO_PORT=moto_port))
        assert listing.returncode == 0, listing.stderr


@pytest.fixture
def account() -> Iterator[dict[str, Any]]:
    """A moto server as "the AWS account": the stack helpdesk-prod with its outputs, its table and queue."""
    from moto.server import ThreadedMotoServer

    from chalicelib.store import schema

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    requests.post(f"{url}/moto-api/reset", timeout=30)  # moto's backends outlive a server in this process
    session = boto3.session.Session(aws_access_key_id="op", aws_secret_access_key="op", region_name=REGION)
    try:
        schema.create_table(session.client("dynamodb", endpoint_url=url), "helpdesk-prod")
        queue = session.client("sqs", endpoint_url=url).create_queue(QueueName="helpdesk-prod-async-failures")
        outputs = {"HelpdeskTableName": "helpdesk-prod", "HelpdeskRawBucketName": "helpdesk-prod-raw",
                   "AsyncFailureQueueUrl": queue["QueueUrl"]}
        template = {"Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
                    "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
        session.client("cloudformation", endpoint_url=url).create_stack(
            StackName="helpdesk-prod", TemplateBody=json.dumps(template))
        env = clean_env(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="op", AWS_SECRET_ACCESS_KEY="op",
                        AWS_REGION=REGION, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled")
        yield {"url": url, "env": env, "session": session, "queue": queue["QueueUrl"]}
    finally:
        server.stop()


def test_stage_flag_finds_the_stack_by_its_outputs(account):
    env = account["env"]
    added = helpdesk("--stage", "prod", "agent", "add", "sato", "--name", "Sato", "--email", "sato@example.com",
                     env=env)
    assert added.returncode == 0, added.stderr
    table = account["session"].client("dynamodb", endpoint_url=account["url"])
    assert table.scan(TableName="helpdesk-prod")["Count"] >= 1  # written to the stack's table, not "helpdesk"
    assert helpdesk("--stage", "prod", "outbox", "list", env=env).returncode == 0
    missing = helpdesk("--stage", "nope", "outbox", "list", env=env)
    assert missing.returncode == 2 and "helpdesk-nope" in missing.stderr


def _destination_record(function_arn: str, payload: dict[str, Any]) -> str:
    return json.dumps({"version": "1.0", "timestamp": "2026-12-01T09:00:00.000Z",
                       "requestContext": {"requestId": "r-1", "functionArn": f"{function_arn}:$LATEST",
                                          "condition": "RetriesExhausted", "approximateInvokeCount": 3},
                       "requestPayload": payload,
                       "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                       "responsePayload": {"errorMessage": "boom", "errorType": "RuntimeError"}})


def test_dlq_list_shows_failed_invocations_and_redrive_replays_them(account):
    sqs = account["session"].client("sqs", endpoint_url=account["url"])
    arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:helpdesk-prod-EmailInbound-x"
    event = {"source": "aws.s3", "detail": {"bucket": {"name": "helpdesk-prod-raw"},
                                            "object": {"key": "inbound/email/abc"}}}
    sqs.send_message(QueueUrl=account["queue"], MessageBody=_destination_record(arn, event))

    listed = helpdesk("--stage", "prod", "dlq", "list", env=account["env"])
    assert listed.returncode == 0, listed.stderr
    [record] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert record["function"].startswith(arn) and record["error"] == "boom" and record["event"] == event

    from chalicelib.cli import dlq

    invoked = []
    messages = dlq.receive(sqs, account["queue"], 10)
    done = dlq.redrive(sqs, account["queue"], messages, lambda fn, payload: invoked.append((fn, json.loads(payload))))
    assert done == [record["id"]]
    assert invoked == [(arn, event)]  # the function itself (no $LATEST qualifier), the original event
    assert sqs.receive_message(QueueUrl=account["queue"]).get("Messages") is None

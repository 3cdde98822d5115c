"""``helpdesk dlq list|redrive``: asynchronous invocations that failed after their retries.

Every scheduled and event function of the package template sends a failed invocation (after
2 retries) to the stack's on-failure queue (output ``AsyncFailureQueueUrl``, ``HELPDESK_DLQ_URL``).
Each message is Lambda's destination record: the function's ARN, the error and the original
event (``requestPayload``). ``redrive`` invokes that function again with that event
(asynchronously, as the first time) and deletes the message; the handlers are idempotent
(conditional writes), so a redriven mail or sweep never makes a second ticket or firing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

Invoke = Callable[[str, bytes], Any]


def register(sub: Any) -> None:
    """``dlq list [--max N]`` and ``dlq redrive (--all | MESSAGE_ID...)``."""
    dlq = sub.add_parser("dlq", help="failed asynchronous invocations (the stack's on-failure queue)")
    cmds = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = cmds.add_parser("list", help="one JSON line per failed invocation (function, error, event)")
    listing.add_argument("--max", type=int, default=50)
    listing.set_defaults(func=_cmd_list)
    redrive = cmds.add_parser("redrive", help="invoke the function again with the original event, then delete")
    redrive.add_argument("ids", nargs="*", help="message ids from `dlq list`")
    redrive.add_argument("--all", action="store_true", help="every message in the queue")
    redrive.add_argument("--max", type=int, default=50)
    redrive.set_defaults(func=_cmd_redrive)


def _queue_url() -> str:
    url = os.environ.get("HELPDESK_DLQ_URL")
    if not url:
        raise SystemExit("no queue: use --stage/--stack (reads AsyncFailureQueueUrl) or set HELPDESK_DLQ_URL")
    return url


def receive(sqs: Any, url: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` messages, made invisible for 5 minutes while we look at them."""
    got: list[dict[str, Any]] = []
    while len(got) < limit:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(got)),
                                    VisibilityTimeout=300, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        got += batch
    return got


def summary(message: dict[str, Any]) -> dict[str, Any]:
    """The parts of a destination record an operator needs."""
    try:
        record = json.loads(message["Body"])
    except ValueError:
        record = {}
    ctx, resp = record.get("requestContext") or {}, record.get("responsePayload") or {}
    return {"id": message["MessageId"], "function": ctx.get("functionArn"), "condition": ctx.get("condition"),
            "attempts": ctx.get("approximateInvokeCount"), "failed_at": record.get("timestamp"),
            "error": resp.get("errorMessage") if isinstance(resp, dict) else resp,
            "event": record.get("requestPayload")}


def redrive(sqs: Any, url: str, messages: list[dict[str, Any]], invoke: Invoke) -> list[str]:
    """Invoke each record's function with its original event, then delete the message; the ids redriven."""
    done = []
    for message in messages:
        info = summary(message)
        if not info["function"] or info["event"] is None:
            print(f"{info['id']}: not a Lambda destination record; left in the queue", file=sys.stderr)
            continue
        function = info["function"].rsplit(":", 1)[0] if info["function"].count(":") > 6 else info["function"]
        invoke(function, json.dumps(info["event"]).encode())
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        done.append(info["id"])
    return done


def _lambda_invoke() -> Invoke:
    import boto3

    client = boto3.client("lambda")
    return lambda function, payload: client.invoke(FunctionName=function, InvocationType="Event", Payload=payload)


def _cmd_list(args: argparse.Namespace) -> int:
    import boto3

    sqs, url = boto3.client("sqs"), _queue_url()
    messages = receive(sqs, url, args.max)
    for message in messages:
        print(json.dumps(summary(message), ensure_ascii=False, default=str))
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    print(f"{len(messages)} failed invocation(s)", file=sys.stderr)
    return 0


def _cmd_redrive(args: argparse.Namespace, invoke: Invoke | None = None) -> int:
    import boto3

    if not args.all and not args.ids:
        raise SystemExit("name message ids (from `helpdesk dlq list`) or --all")
    sqs, url = boto3.client("sqs"), _queue_url()
    messages = receive(sqs, url, args.max if args.all else max(args.max, 1000))
    chosen = messages if args.all else [m for m in messages if m["MessageId"] in set(args.ids)]
    for message in messages:
        if message not in chosen:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    done = redrive(sqs, url, chosen, invoke or _lambda_invoke())
    print(json.dumps({"redriven": done}))
    missing = set(args.ids) - set(done)
    return 1 if missing else 0

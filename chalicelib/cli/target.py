"""Which stack a CLI command talks to: the environment as it is, ``make run``'s local stand-in
(``--local``), or a deployed stack found by its CloudFormation outputs (``--stage``/``--stack``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import MutableMapping
from typing import Any

LOCAL_MOTO_PORT = 5050
STACK_OUTPUT_ENV = {
    "HelpdeskTableName": "HELPDESK_TABLE",
    "HelpdeskRawBucketName": "HELPDESK_RAW_BUCKET",
}
"""Stack outputs the commands need, and the environment variable each becomes."""
OPTIONAL_OUTPUT_ENV = {"AsyncFailureQueueUrl": "HELPDESK_DLQ_URL"}


class TargetError(RuntimeError):
    """The target stack could not be found or is incomplete (the message says what to do)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The global flags choosing the target."""
    group = parser.add_argument_group("target (commands that read or write the table)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true",
                       help="the stack `make run` started on this machine (moto on 127.0.0.1:$MOTO_PORT, 5050)")
    where.add_argument("--stage", help="a deployed stack helpdesk-<STAGE>, with your AWS credentials")
    where.add_argument("--stack", help="a deployed stack by its CloudFormation name")
    group.add_argument("--region", help="AWS region of the stack (default: AWS_REGION / your profile)")


def local_environment(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Point boto3 and pynamodb at ``make run``'s moto server (fake credentials, nothing reaches AWS)."""
    port = environ.get("MOTO_PORT") or str(LOCAL_MOTO_PORT)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
    values = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "localAccessKey",
        "AWS_SECRET_ACCESS_KEY": "localSecretKey",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        environ.pop(name, None)
    environ.update(values)
    return values


def stack_environment(stack: str, region: str | None, environ: MutableMapping[str, str]) -> dict[str, str]:
    """Read the stack's outputs with the caller's credentials and set the variables the commands read."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    region = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:  # boto3 reads AWS_DEFAULT_REGION; pynamodb and our settings AWS_REGION
        environ["AWS_REGION"] = environ["AWS_DEFAULT_REGION"] = region
    try:
        client = boto3.session.Session(region_name=region).client("cloudformation")
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        raise TargetError(f"cannot read stack {stack!r}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = sorted(set(STACK_OUTPUT_ENV) - set(outputs))
    if missing:
        raise TargetError(f"stack {stack!r} has no outputs {missing}: is it a helpdesk stack (make deploy)?")
    values = {env: outputs[key] for key, env in STACK_OUTPUT_ENV.items()}
    values.update({env: outputs[key] for key, env in OPTIONAL_OUTPUT_ENV.items() if key in outputs})
    values["AWS_REGION"] = environ.get("AWS_REGION") or client.meta.region_name
    environ.update(values)
    return values


def apply(args: argparse.Namespace, environ: MutableMapping[str, str] | None = None) -> dict[str, Any]:
    """Set up the environment for ``args``' target; returns what was set (empty: the environment as is)."""
    environ = os.environ if environ is None else environ
    if args.local:
        return local_environment(environ)
    if args.stage or args.stack:
        return stack_environment(args.stack or f"helpdesk-{args.stage}", args.region, environ)
    if args.region:
        environ["AWS_REGION"] = environ["AWS_DEFAULT_REGION"] = args.region
    return {}

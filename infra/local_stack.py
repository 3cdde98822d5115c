"""The whole service on this machine, in one command: ``python -m infra.local_stack`` (``make run``).

1. Forces a safe AWS environment (fake credentials, no profile, no real endpoint).
2. Starts moto's server on 127.0.0.1:$MOTO_PORT (5050) and points every boto3 and
   pynamodb client at it with ``AWS_ENDPOINT_URL``.
3. Applies the stage's ``environment_variables`` from ``.chalice/config.json``
   (stage ``$STAGE``, default ``dev``), as a deployment would, then creates the
   table and the raw bucket those settings name.
4. Sets the form secret (``$FORM_WEBHOOK_SECRET`` or random) and the agent
   ``local`` with token ``$LOCAL_AGENT_TOKEN`` (or random).
5. Serves the API with Chalice's local server on http://127.0.0.1:$PORT (8000),
   runs every ``@app.schedule`` function at its schedule (and once at start-up),
   verifies the SES sender and sends Slack/webhook notifications to a local sink
   (``infra.notify_sink``),
   prints a banner and the line ``READY <url>``; SIGINT/SIGTERM stop it cleanly.

moto keeps everything in memory: each run starts empty.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import signal
import socket
import sys
import threading
from collections.abc import MutableMapping
from datetime import datetime, timezone
from types import FrameType
from typing import Any

from infra import notify_sink
from infra.scheduler import ScheduledJob, ScheduleRunner, discover_schedules

HOST = "127.0.0.1"
DEFAULT_REGION = "ap-northeast-1"
AGENT_ID = "local"
LOG = logging.getLogger("infra.local_stack")


class StartupError(RuntimeError):
    """A problem the user must fix before the stack can start (message says how)."""


def force_safe_env(environ: MutableMapping[str, str]) -> str:
    """Fake credentials, a region, nothing that could reach real AWS. Returns the region."""
    for name in list(environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in (
            "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
            "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        ):
            del environ[name]
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    environ.update(
        AWS_ACCESS_KEY_ID="localAccessKey",
        AWS_SECRET_ACCESS_KEY="localSecretKey",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return region


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StartupError(f"{name}={raw!r} is not a TCP port")
    return int(raw)


def ensure_port_free(port: int, what: str, env_name: str) -> None:
    """Fail with a clear message if something already listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise StartupError(
                f"{what} port {HOST}:{port} is taken ({exc.strerror}); stop whatever uses it or set {env_name}=<port>"
            ) from exc


def start_moto(port: int) -> Any:
    """moto's server on 127.0.0.1:port (never 0.0.0.0); bounded wait for it to listen."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    starter = threading.Thread(target=server.start, name="moto-start", daemon=True)
    starter.start()
    starter.join(30)  # start() waits forever if the bind fails inside moto's thread
    if starter.is_alive():
        raise StartupError(f"moto server did not start on {HOST}:{port}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access line per AWS call otherwise
    return server


def load_config(stage: str) -> Any:
    """The Chalice ``Config`` for the stage, built as ``chalice local`` builds it."""
    from chalice.cli.factory import CLIFactory

    from chalicelib.settings import APP_ROOT

    factory = CLIFactory(str(APP_ROOT), environ={})  # we apply the stage env ourselves
    config = factory.create_config_obj(chalice_stage_name=stage)
    stages = factory.load_project_config().get("stages", {})
    if stage not in stages:
        raise StartupError(f"stage {stage!r} is not in .chalice/config.json (stages: {', '.join(stages)})")
    return config


def apply_stage_env(config: Any, environ: MutableMapping[str, str]) -> dict[str, str]:
    """Put the stage's environment variables into ``environ``; skip unresolved template values."""
    applied = {}
    for name, value in config.environment_variables.items():
        if not isinstance(value, str) or "${" in value or "{{" in value:
            LOG.warning("%s=%r is not a plain value here; using the code default", name, value)
            environ.pop(name, None)
            continue
        environ[name] = applied[name] = value
    return applied


def create_resources(table: str, bucket: str, region: str) -> None:
    """The service table (with TTL) and the raw-payload bucket, in moto."""
    import boto3

    from chalicelib.store import schema

    session = boto3.session.Session(region_name=region)
    schema.create_table(session.client("dynamodb"), table)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    session.client("s3").create_bucket(Bucket=bucket, **extra)


def seed_agent(token: str) -> None:
    """The admin agent ``local`` holding ``token``."""
    from chalicelib.store import agents

    agents.upsert_agent(AGENT_ID, name="Local Agent", role="admin", email="local-agent@example.com")
    agents.issue_token(AGENT_ID, datetime.now(timezone.utc), token)


def start_http(app: Any, config: Any, port: int) -> tuple[Any, threading.Thread]:
    """Chalice's local server (threaded: one thread per connection) serving in a daemon thread."""
    from chalice.deploy.validate import validate_routes
    from chalice.local import create_local_server

    validate_routes(app.routes)
    try:
        server = create_local_server(app, config, HOST, port)
    except OSError as exc:
        raise StartupError(f"API port {HOST}:{port} is taken ({exc.strerror}); set PORT=<port>") from exc
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
    thread.start()
    return server, thread


def banner(url: str, moto_url: str, stage: str, token: str, secret: str, table: str, bucket: str,
           jobs: list[ScheduledJob], initial_delay_s: float) -> str:
    """What a developer needs to send the first webhook and read it back."""
    form = ('{"name":"Hanako Yamada","email":"hanako@example.com",'
            '"subject":"Coupon not applied","body":"Order A-1001: the coupon was not applied."}')
    if jobs:
        schedules = "\n".join(f"    {job.name:<20} {job.schedule.expression}" for job in jobs)
        schedules += f"\n    (each also runs once {initial_delay_s:g} s after start)"
    else:
        schedules = "    none: the app registers no scheduled functions"
    return f"""
================ helpdesk local stack (stage {stage}) ================
API            {url}
console        {url}/console   (sign in with the agent token)
agent token    {token}   (agent '{AGENT_ID}', role admin)
form secret    {secret}
moto endpoint  {moto_url}   (table {table}, bucket {bucket}; in memory)
schedules
{schedules}

Post a web form:
  curl -sS -X POST {url}/webhooks/form -H 'Content-Type: application/json' \\
    -H {shlex.quote('X-Form-Secret: ' + secret)} \\
    -d '{form}'
List tickets:
  curl -sS {url}/tickets -H {shlex.quote('Authorization: Bearer ' + token)}
Ctrl-C stops everything.
====================================================================="""


def run() -> int:
    """Start everything, block until SIGINT/SIGTERM, stop everything. Returns the exit code."""
    region = force_safe_env(os.environ)  # before anything can create a boto3 client
    port, moto_port = _int_env("PORT", 8000), _int_env("MOTO_PORT", 5050)
    stage = os.environ.get("STAGE") or "dev"
    ensure_port_free(moto_port, "moto", "MOTO_PORT")
    ensure_port_free(port, "API", "PORT")

    moto_url = f"http://{HOST}:{moto_port}"
    moto = start_moto(moto_port)
    os.environ["AWS_ENDPOINT_URL"] = moto_url
    os.environ.setdefault("AWS_CHALICE_CLI_MODE", "true")  # as `chalice local` sets it
    config = load_config(stage)
    apply_stage_env(config, os.environ)
    secret = os.environ.get("FORM_WEBHOOK_SECRET") or secrets.token_urlsafe(24)
    token = os.environ.get("LOCAL_AGENT_TOKEN") or secrets.token_urlsafe(24)
    os.environ["FORM_WEBHOOK_SECRET"] = secret

    from chalicelib.settings import get_settings

    settings = get_settings()
    create_resources(settings.table_name, settings.raw_bucket, region)
    seed_agent(token)
    sink = notify_sink.configure(os.environ, region)  # SES sender verified; Slack/webhooks to a local sink
    app = config.chalice_app  # imports app.py with the stage environment applied
    jobs = discover_schedules(app)
    runner = ScheduleRunner(jobs, function_prefix=f"{config.app_name}-{stage}-", region=region,
                            timeout_s=float(config.lambda_timeout or 900))
    server, http_thread = start_http(app, config, port)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        LOG.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    url = f"http://{HOST}:{port}"
    print(banner(url, moto_url, stage, token, secret, settings.table_name, settings.raw_bucket, jobs,
                 runner.initial_delay_s))
    print(f"READY {url}", flush=True)
    runner.start()
    code = 0
    while not stop.wait(0.5):
        if not http_thread.is_alive():
            LOG.error("the HTTP server stopped unexpectedly")
            code = 1
            break
    runner.stop()
    server.shutdown()
    server.server.server_close()
    sink.shutdown()
    moto.stop()
    print("stopped", flush=True)
    return code


def main() -> int:
    """Entry point: logging to stdout, clear one-line errors for start-up problems."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    infra_log = logging.getLogger("infra")
    infra_log.addHandler(handler)
    infra_log.setLevel(logging.INFO)
    infra_log.propagate = False
    try:
        return run()
    except StartupError as exc:
        print(f"local_stack: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())

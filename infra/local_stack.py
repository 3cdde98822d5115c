"""The whole service on this machine, in one command: ``python -m infra.local_stack`` (``make run``).

1. Forces a safe AWS environment (fake credentials, no profile, no real endpoint).
2. Starts moto's server on 127.0.0.1:$MOTO_PORT (5050) and points every boto3 and
   pynamodb client at it with ``AWS_ENDPOINT_URL``.
3. Applies the stage's ``environment_variables`` from ``.chalice/config.json``
   (stage ``$STAGE``, default ``dev``), as a deployment would, then creates the
   table and the raw bucket those settings name.
   The stand-in is moto made safe for concurrent clients (``infra.moto_standin``).
4. Sets every inbound channel secret (form, email, chat, Slack, LINE: the given
   value or a random one) and the agent ``local`` with token
   ``$LOCAL_AGENT_TOKEN`` (or random); installs the movable clock
   (``$CLOCK``, ``$CLOCK_SPEED``, ``/_local/clock``: ``infra.local_clock``).
5. Serves the API (Chalice's local handler behind ``infra.http_server``: real
   backlog, concurrent connections) on http://127.0.0.1:$PORT (8000),
   runs every ``@app.schedule`` function at its schedule (and once at start-up),
   verifies the SES sender and sends Slack/webhook notifications to a local sink
   (``infra.notify_sink``),
   prints a banner and the line ``READY <url>``; SIGINT/SIGTERM stop it within 5 s.

moto keeps everything in memory: each run starts empty.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import MutableMapping
from types import FrameType
from typing import Any

from chalicelib import clock
from infra import cognito_standin, local_clock, notify_sink
from infra.banner import BannerInfo, render
from infra.http_server import APIServer
from infra.moto_standin import StandInProcess
from infra.scheduler import ScheduleRunner, discover_schedules

HOST = "127.0.0.1"
DEFAULT_REGION = "ap-northeast-1"
AGENT_ID = "local"
STOP_BUDGET_S = 3.0  # from the signal; a loaded machine may take a second to deliver it
# Inbound channel secrets (form, email, website chat, Slack, LINE): generated unless given.
CHANNEL_SECRETS = ("FORM_WEBHOOK_SECRET", "EMAIL_WEBHOOK_SECRET", "CHAT_WEBHOOK_SECRET", "SLACK_SIGNING_SECRET",
                   "LINE_CHANNEL_SECRET")
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


def start_moto(port: int) -> StandInProcess:
    """The DynamoDB/SES/S3 stand-in (moto, serialised, key-level rollback) on 127.0.0.1:port, own process."""
    server = StandInProcess(HOST, port)
    try:
        server.start()
    except OSError as exc:
        raise StartupError(f"moto port {HOST}:{port} is taken ({exc.strerror}); set MOTO_PORT=<port>") from exc
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
    agents.issue_token(AGENT_ID, clock.now(), token)


def set_secrets(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Every channel secret the stack verifies with: the given value, else a new random one."""
    for name in CHANNEL_SECRETS:
        if not environ.get(name):
            environ[name] = secrets.token_urlsafe(24)
    return {name: environ[name] for name in CHANNEL_SECRETS}


def preload_modules() -> int:
    """Import every module of the service before serving; returns how many.

    The app imports some modules lazily inside handlers (cheaper Lambda cold starts). Lambda runs
    one request per process, but this server runs many at once, and two threads importing the same
    module graph concurrently can see a partly initialised module ("module ... has no attribute"):
    a 500 that Lambda never produces. Importing everything first, in one thread, rules it out."""
    import importlib
    import pkgutil

    import chalicelib
    import plugins

    count = 0
    for package in (chalicelib, plugins):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1] != "__main__":
                importlib.import_module(info.name)
                count += 1
    return count


def install_clock(environ: MutableMapping[str, str]) -> clock.MovableClock:
    """The movable clock from ``CLOCK`` (ISO time with zone; default now) and ``CLOCK_SPEED`` (default 1)."""
    try:
        start = clock.parse_clock(environ["CLOCK"]) if environ.get("CLOCK") else None
        speed = float(environ.get("CLOCK_SPEED") or 1)
        return clock.install_local_clock(start, speed)
    except ValueError as exc:
        raise StartupError(f"{exc} (CLOCK_SPEED={environ.get('CLOCK_SPEED')!r})"
                           if "speed" in str(exc) else str(exc)) from exc

def run() -> int:
    """Start everything, block until SIGINT/SIGTERM, stop everything. Returns the exit code."""
    region = force_safe_env(os.environ)  # before anything can create a boto3 client
    port, moto_port = _int_env("PORT", 8000), _int_env("MOTO_PORT", 5050)
    stage = os.environ.get("STAGE") or "dev"
    movable = install_clock(os.environ)
    ensure_port_free(moto_port, "moto", "MOTO_PORT")
    ensure_port_free(port, "API", "PORT")

    moto = start_moto(moto_port)
    os.environ["AWS_ENDPOINT_URL"] = moto.url
    os.environ.setdefault("AWS_CHALICE_CLI_MODE", "true")  # as `chalice local` sets it
    config = load_config(stage)
    apply_stage_env(config, os.environ)
    # Links in notifications open this stack's console (``/console#/ticket/N``).
    if not os.environ.get("HELPDESK_PUBLIC_BASE_URL"):
        os.environ["HELPDESK_PUBLIC_BASE_URL"] = f"http://{HOST}:{port}"
    channel_secrets = set_secrets(os.environ)
    token = os.environ.get("LOCAL_AGENT_TOKEN") or secrets.token_urlsafe(24)

    from chalicelib.settings import get_settings

    settings = get_settings()
    create_resources(settings.table_name, settings.raw_bucket, region)
    seed_agent(token)
    sink = notify_sink.configure(os.environ, region)  # SES sender verified; Slack/webhooks to a local sink
    app = config.chalice_app  # imports app.py with the stage environment applied
    LOG.info("preloaded %d modules (no lazy import races between request threads)", preload_modules())
    jobs = discover_schedules(app)
    runner = ScheduleRunner(jobs, function_prefix=f"{config.app_name}-{stage}-", region=region,
                            timeout_s=float(config.lambda_timeout or 900), clock=clock.now, speed=movable.speed)
    from chalice.deploy.validate import validate_routes

    validate_routes(app.routes)
    authorizer, cognito_line = cognito_standin.from_environment(app, os.environ, region, stage)
    try:
        server = APIServer(app, config, HOST, port, authorizer=authorizer,
                           local_routes={local_clock.ROUTE: local_clock.ClockRoute(movable, runner, token)})
    except OSError as exc:
        raise StartupError(f"API port {HOST}:{port} is taken ({exc.strerror}); set PORT=<port>") from exc
    http_thread = server.start()

    signals: list[int] = []

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)  # nothing that takes a lock: a handler may interrupt the holder (deadlock)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(render(BannerInfo(
        url=server.url, moto_url=moto.url, stage=stage, agent_id=AGENT_ID, token=token,
        table=settings.table_name, bucket=settings.raw_bucket, region=region, secrets=channel_secrets, jobs=jobs,
        initial_delay_s=runner.initial_delay_s, clock_now=clock.now().isoformat(timespec="seconds"),
        clock_speed=movable.speed, clock_given=bool(os.environ.get("CLOCK")))))
    if cognito_line:
        print(cognito_line)
    print(f"READY {server.url}", flush=True)
    runner.start()
    code = 0
    while not signals:
        time.sleep(0.1)
        if not http_thread.is_alive():
            LOG.error("the HTTP server stopped unexpectedly")
            code = 1
            break
    if signals:
        _start_watchdog(code)  # from the moment the signal is seen: the stop never takes longer
        LOG.info("%s received: stopping", signal.Signals(signals[0]).name)
    return shutdown(code, server, runner, sink, moto)


def shutdown(code: int, server: APIServer, runner: ScheduleRunner, sink: Any, moto: StandInProcess) -> int:
    """Stop in order (API, schedules, sink, stand-in); the watchdog exits hard at ``STOP_BUDGET_S``."""
    _start_watchdog(code)
    left = server.stop(grace_s=1.0)
    if left:
        LOG.warning("%d request(s) still running at shutdown: abandoned", left)
    if not runner.stop(timeout_s=0.5):
        LOG.warning("a scheduled run is still going: abandoned")
    sink.shutdown()
    sink.server_close()
    moto.stop(timeout_s=0.5)
    print("stopped", flush=True)
    return code


_WATCHDOG: list[threading.Timer] = []


def _start_watchdog(code: int = 0) -> None:
    """Once: exit hard ``STOP_BUDGET_S`` from now (the stand-in child follows: it dies with its parent)."""
    if _WATCHDOG:
        return
    timer = threading.Timer(STOP_BUDGET_S, _hard_exit, args=(code,))
    timer.daemon = True
    timer.start()
    _WATCHDOG.append(timer)


def _hard_exit(code: int) -> None:
    print(f"stopped (forced after {STOP_BUDGET_S:g} s)", flush=True)
    os._exit(code)


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
    exit_code = main()
    # Everything is stopped or abandoned by now; do not wait for worker threads a library's atexit
    # hook would join (a request or scheduled run still in the stand-in): exit now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)

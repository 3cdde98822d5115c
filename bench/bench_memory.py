"""Peak memory (RSS) of each Lambda function on a realistic invocation, to size ``.chalice/config.json``.

Every function runs in a fresh interpreter, as a cold Lambda container does: it imports
``app`` (what the Lambda runtime loads), then does one realistic invocation against the
local AWS stand-in (``infra.moto_standin``, in ITS OWN process, so moto's memory is not
counted). The data each invocation works on is written first by a separate process. Peak
RSS is ``getrusage(RUSAGE_SELF).ru_maxrss`` at the end; the floor is ``import app`` alone.

    python bench/bench_memory.py [--only sweep kpi_aggregate ...]

Prints one row per function: peak RSS, wall time, and the memory / timeout configured in
``.chalice/config.json`` with the headroom (configured / measured). Exits 1 if a function's
peak RSS leaves less than 1.5x headroom under its configured memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEADROOM = 1.5
CORPUS = Path("/work/shared/corpus/email/mikel-mail")
TOKEN = "bench-memory-token"
SECRET = "bench-memory-secret"


def _env(endpoint: str) -> None:
    from bench.bench_sweep import fake_aws_env

    fake_aws_env()
    os.environ.update(AWS_ENDPOINT_URL=endpoint, FORM_WEBHOOK_SECRET=SECRET, NOTIFY_EMAIL_FROM="helpdesk@example.com",
                      EMAIL_FROM="Support <support@example.com>", POWERTOOLS_METRICS_DISABLED="true",
                      LOG_LEVEL="WARNING")


def _fresh() -> None:
    import boto3

    from bench.sweep_standin import fresh_table

    fresh_table()
    s3 = boto3.client("s3")
    bucket = os.environ["HELPDESK_RAW_BUCKET"]
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})
    boto3.client("ses").verify_email_identity(EmailAddress="support@example.com")


# --- setups (own process) and invocations (measured process) ------------------------------------

def setup_api() -> None:
    from chalicelib.domain import utcnow
    from chalicelib.store import agents

    _fresh()
    agents.upsert_agent("bench", name="Bench", role="admin", email="bench@example.com")
    agents.issue_token("bench", utcnow(), TOKEN)


def run_api() -> dict[str, Any]:
    """20 form inquiries, the queue, one ticket, a 14-day KPI report, the console page."""
    from chalice.test import Client

    from app import app

    auth = {"Authorization": f"Bearer {TOKEN}"}
    with Client(app, project_dir=str(ROOT)) as client:
        for n in range(20):
            body = {"name": f"山田 {n}", "email": f"c{n}@example.jp", "subject": f"注文 A-{n} の配送",
                    "body": "注文した商品がまだ届きません。確認をお願いします。" * 20, "category": "shipping"}
            resp = client.http.post("/webhooks/form", headers={"Content-Type": "application/json",
                                                              "X-Form-Secret": SECRET}, body=json.dumps(body))
            assert resp.status_code in (200, 201), resp.body
        assert client.http.get("/tickets?view=all&limit=100", headers=auth).status_code == 200
        assert client.http.get("/tickets/1", headers=auth).status_code == 200
        assert client.http.get("/reports/kpis", headers=auth).status_code == 200
        assert client.http.get("/console").status_code == 200
    return {"requests": 24}


def setup_sweep(due: int = 300) -> None:
    from bench.bench_sweep import load

    _fresh()
    load(0, due)


def run_sweep() -> dict[str, Any]:
    """300 due tickets at once (bounded-parallel, default workers)."""
    from bench.bench_sweep import NOW
    from chalicelib.services.sweep import sweep

    report = sweep(NOW)
    assert len(report.due_tickets) == 300 and not report.failed, report.failed
    return {"due": len(report.due_tickets)}


def setup_dispatch() -> None:
    from bench.bench_sweep import NOW
    from chalicelib.services.sweep import sweep

    os.environ["NOTIFY_FAST_PATH"] = "0"  # notifications stay in the outbox for the dispatcher
    setup_sweep(200)
    sweep(NOW)


def run_dispatch() -> dict[str, Any]:
    """One dispatcher run over 200 queued notifications (it delivers a bounded batch per run)."""
    from bench.bench_sweep import NOW
    from chalicelib.services.dispatch import dispatch_due

    report = dispatch_due(NOW + timedelta(minutes=1))
    assert len(report.sent) >= 100 and not report.failed, (len(report.sent), len(report.failed))
    return {"sent": len(report.sent)}


def setup_kpi(events: int = 6000) -> None:
    from bench.bench_kpi import NOW, seed_history

    _fresh()
    seed_history(events, 7, NOW, seed=11)


def setup_worker() -> None:
    setup_kpi(2500)  # the rebuild recomputes all 7 days: fewer events per day keeps the run short


def run_kpi_aggregate() -> dict[str, Any]:
    """The hourly job over a busy two days (~1,700 events each) and today so far."""
    from bench.bench_kpi import NOW
    from chalicelib.services import kpis

    return {"days": len(kpis.aggregate_recent(NOW))}


def run_worker() -> dict[str, Any]:
    """A supervisor's rebuild of 7 closed days (~2,500 events), as the worker receives it."""
    from bench.bench_kpi import NOW
    from chalicelib import background
    from chalicelib.services import kpis

    first = (NOW - timedelta(days=7)).date()
    done = kpis.rebuild_job({"from": first.isoformat(), "to": (NOW - timedelta(days=1)).date().isoformat()}, NOW)
    assert background.JOBS["kpi_rebuild"]
    return {"days": len(done["rebuilt"])}


def _corpus() -> list[Path]:
    return sorted(CORPUS.rglob("*.eml"))[:40]


def setup_email() -> None:
    import boto3

    _fresh()
    s3 = boto3.client("s3")
    for n, path in enumerate(_corpus()):
        s3.put_object(Bucket=os.environ["HELPDESK_RAW_BUCKET"], Key=f"inbound/email/bench-{n:03d}",
                      Body=path.read_bytes())


def run_email_inbound() -> dict[str, Any]:
    """40 real mails of the mikel-mail corpus (attachments, charsets), one EventBridge event each."""
    from chalicelib.mail_jobs import ingest_objects

    bucket = os.environ["HELPDESK_RAW_BUCKET"]
    done = 0
    for n in range(len(_corpus())):
        ingest_objects({"detail": {"bucket": {"name": bucket}, "object": {"key": f"inbound/email/bench-{n:03d}"}}})
        done += 1
    return {"mails": done}


def run_email_feedback() -> dict[str, Any]:
    """One SES bounce notification (tests/events), as SNS delivers it."""
    from chalicelib.domain import utcnow
    from chalicelib.mail.feedback import parse_ses_notification
    from chalicelib.services.mail_events import record_feedback

    message = (ROOT / "tests" / "events" / "ses_bounce_notification.json").read_text()
    feedback = parse_ses_notification(message)
    if feedback is not None:
        record_feedback(feedback, utcnow())
    return {"parsed": feedback is not None}


def run_reconcile() -> dict[str, Any]:
    """The 5-minute reply reconciliation over the sending replies (none stuck)."""
    from chalicelib.domain import utcnow
    from chalicelib.services import replies

    replies.reconcile(utcnow())
    return {}


def run_import() -> dict[str, Any]:
    """``import app`` alone: every function's floor."""
    return {}


# function name in .chalice/config.json -> (setup, invocation)
FUNCTIONS: dict[str, tuple[Callable[[], None] | None, Callable[[], dict[str, Any]]]] = {
    "(import app only)": (None, run_import),
    "api_handler": (setup_api, run_api),
    "sweep": (setup_sweep, run_sweep),
    "dispatch": (setup_dispatch, run_dispatch),
    "kpi_aggregate": (setup_kpi, run_kpi_aggregate),
    "worker": (setup_worker, run_worker),
    "email_inbound": (setup_email, run_email_inbound),
    "email_feedback": (_fresh, run_email_feedback),
    "reconcile_replies": (_fresh, run_reconcile),
}


def configured(name: str) -> tuple[int | None, int | None]:
    """(memory MB, timeout s) of a function in the dev stage of ``.chalice/config.json``."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config.get("stages", {}).get("dev", {})
    # Chalice's order: the stage's function, the top-level function, the stage, the top level
    scopes = [stage.get("lambda_functions", {}).get(name, {}), config.get("lambda_functions", {}).get(name, {}),
              stage, config]

    def lookup(key: str) -> int | None:
        return next((scope[key] for scope in scopes if key in scope), None)

    return lookup("lambda_memory_size"), lookup("lambda_timeout")


def child(name: str, phase: str, endpoint: str) -> int:
    _env(endpoint)
    import logging

    logging.disable(logging.WARNING)
    setup, invoke = FUNCTIONS[name]
    if phase == "setup":
        if setup is not None:
            setup()
        print(json.dumps({}))
        return 0
    started = time.perf_counter()
    import app  # noqa: F401 - what the Lambda runtime imports first

    out = invoke()
    out.update(seconds=time.perf_counter() - started,
               rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))
    return 0


def _spawn(name: str, phase: str, endpoint: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", name, phase, endpoint], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode:
        raise RuntimeError(f"{name} {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--child", nargs=3, metavar=("NAME", "PHASE", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    import socket

    from infra.moto_standin import StandInProcess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    standin = StandInProcess("127.0.0.1", port)
    standin.start()
    failures = []
    print(f"{'function':22} {'peak RSS MB':>11} {'wall s':>7} {'memory MB':>9} {'headroom':>8} {'timeout s':>9}",
          flush=True)
    try:
        for name in args.only or list(FUNCTIONS):
            _spawn(name, "setup", standin.url)
            got = _spawn(name, "run", standin.url)
            memory, timeout = configured(name) if not name.startswith("(") else (None, None)
            rss, seconds = got["rss_mb"], got["seconds"]
            head = f"{memory / rss:.1f}x" if memory else ""
            print(f"{name:22} {rss:11.0f} {seconds:7.1f} {memory or '':>9} {head:>8} {timeout or '':>9}", flush=True)
            if memory is not None and memory < HEADROOM * rss:
                failures.append(f"{name}: {memory} MB configured for {rss:.0f} MB peak (< {HEADROOM}x)")
    finally:
        standin.stop()
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

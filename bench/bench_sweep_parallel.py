"""Benchmark: one sweep over 1,000 due tickets with 10 ms injected into every DynamoDB request,
sequential (1 worker) vs bounded-parallel (``HELPDESK_SWEEP_WORKERS``, default 10), side by side.

Each mode gets a fresh moto account holding ``--due`` tickets whose first reply is
breached at ``NOW`` (``bench_sweep.load``), then one sweep runs with
``bench.latency.injected(0.010)``: every DynamoDB request sleeps 10 ms in its calling
thread before it is made (a botocore ``before-call`` hook), as a round trip to DynamoDB
would. moto runs in this process, made safe for threads the way the local stand-in is
(``infra.moto_standin``): one request at a time, transactions rolled back by key. That
serialised stand-in costs time real DynamoDB does not (it serves requests in parallel):
its own service time is measured and printed beside the wall time, with the floor the
latency alone sets (requests x 10 ms / workers) and the sweep's CPU outside moto.

    python bench/bench_sweep_parallel.py [--due 1000] [--workers 10] [--latency-ms 10]

Exits 1 if a sweep failed a ticket or did not record each ticket's firings exactly once
(2 per ticket: the breach and its notification rule); the minute is reported, not enforced.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import latency, requests_count  # noqa: E402 - hooks on every client made from here on
from bench.aws_env import REGION  # noqa: E402
from bench.bench_sweep import NOW, fake_aws_env, fresh_table, load  # noqa: E402
from infra.moto_standin import key_level_rollback  # noqa: E402

FIRINGS_PER_TICKET = 2
MINUTE_S = 60.0


class SerialisedMoto:
    """In-process moto, one request at a time (as ``infra.moto_standin.SerialisedApp`` does for the
    server), timing what moto itself spends: wall time and CPU time under the lock."""

    def __init__(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        self._cls, self._real = BotocoreStubber, BotocoreStubber.process_request
        self.lock = threading.Lock()
        self.busy_s = self.cpu_s = 0.0
        outer = self

        def process_request(stub: object, request: object) -> object:
            with outer.lock:
                wall, cpu = time.perf_counter(), time.thread_time()
                try:
                    return outer._real(stub, request)
                finally:
                    outer.busy_s += time.perf_counter() - wall
                    outer.cpu_s += time.thread_time() - cpu

        BotocoreStubber.process_request = process_request  # type: ignore[method-assign]

    def reset(self) -> None:
        self.busy_s = self.cpu_s = 0.0

    def close(self) -> None:
        self._cls.process_request = self._real  # type: ignore[method-assign]


@dataclass
class Run:
    """One sweep."""

    mode: str
    workers: int
    due: int
    seconds: float
    cpu_s: float
    moto_busy_s: float
    moto_cpu_s: float
    requests: int
    delayed: int
    ses: int
    fired: int
    failed: int

    @property
    def latency_floor_s(self) -> float:
        """What the injected latency alone costs with this many workers."""
        return self.delayed * LATENCY_S[0] / self.workers

    @property
    def own_cpu_s(self) -> float:
        """CPU of the sweep outside moto (this process's CPU minus moto's)."""
        return max(self.cpu_s - self.moto_cpu_s, 0.0)


LATENCY_S = [0.010]


def run(mode: str, workers: int, due: int, moto: SerialisedMoto) -> Run:
    import boto3

    from chalicelib.services.sweep import sweep

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=name)
    fresh_table()
    load(0, due)
    moto.reset()
    with requests_count.count_requests() as counted, latency.injected(LATENCY_S[0]) as delayed:
        started, cpu = time.perf_counter(), time.process_time()
        report = sweep(NOW, workers=workers)
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    ses = counted.other.get("ses.SendEmail", 0) + counted.other.get("ses.SendRawEmail", 0)
    return Run(mode, report.workers, len(report.due_tickets), seconds, cpu_s, moto.busy_s, moto.cpu_s,
               counted.total, delayed["requests"], ses, len(report.fired), len(report.failed))


def render(runs: list[Run]) -> list[str]:
    head = ["", *[f"{r.mode} ({r.workers} worker{'s' if r.workers > 1 else ''})" for r in runs], "ratio"]
    rows: list[list[str]] = []

    def row(label: str, values: list[float], fmt: str = "{:,.0f}", ratio: bool = False) -> None:
        a, b = values[0], values[-1]
        rows.append([label, *[fmt.format(v) for v in values], f"{a / b:.2f}x" if ratio and b else ""])

    row("due tickets swept", [r.due for r in runs])
    row("sweep wall time, s (measured)", [r.seconds for r in runs], "{:.1f}", ratio=True)
    row("  DynamoDB requests (each +10 ms)", [r.requests for r in runs])
    row("  DynamoDB requests per ticket", [r.requests / max(r.due, 1) for r in runs], "{:.1f}")
    row("  SES sends", [r.ses for r in runs])
    row("  firings recorded", [r.fired for r in runs])
    row("  of the wall time: moto serving, s (serialised)", [r.moto_busy_s for r in runs], "{:.1f}")
    row("  latency floor: requests x 10 ms / workers, s", [r.latency_floor_s for r in runs], "{:.1f}")
    row("  sweep CPU outside moto, s", [r.own_cpu_s for r in runs], "{:.1f}")
    row("  without moto's own time: max(CPU, floor), s", [max(r.own_cpu_s, r.latency_floor_s) for r in runs],
        "{:.1f}", ratio=True)
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths, strict=True)))
             for x in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def main(argv: list[str] | None = None) -> int:
    from chalicelib.settings import DEFAULT_SWEEP_WORKERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=DEFAULT_SWEEP_WORKERS)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    args = parser.parse_args(argv)
    LATENCY_S[0] = args.latency_ms / 1000
    fake_aws_env()
    import logging

    from moto import mock_aws

    logging.disable(logging.INFO)
    moto = SerialisedMoto()
    try:
        with key_level_rollback(), mock_aws():
            run("warm-up", 2, 10, moto)  # rules, templates, plugins, clients: loaded once, not reported
            runs = [run("sequential", 1, args.due, moto), run("bounded parallel", args.workers, args.due, moto)]
    finally:
        moto.close()
    print(f"One sweep at {NOW:%Y-%m-%d %H:%M} UTC over {args.due:,} due tickets (first reply breached), "
          f"{args.latency_ms:g} ms injected per DynamoDB request; moto in-process, serialised like the stand-in.")
    print("\n".join(render(runs)))
    seq, par = runs
    print(f"sweep of {args.due:,} due tickets at {args.latency_ms:g} ms per DynamoDB request: sequential "
          f"{seq.seconds:.1f} s, bounded parallel ({par.workers} workers) {par.seconds:.1f} s; "
          f"ratio sequential / parallel: {seq.seconds / par.seconds:.2f}x")
    for r in runs:
        own = max(r.own_cpu_s, r.latency_floor_s)
        print(f"{r.mode}: within the minute: measured {'yes' if r.seconds <= MINUTE_S else 'NO'} ({r.seconds:.1f} s, "
              f"{r.moto_busy_s:.1f} s of it moto serving one request at a time); without the stand-in's own time "
              f"{'yes' if own <= MINUTE_S else 'NO'} ({own:.1f} s)")
    failures = [f"{r.mode}: {r.failed} failed, {r.fired} firings for {r.due} due (expected 0 and "
                f"{r.due * FIRINGS_PER_TICKET})" for r in runs
                if r.failed or r.fired != r.due * FIRINGS_PER_TICKET or r.due != args.due]
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

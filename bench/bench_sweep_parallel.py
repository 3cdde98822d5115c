"""Benchmark: one sweep over 1,000 due tickets with 10 ms injected into every DynamoDB request,
sequential (1 worker) vs bounded-parallel (``HELPDESK_SWEEP_WORKERS``, default 10), side by side,
against the two forms of the local stand-in.

Each mode gets a fresh account holding ``--due`` tickets whose first reply is breached at ``NOW``
(``bench_sweep.load``), then one sweep runs with ``bench.latency.injected(0.010)``: every DynamoDB
request sleeps 10 ms in its calling thread before it is made (a botocore ``before-call`` hook), as a
round trip to DynamoDB would.

- ``process``: the stand-in ``make run`` starts (``infra.moto_standin``: moto's server in its own
  process, one request at a time, key-level transaction rollback), reached over HTTP. Like
  DynamoDB, it does not run on the sweep's interpreter lock; unlike DynamoDB it serves one
  request at a time, so its CPU (printed) is a floor real DynamoDB does not have.
- ``inprocess``: moto inside the sweep's process, serialised the same way: moto's own time then
  competes with the sweep's threads for one interpreter lock (the most pessimistic form).

Each form runs in its own child process (a client made for one can never reach the other, or AWS).

    python bench/bench_sweep_parallel.py [--due 1000] [--workers 10] [--latency-ms 10]
                                         [--standin both|process|inprocess]

Exits 1 if a sweep failed a ticket or did not record each ticket's firings exactly once
(2 per ticket: the breach and its notification rule); the minute is reported, not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import latency, requests_count  # noqa: E402 - hooks on every client made from here on
from bench.aws_env import REGION  # noqa: E402
from bench.bench_sweep import NOW, fake_aws_env, fresh_table, load  # noqa: E402
from infra.moto_standin import StandInProcess, key_level_rollback  # noqa: E402

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
    standin: str
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
        """CPU of the sweep outside the stand-in (in process: this process's CPU minus moto's)."""
        return max(self.cpu_s - self.moto_cpu_s, 0.0) if self.standin == "inprocess" else self.cpu_s


LATENCY_S = [0.010]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StandInMeter:
    """What the stand-in spent during a sweep: moto in this process (``SerialisedMoto``) or the
    ``make run`` stand-in process (its CPU from ``/proc``)."""

    def __init__(self, moto: SerialisedMoto | None = None, pid: int | None = None) -> None:
        self.moto, self.pid, self._cpu0 = moto, pid, 0.0

    def reset(self) -> None:
        if self.moto is not None:
            self.moto.reset()
        if self.pid is not None:
            self._cpu0 = process_cpu_s(self.pid)

    def read(self) -> tuple[float, float]:
        """(busy wall seconds under the lock, CPU seconds) since ``reset``; busy is NaN out of process."""
        if self.moto is not None:
            return self.moto.busy_s, self.moto.cpu_s
        return float("nan"), process_cpu_s(self.pid) - self._cpu0 if self.pid is not None else 0.0


def run(mode: str, standin: str, workers: int, due: int, meter: StandInMeter) -> Run:
    import boto3

    from chalicelib.services.sweep import sweep

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=name)
    fresh_table()
    load(0, due)
    meter.reset()
    with requests_count.count_requests() as counted, latency.injected(LATENCY_S[0]) as delayed:
        started, cpu = time.perf_counter(), time.process_time()
        report = sweep(NOW, workers=workers)
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    busy_s, standin_cpu_s = meter.read()
    ses = counted.other.get("ses.SendEmail", 0) + counted.other.get("ses.SendRawEmail", 0)
    return Run(mode, standin, report.workers, len(report.due_tickets), seconds, cpu_s, busy_s, standin_cpu_s,
               counted.total, delayed["requests"], ses, len(report.fired), len(report.failed))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(standin: str, due: int, workers: int) -> list[Run]:
    """Warm up, then a sequential and a bounded-parallel sweep against one form of the stand-in."""
    import logging

    logging.disable(logging.INFO)
    if standin == "process":
        server = StandInProcess("127.0.0.1", free_port())
        server.start()
        os.environ["AWS_ENDPOINT_URL"] = server.url  # before any client is made
        try:
            assert server.proc is not None
            meter = StandInMeter(pid=server.proc.pid)
            run("warm-up", standin, 2, 10, meter)  # rules, templates, plugins, clients: loaded once
            return [run("sequential", standin, 1, due, meter), run("bounded parallel", standin, workers, due, meter)]
        finally:
            server.stop()
    from moto import mock_aws

    moto = SerialisedMoto()
    try:
        with key_level_rollback(), mock_aws():
            meter = StandInMeter(moto=moto)
            run("warm-up", standin, 2, 10, meter)
            return [run("sequential", standin, 1, due, meter), run("bounded parallel", standin, workers, due, meter)]
    finally:
        moto.close()


STANDINS = {"process": "the make run stand-in: moto in its own process, over HTTP",
            "inprocess": "moto in the sweep's process, sharing its interpreter lock"}


def render(runs: list[Run]) -> list[str]:
    head = ["", *[f"{r.mode} ({r.workers} worker{'s' if r.workers > 1 else ''})" for r in runs], "ratio"]
    rows: list[list[str]] = []
    inprocess = runs[0].standin == "inprocess"

    def row(label: str, values: list[float], fmt: str = "{:,.0f}", ratio: bool = False) -> None:
        a, b = values[0], values[-1]
        rows.append([label, *[fmt.format(v) for v in values], f"{a / b:.2f}x" if ratio and b else ""])

    row("due tickets swept", [r.due for r in runs])
    row("sweep wall time, s (measured)", [r.seconds for r in runs], "{:.1f}", ratio=True)
    row("  DynamoDB requests (each +10 ms)", [r.requests for r in runs])
    row("  DynamoDB requests per ticket", [r.requests / max(r.due, 1) for r in runs], "{:.1f}")
    row("  SES sends", [r.ses for r in runs])
    row("  firings recorded", [r.fired for r in runs])
    if inprocess:
        row("  of the wall time: moto serving, s (serialised)", [r.moto_busy_s for r in runs], "{:.1f}")
    else:
        row("  stand-in process CPU, s (serves one at a time)", [r.moto_cpu_s for r in runs], "{:.1f}")
    row("  latency floor: requests x 10 ms / workers, s", [r.latency_floor_s for r in runs], "{:.1f}")
    row("  sweep CPU outside the stand-in, s", [r.own_cpu_s for r in runs], "{:.1f}")
    row("  without the stand-in's own time: max(CPU, floor), s",
        [max(r.own_cpu_s, r.latency_floor_s) for r in runs], "{:.1f}", ratio=True)
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths, strict=True)))
             for x in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def in_child(standin: str, args: argparse.Namespace) -> list[Run]:
    """``measure`` in a fresh interpreter (its clients can only ever reach that stand-in)."""
    cmd = [sys.executable, __file__, "--standin", standin, "--due", str(args.due), "--workers", str(args.workers),
           "--latency-ms", str(args.latency_ms), "--emit-json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"the {standin} measurement failed (exit {out.returncode})")
    return [Run(**r) for r in json.loads(out.stdout.strip().splitlines()[-1])]


def report(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """The table and verdict lines of one stand-in's two sweeps; failures are returned."""
    seq, par = runs
    print(f"\n{STANDINS[seq.standin]}:")
    print("\n".join(render(runs)))
    print(f"sweep of {args.due:,} due tickets at {args.latency_ms:g} ms per DynamoDB request ({seq.standin}): "
          f"sequential {seq.seconds:.1f} s, bounded parallel ({par.workers} workers) {par.seconds:.1f} s; "
          f"ratio sequential / parallel: {seq.seconds / par.seconds:.2f}x")
    for r in runs:
        own = max(r.own_cpu_s, r.latency_floor_s)
        print(f"{r.standin} {r.mode}: within the minute: measured {'yes' if r.seconds <= MINUTE_S else 'NO'} "
              f"({r.seconds:.1f} s); without the stand-in's own time {'yes' if own <= MINUTE_S else 'NO'} "
              f"({own:.1f} s)")
    return [f"{r.standin} {r.mode}: {r.failed} failed, {r.fired} firings for {r.due} due (expected 0 and "
            f"{r.due * FIRINGS_PER_TICKET})" for r in runs
            if r.failed or r.fired != r.due * FIRINGS_PER_TICKET or r.due != args.due]


def main(argv: list[str] | None = None) -> int:
    from chalicelib.settings import DEFAULT_SWEEP_WORKERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=DEFAULT_SWEEP_WORKERS)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--standin", choices=["both", *STANDINS], default="both")
    parser.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    LATENCY_S[0] = args.latency_ms / 1000
    fake_aws_env()
    if args.emit_json:
        print(json.dumps([asdict(r) for r in measure(args.standin, args.due, args.workers)]))
        return 0
    print(f"One sweep at {NOW:%Y-%m-%d %H:%M} UTC over {args.due:,} due tickets (first reply breached), "
          f"{args.latency_ms:g} ms injected per DynamoDB request, against each form of the local stand-in.")
    failures = []
    for standin in (list(STANDINS) if args.standin == "both" else [args.standin]):
        failures += report(in_child(standin, args), args)
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: DynamoDB requests per user-facing path, counted at the client (botocore event hooks).

Each path runs through ``chalice.test.Client`` against in-process moto, with
the service's shared DynamoDB client instrumented (``before-call.dynamodb``)
and every other AWS client (S3, SES) counted too. Reported: the requests the
path makes inside the HTTP answer, by operation, next to its target from
issue 15. Request counts do not depend on the machine's speed.

    python bench/bench_paths.py [--strict]

Paths over their target are marked OVER; with ``--strict`` that exits 1 (``make bench``
runs without it so the other benchmarks still run and print).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench.requests_count  # noqa: E402, F401 - before any AWS client exists
from bench.paths import TARGETS, measure_all  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    strict = "--strict" in (sys.argv[1:] if argv is None else argv)
    logging.disable(logging.INFO)  # the app's JSON log lines and EMF metrics would bury the table
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        results = measure_all()
    print(f"{'path':<34}{'DynamoDB':>9}{'target':>8}  {'other AWS':<16} by operation")
    over = []
    for name, tally in results.items():
        target = TARGETS[name]
        flag = "" if tally.total <= target else "  OVER"
        if flag:
            over.append(name)
        other = ", ".join(f"{k} {v}" for k, v in sorted(tally.other.items())) or "-"
        ops = ", ".join(f"{k} {v}" for k, v in sorted(tally.ops.items()))
        print(f"{name:<34}{tally.total:>9}{'<= ' + str(target):>8}  {other:<16} {ops}{flag}")
    if over:
        print(f"{'FAIL' if strict else 'NOT MET'}: over target: {', '.join(over)}")
        return 1 if strict else 0
    print("OK: every path within its DynamoDB request target")
    return 0


if __name__ == "__main__":
    sys.exit(main())

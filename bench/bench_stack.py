"""Throughput and latency of the real local stack (``make run`` as a subprocess) under mixed traffic.

    python bench/bench_stack.py [--seconds 30] [--clients 1 8]

For each client count (side by side, same run, a fresh stack each): requests/s,
p50 and p99 latency, the request mix, 5xx and connection errors, and the stack's
memory (API process + stand-in) at the end; the last column is the ratio
largest/smallest client count. The traffic is the soak test's
(``tests/functional/stack_traffic.py``): web forms, inbound mail, ticket lists
and reads, replies and PATCHes. Exits 1 on any 5xx or connection error.
Numbers depend on the machine's load; the stand-in serialises DynamoDB requests,
so more clients raise throughput only while the API's own work overlaps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tests.conftest  # noqa: E402,F401  (fake AWS credentials before anything else)
from tests.functional.stack_kit import add_agents, running_stack  # noqa: E402
from tests.functional.stack_traffic import Traffic, drive  # noqa: E402


def measure(clients: int, seconds: float) -> tuple[Traffic, float]:
    """One fresh stack, ``clients`` clients for ``seconds``; the traffic and the stack's RSS in MB."""
    with running_stack() as stack:
        tokens = list(add_agents(stack, [f"bench-{i}" for i in range(4)]).values())
        traffic = drive(stack, tokens, clients, seconds)
        rss = stack.rss_mb()
        stack.terminate(5.0)
    return traffic, rss


def main() -> int:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    results = {n: measure(n, args.seconds) for n in args.clients}
    low, high = min(results), max(results)
    rows = [
        ("requests/s", lambda t, r: t.requests / t.elapsed_s),
        ("p50 latency, ms", lambda t, r: t.percentile(0.5) * 1000),
        ("p99 latency, ms", lambda t, r: t.percentile(0.99) * 1000),
        ("requests", lambda t, r: t.requests),
        ("deliveries acknowledged", lambda t, r: len(t.acknowledged)),
        ("5xx responses", lambda t, r: sum(t.server_errors().values())),
        ("connection errors", lambda t, r: len(t.connection_errors)),
        ("stack RSS at end, MB", lambda t, r: r),
    ]
    print(f"local stack, mixed traffic, {args.seconds:g} s per run")
    print(f"  {'':<28}" + "".join(f"{f'{n} client(s)':>14}" for n in results) + f"{f'{high}/{low}':>10}")
    for name, value in rows:
        values = [value(*results[n]) for n in results]
        ratio = value(*results[high]) / value(*results[low]) if value(*results[low]) else float("nan")
        print(f"  {name:<28}" + "".join(f"{v:>14.1f}" for v in values) + f"{ratio:>10.2f}")
    for n, (traffic, _rss) in results.items():
        print(f"  {n} client(s): {traffic.summary()}")
    failed = any(t.server_errors() or t.connection_errors for t, _ in results.values())
    print("FAILED: 5xx or connection errors" if failed else "OK: no 5xx, no connection errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: replay 10,000 tickets x 30 days under two rule sets in under 60 s on 2 cores.

A synthetic month (``bench/replay_history.py``: arrivals weighted to office
hours, assignments, replies, pending periods, customer follow-ups,
escalations, solves) is written as a history file; the candidate rules change
the normal first-reply target 120 -> 60 business minutes and the warning
60 -> 30. Then, side by side in one run:

1. ``helpdesk replay --history ... --workers 2`` as a subprocess (the user's
   command): wall seconds, CPU seconds of all its processes, peak RSS of the
   largest process, tickets, simulated ticket-minutes and the sweeps actually
   evaluated;
2. on a sample of tickets, in this process, the simulation that sweeps only
   the minutes the due index returns against the one that looks at every
   minute: results must be equal; minutes looked at and seconds as ratios.

    python bench/bench_replay.py [--tickets 10000] [--days 30] [--sample 150]

Exits 1 if the replay fails, the two sweeping modes differ, or the 10,000 x 30
replay takes more than 60 s of wall time per 2 cores of CPU (CPU seconds / 2,
so a busy shared machine does not hide the figure; wall time is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import replay_history  # noqa: E402
from chalicelib.replay import run  # noqa: E402
from chalicelib.replay.history import ticket_from_dict  # noqa: E402
from chalicelib.replay.simulate import Simulator  # noqa: E402
from tests.replay.conftest import RULES, candidate_rules  # noqa: E402

LIMIT_S = 60.0


def _sample(path: Path, n: int, w: run.Window) -> dict[str, float]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()[1:n + 1]]
    tickets = [ticket_from_dict(json.loads(line)) for line in lines]
    runtime = run.load_runtime(RULES)
    out: dict[str, float] = {}
    results = {}
    for mode, every in (("due_minutes", False), ("every_minute", True)):
        sim = Simulator(runtime, w.start, w.end, every_minute=every)
        t0 = time.perf_counter()
        sims = [sim.run(t) for t in tickets]
        out[f"{mode}_s"] = time.perf_counter() - t0
        out[f"{mode}_visited"] = sum(s.visited for s in sims)
        results[mode] = [(s.firings, s.breaches, s.notifications, s.sla, s.final) for s in sims]
    out["equal"] = float(results["due_minutes"] == results["every_minute"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sample", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.jsonl"
        with history.open("w", encoding="utf-8") as f:
            replay_history.write(f, args.tickets, args.days)
        cand = candidate_rules(Path(tmp))
        last = f"2026-11-{args.days:02d}" if args.days <= 30 else "2026-11-30"
        w = run.window("2026-11-01", last)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "chalicelib.cli", "replay", "--rules", str(cand),
                               "--baseline-rules", str(RULES), "--from", "2026-11-01", "--to", last,
                               "--history", str(history), "--format", "json", "--workers", "2"],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        report = json.loads(proc.stdout)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        sample = _sample(history, args.sample, w)
    sweeps = report["sweeps_evaluated"]
    print(f"history: {args.tickets} tickets x {args.days} days, {history.name} "
          f"({report['tickets']} replayed under two rule sets)")
    print(f"replay (subprocess, 2 workers): wall {wall:.1f} s, CPU {cpu:.1f} s (= {cpu / 2:.1f} s on 2 cores), "
          f"peak RSS {after.ru_maxrss / 1024:.0f} MB (largest process)")
    print(f"simulated ticket-minutes: {report['simulated_minutes']:,}; sweeps evaluated: baseline "
          f"{sweeps['baseline']:,}, candidate {sweeps['candidate']:,} "
          f"({report['simulated_minutes'] / max(1, sweeps['baseline']):.0f}x fewer than every minute)")
    print(f"differences: {report['tickets_differing']} tickets, {report['new_breaches']} new breaches, "
          f"attainment {report['sla_attainment']['baseline']['attainment']} -> "
          f"{report['sla_attainment']['candidate']['attainment']}")
    print(f"sample of {args.sample} tickets, one rule set: due-minute sweeping {sample['due_minutes_s']:.2f} s "
          f"({sample['due_minutes_visited']:,.0f} minutes looked at) vs every minute "
          f"{sample['every_minute_s']:.2f} s ({sample['every_minute_visited']:,.0f}): "
          f"{sample['every_minute_s'] / sample['due_minutes_s']:.0f}x time, "
          f"{sample['every_minute_visited'] / max(1, sample['due_minutes_visited']):.0f}x minutes; "
          f"results equal: {bool(sample['equal'])}")
    ok = bool(sample["equal"]) and (args.tickets < 10_000 or cpu / 2 < LIMIT_S)
    if not ok:
        print("FAIL: sweeping modes differ or the replay is too slow", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

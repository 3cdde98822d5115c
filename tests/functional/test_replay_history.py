"""Must show 2: replaying the stored history against the unchanged rules shows no difference, reproduces
what production recorded, and its SLA attainment equals the KPI report's for the same range.

The history is the KPI test's hand-computed week (tests/functional/test_kpi_report.py), made through the
real API, ingest and sweep on moto. Export and replay only read: no DynamoDB write, no mail sent.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from bench.ddb_cost import counting
from chalicelib.replay import history as history_file
from chalicelib.replay import run
from chalicelib.replay.simulate import Simulator
from chalicelib.replay.source import stored_history
from chalicelib.services import kpis
from tests.functional.test_kpi_report import history, jst  # noqa: F401 - the fixture
from tests.replay.conftest import RULES, candidate_rules

ROOT = Path(__file__).resolve().parents[2]
AUTOMATIONS = {r.id for r in run.load_runtime(RULES).rules.automations}
FIRST, LAST_DAY = "2026-01-13", "2026-01-16"
END = "2026-01-16T12:00:00+09:00"  # the KPI test's "now": Friday is live up to noon


def _export(w: run.Window) -> str:
    out = io.StringIO()
    history_file.write_lines(out, history_file.header(), stored_history(w.start, w.end))
    return out.getvalue()


def test_unchanged_rules_no_difference_and_kpi_attainment(client, history, tmp_path):  # noqa: F811
    state, n = history
    w = run.window(FIRST, END)
    with counting() as tally:
        text = _export(w)
    assert tally.writes == 0 and tally.ses == 0  # export reads only
    lines = text.splitlines()
    assert len(lines) == 1 + len(n)  # header + the five tickets

    tickets = list(run.from_file(lines, w))
    summary = run.replay(tickets, RULES, RULES, w, workers=1)
    assert summary.tickets == 5 and summary.differing == 0 and summary.new_breaches == 0
    # The baseline reproduces what production recorded: every rule firing and every breach. It may add
    # automations production missed only because the fixture swept it at two instants (13:00 on the 13th,
    # 11:30 on the 15th) instead of every minute: e.g. T2's warning at 12:00 (at 13:00, its deadline, a
    # warning no longer fires). Triggers, which need no sweep, match one for one.
    swept = {jst(13, 13), jst(15, 11, 30)}
    base = Simulator(run.load_runtime(RULES), w.start, w.end)
    for t in tickets:
        sim = base.run(t)
        recorded = Counter((str(e.data.get("rule_id")), e.at) for e in t.events if e.type == "rule_fired")
        replayed = Counter((f[1], f[0]) for f in sim.firings)
        assert not recorded - replayed, t.number
        extra = replayed - recorded
        assert all(at not in swept and rule in AUTOMATIONS for rule, at in extra), (t.number, extra)
        assert sorted(i[3] for i in sim.breaches) == sorted(str(e.data.get("instance")) for e in t.events
                                                            if e.type == "sla_breached")
    assert ("warn-assignee-1h-before-breach", jst(13, 12)) in Counter((f[1], f[0]) for f in base.run(
        next(t for t in tickets if t.number == n["T2"])).firings)

    kpi = kpis.report_from_events(date.fromisoformat(FIRST), date.fromisoformat(LAST_DAY), state["now"])
    replayed = summary.attainment("baseline")
    assert replayed["attainment"] == kpi["totals"]["sla_attainment"]
    rows = {(r["policy"], r["metric"]): (r["met"], r["breached"]) for r in replayed["sla"]}
    assert rows == {(r["policy"], r["metric"]): (r["met"], r["breached"]) for r in kpi["totals"]["sla"]}
    assert rows[("sla-default", "first_reply")] == (4, 1)  # T2 breached at 13:00 (the KPI test's figure)

    # the changed first-reply target, replayed from the exported file by the CLI as a subprocess
    path = tmp_path / "history.jsonl"
    path.write_text(text, encoding="utf-8")
    cand = candidate_rules(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "chalicelib.cli", "replay", "--rules", str(cand),
                           "--baseline-rules", str(RULES), "--from", FIRST, "--to", END, "--history", str(path),
                           "--format", "json", "--fail-on", "new-breaches"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    report = json.loads(proc.stdout)
    assert report["sla_attainment"]["baseline"]["attainment"] == kpi["totals"]["sla_attainment"]
    assert report["new_breaches"] >= 1 and proc.returncode == 1, proc.stderr

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
    # the baseline reproduces what production recorded (every rule firing and breach) for four tickets;
    # on T2 it also warns the assignee at 12:00, the warning's minute: the fixture swept production only at
    # 13:00 (the deadline, too late for a warning), replay sweeps every minute something is due
    assert summary.fidelity == {"same": 4, "different": 1}
    t2 = next(t for t in tickets if t.number == n["T2"])
    sim = Simulator(run.load_runtime(RULES), w.start, w.end).run(t2)
    recorded = sorted(str(e.data.get("rule_id")) for e in t2.events if e.type == "rule_fired")
    assert sorted(f[1] for f in sim.firings) == sorted([*recorded, "warn-assignee-1h-before-breach"])
    assert [f[0] for f in sim.firings if f[1] == "warn-assignee-1h-before-breach"] == [jst(13, 12)]

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

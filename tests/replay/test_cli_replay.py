"""The replay CLI as its user meets it: a subprocess on an exported file, a git ref as the baseline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from chalicelib.replay.history import header, write_lines
from chalicelib.replay.redact import Redactor
from tests.replay.conftest import RULES, candidate_rules
from tests.replay.week import week

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def _history(tmp_path: Path, redact: bool = False) -> Path:
    path = tmp_path / "history.jsonl"
    tickets = week()
    if redact:
        r = Redactor(b"k")
        tickets = [r.ticket(t) for t in tickets]
    with path.open("w", encoding="utf-8") as f:
        write_lines(f, header(), tickets)
    return path


def test_replay_against_a_git_ref_in_text_markdown_and_json(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(RULES, repo / "rules")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "rules"], check=True)
    shutil.rmtree(repo / "rules")
    candidate_rules(repo)  # the working tree now has the change; HEAD has the shipped rules
    hist = _history(tmp_path)
    common = ["replay", "--rules", str(repo / "rules"), "--baseline-rules", "HEAD", "--from", "2026-11-02",
              "--to", "2026-11-08", "--history", str(hist)]
    as_json = _cli(*common, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["new_breaches"] == 4 and report["tickets"] == 12 and report["tickets_differing"] == 8
    assert report["sla_attainment"]["baseline"]["attainment"] == 0.8462
    text = _cli(*common)
    assert "new breaches: 4" in text.stdout and "ticket #4:" in text.stdout
    md = _cli(*common, "--format", "markdown", "--fail-on", "new-breaches")
    assert md.returncode == 1 and md.stdout.startswith("### :warning: Rule replay")
    assert "| sla-default | first_reply | 1 | 5 | 4 | 0 | 1 |" in md.stdout
    same = _cli("replay", "--rules", str(RULES), "--baseline-rules", str(RULES), "--from", "2026-11-02", "--to",
                "2026-11-08", "--history", str(hist), "--fail-on", "any-difference", "--workers", "1")
    assert same.returncode == 0 and "12 tickets, 0 differ" in same.stdout


def test_a_redacted_history_replays_the_same_and_bad_input_is_named(tmp_path):
    cand = candidate_rules(tmp_path)
    hist = _history(tmp_path, redact=True)
    text = hist.read_text(encoding="utf-8")
    assert "customer1@example.com" not in text and "顧客1" not in text and "よろしく" not in text
    proc = _cli("replay", "--rules", str(cand), "--baseline-rules", str(RULES), "--from", "2026-11-02", "--to",
                "2026-11-08", "--history", str(hist), "--format", "json")
    assert json.loads(proc.stdout)["new_breaches"] == 4  # pseudonyms keep who is who
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "ticket", "ticket": {"number": 1, "created_at": "yesterday"}, "events": []}\n')
    proc = _cli("replay", "--history", str(bad), "--baseline-rules", str(RULES), "--from", "2026-11-02",
                "--to", "2026-11-08")
    assert proc.returncode == 2 and "ticket #1: /ticket/created_at" in proc.stderr
    proc = _cli("replay", "--history", str(hist), "--baseline-rules", "no-such-ref", "--from", "2026-11-02",
                "--to", "2026-11-08")
    assert proc.returncode == 2 and "neither a directory nor a git ref" in proc.stderr

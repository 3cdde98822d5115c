"""Replay a history under two rule sets: load them, stream the tickets, add up the differences.

Reads only: a history file or the stored history (``source``), and rules from
a directory or a git ref. Nothing is sent and nothing is written to the
table: effects land in the simulation's lists. Tickets are independent, so
they are replayed by ``workers`` processes in batches (memory stays bounded
by the batch, whatever the history's size).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from chalicelib.engine import load_rules
from chalicelib.kpi.days import day_bounds, report_timezone
from chalicelib.replay.compare import Summary
from chalicelib.replay.history import HistoryError, TicketHistory, read_lines, ticket_from_dict
from chalicelib.replay.inputs import recorded_outputs
from chalicelib.replay.simulate import Simulation, Simulator
from chalicelib.services.runtime import Runtime, load_calendars

BATCH = 2000
UTC = timezone.utc


class ReplayError(RuntimeError):
    """The replay cannot start (bad rules, unknown git ref, bad range); the message says why."""


@dataclass(frozen=True)
class Window:
    """The replayed range ``[start, end)`` (aware UTC)."""

    start: datetime
    end: datetime


def window(first: str, last: str) -> Window:
    """``--from``/``--to``: dates (local days in the report time zone, both included) or ISO times."""
    def bound(value: str, is_end: bool) -> datetime:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return day_bounds(d, report_timezone())[1 if is_end else 0]
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if t.tzinfo is None:
            t = datetime.combine(t.date(), t.time() or time(), report_timezone())
        return t.astimezone(UTC)
    try:
        w = Window(bound(first, False), bound(last, True))
    except ValueError as exc:
        raise ReplayError(f"--from/--to: {exc}") from None
    if w.end <= w.start:
        raise ReplayError("--to must be after --from")
    return w


def load_runtime(rules_dir: Path) -> Runtime:
    """The compiled rules and calendars of a directory (``ReplayError`` listing problems)."""
    try:
        return Runtime(rules_dir, load_rules(rules_dir), load_calendars(rules_dir))
    except Exception as exc:  # noqa: BLE001 - RuleErrors, bad calendars: one message for the user
        errors = getattr(exc, "errors", None)
        detail = "; ".join(f"{e['file']} {e['pointer']}: {e['message']}" for e in errors[:5]) if errors else exc
        raise ReplayError(f"rules in {rules_dir} do not load: {detail}") from None


def materialise(baseline: str, rules_dir: Path, into: Path) -> Path:
    """``baseline`` as a rules directory: itself if it is one, else the same folder at git ref ``baseline``."""
    if Path(baseline).is_dir():
        return Path(baseline)
    rules_dir = rules_dir.resolve()
    try:
        top = Path(subprocess.run(["git", "-C", str(rules_dir), "rev-parse", "--show-toplevel"], check=True,
                                  capture_output=True, text=True).stdout.strip())
        rel = rules_dir.relative_to(top).as_posix()
        blob = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", baseline, rel], check=True,
                              capture_output=True).stdout
    except (subprocess.CalledProcessError, ValueError, FileNotFoundError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        text = err.decode(errors="replace").strip() if isinstance(err, bytes) else str(err)
        raise ReplayError(f"--baseline-rules {baseline!r} is neither a directory nor a git ref with "
                          f"{rules_dir.name}/: {text or exc}") from None
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / rel


def touches(history: TicketHistory, w: Window) -> bool:
    """Did anything happen to the ticket in the window (and had it arrived by its end)?"""
    return history.created_at < w.end and any(w.start <= e.at < w.end for e in history.events)


def from_file(lines: Iterable[str], w: Window) -> Iterator[TicketHistory]:
    """The tickets of a history file that the window touches."""
    for item in read_lines(lines):
        if isinstance(item, TicketHistory) and touches(item, w):
            yield item


def file_lines(lines: Iterable[str]) -> Iterator[str]:
    """The ticket lines of a history file (blank lines skipped); the header, if first, is checked."""
    first = True
    for line in lines:
        if not line.strip():
            continue
        if first:
            first = False
            if '"header"' in line:
                next(read_lines([line]), None)  # HistoryError if it is not our format
                continue
        yield line


# -- workers ---------------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init(base_dir: str, cand_dir: str, start: datetime, end: datetime) -> None:
    _STATE["base"] = Simulator(load_runtime(Path(base_dir)), start, end)
    _STATE["cand"] = Simulator(load_runtime(Path(cand_dir)), start, end)
    _STATE["window"] = Window(start, end)


Result = tuple[Simulation, Simulation, list[tuple[str, str, datetime]]] | str | None


def _one(item: TicketHistory | str) -> Result:
    """Both simulations of one ticket (a history or its JSON line), None when the window does not touch it,
    or why it could not be replayed (reported, not fatal)."""
    number: Any = "?"
    try:
        if isinstance(item, str):
            doc = json.loads(item)
            if doc.get("kind") == "header":
                return None
            number = (doc.get("ticket") or {}).get("number", "?")
            item = ticket_from_dict(doc, f"ticket #{number}")
        number = item.number
        if not touches(item, _STATE["window"]):
            return None
        return _STATE["base"].run(item), _STATE["cand"].run(item), recorded_outputs(item)
    except HistoryError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - one odd ticket must not stop a month's replay
        return f"ticket #{number}: {type(exc).__name__}: {exc}"


def _add(summary: Summary, result: Result) -> None:
    if isinstance(result, str):
        summary.failed.append(result)
    elif result is not None:
        summary.add(*result)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def replay(tickets: Iterable[TicketHistory | str], candidate: Path, baseline: Path, w: Window, *,
           workers: int = 2, max_tickets: int = 200) -> Summary:
    """Replay every ticket (``TicketHistory`` items or history-file lines) under both rule sets and add up
    the differences; lines are parsed in the workers."""
    load_runtime(candidate), load_runtime(baseline)  # fail early, in this process, with the problems
    summary = Summary(max_tickets=max_tickets)
    args = (str(baseline), str(candidate), w.start, w.end)
    if workers <= 1:
        _init(*args)
        for batch in _batches(tickets, BATCH):
            for result in map(_one, batch):
                _add(summary, result)
        return summary
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(workers, initializer=_init, initargs=args) as pool:
        for batch in _batches(tickets, BATCH):
            for result in pool.imap(_one, batch, chunksize=25):
                _add(summary, result)
    return summary


def with_baseline(baseline: str, rules_dir: Path) -> tuple[Path, tempfile.TemporaryDirectory[str]]:
    """The baseline directory and the temporary folder holding it (clean it up when done)."""
    tmp = tempfile.TemporaryDirectory(prefix="replay-baseline-")
    return materialise(baseline, rules_dir, Path(tmp.name)), tmp


__all__ = ["HistoryError", "ReplayError", "Window", "from_file", "load_runtime", "materialise", "replay",
           "touches", "window", "with_baseline"]

"""The KPI report of a date range from its days' facts and backlog snapshots (JSON and CSV). PURE.

Definitions (every count is over facts whose time falls in the range):

- first response time: ticket arrival -> first agent reply (auto-replies and
  failed sends do not count), counted on the day of the reply.
- resolution time: arrival -> each change to solved/closed, on the day of the change.
- resolution rate: of the tickets that arrived in the range, the share no
  longer in the backlog (solved or closed) at the range's end.
- reopen rate: of the tickets solved in the range, the share reopened after
  that within the range.
- repeat contact rate: of the tickets that arrived in the range, the share
  whose customer (any of their identities) had opened another ticket within
  the ``repeat_days`` before.
- SLA attainment: per policy and metric, met / (met + breached) deadline instances decided in the range.
- escalation response time (answered escalations) and return rate (returned /
  (answered + returned)) per department escalated to.

Business minutes use the ticket's SLA calendar; mean/median/p90 see ``stats``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.kpi import backlog as backlog_mod
from chalicelib.kpi import stats
from chalicelib.kpi.facts import Fact

GROUP_BY: dict[str, Callable[[Fact], str | None]] = {
    "agent": lambda f: f.agent,
    "department": lambda f: f.department,
    "channel": lambda f: f.channel,
    "category": lambda f: f.category,
}
NONE_GROUP = "(none)"
ALL_GROUP = "(all)"
DEFAULT_REPEAT_DAYS = 7


@dataclass
class DayData:
    """One day's facts and its end-of-day backlog (``as_of`` is the end, or now for today): the
    snapshot when loaded (a report needs its last day's), else just its size."""

    day: date
    facts: list[Fact]
    backlog: backlog_mod.Snapshot | None
    as_of: datetime
    events: int = 0
    source: str = "aggregate"
    backlog_total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def backlog_size(self) -> int:
        """Unsolved tickets at the end of the day."""
        return len(self.backlog) if self.backlog is not None else int(self.backlog_total or 0)


def _times(facts: Iterable[Fact], kind: str) -> dict[int, list[datetime]]:
    out: dict[int, list[datetime]] = defaultdict(list)
    for f in facts:
        if f.kind == kind:
            out[f.ticket].append(f.at)
    return out


def _sla(facts: Iterable[Fact]) -> tuple[list[dict[str, Any]], float | None]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for f in facts:
        if f.kind == "sla":
            counts[(f.policy or NONE_GROUP, f.metric or "", f.outcome or "")] += 1
    rows = []
    for policy, metric in sorted({(p, m) for p, m, _ in counts}):
        met, breached = counts[(policy, metric, "met")], counts[(policy, metric, "breached")]
        rows.append({"policy": policy, "metric": metric, "met": met, "breached": breached,
                     "attainment": stats.rate(met, met + breached)})
    met_all = sum(r["met"] for r in rows)
    return rows, stats.rate(met_all, met_all + sum(r["breached"] for r in rows))


def _durations(facts: Sequence[Fact]) -> dict[str, Any]:
    return {"calendar": stats.summarize(f.minutes for f in facts if f.minutes is not None),
            "business": stats.summarize(f.business_minutes for f in facts if f.business_minutes is not None)}


def kpi_block(facts: Sequence[Fact], *, backlog_end: Mapping[int, Any], reopens: Mapping[int, list[datetime]],
              repeat_days: int) -> dict[str, Any]:
    """Every per-group KPI of ``facts`` (see the module docstring for the definitions)."""
    kinds: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        kinds[f.kind].append(f)
    created = {f.ticket: f for f in kinds["created"]}
    solves = _times(kinds["solved"], "solved")
    reopened = {t for t, at in solves.items() if any(r > min(at) for r in reopens.get(t, []))}
    repeat = [t for t, f in created.items()
              if f.previous_contact_days is not None and f.previous_contact_days <= repeat_days]
    sla_rows, attainment = _sla(kinds["sla"])
    return {
        "tickets_created": len(created),
        "messages_in": len(kinds["message_in"]),
        "replies": len(kinds["reply"]),
        "tickets_solved": len(solves),
        "tickets_reopened": len(reopened),
        "first_response": _durations(kinds["first_response"]),
        "resolution": _durations(kinds["solved"]),
        "resolution_rate": stats.rate(sum(1 for t in created if t not in backlog_end), len(created)),
        "reopen_rate": stats.rate(len(reopened), len(solves)),
        "repeat_contact_rate": stats.rate(len(repeat), len(created)),
        "sla_attainment": attainment,
        "sla": sla_rows,
    }


def escalations(facts: Iterable[Fact]) -> list[dict[str, Any]]:
    """Per department escalated to: escalations, answers, returns, return rate and response time."""
    by_dept: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        if f.kind in ("escalated", "escalation_closed"):
            by_dept[f.department or NONE_GROUP].append(f)
    out = []
    for dept in sorted(by_dept):
        items = by_dept[dept]
        answered = [f for f in items if f.kind == "escalation_closed" and f.outcome == "answered"]
        returned = [f for f in items if f.kind == "escalation_closed" and f.outcome == "returned"]
        out.append({"department": dept, "escalated": sum(1 for f in items if f.kind == "escalated"),
                    "answered": len(answered), "returned": len(returned),
                    "return_rate": stats.rate(len(returned), len(answered) + len(returned)),
                    "response": _durations(answered)})
    return out


def daily(day: DayData) -> dict[str, Any]:
    """The chart series point of one day."""
    first = [f for f in day.facts if f.kind == "first_response"]
    _, attainment = _sla(day.facts)
    return {
        "day": day.day.isoformat(),
        "tickets_created": sum(1 for f in day.facts if f.kind == "created"),
        "tickets_solved": len({f.ticket for f in day.facts if f.kind == "solved"}),
        "first_response_median_minutes": stats.summarize(f.minutes for f in first)["median"],
        "first_response_median_business_minutes": stats.summarize(f.business_minutes for f in first)["median"],
        "sla_attainment": attainment,
        "backlog": day.backlog_size,
        "source": day.source,
    }


def build(days: Sequence[DayData], *, group_by: str | None = None, repeat_days: int = DEFAULT_REPEAT_DAYS
          ) -> dict[str, Any]:
    """The report of consecutive ``days`` (oldest first), optionally broken down by ``group_by``."""
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {sorted(GROUP_BY)}, got {group_by!r}")
    if not days:
        raise ValueError("a report needs at least one day")
    facts = [f for d in days for f in d.facts]
    backlog_end = days[-1].backlog
    if backlog_end is None:
        raise ValueError("the last day of a report needs its backlog snapshot")
    reopens = _times(facts, "reopened")
    report: dict[str, Any] = {
        "from": days[0].day.isoformat(), "to": days[-1].day.isoformat(), "group_by": group_by,
        "repeat_days": repeat_days,
        "totals": kpi_block(facts, backlog_end=backlog_end, reopens=reopens, repeat_days=repeat_days),
        "backlog": backlog_mod.summarize(backlog_end, days[-1].as_of),
        "escalations": escalations(facts),
        "daily": [daily(d) for d in days],
    }
    if group_by is not None:
        key = GROUP_BY[group_by]
        groups: dict[str, list[Fact]] = defaultdict(list)
        for f in facts:
            if f.kind not in ("escalated", "escalation_closed"):
                groups[key(f) or NONE_GROUP].append(f)
        report["groups"] = [{"group": name, **kpi_block(items, backlog_end=backlog_end, reopens=reopens,
                                                        repeat_days=repeat_days)}
                            for name, items in sorted(groups.items())]
    return report


def _flatten(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    else:
        yield prefix, value


def _sla_rows(block: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    for row in block["sla"]:
        for name in ("met", "breached", "attainment"):
            yield f"sla.{row['policy']}.{row['metric']}.{name}", row[name]


def _block_rows(block: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    yield from _flatten("", {k: v for k, v in block.items() if k not in ("sla", "group")})
    yield from _sla_rows(block)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell spreadsheets never run: text starting with ``= + - @``, tab or CR gets a leading ``'`` (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(report: Mapping[str, Any]) -> str:
    """The report as CSV rows ``group_by,group,kpi,value`` (totals in group ``(all)``); text cells escaped
    against formula injection (``csv_cell``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["from", "to", "group_by", "group", "kpi", "value"])
    head = [report["from"], report["to"], report.get("group_by") or ""]

    def emit(group: str, rows: Iterable[tuple[str, Any]]) -> None:
        for kpi, value in rows:
            writer.writerow([csv_cell(c) for c in [*head, group, kpi, "" if value is None else value]])

    emit(ALL_GROUP, _block_rows(report["totals"]))
    if report.get("backlog") is not None:  # None: no day of the range is aggregated yet
        emit(ALL_GROUP, _flatten("backlog", {k: v for k, v in report["backlog"].items() if k != "as_of"}))
    for day in report.get("pending") or []:
        emit(ALL_GROUP, [(f"pending.{day}", "not aggregated yet")])
    for esc in report["escalations"]:
        emit(ALL_GROUP, _flatten(f"escalation.{esc['department']}",
                                 {k: v for k, v in esc.items() if k != "department"}))
    for point in report["daily"]:
        emit(ALL_GROUP, _flatten(f"daily.{point['day']}", {k: v for k, v in point.items() if k != "day"}))
    for group in report.get("groups", []):
        emit(group["group"], _block_rows(group))
    return out.getvalue()

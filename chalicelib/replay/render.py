"""The replay report as text, JSON or a Markdown pull-request comment. PURE."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.replay.compare import Summary

DETAIL_LINES = 20


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _rule_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for rule, c in data["rules"].items():
        moved = {k: v for k, v in c.items() if k.endswith(("_gained", "_lost", "_shifted", "_changed"))}
        if not moved and c.get("baseline_firings") == c.get("candidate_firings"):
            continue
        rows.append((rule, f"{c.get('baseline_firings', 0)} -> {c.get('candidate_firings', 0)}",
                     f"+{c.get('firings_gained', 0)} / -{c.get('firings_lost', 0)}",
                     f"{c.get('firings_shifted', 0)}",
                     f"+{c.get('notifications_gained', 0)} / -{c.get('notifications_lost', 0)}"))
    return rows


def _ticket_lines(detail: dict[str, Any]) -> list[str]:
    out = []
    for how, sign in (("gained", "+"), ("lost", "-")):
        for i in detail[how]:
            what = i.get("rule") or f"{i.get('metric')} ({i.get('policy')})"
            out.append(f"{sign} {i['at']} {i['kind']} {what}")
    for i in detail["shifted"]:
        what = i.get("rule") or f"{i.get('metric')} breach"
        out.append(f"~ {i['kind']} {what}: {i['baseline_at']} -> {i['candidate_at']}")
    for name, v in detail["final"].items():
        out.append(f"! {name} at the end: {v['baseline']} -> {v['candidate']}")
    if detail["later_inputs_as_recorded"]:
        out.append(f"  note: {detail['later_inputs_as_recorded']} recorded action(s) after "
                   f"{detail['first_difference_at']} are replayed as recorded; people might have acted differently")
    return out


def text(summary: Summary, meta: dict[str, Any]) -> str:
    """Plain text for a terminal."""
    d = summary.to_dict()
    a, b = d["sla_attainment"]["baseline"], d["sla_attainment"]["candidate"]
    lines = [f"replay {meta.get('from')} .. {meta.get('to')}: {d['tickets']} tickets, "
             f"{d['tickets_differing']} differ; new breaches: {d['new_breaches']}",
             f"rules: {meta.get('rules')}  baseline: {meta.get('baseline')}",
             f"SLA attainment: {_pct(a['attainment'])} -> {_pct(b['attainment'])}"]
    for row in d["breaches"]:
        lines.append(f"  breaches {row['policy']}/{row['metric']}: {row['baseline']} -> {row['candidate']} "
                     f"(+{row['gained']} -{row['lost']}, {row['shifted']} moved)")
    rows = _rule_rows(d)
    if rows:
        lines.append("rules that fire differently (firings, gained/lost, moved, notifications gained/lost):")
        lines += [f"  {r[0]}: {r[1]}, {r[2]}, {r[3]} moved, notifications {r[4]}" for r in rows]
    for name, n in d["final_state_differences"].items():
        lines.append(f"  tickets ending with another {name}: {n}")
    for detail in d["ticket_details"]:
        lines.append(f"ticket #{detail['ticket']}:")
        lines += [f"  {line}" for line in _ticket_lines(detail)]
    if d["ticket_details_truncated"]:
        lines.append(f"(details of the first {len(d['ticket_details'])} differing tickets only; see --format json)")
    lines += [f"not replayed: {f}" for f in d["tickets_not_replayed"]]
    lines.append(f"simulated {d['simulated_minutes']} ticket-minutes; sweeps evaluated {d['sweeps_evaluated']}")
    return "\n".join(lines) + "\n"


def as_json(summary: Summary, meta: dict[str, Any]) -> str:
    """Everything, for machines."""
    return json.dumps({"replay": meta, **summary.to_dict()}, ensure_ascii=False, indent=2) + "\n"


def markdown(summary: Summary, meta: dict[str, Any]) -> str:
    """A pull-request comment: headline, breaches, rules, the first differing tickets."""
    d = summary.to_dict()
    a, b = d["sla_attainment"]["baseline"], d["sla_attainment"]["candidate"]
    icon = ":warning:" if d["new_breaches"] else ":white_check_mark:"
    out = [f"### {icon} Rule replay {meta.get('from')} .. {meta.get('to')}", "",
           f"**{d['tickets']}** tickets replayed, **{d['tickets_differing']}** would have gone differently; "
           f"**{d['new_breaches']}** new SLA breaches. SLA attainment **{_pct(a['attainment'])} -> "
           f"{_pct(b['attainment'])}**.", ""]
    if d["breaches"]:
        out += ["| policy | metric | breaches before | after | gained | lost | moved |",
                "|---|---|---:|---:|---:|---:|---:|"]
        out += [f"| {r['policy']} | {r['metric']} | {r['baseline']} | {r['candidate']} | {r['gained']} | "
                f"{r['lost']} | {r['shifted']} |" for r in d["breaches"]]
        out.append("")
    rows = _rule_rows(d)
    if rows:
        out += ["| rule | firings | gained / lost | moved | notifications gained / lost |", "|---|---|---|---:|---|"]
        out += [f"| `{r[0]}` | {r[1]} | {r[2]} | {r[3]} | {r[4]} |" for r in rows]
        out.append("")
    if d["ticket_details"]:
        out += ["<details><summary>Tickets</summary>", ""]
        for detail in d["ticket_details"][:DETAIL_LINES]:
            out.append(f"- **#{detail['ticket']}**")
            out += [f"  - `{line.strip()}`" for line in _ticket_lines(detail)]
        if len(d["ticket_details"]) > DETAIL_LINES or d["ticket_details_truncated"]:
            out.append(f"- ... {d['tickets_differing'] - DETAIL_LINES} more (see the JSON report)")
        out += ["", "</details>", ""]
    out.append("_Replayed with the production engine and clocks; agent actions after a difference are taken as "
               "recorded. Nothing was sent._")
    return "\n".join(out) + "\n"


FORMATS = {"text": text, "json": as_json, "markdown": markdown}

"""Compare two simulations of each ticket and add the differences up. PURE.

A firing or a notification is identified by its rule and occurrence (the
deadline instance of an automation, the input that caused a trigger), a breach
by its metric instance; found in both at different minutes it is *shifted*,
in one only it is *gained* or *lost*. ``Summary``
streams: it keeps counters for every ticket and the details of the first
``max_tickets`` differing tickets only, so memory stays bounded.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.replay.history import iso
from chalicelib.replay.simulate import STATE_FIELDS, Simulation


@dataclass
class TicketDiff:
    """Everything one ticket does differently under the candidate rules.

    ``gained``/``lost``: firings, notifications and breaches only the candidate /
    only the baseline has; ``shifted``: the same one (same rule and deadline
    instance or input) at another time; ``changed``: the same firing with other
    actions; ``final``: state at the end that differs.
    """

    number: int
    gained: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    shifted: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_difference_at: datetime | None = None
    later_inputs: int = 0

    @property
    def differs(self) -> bool:
        """Is there any difference at all?"""
        return bool(self.gained or self.lost or self.shifted or self.changed or self.final)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"ticket": self.number, "gained": self.gained, "lost": self.lost, "shifted": self.shifted,
                "changed": self.changed, "final": self.final,
                "first_difference_at": iso(self.first_difference_at) if self.first_difference_at else None,
                "later_inputs_as_recorded": self.later_inputs}


Key = tuple[str, ...]
BREACH_COLUMNS = ("baseline", "candidate", "gained", "lost", "shifted")


def _items(sim: Simulation) -> dict[Key, list[tuple[datetime, dict[str, Any]]]]:
    """Everything the rules did, by identity, each with its time and details."""
    items: dict[Key, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for at, rule, occ, actions in sim.firings:
        items[("firing", rule, occ)].append((at, {"actions": json.loads(actions)}))
    for at, rule, occ, kind, target, to, template in sim.notifications:
        name = "notification" if kind == "notify" else kind
        items[(name, rule, occ, target, to, template)].append((at, {}))
    for at, policy, metric, instance in sim.breaches:
        items[("breach", metric, instance)].append((at, {"policy": policy}))
    return items


def _what(key: Key) -> dict[str, Any]:
    if key[0] == "breach":
        return {"kind": "breach", "metric": key[1], "instance": key[2]}
    out = {"kind": key[0], "rule": key[1], "occurrence": key[2]}
    if len(key) > 3:
        out.update(target=key[3], to=key[4], template=key[5])
    return out


def diff_ticket(base: Simulation, cand: Simulation) -> TicketDiff:
    """The differences of one ticket (candidate against baseline)."""
    a, b = _items(base), _items(cand)
    out = TicketDiff(base.number)
    times: list[datetime] = []
    for key in sorted(set(a) | set(b)):
        xs, ys = a.get(key, []), b.get(key, [])
        for (ta, da), (tb, db) in zip(xs, ys, strict=False):
            if ta != tb:
                out.shifted.append({**_what(key), "baseline_at": iso(ta), "candidate_at": iso(tb), **db})
                times.append(min(ta, tb))
            elif da != db:
                out.changed.append({**_what(key), "at": iso(ta), "baseline": da, "candidate": db})
                times.append(ta)
        for t, d in xs[len(ys):]:
            out.lost.append({**_what(key), "at": iso(t), **d})
            times.append(t)
        for t, d in ys[len(xs):]:
            out.gained.append({**_what(key), "at": iso(t), **d})
            times.append(t)
    for group in (out.gained, out.lost, out.changed):
        group.sort(key=lambda i: (i["at"], i["kind"]))
    out.shifted.sort(key=lambda i: (min(i["baseline_at"], i["candidate_at"]), i["kind"]))
    out.final = {k: {"baseline": base.final.get(k), "candidate": cand.final.get(k)}
                 for k in STATE_FIELDS if base.final.get(k) != cand.final.get(k)}
    if times:
        out.first_difference_at = min(times)
        out.later_inputs = sum(1 for t in base.input_times if t > out.first_difference_at)
    return out


def _rate(met: int, total: int) -> float | None:
    return round(met / total, 4) if total else None


@dataclass
class Summary:
    """Totals over every ticket replayed; add with ``add(baseline, candidate)``."""

    max_tickets: int = 200
    tickets: int = 0
    differing: int = 0
    caveats: int = 0
    sweeps: Counter[str] = field(default_factory=Counter)
    minutes: int = 0
    rules: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    breaches: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    sla: dict[str, Counter[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(Counter))
    final: Counter[str] = field(default_factory=Counter)
    details: list[TicketDiff] = field(default_factory=list)
    fidelity: Counter[str] = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)

    def add(self, base: Simulation, cand: Simulation, recorded: Iterable[tuple[str, str, datetime]] = ()) -> TicketDiff:
        """Count one ticket; returns its diff."""
        self.tickets += 1
        self.minutes += base.minutes
        self.sweeps["baseline"] += base.sweeps
        self.sweeps["candidate"] += cand.sweeps
        for side, sim in (("baseline", base), ("candidate", cand)):
            for _at, rule, _occ, _actions in sim.firings:
                self.rules[rule][f"{side}_firings"] += 1
            for _at, rule, _occ, kind, *_rest in sim.notifications:
                self.rules[rule][f"{side}_{'notifications' if kind == 'notify' else kind + 's'}"] += 1
            for _at, policy, metric, _instance in sim.breaches:
                self.breaches[(str(policy), metric)][side] += 1
            self.sla[side].update(sim.sla)
        self._fidelity(base, recorded)
        diff = diff_ticket(base, cand)
        for how in ("gained", "lost", "shifted", "changed"):
            for item in getattr(diff, how):
                self._count(item, how)
        self.final.update(diff.final.keys())
        if diff.differs:
            self.differing += 1
            self.caveats += 1 if diff.later_inputs else 0
            if len(self.details) < self.max_tickets:
                self.details.append(diff)
        return diff

    def _count(self, item: dict[str, Any], how: str) -> None:
        if item["kind"] == "breach":
            self.breaches[(str(item.get("policy")), item["metric"])][how] += 1
        elif item["kind"] == "firing":
            self.rules[item["rule"]][f"firings_{how}"] += 1
        else:
            noun = "notifications" if item["kind"] == "notification" else item["kind"] + "s"
            self.rules[item["rule"]][f"{noun}_{how}"] += 1

    def _fidelity(self, base: Simulation, recorded: Iterable[tuple[str, str, datetime]]) -> None:
        """Does the baseline replay reproduce what was recorded (rules fired, breaches)?"""
        rec = Counter((kind, key) for kind, key, _at in recorded)
        if not rec and not base.firings and not base.breaches:
            self.fidelity["same"] += 1
            return
        sim = Counter([("rule", r) for _a, r, _o, _x in base.firings] + [("breach", i) for *_p, i in base.breaches])
        self.fidelity["same" if sim == rec else "different"] += 1

    @property
    def new_breaches(self) -> int:
        """Deadline breaches the candidate rules add."""
        return sum(c["gained"] for c in self.breaches.values())

    def attainment(self, side: str) -> dict[str, Any]:
        """SLA attainment of one side: overall and per policy and metric (met / decided)."""
        counts = self.sla[side]
        rows = []
        for policy, metric in sorted({(p, m) for p, m, _ in counts}):
            met, breached = counts[(policy, metric, "met")], counts[(policy, metric, "breached")]
            rows.append({"policy": policy, "metric": metric, "met": met, "breached": breached,
                         "attainment": _rate(met, met + breached)})
        met = sum(r["met"] for r in rows)
        return {"attainment": _rate(met, met + sum(r["breached"] for r in rows)), "sla": rows}

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {
            "tickets": self.tickets,
            "tickets_differing": self.differing,
            "tickets_with_later_recorded_actions": self.caveats,
            "new_breaches": self.new_breaches,
            "simulated_minutes": self.minutes,
            "sweeps_evaluated": dict(self.sweeps),
            "rules": {rule: dict(sorted(c.items())) for rule, c in sorted(self.rules.items())},
            "breaches": [{"policy": p, "metric": m, **{k: c[k] for k in BREACH_COLUMNS}}
                         for (p, m), c in sorted(self.breaches.items())],
            "sla_attainment": {"baseline": self.attainment("baseline"), "candidate": self.attainment("candidate")},
            "final_state_differences": dict(sorted(self.final.items())),
            "baseline_matches_recorded": dict(self.fidelity),
            "ticket_details": [d.to_dict() for d in self.details],
            "ticket_details_truncated": self.differing > len(self.details),
            "tickets_not_replayed": self.failed[:self.max_tickets],
        }

"""Zendesk SLA policies, triggers and automations -> our rule files. PURE.

- SLA policy: ``filter`` (all/any) -> ``condition``; ``policy_metrics`` ->
  ``targets`` (first_reply_time, next_reply_time; requester_wait_time or
  agent_work_time -> resolution, pausing on pending, or pending and on-hold);
  business hours -> the schedule's calendar, calendar hours -> ``24x7``.
- Trigger: ``update_type``/``role`` -> ``on``; other conditions -> ``condition``.
- Automation (hourly in Zendesk): its hours-since/until condition -> the clock it
  hangs on (``PENDING`` -> ``pending``, ``sla_next_breach_at`` -> one automation per
  SLA metric), at the exact minute instead of the next hourly run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.importers.zendesk import conditions as cmap
from chalicelib.importers.zendesk.model import Finding, Import, rule_id
from chalicelib.importers.zendesk.schedules import ALWAYS_OPEN, calendar

METRICS = {"first_reply_time": "first_reply", "next_reply_time": "next_reply", "requester_wait_time": "resolution",
           "agent_work_time": "resolution"}
TIME_FIELDS = {"PENDING": "pending", "sla_next_breach_at": "sla"}
HOURS_OPS = {"is": 1, "greater_than": 1, "is_business_hours": 1, "greater_than_business_hours": 1,
             "less_than": -1, "less_than_business_hours": -1}


def _items(doc: Any, key: str) -> list[Mapping[str, Any]]:
    if isinstance(doc, Mapping):
        doc = doc.get(key, [])
    return [d for d in doc or [] if isinstance(d, Mapping)]


class _Run:
    def __init__(self, out: Import) -> None:
        self.out, self.taken = out, set()

    def find(self, source: str, pointer: str, rule: str, item: Any, reason: str, status: str = "unmapped") -> None:
        self.out.findings.append(Finding(source, pointer, rule, item, reason, status))

    def condition(self, source: str, pointer: str, title: str, conds: Mapping[str, Any],
                  skip: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, bool]:
        """(JSON Schema condition or None, every condition mapped?) of an ``{"all", "any"}`` object."""
        parts: list[dict[str, Any]] = []
        branches: list[dict[str, Any]] = []
        complete = True
        for key, into in (("all", parts), ("any", branches)):
            for i, c in enumerate(conds.get(key) or []):
                if c.get("field") in skip:
                    continue
                mapped = cmap.condition(c)
                if isinstance(mapped, str):
                    self.find(source, f"{pointer}/{key}/{i}", title, dict(c), mapped)
                    complete = False
                else:
                    into.append(mapped)
        if branches:
            parts.append({"anyOf": branches})
        if not parts:
            return None, complete
        return (parts[0] if len(parts) == 1 else {"allOf": parts}), complete

    def actions(self, source: str, pointer: str, title: str, actions: list[Mapping[str, Any]]) -> list[dict]:
        out = []
        for i, a in enumerate(actions):
            mapped = cmap.action(a)
            if isinstance(mapped, str):
                self.find(source, f"{pointer}/{i}", title, dict(a), mapped)
                continue
            if "_approx" in mapped:
                self.find(source, f"{pointer}/{i}", title, dict(a), mapped.pop("_approx"), "approximated")
            if "_missing" in mapped:
                self.find(source, f"{pointer}/{i}", title, dict(a), "placeholders without an equivalent were left "
                          f"out: {', '.join(mapped.pop('_missing'))}", "approximated")
            out.append(mapped)
        return out


def _sla(run: _Run, policies: list[Mapping[str, Any]], business: str | None) -> None:
    for n, p in enumerate(policies):
        ptr, title = f"/sla_policies/{n}", str(p.get("title") or p.get("id"))
        cond, complete = run.condition("sla_policies", f"{ptr}/filter", title, p.get("filter") or {})
        targets: dict[str, dict[str, int]] = {}
        pause = ["pending"]
        hours = set()
        for i, m in enumerate(p.get("policy_metrics") or []):
            metric = METRICS.get(str(m.get("metric")))
            if metric is None:
                run.find("sla_policies", f"{ptr}/policy_metrics/{i}", title, dict(m),
                         f"metric {m.get('metric')!r} has no equivalent (first reply, next reply, resolution)")
                continue
            prio = str(m.get("priority"))
            if metric in targets.get(prio, {}):
                run.find("sla_policies", f"{ptr}/policy_metrics/{i}", title, dict(m),
                         "resolution already set by another metric of this priority; this one is left out")
                continue
            if m.get("metric") == "agent_work_time":
                pause = ["pending", "on-hold"]
            minutes = int(m.get("target") or round(int(m.get("target_in_seconds") or 0) / 60))
            targets.setdefault(prio, {})[metric] = max(1, minutes)
            hours.add(bool(m.get("business_hours")))
        if not targets:
            run.find("sla_policies", ptr, title, p.get("title"), "no metric could be imported; policy skipped")
            continue
        cal = business if (True in hours and business) else "24x7"
        if len(hours) > 1:
            run.find("sla_policies", f"{ptr}/policy_metrics", title, None, "mixes business and calendar hours; "
                     "one calendar per policy here: all metrics count in business hours", "approximated")
        if True in hours and not business:
            run.find("sla_policies", ptr, title, None, "business hours but no schedule imported: 24x7 used",
                     "approximated")
        if cal == "24x7":
            run.out.files["calendars/24x7.json"] = dict(ALWAYS_OPEN)
        rid = rule_id("sla", title, p.get("id"), run.taken)
        doc: dict[str, Any] = {"kind": "sla", "position": 10 * (int(p.get("position") or n) + 1),
                               "description": f"Imported from Zendesk SLA policy {p.get('id')}: {title}",
                               "calendar": cal, "targets": targets, "pause_statuses": pause}
        if cond is not None:
            doc["condition"] = cond
        if not complete:
            doc["enabled"] = False
        run.out.files[f"{rid}.json"] = doc


def _triggers(run: _Run, triggers: list[Mapping[str, Any]]) -> None:
    for n, t in enumerate(triggers):
        ptr, title = f"/triggers/{n}", str(t.get("title") or t.get("id"))
        conds = t.get("conditions") or {}
        on, _used = cmap.events_for(list(conds.get("all") or []))
        cond, complete = run.condition("triggers", f"{ptr}/conditions", title, conds, skip=("update_type", "role"))
        actions = run.actions("triggers", f"{ptr}/actions", title, list(t.get("actions") or []))
        if not actions or not on:
            run.find("triggers", ptr, title, None, "no action (or no event) could be imported; trigger skipped")
            continue
        rid = rule_id("trigger", title, t.get("id"), run.taken)
        doc: dict[str, Any] = {"kind": "trigger", "position": 10 * (int(t.get("position") or n) + 1),
                               "description": f"Imported from Zendesk trigger {t.get('id')}: {title}",
                               "on": on, "actions": actions}
        if cond is not None:
            doc["condition"] = cond
        if not complete or t.get("active") is False:
            doc["enabled"] = False
        run.out.files[f"{rid}.json"] = doc


def _automations(run: _Run, automations: list[Mapping[str, Any]]) -> None:
    for n, a in enumerate(automations):
        ptr, title = f"/automations/{n}", str(a.get("title") or a.get("id"))
        conds = a.get("conditions") or {}
        timed = [(i, c) for i, c in enumerate(conds.get("all") or []) if c.get("field") in TIME_FIELDS
                 and c.get("operator") in HOURS_OPS]
        if not timed:
            run.find("automations", f"{ptr}/conditions", title, conds.get("all"), "no time condition this service "
                     "can hang on (hours since pending, hours until/since an SLA breach); automation skipped")
            continue
        i, when = timed[0]
        for j, other in timed[1:]:
            run.find("automations", f"{ptr}/conditions/all/{j}", title, dict(other),
                     "only one time condition per automation; this one is left out")
        skip = tuple(TIME_FIELDS) + ("update_type",)
        cond, complete = run.condition("automations", f"{ptr}/conditions", title, conds, skip=skip)
        for k, c in enumerate(conds.get("all") or []):
            if c.get("field") in ("NEW", "OPEN", "HOLD", "SOLVED", "CLOSED", "assigned_at", "updated_at",
                                  "requester_updated_at", "assignee_updated_at", "due_date", "until_due_date"):
                run.find("automations", f"{ptr}/conditions/all/{k}", title, dict(c),
                         f"no clock for hours since {c.get('field')}")
                complete = False
        actions = run.actions("automations", f"{ptr}/actions", title, list(a.get("actions") or []))
        if not actions:
            run.find("automations", ptr, title, None, "no action could be imported; automation skipped")
            continue
        hours = float(when.get("value") or 0)
        op = str(when.get("operator"))
        offset = int(round(hours * 60)) * HOURS_OPS[op]
        key = "offset_business_minutes" if "business" in op else "offset_minutes"
        clocks = ["pending"] if TIME_FIELDS[when["field"]] == "pending" else ["first_reply", "next_reply",
                                                                            "resolution"]
        run.find("automations", f"{ptr}/conditions/all/{i}", title, dict(when),
                 "runs at the exact minute, not on Zendesk's next hourly run", "approximated")
        base = rule_id("automation", title, a.get("id"), run.taken)
        for clock in clocks:
            rid = base if len(clocks) == 1 else f"{base}-{clock.replace('_', '-')}"
            doc: dict[str, Any] = {"kind": "automation", "position": 10 * (int(a.get("position") or n) + 1),
                                   "description": f"Imported from Zendesk automation {a.get('id')}: {title}",
                                   "at": {"clock": clock, key: offset}, "actions": actions}
            if cond is not None:
                doc["condition"] = cond
            if not complete or a.get("active") is False:
                doc["enabled"] = False
            run.out.files[f"{rid}.json"] = doc


def import_all(*, sla: Any = None, triggers: Any = None, automations: Any = None, schedules: Any = None,
               country: str | None = None) -> Import:
    """Everything that can be carried over, and a finding for everything that cannot; see the package doc."""
    out = Import()
    run = _Run(out)
    business = None
    for n, s in enumerate(_items(schedules, "schedules")):
        cal_id = rule_id("cal", str(s.get("name") or s.get("id")), s.get("id"), run.taken)
        doc = calendar(s, cal_id, f"/schedules/{n}", out.findings, country)
        if doc is not None:
            out.files[f"calendars/{cal_id}.json"] = doc
            business = business or cal_id  # the first schedule is the account default
    _sla(run, _items(sla, "sla_policies"), business)
    _triggers(run, _items(triggers, "triggers"))
    _automations(run, _items(automations, "automations"))
    return out

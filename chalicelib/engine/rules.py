"""Loaded rules and the rule set: immutable, conditions compiled once.

``RuleSet`` holds only enabled rules, sorted by ``(position, id)``:

- ``slas``: SLA policies; ``select_sla(doc)`` returns the first match.
- ``triggers``: ``triggers_for(event_type)`` lists those listening to an event.
- ``automations``: time-based rules (see ``chalicelib.engine.evaluate``).
- ``disabled``: rules with ``"enabled": false`` (checked, never evaluated).

Each rule's ``matches(doc)`` is the compiled condition (jsonschema-rs);
evaluate every rule against one shared document, never a copy per rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.engine.conditions import Predicate


@dataclass(frozen=True, kw_only=True, eq=False)
class Rule:
    """What every rule has. ``file`` is relative to the rules directory."""

    id: str
    kind: str
    position: int
    file: str
    description: str = ""
    enabled: bool = True
    condition: Any = None
    matches: Predicate = field(repr=False)


@dataclass(frozen=True, kw_only=True, eq=False)
class SlaRule(Rule):
    """An SLA policy: calendar id, target minutes per priority and metric, pause statuses."""

    calendar: str
    targets: Mapping[str, Mapping[str, int]]
    pause_statuses: tuple[str, ...] = ("pending",)

    def target(self, priority: str, metric: str) -> int | None:
        """Target business minutes of ``metric`` for ``priority``; None if there is none."""
        return self.targets.get(priority, {}).get(metric)


@dataclass(frozen=True, kw_only=True, eq=False)
class TriggerRule(Rule):
    """Runs its actions when one of the ``on`` events happens and the condition matches."""

    on: tuple[str, ...]
    actions: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class AutomationRule(Rule):
    """Runs once per deadline instance of ``clock`` at deadline + ``offset_minutes``, or at the
    deadline moved by ``offset_business_minutes`` on the clock's business calendar."""

    clock: str
    offset_minutes: int
    actions: tuple[Mapping[str, Any], ...]
    offset_business_minutes: int | None = None

    @property
    def is_warning(self) -> bool:
        """True when it runs before its deadline (a negative offset): live only until the deadline."""
        offset = self.offset_business_minutes if self.offset_business_minutes is not None else self.offset_minutes
        return offset < 0


@dataclass(frozen=True)
class Firing:
    """A rule that fired: its actions (fresh copies) and why.

    ``why`` is readable text; ``matched`` lists JSON pointers (in the rule file)
    of the ``anyOf``/``oneOf`` branches that matched. Automations also carry
    ``dedupe_key`` (``"{rule_id}#{ticket_id}#{instance}"``), ``fire_at`` and ``instance``.
    """

    rule_id: str
    kind: str
    actions: list[dict[str, Any]]
    why: str
    matched: tuple[str, ...] = ()
    dedupe_key: str | None = None
    fire_at: datetime | None = None
    instance: str | None = None


def _order(rule: Rule) -> tuple[int, str]:
    return rule.position, rule.id


@dataclass(frozen=True)
class RuleSet:
    """All rules of a directory, compiled. Build with ``RuleSet.of(rules)`` or the loader."""

    slas: tuple[SlaRule, ...] = ()
    triggers: tuple[TriggerRule, ...] = ()
    automations: tuple[AutomationRule, ...] = ()
    disabled: tuple[Rule, ...] = ()
    _by_event: Mapping[str, tuple[TriggerRule, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rules: list[Rule]) -> RuleSet:
        """Sort enabled rules by (position, id) and index triggers by event."""
        enabled = sorted((r for r in rules if r.enabled), key=_order)
        triggers = tuple(r for r in enabled if isinstance(r, TriggerRule))
        events = {event for t in triggers for event in t.on}
        return cls(
            slas=tuple(r for r in enabled if isinstance(r, SlaRule)),
            triggers=triggers,
            automations=tuple(r for r in enabled if isinstance(r, AutomationRule)),
            disabled=tuple(sorted((r for r in rules if not r.enabled), key=lambda r: r.id)),
            _by_event={e: tuple(t for t in triggers if e in t.on) for e in events},
        )

    def select_sla(self, doc: Mapping[str, Any]) -> SlaRule | None:
        """The first SLA policy (by position) whose condition matches ``doc``, or None."""
        for rule in self.slas:
            if rule.matches(doc):
                return rule
        return None

    def triggers_for(self, event_type: str) -> tuple[TriggerRule, ...]:
        """Enabled triggers listening to ``event_type``, in position order."""
        return self._by_event.get(event_type, ())

    def get(self, rule_id: str) -> Rule | None:
        """The rule (enabled or not) with this id, or None."""
        return next((r for r in self.all_rules() if r.id == rule_id), None)

    def all_rules(self) -> Iterator[Rule]:
        """Every rule, enabled ones first."""
        yield from self.slas
        yield from self.triggers
        yield from self.automations
        yield from self.disabled

    def action_refs(self, key: str) -> Iterator[tuple[Rule, str, str]]:
        """``(rule, JSON pointer, value)`` for each action field ``key`` (e.g. "target",
        "template") of every rule, so callers can check plugins and templates exist."""
        for rule in self.all_rules():
            for i, action in enumerate(getattr(rule, "actions", ())):
                value = action.get(key)
                if isinstance(value, str):
                    yield rule, f"/actions/{i}/{key}", value

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
from types import MappingProxyType
from typing import Any

from chalicelib.engine.conditions import Predicate, explain


def freeze(value: Any) -> Any:
    """A read-only deep view of JSON data (mappings -> ``MappingProxyType``, lists -> tuples), so
    rule actions can be handed to every firing without copying and never changed by a caller."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain, mutable JSON data (dicts and lists) from a ``freeze``d value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


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


class Firing:
    """A rule that fired: its actions (read-only, shared with the rule: ``thaw`` for a copy) and why.

    ``why`` is readable text; ``matched`` lists JSON pointers (in the rule file)
    of the ``anyOf``/``oneOf`` branches that matched. Both are worked out on
    first read from the document the rule matched (which callers never change),
    so evaluating rules costs no explanation nobody reads. Automations also carry
    ``dedupe_key`` (``"{rule_id}#{ticket_id}#{instance}"``), ``fire_at`` and ``instance``.
    """

    __slots__ = ("rule_id", "kind", "actions", "dedupe_key", "fire_at", "instance", "_rule", "_doc",
                 "_prefix", "_explained")

    def __init__(self, rule_id: str, kind: str, actions: tuple[Mapping[str, Any], ...], *,
                 rule: Rule | None = None, doc: Any = None, prefix: str = "", why: str | None = None,
                 matched: tuple[str, ...] = (), dedupe_key: str | None = None, fire_at: datetime | None = None,
                 instance: str | None = None) -> None:
        self.rule_id, self.kind, self.actions = rule_id, kind, actions
        self.dedupe_key, self.fire_at, self.instance = dedupe_key, fire_at, instance
        self._rule, self._doc, self._prefix = rule, doc, prefix
        self._explained: tuple[str, tuple[str, ...]] | None = None if why is None else (why, matched)

    def _explain(self) -> tuple[str, tuple[str, ...]]:
        if self._explained is None:
            why, matched = explain(self._rule.condition if self._rule else None, self._doc)
            self._explained = (self._prefix + why, tuple(f"/condition{p}" for p in matched))
            self._doc = None
        return self._explained

    @property
    def why(self) -> str:
        """Why the rule fired, for humans."""
        return self._explain()[0]

    @property
    def matched(self) -> tuple[str, ...]:
        """JSON pointers of the ``anyOf``/``oneOf`` branches that matched."""
        return self._explain()[1]

    def __repr__(self) -> str:
        return f"Firing({self.rule_id!r}, {self.kind!r}, dedupe_key={self.dedupe_key!r})"


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

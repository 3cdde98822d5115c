"""The rules engine: load, check and evaluate JSON rule files. Pure.

No AWS, no Chalice, no clock: times come in as arguments. Modules, one concept each:

- ``schema``: ``DOCUMENT_SCHEMA`` (what conditions see) and ``RULE_SCHEMA`` (rule files).
- ``actions``: the action types and their fields.
- ``fields``: conditions checked against the document schema (unknown fields are errors).
- ``conditions``: check, compile (jsonschema-rs, once) and explain conditions.
- ``rules``: ``Rule`` kinds, ``Firing`` and ``RuleSet``.
- ``loader``: ``check_rules`` / ``load_rules`` for a rules directory.
- ``document``: ``build_document`` for the condition document.
- ``evaluate``: SLA selection, triggers, automations (once per deadline instance).

``python -m chalicelib.engine [RULES_DIR]`` checks a rules directory.
"""

from chalicelib.engine.document import build_document, document_errors
from chalicelib.engine.evaluate import (
    dedupe_key,
    due_automations,
    evaluate_triggers,
    fire_time,
    next_automation_time,
    select_sla,
)
from chalicelib.engine.loader import RuleErrors, cached_rules, check_rules, load_rules, reference_errors
from chalicelib.engine.rules import AutomationRule, Firing, Rule, RuleSet, SlaRule, TriggerRule
from chalicelib.engine.schema import DOCUMENT_SCHEMA, RULE_SCHEMA

__all__ = [
    "DOCUMENT_SCHEMA",
    "RULE_SCHEMA",
    "AutomationRule",
    "Firing",
    "Rule",
    "RuleErrors",
    "RuleSet",
    "SlaRule",
    "TriggerRule",
    "build_document",
    "cached_rules",
    "check_rules",
    "dedupe_key",
    "document_errors",
    "due_automations",
    "evaluate_triggers",
    "fire_time",
    "load_rules",
    "next_automation_time",
    "reference_errors",
    "select_sla",
]

"""Benchmark: rule evaluation, the production entry points vs hand-written Python doing the same work.

Writes ~20 realistic trigger rules to a temporary rules directory, loads them
with ``chalicelib.engine.load_rules`` (so they pass the checker), generates
ticket documents with ``build_document``, checks that every compiled condition
agrees with its hand-written predicate on every document, then times both
side by side in one run (interleaved, best of ``--repeat``). For context it
also times plain ``jsonschema`` (Python) on a small sample.

Then the production trigger path: ``evaluate_triggers`` (as ingest and agent
changes run it: the triggers listening to the event, matched, each firing with
its rule id, actions and explanation) against a hand-written loop returning the
same (rule id, actions) pairs; and the sweep's ``due_automations`` against a
hand-written loop over the same deadlines. Both sides produce the same
firings (checked), timed interleaved.

    python bench/bench_engine.py [--tickets 20000] [--repeat 5] [--max-ratio 5] [--max-path-ratio 3.5]

Exits 1 when a condition ratio exceeds ``--max-ratio`` or the trigger path ratio ``--max-path-ratio``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jsonschema import Draft202012Validator  # noqa: E402

from chalicelib.engine import build_document, load_rules  # noqa: E402

Doc = dict[str, Any]
COMPLAINT = "(?i)refund|返金|返品|coupon|クーポン|肌荒れ|かぶれ"
REPLY_PREFIX = "^(Re|RE|Fwd|FW):"
EXAMPLE_MAIL = "@example\\.com$"


def t(props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Condition on ticket fields."""
    return {"properties": {"ticket": {"properties": props, **extra}}}


def section(name: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"properties": props}}}


# (name, JSON Schema condition, equivalent hand-written predicate)
_RE_COMPLAINT = re.compile(COMPLAINT)
_RE_REPLY = re.compile(REPLY_PREFIX)
_RE_MAIL = re.compile(EXAMPLE_MAIL)
CASES: list[tuple[str, dict[str, Any], Callable[[Doc], bool]]] = [
    ("status-new-or-open", t({"status": {"enum": ["new", "open"]}}),
     lambda d: d["ticket"]["status"] in ("new", "open")),
    ("priority-urgent", t({"priority": {"const": "urgent"}}),
     lambda d: d["ticket"]["priority"] == "urgent"),
    ("tag-vip", t({"tags": {"contains": {"const": "vip"}}}),
     lambda d: "vip" in d["ticket"]["tags"]),
    ("subject-complaint", t({"subject": {"type": "string", "pattern": COMPLAINT}}),
     lambda d: _RE_COMPLAINT.search(d["ticket"]["subject"]) is not None),
    ("body-complaint", section("event", {"body_text": {"type": "string", "pattern": COMPLAINT}}),
     lambda d: "event" in d and _RE_COMPLAINT.search(d["event"]["body_text"]) is not None),
    ("category-billing", t({"category": {"const": "billing"}}),
     lambda d: d["ticket"]["category"] == "billing"),
    ("older-than-a-day", {"properties": {"clock": {"properties": {"minutes_since_created": {"minimum": 1440}}}}},
     lambda d: d["clock"]["minutes_since_created"] >= 1440),
    ("breach-within-60", {"properties": {"clock": {"properties": {
        "business_minutes_to_next_breach": {"type": "number", "maximum": 60}}}}},
     lambda d: (m := d["clock"]["business_minutes_to_next_breach"]) is not None and m <= 60),
    ("vip-low-priority", {"properties": {"customer": {"properties": {"vip": {"const": True}}},
                                         "ticket": {"properties": {"priority": {"enum": ["low", "normal"]}}}}},
     lambda d: d["customer"]["vip"] is True and d["ticket"]["priority"] in ("low", "normal")),
    ("unassigned-open", t({"assignee": {"type": "null"}, "status": {"const": "open"}}),
     lambda d: d["ticket"]["assignee"] is None and d["ticket"]["status"] == "open"),
    ("line-repeat-customer", {"properties": {"ticket": {"properties": {"channel": {"const": "line"}}},
                                             "customer": {"properties": {"open_tickets": {"minimum": 3}}}}},
     lambda d: d["ticket"]["channel"] == "line" and d["customer"]["open_tickets"] >= 3),
    ("escalated-warehouse", t({"escalated": {"const": True}, "escalation_department": {"const": "warehouse"}}),
     lambda d: d["ticket"]["escalated"] is True and d["ticket"]["escalation_department"] == "warehouse"),
    ("first-reply-breached", {"properties": {"clock": {"properties": {"first_reply": {"properties": {
        "state": {"const": "breached_active"}}}}}}},
     lambda d: d["clock"]["first_reply"]["state"] == "breached_active"),
    ("reply-while-pending", {"required": ["event"], "properties": {
        "ticket": {"properties": {"status": {"const": "pending"}}},
        "event": {"properties": {"type": {"const": "customer_message"}}}}},
     lambda d: d["ticket"]["status"] == "pending" and "event" in d and d["event"]["type"] == "customer_message"),
    ("complaint-not-refunded", t({"tags": {"contains": {"const": "complaint"},
                                           "not": {"contains": {"const": "refund-done"}}}}),
     lambda d: "complaint" in d["ticket"]["tags"] and "refund-done" not in d["ticket"]["tags"]),
    ("billing-dept-or-category", {"anyOf": [t({"department": {"const": "billing"}}),
                                            t({"category": {"enum": ["refund", "invoice"]}})]},
     lambda d: d["ticket"]["department"] == "billing" or d["ticket"]["category"] in ("refund", "invoice")),
    ("customer-blacklisted", {"properties": {"customer": {"properties": {
        "tags": {"contains": {"const": "blacklist"}}}}}},
     lambda d: "blacklist" in d["customer"]["tags"]),
    ("reply-subject", t({"subject": {"type": "string", "pattern": REPLY_PREFIX}}),
     lambda d: _RE_REPLY.search(d["ticket"]["subject"]) is not None),
    ("resolution-overdue", {"properties": {"clock": {"properties": {"resolution": {"properties": {
        "business_minutes_remaining": {"type": "number", "exclusiveMaximum": 0}}}}}}},
     lambda d: (m := d["clock"]["resolution"]["business_minutes_remaining"]) is not None and m < 0),
    ("internal-or-anonymous", {"properties": {"customer": {"anyOf": [
        {"properties": {"email": {"type": "string", "pattern": EXAMPLE_MAIL}}},
        {"properties": {"name": {"type": "null"}}}]}}},
     lambda d: (isinstance(e := d["customer"]["email"], str) and _RE_MAIL.search(e) is not None)
     or d["customer"]["name"] is None),
]

SUBJECTS = ["注文について", "返金してください", "クーポンが適用されません", "Re: 配送状況", "Refund request",
            "肌荒れが出ました", "Where is my order?", "ログインできない", "Fwd: invoice", "商品がかぶれの原因に"]
BODIES = ["いつ届きますか?", "使用後に肌荒れがひどくなりました。返金を希望します。",
          "The coupon code was not applied.", "パスワードを忘れました", "I want a refund for order 1234",
          "ありがとうございました", "請求書を再発行してください"]
STATES = ["none", "active", "paused", "achieved", "breached_active", "breached"]


def make_docs(n: int, seed: int = 7) -> list[Doc]:
    """``n`` varied ticket documents (deterministic)."""
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        metrics = {}
        for metric in ("first_reply", "next_reply", "resolution"):
            state = rnd.choice(STATES)
            remaining = None if state == "none" else rnd.uniform(-300, 3000)
            metrics[metric] = {"state": state, "business_minutes_remaining": remaining,
                               "due_at": None if remaining is None else "2026-03-02T09:30:00+00:00"}
        event = None if rnd.random() < 0.2 else {
            "type": rnd.choice(["ticket_created", "customer_message", "agent_reply", "status_changed"]),
            "body_text": rnd.choice(BODIES) * rnd.randint(1, 5), "subject": "", "actor": "customer"}
        docs.append(build_document(
            ticket={
                "id": i, "subject": rnd.choice(SUBJECTS),
                "status": rnd.choice(["new", "open", "pending", "on-hold", "solved"]),
                "priority": rnd.choice(["low", "normal", "normal", "high", "urgent"]),
                "channel": rnd.choice(["email", "line", "form", "phone"]),
                "category": rnd.choice([None, "billing", "refund", "shipping", "invoice", "general"]),
                "tags": rnd.sample(["vip", "complaint", "refund-done", "repeat", "web"], rnd.randint(0, 3)),
                "assignee": rnd.choice([None, "sato", "tanaka"]),
                "department": rnd.choice([None, "support", "billing", "warehouse"]),
                "customer_id": f"c{i % 997}", "created_at": "2026-03-01T00:00:00+00:00",
                "escalated": rnd.random() < 0.2,
                "escalation_department": rnd.choice([None, "warehouse", "billing"]),
            },
            customer={"id": f"c{i % 997}", "name": rnd.choice([None, "山田", "Smith"]),
                      "email": rnd.choice([None, "a@example.com", "b@mail.jp"]), "vip": rnd.random() < 0.1,
                      "tags": rnd.sample(["blacklist", "wholesale", "new"], rnd.randint(0, 2)),
                      "open_tickets": rnd.randint(0, 6)},
            event=event,
            clock={"minutes_since_created": rnd.uniform(0, 5000), **metrics},
        ))
    return docs


def write_rules(directory: Path) -> None:
    for i, (name, condition, _) in enumerate(CASES):
        rule = {"kind": "trigger", "position": i, "on": ["ticket_created"], "condition": condition,
                "actions": [{"type": "add_tags", "tags": [name]}]}
        (directory / f"{name}.json").write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")


def run(fns: list[Callable[[Doc], bool]], docs: list[Doc]) -> float:
    """Seconds to evaluate every function on every document (same loop for both sides)."""
    start = time.perf_counter()
    for doc in docs:
        for fn in fns:
            fn(doc)
    return time.perf_counter() - start


def _hand_triggers(rules: list[tuple[str, Callable[[Doc], bool], Any]], doc: Doc) -> list[tuple[str, Any]]:
    """Hand-written trigger path: the (rule id, actions) of every matching rule, in order."""
    return [(rule_id, actions) for rule_id, pred, actions in rules if pred(doc)]


def trigger_path(ruleset: Any, docs: list[Doc], repeat: int) -> tuple[float, float, int]:
    """Best seconds of ``evaluate_triggers`` and of its hand-written equivalent over ``docs``; firings."""
    from chalicelib.engine import evaluate_triggers

    by_id = {name: pred for name, _, pred in CASES}
    hand_rules = [(r.id, by_id[r.id], r.actions) for r in ruleset.triggers_for("ticket_created")]
    for doc in docs[:2000]:
        ours = [(f.rule_id, list(f.actions)) for f in evaluate_triggers(ruleset, doc, "ticket_created")]
        theirs = [(i, list(a)) for i, a in _hand_triggers(hand_rules, doc)]
        if ours != theirs:
            raise SystemExit(f"evaluate_triggers and the hand-written path disagree: {ours} vs {theirs}")

    def prod() -> float:
        start = time.perf_counter()
        n = 0
        for doc in docs:
            n += len(evaluate_triggers(ruleset, doc, "ticket_created"))
        return time.perf_counter() - start

    def hand() -> float:
        start = time.perf_counter()
        n = 0
        for doc in docs:
            n += len(_hand_triggers(hand_rules, doc))
        return time.perf_counter() - start

    best_prod = best_hand = float("inf")
    for _ in range(repeat):
        best_hand = min(best_hand, hand())
        best_prod = min(best_prod, prod())
    fired = sum(len(_hand_triggers(hand_rules, d)) for d in docs)
    return best_prod, best_hand, fired


def automation_path(docs: list[Doc], repeat: int) -> tuple[float, float, int]:
    """Best seconds of the sweep's ``due_automations`` and a hand-written loop over the same rules."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.engine import due_automations

    now = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        timed = [c for c in CASES if '"event"' not in json.dumps(c[1])][:10]  # automations see no event
        for i, (name, condition, _) in enumerate(timed):
            rule = {"kind": "automation", "position": i, "at": {"clock": "first_reply", "offset_minutes": -60 + i},
                    "condition": condition, "actions": [{"type": "add_tags", "tags": [name]}]}
            Path(tmp, f"{name}.json").write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")
        ruleset = load_rules(Path(tmp))
    by_id = {name: pred for name, _, pred in CASES}
    deadline = now + timedelta(minutes=55)
    deadlines = {"first_reply": (deadline, "first_reply:x")}
    hand_rules = [(r.id, by_id[r.id], r.actions, deadline + timedelta(minutes=r.offset_minutes))
                  for r in ruleset.automations]

    def hand_due(doc: Doc) -> list[tuple[str, Any, str]]:
        tid = doc["ticket"]["id"]
        out = []
        for rule_id, pred, actions, at in hand_rules:
            key = f"{rule_id}#{tid}#first_reply:x"
            if at <= now and pred(doc):
                out.append((rule_id, actions, key))
        return out

    for doc in docs[:2000]:
        ours = [(f.rule_id, f.dedupe_key) for f in due_automations(ruleset, doc, deadlines, (), now)]
        if ours != [(i, k) for i, _, k in hand_due(doc)]:
            raise SystemExit("due_automations and the hand-written loop disagree")

    def prod() -> float:
        start = time.perf_counter()
        for doc in docs:
            due_automations(ruleset, doc, deadlines, (), now)
        return time.perf_counter() - start

    def hand() -> float:
        start = time.perf_counter()
        for doc in docs:
            hand_due(doc)
        return time.perf_counter() - start

    best_prod = best_hand = float("inf")
    for _ in range(repeat):
        best_hand = min(best_hand, hand())
        best_prod = min(best_prod, prod())
    return best_prod, best_hand, sum(len(hand_due(d)) for d in docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=5.0)
    parser.add_argument("--max-path-ratio", type=float, default=3.5)
    parser.add_argument("--per-rule", action="store_true", help="also time each condition alone")
    parser.add_argument("--python-sample", type=int, default=500, help="documents for plain jsonschema (0: skip)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp))
        ruleset = load_rules(Path(tmp))
    rules = sorted(ruleset.triggers, key=lambda r: r.position)
    engine = [r.matches for r in rules]
    hand = [pred for _, _, pred in CASES]
    docs = make_docs(args.tickets)

    mismatches = [(name, doc["ticket"]["id"]) for doc in docs for (name, _, pred), fn in zip(CASES, engine, strict=True)
                  if pred(doc) != fn(doc)]
    if mismatches:
        print(f"engine and hand-written predicates disagree on {len(mismatches)} cases, e.g. {mismatches[:5]}")
        return 2
    hits = sum(fn(doc) for doc in docs for fn in engine)

    best_engine = best_hand = float("inf")
    for _ in range(args.repeat):  # interleaved, so both see the same machine state
        best_hand = min(best_hand, run(hand, docs))
        best_engine = min(best_engine, run(engine, docs))
    evals = len(docs) * len(rules)
    ratio = best_engine / best_hand

    rows = [("engine (jsonschema-rs)", best_engine, evals), ("hand-written Python", best_hand, evals)]
    if args.python_sample:
        sample = docs[: args.python_sample]
        py = [Draft202012Validator(r.condition).is_valid for r in rules]
        rows.append(("plain jsonschema (info)", run(py, sample), len(sample) * len(rules)))

    print(f"{len(rules)} conditions x {len(docs)} documents = {evals} evaluations "
          f"({hits} matches, {100 * hits / evals:.1f}%); best of {args.repeat}")
    print(f"{'implementation':<26}{'evals/sec':>14}{'ns/eval':>10}{'vs hand':>10}")
    hand_ns = best_hand / evals * 1e9
    for label, seconds, count in rows:
        ns = seconds / count * 1e9
        print(f"{label:<26}{count / seconds:>14,.0f}{ns:>10.0f}{ns / hand_ns:>9.1f}x")
    if args.per_rule:
        print(f"{'condition':<26}{'engine ns':>10}{'hand ns':>10}{'ratio':>8}")
        for (name, _, pred), fn in zip(CASES, engine, strict=True):
            e = min(run([fn], docs) for _ in range(3)) / len(docs) * 1e9
            h = min(run([pred], docs) for _ in range(3)) / len(docs) * 1e9
            print(f"{name:<26}{e:>10.0f}{h:>10.0f}{e / h:>7.1f}x")
    verdict = "OK" if ratio <= args.max_ratio else "TOO SLOW"
    print(f"ratio engine / hand-written: {ratio:.2f}x (limit {args.max_ratio:g}x) {verdict}")

    prod, hand_s, fired = trigger_path(ruleset, docs, args.repeat)
    path_ratio = prod / hand_s
    path_verdict = "OK" if path_ratio <= args.max_path_ratio else "TOO SLOW"
    print(f"trigger path (evaluate_triggers, {len(docs)} documents, {fired} firings): "
          f"{prod / len(docs) * 1e6:.2f} us/doc vs hand-written {hand_s / len(docs) * 1e6:.2f} us/doc")
    print(f"ratio trigger path / hand-written: {path_ratio:.2f}x (limit {args.max_path_ratio:g}x) {path_verdict}")
    a_prod, a_hand, a_fired = automation_path(docs, args.repeat)
    print(f"sweep automation path (due_automations, {a_fired} firings): {a_prod / len(docs) * 1e6:.2f} us/doc vs "
          f"hand-written {a_hand / len(docs) * 1e6:.2f} us/doc; ratio {a_prod / a_hand:.2f}x (context)")
    return 0 if ratio <= args.max_ratio and path_ratio <= args.max_path_ratio else 1


if __name__ == "__main__":
    sys.exit(main())

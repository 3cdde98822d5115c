"""Counting what DynamoDB would charge: every request on the service's pynamodb client by operation,
the items index queries read, estimated read/write capacity from item sizes (DynamoDB's 4 KB read and
1 KB write rounding), SES sends. (moto's whole-table copy per transaction is removed by the local stand-in's
``infra.moto_standin.key_level_rollback``, which the benchmarks use too.)"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def item_size(item: dict[str, Any]) -> int:
    """Approximate DynamoDB item size in bytes (attribute names plus values, wire format)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return len(v.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(len(n) // 2 + 2 for n in v)
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(x) for k, x in v.items())
    return 0


def _index_keys() -> list[tuple[str, tuple[str, ...], str]]:
    """(index name, key attributes, projection type) of every GSI of the service table."""
    from chalicelib.store import schema

    out = []
    for gsi in schema.table_definition("t")["GlobalSecondaryIndexes"]:
        keys = tuple(k["AttributeName"] for k in gsi["KeySchema"])
        out.append((gsi["IndexName"], keys, gsi["Projection"]["ProjectionType"]))
    return out


def index_write_units(item: dict[str, Any]) -> float:
    """Write units DynamoDB charges to keep the GSIs in step with a written item: one write per
    index the item is in (it has the index's key attributes), sized by what the index projects
    (``ALL``: the whole item; ``KEYS_ONLY``: the keys)."""
    units = 0.0
    for _name, keys, projection in _index_keys():
        if all(k in item for k in keys):
            size = item_size(item) if projection == "ALL" else item_size(
                {k: v for k, v in item.items() if k in (*keys, "pk", "sk")})
            units += max(1, math.ceil(size / 1024))
    return units


@dataclass
class Tally:
    """DynamoDB requests of one sweep, by operation, and what they read."""

    ops: Counter[str] = field(default_factory=Counter)
    index_count: int = 0
    index_scanned: int = 0
    est_rcu: float = 0.0
    est_wcu: float = 0.0
    est_index_wcu: float = 0.0
    ses: int = 0
    op_seconds: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.ops.values())

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.ops.items() if op in WRITE_OPS)

    def before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        self.ops[model.name] += 1
        context["bench_started"] = time.perf_counter()

    def inspect_params(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["consistent_read"] = bool(params.get("ConsistentRead"))
        if model.name == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                (kind, body), = entry.items()
                if kind == "ConditionCheck":
                    self.est_wcu += 2  # a condition check is billed like a write of the checked item
                    continue
                self.est_wcu += 2 * max(1, math.ceil(item_size(body.get("Item") or body.get("Key", {})) / 1024))
                if kind == "Put":
                    self.est_index_wcu += index_write_units(body["Item"])
        elif model.name == "PutItem":
            self.est_wcu += max(1, math.ceil(item_size(params["Item"]) / 1024))
            self.est_index_wcu += index_write_units(params["Item"])
        elif model.name == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                for request in requests:
                    item = (request.get("PutRequest") or {}).get("Item")
                    self.est_wcu += max(1, math.ceil(item_size(item) / 1024)) if item else 1
                    self.est_index_wcu += index_write_units(item) if item else 0
        elif model.name in WRITE_OPS:
            self.est_wcu += 1

    def after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.op_seconds[model.name] += time.perf_counter() - context.get("bench_started", time.perf_counter())
        if model.name == "Query":
            self.index_count += parsed.get("Count", 0)
            self.index_scanned += parsed.get("ScannedCount", 0)
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.est_rcu += 0.5 * max(1, math.ceil(size / 4096))  # GSI reads are eventually consistent
        elif model.name == "GetItem":
            units = max(1, math.ceil(item_size(parsed.get("Item") or {}) / 4096))
            self.est_rcu += units * (1.0 if context.get("consistent_read") else 0.5)

    def count_ses(self, **_: Any) -> None:
        self.ses += 1


@contextmanager
def counting() -> Iterator[Tally]:
    """Count every request on the client pynamodb (models and transactions) uses, and SES sends."""
    from chalicelib.store.models import shared_connection
    from plugins import notify_ses

    tally = Tally()
    handlers = [
        ("before-parameter-build.dynamodb", tally.inspect_params),
        ("before-call.dynamodb", tally.before),
        ("after-call.dynamodb", tally.after),
    ]
    events = shared_connection().client.meta.events
    ses_events = notify_ses._ses().meta.events if hasattr(notify_ses, "_ses") else None
    for name, fn in handlers:
        events.register(name, fn)
    if ses_events is not None:
        ses_events.register("before-call.ses", tally.count_ses)
    started = time.perf_counter()
    try:
        yield tally
    finally:
        tally.seconds = time.perf_counter() - started
        for name, fn in handlers:
            events.unregister(name, fn)
        if ses_events is not None:
            ses_events.unregister("before-call.ses", tally.count_ses)

"""A KPI report reads about one item per day, however many events the days hold.

Same property as ``bench/bench_kpi.py`` (90 days, 50,000 events) at test
sizes: 10 closed days with about 400, then about 1,200 events. Items read are
counted on the service's DynamoDB client. With the daily aggregates built, the
report reads exactly one aggregate item per day at both sizes; the report made
from every event reads at least every event; both give the same KPIs.
"""

from __future__ import annotations

from datetime import timedelta

import boto3

from bench.bench_kpi import NOW, _range, counting, fast_moto_queries, seed_history
from chalicelib.services import kpis
from chalicelib.store import schema

DAYS = 10


def _measure(aws: dict[str, str], events: int) -> tuple[int, int, int, dict, dict]:
    dynamodb = boto3.client("dynamodb", region_name=aws["region"])
    dynamodb.delete_table(TableName=aws["table"])
    schema.create_table(dynamodb, aws["table"])
    written = seed_history(events, DAYS, NOW, seed=3, today_tickets=0)
    first, last = _range(DAYS)
    kpis.ensure_days(first, last - timedelta(days=1), NOW, kpis.Reads())
    kpis.aggregate_recent(NOW, days=1)  # the hourly job: today so far
    with counting() as agg:
        from_aggregates = kpis.report(first, last, NOW)
    with counting() as naive:
        from_events = kpis.report_from_events(first, last, NOW)
    return written["events"], agg.items, naive.items, from_aggregates, from_events


def test_report_reads_one_item_per_day_not_every_event(aws):
    with fast_moto_queries():
        small = _measure(aws, 400)
        large = _measure(aws, 1200)
    for events, agg_items, naive_items, from_aggregates, from_events in (small, large):
        assert agg_items == DAYS + 2, (events, agg_items)
        # One aggregate per day (today's is the job's "so far"), the last day's backlog snapshot; no event.
        assert from_aggregates["source"]["reads"] == {"aggregates": DAYS + 1, "backlog_snapshot": 1}
        assert from_aggregates["pending"] == [] and from_aggregates["daily"][-1]["source"] == "partial"
        assert naive_items >= events
        for key in ("totals", "backlog", "escalations"):
            assert from_aggregates[key] == from_events[key], key
    assert large[0] >= 3 * small[0] - 50  # three times the events ...
    assert large[1] == small[1]  # ... the same items read

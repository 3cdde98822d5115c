"""A KPI report over days without aggregates answers at once with what exists and names the
pending days; it never computes inside the request (issue 15: 155-207 s for 90 days before).

DynamoDB requests are counted at the client (botocore hooks): a 90-day report is ONE Query
for the stored aggregates (plus the last available day's backlog snapshot once there is one),
however many events the days hold. Counts, not times.
"""

from __future__ import annotations

from datetime import timedelta

from bench.bench_kpi import NOW, _range, fast_moto_queries, seed_history
from bench.requests_count import count_requests
from chalicelib.services import kpis
from tests.functional.conftest import auth

DAYS = 90


def _get(client, first, last) -> dict:
    resp = client.http.get(f"/reports/kpis?from={first}&to={last}", headers=auth())
    assert resp.status_code == 200, resp.body
    return resp.json_body


def test_90_days_without_aggregates_answer_with_pending_days_in_one_query(client, agents, aws, monkeypatch):
    monkeypatch.setattr("chalicelib.api.reports.utcnow", lambda: NOW)
    with fast_moto_queries():
        written = seed_history(600, DAYS, NOW, seed=5, today_tickets=3)
        first, last = _range(DAYS)  # 90 closed days and today
        _get(client, first, last)  # warm: the agent's token is cached from here on

        with count_requests() as cold:
            body = _get(client, first, last)
        assert written["events"] >= 600
        assert len(body["pending"]) == DAYS + 1 and body["pending"][0] == first.isoformat()
        assert body["complete"] is False and body["daily"] == [] and body["backlog"] is None
        assert body["totals"]["tickets_created"] == 0 and body["from"] == first.isoformat()
        assert dict(cold.ops) == {"Query": 1}, dict(cold.ops)  # no event read, nothing computed or written

        kpis.aggregate_recent(NOW, days=3)  # the hourly job: three closed days and today so far
        with count_requests() as some:
            body = _get(client, first, last)
        assert len(body["pending"]) == DAYS - 3 and body["pending"][-1] == (last - timedelta(days=4)).isoformat()
        assert [d["source"] for d in body["daily"]] == ["aggregate", "aggregate", "aggregate", "partial"]
        assert body["backlog"]["total"] >= 0 and body["totals"]["tickets_created"] > 0
        assert dict(some.ops) == {"Query": 2}, dict(some.ops)  # the aggregates + the last day's backlog

"""What an operator sees in CloudWatch: each handler's log lines are JSON with the correlation ids,
and the EMF metrics for new tickets, a breach and a notification that failed for good are emitted
(the EMF documents are parsed and checked, as CloudWatch Logs would read them)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.log import JsonFormatter
from tests.functional.conftest import form_json, run_dispatch, sample_form
from tests.functional.test_notifications import notify_env, receiver  # noqa: F401 - fixtures
from tests.functional.test_sla_sweep import _jst, _new_low_priority_ticket, clock, email  # noqa: F401


class LogLines:
    """The lines the service's JSON handler wrote so far, parsed (``json.loads`` fails on any other line)."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter([json.loads(line) for line in self.buffer.getvalue().splitlines()])


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Every line the service's JSON handler writes during the test."""
    from app import app  # noqa: F401 - configures logging as in Lambda

    [handler] = [h for h in logging.getLogger("chalicelib").handlers if isinstance(h.formatter, JsonFormatter)]
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield LogLines(buffer)
    finally:
        handler.setStream(old)


def emf_documents(stderr: str) -> list[dict[str, Any]]:
    """The EMF documents among the output lines (outside Lambda the metrics go to stderr)."""
    docs = []
    for line in stderr.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            docs.append(json.loads(line))
    return docs


def metric_values(docs: list[dict[str, Any]], name: str, **dims: str) -> list[float]:
    """Values of metric ``name`` in documents whose dimensions include ``dims``, checking the EMF shape."""
    found = []
    for doc in docs:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        if name not in {m["Name"] for m in directive["Metrics"]}:
            continue
        assert directive["Namespace"] == "Helpdesk"
        assert isinstance(doc["_aws"]["Timestamp"], int)
        for dim_set in directive["Dimensions"]:
            assert all(d in doc for d in dim_set)  # every dimension is a top-level key
        if all(doc.get(k) == v for k, v in dims.items()):
            found += doc[name] if isinstance(doc[name], list) else [doc[name]]
    return found


def test_webhook_log_line_is_json_with_ticket_and_delivery_ids_and_counts_the_new_ticket(client, log_lines, capsys):
    resp = client.http.post("/webhooks/form", **form_json(sample_form()))
    assert resp.status_code == 201, resp.body
    result = resp.json_body
    ticket_id = result["results"][0]["ticket_id"]
    bad = client.http.post("/webhooks/form", **form_json(sample_form(email="not an address")))
    assert bad.status_code == 400
    docs = emf_documents(capsys.readouterr().err)

    [ingested] = [line for line in log_lines if line["message"].startswith("ingested form message")]
    assert ingested["level"] == "INFO" and ingested["service"] == "helpdesk"
    assert ingested["ticket_id"] == ticket_id
    assert ingested["delivery_id"] == result["raw_ref"]
    assert ingested["channel"] == "form"
    assert ingested["function_name"] and ingested["function_request_id"]  # from the Lambda context
    assert metric_values(docs, "TicketsCreated", channel="form", service="helpdesk") == [1.0]
    assert metric_values(docs, "WebhookClientErrors", channel="form") == [1.0]


def test_sweep_handler_emits_breach_metrics_and_logs_json(client, agents, clock, email, log_lines,  # noqa: F811
                                                         capsys, monkeypatch):
    number = _new_low_priority_ticket(client)
    monkeypatch.setattr("chalicelib.jobs.utcnow", lambda: _jst(13, 15, 0))  # past the first-reply deadline
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=["arn:aws:events:ap-northeast-1:123456789012:rule/sweep"])
    result = client.lambda_.invoke("sweep", event)
    assert result.payload["fired"] >= 1
    docs = emf_documents(capsys.readouterr().err)

    assert metric_values(docs, "SlaBreaches") == [1.0]
    assert metric_values(docs, "SweepRuns") == [1.0]
    assert metric_values(docs, "AutomationsFired")  # the warning (and manager alert) rules
    assert len(metric_values(docs, "SweepDuration")) == 1 and len(metric_values(docs, "SweepLag")) == 1
    [summary] = [line for line in log_lines if line["message"].startswith("sweep at")]
    assert summary["function_name"].endswith("sweep") and "ticket_id" not in summary
    per_ticket = [line for line in log_lines if line.get("ticket_id") == number]
    assert per_ticket, list(log_lines)  # lines logged while the ticket was swept carry its id


def test_a_notification_failing_for_good_is_logged_with_outbox_id_and_counted(
        client, notify_env, receiver, log_lines, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "1")
    receiver.statuses = [502]
    resp = client.http.post("/webhooks/form", **form_json(sample_form()))
    number = resp.json_body["results"][0]["ticket_id"]
    run_dispatch(client)  # ingest sends nothing itself: the dispatch job attempts what it queued
    docs = emf_documents(capsys.readouterr().err)

    [failed] = [line for line in log_lines if "failed for good" in line["message"]]
    assert failed["level"] == "ERROR"
    assert failed["ticket_id"] == number and failed["outbox_id"]
    assert failed["outbox_id"] in failed["message"]
    assert metric_values(docs, "NotificationsFailed") == [1.0]
    assert metric_values(docs, "NotificationsSent") == [1.0]  # the email to the manager went out

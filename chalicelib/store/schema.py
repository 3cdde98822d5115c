"""The one table definition. Feeds the local stack, the tests and the deployment template.

Single-table design: ticket headers, timeline events, customers, identities,
agents, counters, idempotency keys, the notification outbox and the daily KPI aggregates share one
table, told apart by key prefixes (see ``keys``). The pynamodb models in ``models`` must match this
definition; ``tests/unit/test_schema.py`` checks that they do.
"""

from __future__ import annotations

from typing import Any

STATUS_INDEX = "ByStatus"
ASSIGNEE_INDEX = "ByAssignee"
ALL_TICKETS_INDEX = "AllTickets"
DUE_INDEX = "DueIndex"
SLA_INDEX = "SlaIndex"
CUSTOMER_INDEX = "ByCustomer"
OUTBOX_INDEX = "OutboxByState"
EVENT_DAY_INDEX = "EventsByDay"
ESCALATED_INDEX = "Escalated"
AGENTS_INDEX = "Agents"
TTL_ATTRIBUTE = "expires_at"


def _gsi(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable parameters (boto3 / CloudFormation shape) for the service table."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "assignee", "AttributeType": "S"},
            {"AttributeName": "ticket_list", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
            {"AttributeName": "due_shard", "AttributeType": "S"},
            {"AttributeName": "next_due_at", "AttributeType": "N"},
            {"AttributeName": "sla_list", "AttributeType": "S"},
            {"AttributeName": "sla_due_at", "AttributeType": "N"},
            {"AttributeName": "ticket_customer", "AttributeType": "S"},
            {"AttributeName": "outbox_state", "AttributeType": "S"},
            {"AttributeName": "state_at", "AttributeType": "N"},
            {"AttributeName": "ev_day", "AttributeType": "S"},
            {"AttributeName": "esc_list", "AttributeType": "S"},
            {"AttributeName": "esc_due_at", "AttributeType": "N"},
            {"AttributeName": "agent_list", "AttributeType": "S"},
            {"AttributeName": "agent_id", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            _gsi(STATUS_INDEX, "status", "created_at"),
            _gsi(ASSIGNEE_INDEX, "assignee", "created_at"),
            _gsi(ALL_TICKETS_INDEX, "ticket_list", "created_at"),
            # Sparse and write-sharded: only tickets with a pending deadline carry
            # due_shard/next_due_at, so the sweep reads due tickets only.
            _gsi(DUE_INDEX, "due_shard", "next_due_at"),
            # Sparse: tickets with a running SLA deadline, earliest first, for the
            # at-risk and breached views (sla_list is the constant "SLA").
            _gsi(SLA_INDEX, "sla_list", "sla_due_at"),
            # A customer's tickets, newest last: threading, "other tickets", repeat contacts.
            _gsi(CUSTOMER_INDEX, "ticket_customer", "created_at"),
            # Outbox items by state. For pending/sending, state_at is when to (re)try
            # (a lease's end for sending): dispatch queries state_at <= now, never scans.
            # For sent/failed it is when the item got there (the listings).
            _gsi(OUTBOX_INDEX, "outbox_state", "state_at"),
            # Sparse: timeline events by local report day (ev_day "YYYY-MM-DD"), in event order,
            # so the daily KPI aggregation reads one day's events with a Query, never a scan.
            _gsi(EVENT_DAY_INDEX, "ev_day", "sk"),
            # Sparse: tickets with an open escalation (esc_list "ESC"), earliest deadline first.
            _gsi(ESCALATED_INDEX, "esc_list", "esc_due_at"),
            # Every agent (agent_list "AGENTS") by id: the agents page and `agent list`.
            _gsi(AGENTS_INDEX, "agent_list", "agent_id"),
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def create_table(client: Any, table_name: str) -> None:
    """Create the table with a boto3 DynamoDB client (local stack and tests) and enable TTL."""
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )

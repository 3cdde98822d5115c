"""The pynamodb models and the one table definition agree."""

from __future__ import annotations

from chalicelib.store import models, schema


def test_every_model_index_is_in_the_table_definition():
    table = schema.table_definition("t")
    defined = {
        g["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in g["KeySchema"]}
        for g in table["GlobalSecondaryIndexes"]
    }
    indexes = [models.TicketItem.by_status, models.TicketItem.by_assignee, models.TicketItem.all_tickets,
               models.TicketItem.due, models.TicketItem.by_sla, models.TicketItem.by_customer,
               models.OutboxItem.by_state, models.EventItem.by_day, models.TicketItem.escalated,
               models.AgentItem.everyone]
    for index in indexes:
        schema_ = index._get_schema()
        keys = {k["AttributeName"]: k["KeyType"] for k in schema_["key_schema"]}
        assert defined[index.Meta.index_name] == keys
    assert len(indexes) == len(defined)


def test_attribute_types_match():
    table = schema.table_definition("t")
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    attrs = {**models.OutboxItem.get_attributes(), **models.EventItem.get_attributes(),
             **models.TicketItem.get_attributes(), **models.AgentItem.get_attributes()}
    for name, dynamo_type in types.items():
        assert attrs[name].attr_type == dynamo_type, name
    outbox = models.OutboxItem.get_attributes()
    for name in ("pk", "sk", "outbox_state", "state_at"):
        assert outbox[name].attr_type == types[name], name


def test_table_name_is_read_when_used(monkeypatch):
    monkeypatch.setenv("HELPDESK_TABLE", "stage-a")
    assert models.TicketItem.Meta.table_name == "stage-a"
    monkeypatch.setenv("HELPDESK_TABLE", "stage-b")
    assert models.TicketItem.Meta.table_name == "stage-b"

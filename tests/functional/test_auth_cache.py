"""Authentication is cached per container, and a disabled agent can never write again.

Requests are counted at the client (``bench.requests_count``). "Another
container" disabling the agent is a direct write to the table that this
process's cache does not hear about.
"""

from __future__ import annotations

import json

import boto3

from bench.requests_count import count_requests
from tests.functional.conftest import auth, form_json, sample_form

JSON = {"Content-Type": "application/json"}


def _ticket(client) -> int:
    resp = client.http.post("/webhooks/form", **form_json(sample_form()))
    assert resp.status_code == 201, resp.body
    return resp.json_body["results"][0]["ticket_id"]


def _elsewhere(aws, agent_id: str, **changes) -> None:
    """Change the agent item as another container (or an admin's CLI elsewhere) would."""
    names = {f"#{k}": k for k in changes}
    values = {f":{k}": ({"BOOL": v} if isinstance(v, bool) else {"S": v}) for k, v in changes.items()}
    sets = ", ".join(f"#{k} = :{k}" for k in changes)
    boto3.client("dynamodb", region_name=aws["region"]).update_item(
        TableName=aws["table"], Key={"pk": {"S": f"AGENT#{agent_id}"}, "sk": {"S": "AGENT"}},
        UpdateExpression=f"SET {sets} ADD auth_version :one", ExpressionAttributeNames=names,
        ExpressionAttributeValues={**values, ":one": {"N": "1"}})


def test_warm_container_authenticates_without_dynamodb(client, agents):
    assert client.http.get("/me", headers=auth()).status_code == 200
    with count_requests() as warm:
        for _ in range(5):
            assert client.http.get("/me", headers=auth()).status_code == 200
    assert warm.ops["GetItem"] == 0 and warm.total == 0, dict(warm.ops)


def test_disabled_elsewhere_cannot_write_even_while_cached(client, agents, aws):
    number = _ticket(client)
    assert client.http.get("/me", headers=auth()).status_code == 200  # cached now
    _elsewhere(aws, "sato", disabled=True)

    patch = client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON},  # taking it: any agent's right
                              body=json.dumps({"assignee": "sato"}))
    assert patch.status_code == 401, patch.body
    ticket = client.http.get(f"/tickets/{number}", headers=auth("test-other-token")).json_body
    assert ticket["assignee"] is None and ticket["status"] == "new"  # nothing was written
    assert client.http.get("/me", headers=auth()).status_code == 401  # the stale entry was dropped


def test_a_change_elsewhere_is_picked_up_by_the_next_write(client, agents, aws):
    number = _ticket(client)
    assert client.http.get("/me", headers=auth()).json_body["role"] == "agent"
    _elsewhere(aws, "sato", role="supervisor")
    patch = client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"priority": "high"}))
    assert patch.status_code == 200, patch.body  # re-authenticated against the new version, then written
    assert client.http.get("/me", headers=auth()).json_body["role"] == "supervisor"


def test_cache_expires_after_the_ttl(client, agents, aws, monkeypatch):
    monkeypatch.setenv("HELPDESK_AUTH_CACHE_TTL_S", "0")
    assert client.http.get("/me", headers=auth()).status_code == 200
    _elsewhere(aws, "sato", disabled=True)
    assert client.http.get("/me", headers=auth()).status_code == 401


def test_disable_cli_refuses_the_agent(client, agents):
    import subprocess
    import sys

    from chalicelib.store import agents as store

    assert client.http.get("/me", headers=auth()).status_code == 200
    assert store.set_disabled("sato") is not None
    assert client.http.get("/me", headers=auth()).status_code == 401
    store.set_disabled("sato", False)
    assert client.http.get("/me", headers=auth()).status_code == 200
    out = subprocess.run([sys.executable, "-m", "chalicelib.cli", "agent", "disable", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "disable" in out.stdout

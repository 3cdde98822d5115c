"""Agents API (list, add, update, disable, rotate) and the admin timeline: auth, roles, validation, audit."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.functional.conftest import AGENT_TOKEN, OTHER_TOKEN, auth

ADMIN_TOKEN = "test-admin-token"
SUPER_TOKEN = "test-supervisor-token"


@pytest.fixture
def staff(agents):
    """sato and tanaka (agents) plus an admin and a supervisor."""
    from chalicelib.store import agents as store

    now = datetime.now(timezone.utc)
    store.upsert_agent("boss", name="Boss", role="admin")
    store.issue_token("boss", now, ADMIN_TOKEN)
    store.upsert_agent("kato", name="加藤", role="supervisor")
    store.issue_token("kato", now, SUPER_TOKEN)
    return agents


def _post(client, path, body, token=ADMIN_TOKEN):
    return client.http.post(path, headers={**auth(token), "Content-Type": "application/json"},
                            body=json.dumps(body, ensure_ascii=False))


def _patch(client, path, body, token=ADMIN_TOKEN):
    return client.http.request("PATCH", path, headers={**auth(token), "Content-Type": "application/json"},
                               body=json.dumps(body, ensure_ascii=False))


ROUTES = [("GET", "/agents"), ("POST", "/agents"), ("GET", "/agents/sato"), ("PATCH", "/agents/sato"),
          ("POST", "/agents/sato/token"), ("GET", "/audit"), ("GET", "/templates")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_token(client, staff, method, path):
    resp = client.http.request(method, path, headers={"Authorization": "Bearer nope"}, body=b"{}")
    assert resp.status_code == 401, resp.body


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/agents", {"id": "new", "name": "New"}), ("PATCH", "/agents/tanaka", {"phone": "+819012345678"}),
    ("POST", "/agents/tanaka/token", {}), ("GET", "/audit", None), ("GET", "/agents/tanaka", None)])
def test_a_plain_agent_cannot_manage_agents(client, staff, method, path, body):
    resp = client.http.request(method, path, headers={**auth(AGENT_TOKEN), "Content-Type": "application/json"},
                               body=json.dumps(body) if body is not None else b"")
    assert resp.status_code == 403, resp.body
    assert resp.json_body["error"] == "Forbidden"


def test_list_shows_names_to_everyone_and_contact_details_to_managers(client, staff):
    _patch(client, "/agents/tanaka", {"phone": "+819012345678"})
    plain = client.http.get("/agents", headers=auth(AGENT_TOKEN)).json_body["agents"]
    assert {a["id"] for a in plain} == {"boss", "kato", "sato", "tanaka"}
    assert all("phone" not in a for a in plain)
    full = {a["id"]: a for a in client.http.get("/agents", headers=auth(SUPER_TOKEN)).json_body["agents"]}
    assert full["tanaka"]["phone"] == "+819012345678"
    assert "token" not in json.dumps(full).replace('"tokens"', "")


def test_add_agent_returns_a_working_token_once_and_is_audited(client, staff):
    resp = _post(client, "/agents", {"id": "suzuki", "name": "鈴木", "role": "agent", "phone": "+819011112222",
                                     "slack_channel": "#cs-suzuki", "lang": "en", "department": "support"})
    assert resp.status_code == 201, resp.body
    token = resp.json_body["token"]
    me = client.http.get("/me", headers=auth(token)).json_body
    assert me["id"] == "suzuki" and me["phone"] == "+819011112222" and me["lang"] == "en"
    assert _post(client, "/agents", {"id": "suzuki", "name": "again"}).status_code == 409
    events = client.http.get("/audit", headers=auth(ADMIN_TOKEN)).json_body["events"]
    assert events[0]["type"] == "agent_added" and events[0]["target"] == "agent:suzuki"
    assert events[0]["actor"] == "agent:boss" and events[0]["data"]["phone"] == "+819011112222"


@pytest.mark.parametrize(("body", "pointer"), [
    ({"name": "x"}, "/id"), ({"id": "Bad Id", "name": "x"}, "/id"),
    ({"id": "x", "name": "x", "phone": "090"}, "/phone"), ({"id": "x", "name": "x", "role": "god"}, "/role"),
    ({"id": "x", "name": "x", "lang": "fr"}, "/lang"),
    ({"id": "x", "name": "x", "slack_channel": "no spaces"}, "/slack_channel"),
    ({"id": "x", "name": "x", "x": 1}, "")])
def test_add_validation_names_the_field(client, staff, body, pointer):
    resp = _post(client, "/agents", body)
    assert resp.status_code == 400, resp.body
    assert pointer in [e["pointer"] for e in resp.json_body["errors"]]


def test_update_changes_role_phone_slack_language_and_records_from_and_to(client, staff):
    resp = _patch(client, "/agents/tanaka", {"role": "supervisor", "phone": "+819012345678",
                                             "slack_channel": "#cs-tanaka", "lang": "en"})
    assert resp.status_code == 200, resp.body
    assert resp.json_body["role"] == "supervisor" and resp.json_body["slack_channel"] == "#cs-tanaka"
    entry = client.http.get("/audit?target=agent:tanaka", headers=auth(ADMIN_TOKEN)).json_body["events"][0]
    assert entry["type"] == "agent_updated"
    assert entry["data"]["changes"]["role"] == {"from": "agent", "to": "supervisor"}
    assert _patch(client, "/agents/nobody", {"lang": "en"}).status_code == 404
    assert _patch(client, "/agents/tanaka", {}).status_code == 400


def test_supervisor_cannot_touch_admins_or_make_one(client, staff):
    assert _patch(client, "/agents/boss", {"lang": "en"}, SUPER_TOKEN).status_code == 403
    assert _patch(client, "/agents/tanaka", {"role": "admin"}, SUPER_TOKEN).status_code == 403
    assert _post(client, "/agents", {"id": "x", "name": "x", "role": "admin"}, SUPER_TOKEN).status_code == 403
    assert _patch(client, "/agents/tanaka", {"lang": "en"}, SUPER_TOKEN).status_code == 200


def test_disabled_agent_is_locked_out_and_cannot_disable_self(client, staff):
    assert client.http.get("/me", headers=auth(OTHER_TOKEN)).status_code == 200
    assert _patch(client, "/agents/tanaka", {"disabled": True}).status_code == 200
    assert client.http.get("/me", headers=auth(OTHER_TOKEN)).status_code == 401
    assert client.http.get("/audit", headers=auth(ADMIN_TOKEN)).json_body["events"][0]["type"] == "agent_disabled"
    assert _patch(client, "/agents/tanaka", {"disabled": False}).status_code == 200
    assert client.http.get("/me", headers=auth(OTHER_TOKEN)).status_code == 200
    resp = _patch(client, "/agents/boss", {"disabled": True})
    assert resp.status_code == 400 and resp.json_body["errors"][0]["pointer"] == "/disabled"


def test_rotating_a_token_stops_the_old_one_at_once(client, staff):
    resp = _post(client, "/agents/tanaka/token", {})
    assert resp.status_code == 201
    new = resp.json_body["token"]
    assert client.http.get("/me", headers=auth(OTHER_TOKEN)).status_code == 401
    assert client.http.get("/me", headers=auth(new)).json_body["id"] == "tanaka"
    own = _post(client, "/agents/sato/token", {}, AGENT_TOKEN)
    assert own.status_code == 201, "an agent may rotate their own token"
    assert client.http.get("/me", headers=auth(AGENT_TOKEN)).status_code == 401
    types = [e["type"] for e in client.http.get("/audit", headers=auth(ADMIN_TOKEN)).json_body["events"]]
    assert types[:2] == ["token_rotated", "token_rotated"]


def test_templates_lists_reply_templates_in_both_languages(client, staff):
    listed = client.http.get("/templates", headers=auth(AGENT_TOKEN)).json_body["templates"]
    shipped = {t["name"]: t for t in listed}["order-shipped"]
    assert shipped["title"]["en"] and shipped["ja"]["body"] and shipped["en"]["body"]
    assert "sla-warning" not in {t["name"] for t in listed}, "notification templates are not reply templates"


def test_cli_agent_commands_run_as_a_subprocess_against_moto_server(tmp_path):
    """``agent list/add/update/disable/rotate`` as the operator types them (a real process, moto server)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.functional.test_local_stack import free_port

    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "x",
               "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "ap-northeast-1", "AWS_REGION": "ap-northeast-1",
               "HELPDESK_TABLE": "cli-test"}
        import time

        import boto3

        for _ in range(100):
            try:
                client = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="ap-northeast-1",
                                      aws_access_key_id="x", aws_secret_access_key="x")
                from chalicelib.store import schema

                schema.create_table(client, "cli-test")
                break
            except Exception:  # noqa: BLE001 - server still starting
                time.sleep(0.1)

        def cli(*args: str) -> dict:
            out = subprocess.run([sys.executable, "-m", "chalicelib.cli", "agent", *args], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout.strip().splitlines()[-1])

        added = cli("add", "yamada", "--name", "山田", "--phone", "+819000000001", "--lang", "en")
        assert added["agent"] == "yamada" and added["token"]
        listed = cli("list")
        assert [a["id"] for a in listed["agents"]] == ["yamada"]
        assert cli("update", "yamada", "--role", "supervisor", "--slack-channel", "#cs")["role"] == "supervisor"
        assert cli("disable", "yamada")["disabled"] is True
        rotated = cli("rotate", "yamada")
        assert rotated["token"] != added["token"]
        audit = cli("audit")
        assert [e["type"] for e in audit["events"]] == ["token_rotated", "agent_disabled", "agent_updated",
                                                         "agent_added"]
        assert all(e["actor"] == "cli" for e in audit["events"])
    finally:
        moto.terminate()
        moto.wait(10)

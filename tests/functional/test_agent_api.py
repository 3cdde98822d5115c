"""Agent routes: authentication, views and paging, a ticket with its timeline."""

from __future__ import annotations

import pytest

from tests.functional.conftest import auth, form_json, sample_form

AGENT_ROUTES = ["/me", "/tickets", "/tickets?view=mine", "/tickets/1"]


@pytest.mark.parametrize("path", AGENT_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dGVzdDp0ZXN0"}, {"Authorization": "Bearer "}],
    ids=["none", "unknown-token", "wrong-scheme", "empty"],
)
def test_agent_routes_answer_401_without_a_valid_token(client, agents, path, headers):
    resp = client.http.get(path, headers=headers)
    assert resp.status_code == 401
    assert resp.json_body["error"] == "Unauthorized"
    assert resp.headers.get("WWW-Authenticate") == "Bearer"


def test_me_names_the_agent(client, agents):
    assert client.http.get("/me", headers=auth()).json_body["name"] == "Sato"


def _create(client, n: int) -> list[int]:
    ids = []
    for i in range(n):
        resp = client.http.post("/webhooks/form", **form_json(sample_form(submission_id=f"s{i}", subject=f"件名 {i}")))
        ids.append(resp.json_body["results"][0]["ticket_id"])
    return ids


def test_paging_walks_every_ticket_once(client, agents):
    ids = _create(client, 7)
    seen, cursor, pages = [], None, 0
    while True:
        url = "/tickets?view=all&limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.http.get(url, headers=auth()).json_body
        seen += [t["id"] for t in body["tickets"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert pages == 3
    assert seen == sorted(ids, reverse=True), "the all view shows the newest first"


def test_views_split_by_status_and_assignee(client, agents):
    first, second, third = _create(client, 3)
    from chalicelib.store import tickets

    t = tickets.get_ticket(second)
    t.update(actions=[tickets.TicketItem.assignee.set("sato"), tickets.TicketItem.status.set("open")])
    t = tickets.get_ticket(third)
    t.update(actions=[tickets.TicketItem.status.set("solved")])

    def view(name: str, token: str = "test-agent-token") -> list[int]:
        resp = client.http.get(f"/tickets?view={name}", headers=auth(token))
        assert resp.status_code == 200, resp.body
        return [x["id"] for x in resp.json_body["tickets"]]

    assert view("new") == [first]
    assert view("unassigned") == [first]
    assert view("open") == [second]
    assert view("mine") == [second]
    assert view("mine", "test-other-token") == []
    assert view("solved") == [third]
    assert sorted(view("all")) == [first, second, third]
    assert view("pending") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("view=everything", "view"), ("limit=0", "limit"), ("limit=abc", "limit"), ("cursor=%%%", "cursor")],
)
def test_bad_view_parameters_get_400_naming_the_parameter(client, agents, query, field):
    resp = client.http.get(f"/tickets?{query}", headers=auth())
    assert resp.status_code == 400
    assert resp.json_body["errors"][0]["field"] == field


def test_unknown_ticket_is_404(client, agents):
    assert client.http.get("/tickets/999", headers=auth()).status_code == 404
    assert client.http.get("/tickets/abc", headers=auth()).status_code == 404


def test_cli_adds_an_agent_whose_token_works(client, capsys):
    import json

    from chalicelib.cli import main

    assert main(["agent", "add", "suzuki", "--name", "Suzuki", "--email", "suzuki@example.com",
                 "--role", "supervisor"]) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    me = client.http.get("/me", headers={"Authorization": f"Bearer {token}"}).json_body
    assert me["name"] == "Suzuki" and me["role"] == "supervisor"

"""Agents changing the same field at once through the running local stack (``make run``).

Every agent reads the ticket (same ETag), then all PATCH its priority at once with
``If-Match``: exactly one change applies, every other agent gets 412 naming the winner,
the value they set and when, and the timeline holds one agent priority change per race.
The control race without ``If-Match`` shows what it prevents: every PATCH answers 200 and
all but the last change are silently overwritten (last writer wins, as before).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.functional.stack_kit import Stack, add_agents, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

RACES = [(2, 10), (8, 4)]  # (agents per race, races)
VALUES = ["low", "urgent", "high", "normal"]


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


def _new_ticket(stack: Stack, n: int) -> int:
    resp = requests.post(f"{stack.url}/webhooks/form", headers=stack.form_headers(), timeout=60, json={
        "name": "Hanako Yamada", "email": f"field-race-{n}@example.com", "subject": f"Order B-{n}",
        "body": f"Please change the address of order B-{n}."})
    assert resp.status_code == 201, resp.text
    return resp.json()["results"][0]["ticket_id"]


def _race(stack: Stack, tokens: dict[str, str], number: int,
          with_etag: bool) -> list[tuple[str, str, requests.Response]]:
    """Each agent GETs the ticket, then all PATCH priority at once (one barrier). (agent, value, response)."""
    barrier = threading.Barrier(len(tokens))
    current = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()["priority"]
    values = [v for v in VALUES if v != current]

    def one(i_agent: tuple[int, str]) -> tuple[str, str, requests.Response]:
        i, agent = i_agent
        value = values[i % len(values)]
        with requests.Session() as session:
            headers = {"Authorization": f"Bearer {tokens[agent]}"}
            got = session.get(f"{stack.url}/tickets/{number}", headers=headers, timeout=60)
            assert got.status_code == 200, got.text
            if with_etag:
                headers["If-Match"] = got.headers["ETag"]
            barrier.wait(60)
            resp = session.patch(f"{stack.url}/tickets/{number}", headers=headers, json={"priority": value},
                                 timeout=120)
            return agent, value, resp

    with ThreadPoolExecutor(len(tokens)) as pool:
        return list(pool.map(one, enumerate(tokens)))


def _agent_priority_changes(stack: Stack, number: int) -> list[dict]:
    timeline = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()["timeline"]
    return [e for e in timeline if e["type"] == "priority_changed" and e["actor"].startswith("agent:racer")]


@pytest.mark.parametrize(("agents", "races"), RACES, ids=[f"{a}-agents-x{r}" for a, r in RACES])
def test_racing_field_changes_apply_once_and_the_others_are_told_who_won(stack, agents, races):
    tokens = add_agents(stack, [f"racer{agents}-{i}" for i in range(agents)])
    for race in range(races):
        number = _new_ticket(stack, agents * 100 + race)
        outcomes = _race(stack, tokens, number, with_etag=True)
        codes = sorted(r.status_code for _a, _v, r in outcomes)
        assert codes == [200] + [412] * (agents - 1), codes
        [(winner, value, _ok)] = [(a, v, r) for a, v, r in outcomes if r.status_code == 200]
        for _agent, _value, resp in outcomes:
            if resp.status_code == 412:
                body = resp.json()
                [change] = body["changes"]
                assert (change["by"], change["to"], change["field"]) == (f"agent:{winner}", value, "priority")
                assert change["at"].endswith("Z") and winner in body["message"]
        final = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()
        assert final["priority"] == value
        assert [(e["actor"], e["data"]["to"]) for e in _agent_priority_changes(stack, number)] == [
            (f"agent:{winner}", value)]


def test_without_if_match_every_racer_is_told_ok_and_changes_are_overwritten(stack):
    tokens = add_agents(stack, [f"racer-lww-{i}" for i in range(4)])
    number = _new_ticket(stack, 999)
    outcomes = _race(stack, tokens, number, with_etag=False)
    assert [r.status_code for _a, _v, r in outcomes] == [200] * 4
    changes = [e for e in requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()[
        "timeline"] if e["type"] == "priority_changed" and e["actor"].startswith("agent:racer-lww")]
    assert len(changes) >= 2, "several changes applied one over the other: what If-Match prevents"

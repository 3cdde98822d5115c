"""Agents racing to reply to the same customer message, through the running local stack (``make run``).

30 races of 2 agents and 10 races of 20 agents: each race sends exactly one customer
mail (counted in the stand-in's SES store) and leaves exactly one reply on the
timeline; the losers get a 4xx, nobody a 5xx. Before the stand-in was serialised,
19 of 30 two-agent races mailed the customer twice (a cancelled transaction rolled
back another request's committed write).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.functional.stack_kit import Stack, add_agents, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

RACES = [(2, 30), (20, 10)]  # (agents per race, races)


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


def _new_ticket(stack: Stack, n: int) -> tuple[int, str, str]:
    """A form inquiry from a new customer; (ticket number, its message event id, customer address)."""
    address = f"race-{n}@example.com"
    resp = requests.post(f"{stack.url}/webhooks/form", headers=stack.form_headers(), timeout=60, json={
        "name": "Hanako Yamada", "email": address, "subject": f"Order A-{n}", "body": f"Where is order A-{n}?"})
    assert resp.status_code == 201, resp.text
    result = resp.json()["results"][0]
    return result["ticket_id"], result["event_id"], address


def _race(stack: Stack, tokens: list[str], number: int, seen: str, marker: str) -> list[int]:
    """All agents reply at once (connections opened first, released by one barrier). Status codes."""
    barrier = threading.Barrier(len(tokens))
    body = {"body": f"Thank you for waiting. Your order ships today. ({marker})", "last_seen_event_id": seen}

    def one(token: str) -> int:
        with requests.Session() as session:
            headers = {"Authorization": f"Bearer {token}"}
            session.get(f"{stack.url}/_local/clock", headers=stack.auth, timeout=60)  # open the connection
            barrier.wait(30)
            return session.post(f"{stack.url}/tickets/{number}/replies", headers=headers, json=body,
                                timeout=120).status_code

    with ThreadPoolExecutor(len(tokens)) as pool:
        return list(pool.map(one, tokens))


@pytest.mark.parametrize(("agents", "races"), RACES, ids=[f"{a}-agents-x{r}" for a, r in RACES])
def test_racing_agents_send_exactly_one_mail_and_one_reply(stack, agents, races):
    tokens = list(add_agents(stack, [f"racer{agents}-{i}" for i in range(agents)]).values())
    outcomes, sent, replies_per_race = Counter(), [], []
    for race in range(races):
        number, seen, address = _new_ticket(stack, agents * 1000 + race)
        marker = f"race {agents}/{race}"
        codes = _race(stack, tokens, number, seen, marker)
        outcomes.update(codes)
        assert all(code < 500 for code in codes), codes
        assert codes.count(201) == 1, codes
        timeline = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()["timeline"]
        replies = [e for e in timeline if e["type"] == "message_out" and not e["data"].get("auto_reply")]
        replies_per_race.append(len(replies))
        sent.append((address, marker))
    mail = stack.sent_mail()
    mails_per_race = [sum(1 for m in mail if address in m["to"] and marker in m["body"]) for address, marker in sent]
    print(f"{agents} agents x {races} races: status codes {dict(outcomes)}; "
          f"customer mails per race {Counter(mails_per_race)}; replies per race {Counter(replies_per_race)}")
    assert mails_per_race == [1] * races, "exactly one customer mail per race (moto's SES store)"
    assert replies_per_race == [1] * races, "exactly one reply on the timeline per race"

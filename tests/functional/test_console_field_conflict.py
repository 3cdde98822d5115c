"""Two agents change the same ticket field in two browsers; the one on the stale page is told who acted first.

Debian's Chromium (Playwright) against the real local stack, in Japanese and in English: Sato
and Tanaka open the same ticket; Tanaka raises the priority to urgent; Sato, whose page still
shows the old priority, sets it to low. The console sends the ticket's ETag in ``If-Match``, so
Sato's change is refused (412) and the page says, in Sato's language, that Tanaka changed the
priority first (from what to what, when), that Sato's change was not applied, and shows the
ticket afresh (urgent). Sato then makes the change again on the fresh page and it applies.
Screenshots: ``test-artifacts/console/conflict-<lang>-NN-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.functional.browser_kit import Story, browser_stack
from tests.functional.stack_kit import Stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

EXPECT = {
    "ja": {"first": "Tanaka が先に変更しました", "change": "優先度: ", "to": "→ 緊急",
           "after": "あなたの変更は反映されていません", "saved": "保存しました"},
    "en": {"first": "Tanaka changed this first", "change": "Priority: ", "to": "→ Urgent",
           "after": "Your change was not applied", "saved": "Saved"},
}


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Stack, dict[str, str]]]:
    with browser_stack() as running:
        tokens = {}
        for agent_id, name in (("sato", "Sato"), ("tanaka", "Tanaka")):
            resp = requests.post(f"{running.url}/agents", headers=running.auth, timeout=60,
                                 json={"id": agent_id, "name": name, "role": "agent",
                                       "email": f"{agent_id}@example.com"})
            assert resp.status_code == 201, resp.text
            tokens[agent_id] = resp.json()["token"]
        yield running, tokens


class Agent(Story):
    """One person's browser; screenshots named ``conflict-<lang>-NN-<name>.png``."""

    def __init__(self, browser: Any, stack: Stack, lang: str):
        super().__init__(browser, stack, lang, prefix="conflict-")

    def open_ticket(self, number: int) -> None:
        self.page.evaluate(f"() => {{ location.hash = '#/ticket/{number}'; }}")
        self.page.wait_for_selector("#ctl-priority")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_stale_field_change_is_refused_with_who_changed_what_first(stack, browser, lang):
    running, tokens = stack
    tx = EXPECT[lang]
    resp = requests.post(f"{running.url}/webhooks/form", headers=running.form_headers(), timeout=60, json={
        "name": "山田 花子", "email": f"conflict-{lang}@example.jp", "subject": f"住所変更 {lang}",
        "body": "配送先を変更したいです。"})
    assert resp.status_code == 201, resp.text
    number = int(resp.json()["results"][0]["ticket_id"])
    before = requests.get(f"{running.url}/tickets/{number}", headers=running.auth, timeout=60).json()["priority"]
    assert before not in ("urgent", "low")

    sato, tanaka = Agent(browser, running, lang), Agent(browser, running, lang)
    try:
        sato.login(tokens["sato"])
        sato.open_ticket(number)
        tanaka.login(tokens["tanaka"])
        tanaka.open_ticket(number)
        tanaka.page.select_option("#ctl-priority", "urgent")
        tanaka.page.wait_for_selector(f"#ctl-result:has-text('{tx['saved']}')")

        assert sato.page.eval_on_selector("#ctl-priority", "s => s.value") == before, "Sato's page is stale"
        sato.page.select_option("#ctl-priority", "low")
        note = sato.page.wait_for_selector(f"#ctl-result:has-text('{tx['after']}')")
        text = note.inner_text()
        assert tx["first"] in text and tx["change"] in text and tx["to"] in text, text
        sato.page.wait_for_function("() => document.querySelector('#ctl-priority').value === 'urgent'")
        sato.shot("refused-stale-change")

        sato.page.select_option("#ctl-priority", "low")  # made again on the fresh page: applies
        sato.page.wait_for_selector(f"#ctl-result:has-text('{tx['saved']}')")
        assert sato.page.eval_on_selector("#ctl-priority", "s => s.value") == "low"
        sato.shot("change-made-again")
        final = requests.get(f"{running.url}/tickets/{number}", headers=running.auth, timeout=60).json()
        assert final["priority"] == "low"
        changes = [(e["actor"], e["data"]["to"]) for e in final["timeline"] if e["type"] == "priority_changed"
                   and e["actor"].startswith("agent:")]
        assert changes == [("agent:tanaka", "urgent"), ("agent:sato", "low")]
        errors = sato.unexpected_errors() + tanaka.unexpected_errors()
        assert errors == [], errors  # the 412 itself is logged by Chromium as a failed resource
    finally:
        sato.context.close()
        tanaka.context.close()

"""GDPR erasure in a real browser (Debian Chromium, Playwright), in Japanese and in English: an agent has no
erase control; the admin opens the customer panel, types the customer's address to confirm, erases, and
the ticket, its timeline and the panel then show the customer as erased. Screenshots of every step go to
``test-artifacts/console/`` (``ja-41-…``, ``en-41-…``)."""

from __future__ import annotations

import pytest
import requests

from tests.functional.browser_kit import Story
from tests.functional.test_console_browser import TOKENS, _form, stack  # noqa: F401 - the story's stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

TEXT = {
    "ja": {"customer": ("高橋 美咲", "misaki.takahashi@example.jp"), "subject": "退会と個人情報の削除のお願い",
           "erased": "消去済み", "erased_subject": "（消去済み）", "event": "顧客の個人データを消去"},
    "en": {"customer": ("Emma Brown", "emma.brown@example.com"), "subject": "Please delete my account and data",
           "erased": "Erased", "erased_subject": "(erased)", "event": "Customer's personal data erased"},
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_an_admin_erases_a_customer_in_the_browser(stack, browser, lang):  # noqa: F811 - the fixtures
    tx = TEXT[lang]
    name, email = tx["customer"]
    number = _form(stack, name, email, tx["subject"], f"{name} / 090-5555-{1111 if lang == 'ja' else 2222}")
    older = _form(stack, name, email, f"{tx['subject']} (2)", "…")
    s = Story(browser, stack, lang)
    s.step = 40
    page = s.page

    s.login(TOKENS["sato"])  # an agent: the panel has no erase control
    page.goto(f"{stack.url}/console#/ticket/{number}")
    page.wait_for_selector("#cust-save")
    assert page.query_selector("#erase-zone") is None
    s.shot("agent-sees-no-erase")

    s.login(stack.token)  # the admin
    page.goto(f"{stack.url}/console#/ticket/{number}")
    page.wait_for_selector("#erase-zone")
    page.click("#erase-zone summary")
    page.fill("#erase-confirm", "someone-else@example.jp")
    assert page.is_disabled("#erase"), "a wrong confirmation keeps the button disabled"
    page.fill("#erase-confirm", email)
    assert page.is_enabled("#erase")
    s.shot("admin-typed-the-confirmation")
    page.click("#erase")
    page.wait_for_selector("#cust-erased-badge")
    assert page.query_selector("#ticket-erased-badge") and tx["erased_subject"] in page.inner_text("#ticket-title")
    assert email not in page.inner_text("body") and name not in page.inner_text("body")
    page.wait_for_selector(f'#timeline li[data-type="customer_erased"]:has-text("{tx["event"]}")')
    s.shot("customer-erased")
    page.goto(f"{stack.url}/console#/ticket/{older}")
    page.wait_for_selector("#ticket-erased-badge")
    assert tx["erased"] in page.inner_text("#customer")
    s.shot("other-ticket-erased")

    customer = requests.get(f"{stack.url}/tickets/{number}/customer", headers=stack.auth, timeout=60).json()
    assert customer["erased_at"] and customer["identities"] == [] and customer["email"] is None
    found = requests.get(f"{stack.url}/tickets", params={"q": email}, headers=stack.auth, timeout=60).json()
    assert found["tickets"] == []
    audit = requests.get(f"{stack.url}/audit", headers=stack.auth, timeout=60).json()["events"]
    assert any(e["type"] == "customer_erased" and e["target"] == f"customer:{customer['id']}" for e in audit)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{stack.url}/console#/ticket/{number}")
    page.wait_for_selector("#cust-erased-badge")
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    s.shot("phone-390-erased")
    s.context.close()
    assert s.unexpected_errors() == []

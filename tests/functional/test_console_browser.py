"""The console in a real browser: Debian's headless Chromium driven by Playwright (no browser download).

The app runs as ``python -m infra.local_stack`` on free ports with a copy of
``rules/`` whose default SLA counts on the 24x7 calendar with a 30-minute
first reply, so a ticket posted now is "at risk" whatever the time of day.
Seeding goes through the API. The browser logs in with the agent token,
opens the at-risk view, finds the ticket with its remaining-time label and
urgency colour, opens it, claims it and gets the pre-send warning for a
``●●`` draft. Screenshots of each step go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.functional.stack_kit import READY_TIMEOUT_S, free_port, start_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "console"
TOKEN = "browser-test-token"
SECRET = "browser-test-secret"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DRAFT = "山田様\n\nご注文番号●●の件でご連絡いたします。"


def _rules_with_a_30_minute_first_reply(target: Path) -> Path:
    shutil.copytree(ROOT / "rules", target)
    for name in ("sla-default.json", "sla-vip.json"):
        path = target / name
        rule = json.loads(path.read_text(encoding="utf-8"))
        rule["calendar"] = "24x7"
        rule["targets"]["normal"]["first_reply"] = 30
        path.write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The local stack on free ports, seeded through the API with an at-risk and a quiet ticket."""
    rules = _rules_with_a_30_minute_first_reply(tmp_path / "rules")
    running = start_stack(PORT=str(free_port()), MOTO_PORT=str(free_port()), LOCAL_AGENT_TOKEN=TOKEN,
                          FORM_WEBHOOK_SECRET=SECRET, HELPDESK_RULES_DIR=str(rules))
    try:
        url = running.wait_for(lambda line: line.startswith("READY "), READY_TIMEOUT_S).split(" ", 1)[1]
        headers = {"X-Form-Secret": SECRET}
        quiet = requests.post(f"{url}/webhooks/form", headers=headers, timeout=30, json={
            "name": "佐藤 次郎", "email": "jiro@example.jp", "subject": "営業時間について",
            "body": "土曜日も営業していますか", "category": "general"})
        number = quiet.json()["results"][0]["ticket_id"]
        patched = requests.patch(f"{url}/tickets/{number}", headers={"Authorization": f"Bearer {TOKEN}"},
                                 json={"priority": "low"}, timeout=30)
        assert patched.status_code == 200, patched.text
        posted = requests.post(f"{url}/webhooks/form", headers=headers, timeout=30, json={
            "name": "山田 花子", "email": "hanako.yamada@example.jp", "subject": "注文の配送状況",
            "body": "注文番号 A-1001 はいつ届きますか", "category": "shipping"})
        assert posted.status_code == 201, posted.text
        yield url
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    """A fresh headless Chromium profile (Debian's package) and one page."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
        pytest.skip("needs Debian's chromium (apt-get install chromium chromium-driver; `make test` does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860}, locale="ja-JP", timezone_id="Asia/Tokyo")
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_agent_logs_in_works_the_at_risk_queue_and_sees_the_presend_warning(app_url, page):
    started = time.monotonic()
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/console" not in r.url else None)
    page.goto(f"{app_url}/console")
    page.wait_for_selector("#login-form")
    assert page.is_hidden("#app") and page.is_hidden("#nav")
    assert api_calls == [], "nothing is fetched before login"
    _shot(page, "01-login.png")

    page.fill("#token", "wrong-token")
    page.click("#login-button")
    page.wait_for_selector("#login-error:has-text('トークンが正しくありません')")
    page.fill("#token", TOKEN)
    page.click("#login-button")
    page.wait_for_selector("#nav-at_risk")
    page.click("#nav-at_risk")
    row = page.wait_for_selector("#ticket-list tr.ticket-row")
    rows = page.query_selector_all("#ticket-list tr.ticket-row")
    assert len(rows) == 1, [r.inner_text() for r in rows]  # the low-priority ticket is not at risk
    assert "注文の配送状況" in row.inner_text()
    assert "urgency-at_risk" in (row.get_attribute("class") or "")
    badge = row.query_selector(".sla").inner_text()
    assert re.fullmatch(r"初回返信 残り(30|29|28)分", badge), badge
    _shot(page, "02-at-risk-view.png")

    page.locator("#ticket-list tr.ticket-row").first.click()
    page.wait_for_selector("#ticket-title:has-text('注文の配送状況')")
    page.click("#claim")
    page.wait_for_selector("#claim-status:has-text('Local Agent さんが返信中です')")
    page.fill("#reply-body", DRAFT)
    page.click("#check")
    warning = page.wait_for_selector("#presend-problems li[data-check='placeholder']")
    assert "blocking" in (warning.get_attribute("class") or "")
    assert page.is_visible("#override")
    _shot(page, "03-ticket-presend-warning.png")

    page.click("#lang")
    page.click("#nav-reports")
    page.wait_for_selector("#kpi-cards")
    page.wait_for_function("document.querySelectorAll('canvas').length === 3 && "
                           "[...document.querySelectorAll('canvas')].every(c => c.width > 0)")
    assert page.inner_text("#kpi-created") .startswith("2")
    _shot(page, "04-reports-en.png")
    page.click("#logout")
    page.wait_for_selector("#login-form")
    assert page.is_hidden("#app") and page.evaluate("sessionStorage.length") == 0
    assert time.monotonic() - started < 60

"""The console as the agents' and managers' whole workplace, in a real browser, in Japanese and in English.

Debian's headless Chromium driven by Playwright (no browser download) against the
real local stack (``python -m infra.local_stack``, one per module) with a copy of
``rules/`` whose SLAs count on the 24x7 calendar with a 30-minute first reply and
the shipped (disabled) SMS warning enabled. The test seeds only what the story
needs from outside the page: colleagues with tokens, customers' inquiries (form
webhook), the warehouse contact's mailed answer (email webhook). Everything the
people do happens in the page:

- agent Sato finds a ticket by the customer's email, claims it, raises the
  priority, adds a tag, assigns it to Tanaka (by display name), escalates to the
  warehouse (suggested from the category), sees the contact's mailed answer arrive
  without reloading, is stopped by a ``●●`` draft, replies with a template and solves it;
- manager Kato reassigns three tickets in bulk and marks a customer VIP; the
  customer's next ticket gets the VIP policy;
- the admin adds an agent with a phone number and assigns them a ticket: the SMS
  warning is sent (outbox and moto's SNS).

Screenshots of every step (and a 390 px wide phone view) go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.functional.browser_kit import Story, browser_stack
from tests.functional.stack_kit import SECRETS, Stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

TOKENS = {"sato": "sato-browser-token", "tanaka": "tanaka-browser-token", "kato": "kato-browser-token"}
TEXT = {
    "ja": {"customer": ("山田 花子", "hanako.yamada@example.jp"), "subject": "注文の配送状況",
           "body": "注文番号 A-1001 はいつ届きますか", "draft": "山田 花子 様\n\nご注文番号●●の件でご連絡いたします。",
           "claimed": "Sato さんが返信中です", "tag": "配送遅延", "assigned": "担当: 未割り当て → Tanaka",
           "answered": "部署からの回答", "shipped": "発送", "solved": "解決済み", "vip": "VIP",
           "bulk": "3 件を更新しました",
           "token": "トークンです", "sms": "SMS"},
    "en": {"customer": ("Mary Smith", "mary.smith@example.com"), "subject": "Where is my order",
           "body": "Order A-1001 has not arrived yet", "draft": "Dear Mary Smith,\n\nAbout your order ●●:",
           "claimed": "Sato is replying", "tag": "late-delivery", "assigned": "Assignee: Unassigned → Tanaka",
           "answered": "Department answer", "shipped": "shipped", "solved": "Solved", "vip": "VIP",
           "bulk": "Updated 3 tickets", "token": "The token for", "sms": "SMS"},
}


def _rules_for_the_story(target: Path) -> Path:
    shutil.copytree(ROOT / "rules", target)
    for name in ("sla-default.json", "sla-vip.json"):
        path = target / name
        rule = json.loads(path.read_text(encoding="utf-8"))
        rule["calendar"] = "24x7"
        for targets in rule["targets"].values():
            targets["first_reply"] = min(targets.get("first_reply", 30), 30)
        path.write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")
    sms = target / "warn-assignee-sms-1h-before-breach.json"
    rule = json.loads(sms.read_text(encoding="utf-8"))
    rule["enabled"] = True
    sms.write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One local stack for the module, with Sato and Tanaka (agents) and Kato (supervisor)."""
    rules = _rules_for_the_story(tmp_path_factory.mktemp("story") / "rules")
    with browser_stack(HELPDESK_RULES_DIR=str(rules)) as running:
        for agent_id, name, role in (("sato", "Sato", "agent"), ("tanaka", "Tanaka", "agent"),
                                     ("kato", "Kato", "supervisor")):
            resp = requests.post(f"{running.url}/agents", headers=running.auth, timeout=60,
                                 json={"id": agent_id, "name": name, "role": role,
                                       "email": f"{agent_id}@example.com"})
            assert resp.status_code == 201, resp.text
            TOKENS[agent_id] = resp.json()["token"]
        yield running


def _form(stack: Stack, name: str, email: str, subject: str, body: str, category: str = "shipping") -> int:
    resp = requests.post(f"{stack.url}/webhooks/form", headers=stack.form_headers(), timeout=60,
                         json={"name": name, "email": email, "subject": subject, "body": body, "category": category,
                               "order_number": "A-1001"})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["results"][0]["ticket_id"])


def _contact_answers(stack: Stack, number: int, text: str) -> None:
    msg = EmailMessage()
    msg["From"] = "鈴木 <suzuki.warehouse@example.com>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"Re: [#{number}] エスカレーション"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(text)
    resp = requests.post(f"{stack.url}/webhooks/email", data=msg.as_bytes(), timeout=60,
                         headers={"Content-Type": "message/rfc822",
                                  "X-Email-Secret": SECRETS["EMAIL_WEBHOOK_SECRET"]})
    assert resp.status_code in (200, 201), resp.text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_whole_workday_in_the_browser(stack, browser, lang):
    tx = TEXT[lang]
    s = Story(browser, stack, lang)
    page = s.page
    name, email = tx["customer"]
    number = _form(stack, name, email, tx["subject"], tx["body"])
    bulk = [_form(stack, f"Bulk {i}", f"bulk{i}-{lang}@example.jp", f"bulk {lang} {i}", "x", "general")
            for i in range(3)]
    for n in bulk:  # Sato's work before the manager moves it
        requests.patch(f"{stack.url}/tickets/{n}", headers=stack.auth, timeout=60,
                       json={"assignee": "sato", "tags": [f"bulk-{lang}"]}).raise_for_status()

    # --- agent Sato -------------------------------------------------------------------------------------
    s.login(TOKENS["sato"])
    s.shot("agent-signed-in")
    s.search(email)
    rows = page.query_selector_all("#ticket-list tr.ticket-row")
    assert [r.get_attribute("data-ticket") for r in rows] == [str(number)]
    s.shot("found-by-customer-email")
    page.click(f"#ticket-list tr[data-ticket='{number}']")
    page.wait_for_selector(f"#ticket-title:has-text('{tx['subject']}')")
    page.click("#claim")
    page.wait_for_selector(f"#claim-status:has-text('{tx['claimed']}')")
    s.shot("claimed")
    page.select_option("#ctl-priority", "high")
    s.wait_saved()
    page.wait_for_function("() => document.querySelector('#ctl-priority').value === 'high'")
    page.fill("#tag-input", tx["tag"])
    page.click("#tag-add")
    page.wait_for_selector(f".tags .tag[data-tag='{tx['tag']}']")
    s.shot("priority-and-tag")
    page.select_option("#ctl-assignee", label="Tanaka")
    page.wait_for_selector(f"#timeline li[data-type='assigned']:has-text('{tx['assigned']}')")
    assert page.eval_on_selector("#ctl-assignee", "s => s.options[s.selectedIndex].text") == "Tanaka"
    s.shot("assigned-to-colleague")
    assert page.eval_on_selector("#esc-dept", "s => s.value") == "warehouse", "suggested from the category"
    page.fill("#esc-note", "A-1001 出荷状況の確認をお願いします" if lang == "ja" else "Please check A-1001")
    page.click("#esc-send")
    page.wait_for_selector("#esc-state")
    s.shot("escalated-to-warehouse")
    _contact_answers(stack, number, "本日出荷済みです。追跡番号 1234-5678")
    page.wait_for_selector("#timeline li.ev-internal_message:has-text('1234-5678')")  # polled, no reload
    assert page.is_visible("#new-activity") and tx["answered"] in page.inner_text("#timeline")
    s.shot("contact-answer-arrived")
    if lang == "en":  # an English customer: the agent records it, the template follows
        page.select_option("#cust-lang", "en")
        page.click("#cust-save")
        page.wait_for_selector("#ctl-result:has-text('Customer saved')")
    page.fill("#reply-body", tx["draft"])
    page.click("#check")
    warning = page.wait_for_selector("#presend-problems li[data-check='placeholder']")
    assert "blocking" in (warning.get_attribute("class") or "")
    page.click("#send")
    page.wait_for_selector("#reply-result:not(:empty)")
    assert page.is_visible("#override")
    s.shot("blocked-placeholder-draft")
    page.select_option("#template", "order-shipped")
    shipped = json.dumps(tx["shipped"])
    page.wait_for_function(f"() => document.querySelector('#reply-body').value.includes({shipped})")
    page.wait_for_selector("#presend-ok")
    assert "●●" not in page.input_value("#reply-body")
    s.shot("template-preview")
    page.select_option("#reply-status", "solved")
    page.click("#send")
    page.wait_for_function("() => document.querySelector('#ctl-status') && "
                           "document.querySelector('#ctl-status').value === 'solved'")
    assert page.query_selector("#timeline li[data-type='message_out']:has-text('A-1001')")
    s.shot("replied-and-solved")

    # --- manager Kato -------------------------------------------------------------------------------------
    s.login(TOKENS["kato"])
    page.click("#nav-all")
    page.wait_for_selector("#filters")
    page.fill("#filter-tag", f"bulk-{lang}")
    page.click("#filter-apply")
    page.wait_for_function("() => document.querySelectorAll('#ticket-list tr.ticket-row').length === 3")
    page.check("#pick-all")
    page.select_option("#bulk-assignee", "tanaka")
    page.click("#bulk-apply")
    page.wait_for_selector(f".notice:has-text('{tx['bulk']}')")
    assert [c.inner_text() for c in page.query_selector_all("#ticket-list td.assignee")] == ["Tanaka"] * 3
    s.shot("bulk-reassigned")
    vip_email = f"vip-{lang}@example.jp"
    _form(stack, "大口 顧客", vip_email, f"vip first {lang}", "質問です")
    s.search(vip_email)
    page.click("#ticket-list tr.ticket-row >> nth=0")
    page.wait_for_selector("#cust-vip")
    page.check("#cust-vip")
    page.click("#cust-save")
    page.wait_for_selector("#cust-vip-badge")
    s.shot("customer-marked-vip")
    following = _form(stack, "大口 顧客", vip_email, f"vip second {lang}", "もう一つ質問です")
    s.search(vip_email)
    page.click(f"#ticket-list tr[data-ticket='{following}']")
    page.wait_for_selector(f"#ticket-title:has-text('vip second {lang}')")
    facts = page.inner_text(".facts")
    assert tx["vip"] in facts and page.eval_on_selector("#ctl-priority", "s => s.value") == "high"
    s.shot("next-ticket-gets-vip-policy")

    # --- admin ----------------------------------------------------------------------------------------------
    s.login(stack.token)
    page.click("#nav-agents")
    page.wait_for_selector("#agent-add")
    new_id, phone = f"yamada-{lang}", "+8190111122" + ("11" if lang == "ja" else "22")
    page.fill("#new-agent-id", new_id)
    new_name = "山田 太郎" if lang == "ja" else "Taro Yamada"
    page.fill("#new-agent-name", new_name)
    page.fill("#new-agent-phone", phone)
    page.select_option("#new-agent-lang", lang)
    page.click("#new-agent-save")
    page.wait_for_selector("#agent-token-value")
    assert tx["token"] in page.inner_text("#agent-token")
    page.wait_for_selector(f"#agent-list tr[data-agent='{new_id}']")
    assert page.query_selector("#audit li[data-type='agent_added']")
    s.shot("admin-added-agent-with-phone")
    sms_ticket = _form(stack, "佐藤 次郎", f"jiro-{lang}@example.jp", f"sms {lang}", "至急お願いします")
    page.goto(f"{stack.url}/console#/ticket/{sms_ticket}")
    page.wait_for_selector(f"#ticket-title:has-text('sms {lang}')")
    page.select_option("#ctl-assignee", new_id)
    page.wait_for_selector(f"#timeline li[data-type='assigned']:has-text('{new_name}')")
    stack.advance(1)  # the scheduler's next minute: the warning is due at once (less than 60 minutes left)
    page.wait_for_selector(f"#timeline li[data-type='notification_sent']:has-text('{phone}')")  # polled
    assert tx["sms"] in page.inner_text("#timeline li[data-type='notification_sent']")
    s.shot("sms-warning-sent")
    sent = requests.get(f"{stack.url}/outbox?state=sent&limit=100", headers=stack.auth, timeout=60).json()
    assert any(i["target"] == "sms" and i["recipient"] == phone and i["ticket_id"] == sms_ticket
               for i in sent["items"]), sent
    sns = json.dumps(requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=60).json().get("sns", {}))
    assert phone in sns, "moto's SNS received the text"

    # --- on a phone: 390 px ---------------------------------------------------------------------------------
    phone_page = page  # the same tab: the token lives in this tab's sessionStorage
    phone_page.set_viewport_size({"width": 390, "height": 844})
    phone_page.goto(f"{stack.url}/console#/view/all")
    phone_page.wait_for_selector("#ticket-list")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 392, "no sideways scrolling"
    s.shot("phone-390-queue", phone_page)
    phone_page.goto(f"{stack.url}/console#/ticket/{number}")
    phone_page.wait_for_selector(f"#ticket-title:has-text('{tx['subject']}')")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 392
    s.shot("phone-390-ticket", phone_page)
    s.context.close()
    assert s.unexpected_errors() == []
    assert time.monotonic() > 0


FILES = {"ja": ("見積依頼書（2026年1月）.pdf", "お見積書.pdf"), "en": ("purchase order – März.pdf", "quote 2026.pdf")}


def _mail_with_file(stack: Stack, sender: str, subject: str, filename: str, data: bytes) -> int:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@example.com", subject
    msg["Message-ID"] = make_msgid(domain="example.jp")
    msg.set_content("見積をお願いします。添付をご確認ください。")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    resp = requests.post(f"{stack.url}/webhooks/email", data=msg.as_bytes(), timeout=60,
                         headers={"Content-Type": "message/rfc822", "X-Email-Secret": SECRETS["EMAIL_WEBHOOK_SECRET"]})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["results"][0]["ticket_id"])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_reply_attachments_in_the_browser(stack, browser, lang):
    """Sato downloads the customer's mailed file, attaches two files (one too large, removed), sends the
    reply with the other, and downloads what was sent; moto's SES holds it under its own name."""
    s = Story(browser, stack, lang)
    s.step = 20
    page = s.page
    inbound_name, reply_name = FILES[lang]
    inbound, outbound = b"%PDF-1.4 customer " + lang.encode() * 500, b"%PDF-1.4 quote " + bytes(range(256)) * 64
    number = _mail_with_file(stack, f"山田 花子 <att-{lang}@example.jp>", f"attachments {lang}", inbound_name, inbound)
    s.login(TOKENS["sato"])
    page.goto(f"{stack.url}/console#/ticket/{number}")
    chip = f"#timeline li.ev-message_in button.chip:has-text('{inbound_name}')"
    page.wait_for_selector(chip)
    s.shot("inbound-attachment-chip")
    with page.expect_download() as got:  # a locator, not a handle: the 4 s poll may re-render the timeline
        page.locator(chip).click()
    download = got.value
    assert download.suggested_filename == inbound_name
    assert Path(download.path()).read_bytes() == inbound

    page.set_input_files("#reply-files", files=[{"name": "scan.pdf", "mimeType": "application/pdf",
                                                 "buffer": b"x" * (10 * 1024 * 1024 + 1)}])
    page.wait_for_selector("#reply-attachments li.chip.failed")
    assert ("大きすぎます" if lang == "ja" else "Too large") in page.inner_text("#reply-attachments")
    page.set_input_files("#reply-files", files=[{"name": reply_name, "mimeType": "application/pdf",
                                                 "buffer": outbound}])
    page.wait_for_selector(f"#reply-attachments li.chip.ready[data-name='{reply_name}']")
    s.shot("reply-with-a-file-and-a-refused-one")
    page.click("#reply-attachments li.chip.failed button.remove")
    page.wait_for_function("() => !document.querySelector('#reply-attachments li.chip.failed')")
    page.fill("#reply-body", "山田 花子 様\n\nお見積書をお送りします。" if lang == "ja"
              else "Dear 山田 花子,\n\nPlease find our quote attached.")
    page.click("#send")
    sent_chip = f"#timeline li.ev-message_out button.chip:has-text('{reply_name}')"
    page.wait_for_selector(sent_chip)
    page.wait_for_function("() => { const l = document.querySelector('#reply-attachments'); "
                           "return l && l.children.length === 0; }")  # sent: the reply box starts empty again
    s.shot("reply-sent-with-attachment")
    with page.expect_download() as got:
        page.locator(sent_chip).click()
    assert got.value.suggested_filename == reply_name and Path(got.value.path()).read_bytes() == outbound

    ses = requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=60).json()["ses"]["RawMessage"]
    import email as email_lib
    from email import policy

    mails = [email_lib.message_from_string(m["raw_data"], policy=policy.default) for m in ses]
    ours = [m for m in mails if f"[#{number}]" in str(m["Subject"]) and m.get("Auto-Submitted", "no") == "no"]
    files = [(a.get_filename(), a.get_content()) for a in ours[-1].iter_attachments()]
    assert files == [(reply_name, outbound)]
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_selector("#reply-files", state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= 392, "chips wrap on a phone"
    s.shot("phone-390-attachments")
    s.context.close()
    assert s.unexpected_errors() == []

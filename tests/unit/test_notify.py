"""The pure parts of notifications: backoff, webhook signature, recipients, per-target formatting,
and the rule checker rejecting templates with unknown variables."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.backoff import RetryPolicy, backoff_delay, next_attempt_at, retry_policy
from chalicelib.cli import check_all
from chalicelib.directory import Directory
from chalicelib.domain import Notification
from chalicelib.recipients import person_for, resolve, slack_channel
from plugins import notify_ses, notify_slack, notify_sms, notify_webhook
from tests.conftest import ROOT

NOW = datetime(2026, 1, 13, 1, 0, tzinfo=timezone.utc)
DIRECTORY = Directory({
    "support": {"id": "support", "manager": {"id": "kato", "name": "加藤", "email": "kato@example.com"},
                "slack_channel": "#support-alerts", "contacts": []},
    "warehouse": {"id": "warehouse", "manager": {"id": "ito", "name": "伊藤", "email": "ito@example.com",
                                                  "phone": "+819011112222"},
                  "slack_channel": "#warehouse",
                  "contacts": [{"id": "suzuki", "name": "鈴木", "email": "suzuki@example.com", "slack_user": "U1"}]},
    "billing": {"id": "billing", "manager": {"id": "yama", "name": "山本", "email": "yama@example.com"}},
})
AGENTS = {"sato": {"id": "sato", "name": "Sato", "email": "sato@example.com", "phone": "+819012345678",
                   "department": "support"}}
TICKET = {"id": 12, "assignee": "sato", "department": "warehouse", "customer_id": "c1", "customer_name": "山田",
          "customer_email": "hanako@example.jp",
          "escalation": {"department": "warehouse", "contact": {"id": "suzuki", "name": "鈴木"}}}


# --- backoff -------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_and_is_capped():
    policy = RetryPolicy(max_attempts=10, base_s=60, max_s=600)
    assert [backoff_delay(n, policy).total_seconds() for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    assert backoff_delay(1000, policy) == timedelta(seconds=600)


def test_next_attempt_until_the_attempts_are_used_up():
    policy = RetryPolicy(max_attempts=3, base_s=30)
    assert next_attempt_at(NOW, 1, policy) == NOW + timedelta(seconds=30)
    assert next_attempt_at(NOW, 2, policy) == NOW + timedelta(seconds=60)
    assert next_attempt_at(NOW, 3, policy) is None


def test_retry_policy_reads_the_environment_with_defaults():
    assert retry_policy({}) == RetryPolicy()
    env = {"NOTIFY_MAX_ATTEMPTS": "3", "NOTIFY_BACKOFF_BASE_S": "5", "NOTIFY_FAST_PATH": "0"}
    policy = retry_policy(env)
    assert (policy.max_attempts, policy.base_s, policy.fast_path) == (3, 5, False)


# --- webhook signature ---------------------------------------------------------------------


def test_signature_header_is_hmac_sha256_over_timestamp_dot_body():
    header = notify_webhook.signature_header("s3cret", 1767000000, b'{"a":1}')
    expected = hmac.new(b"s3cret", b'1767000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1767000000,v1={expected}"


@pytest.mark.parametrize(("secret", "body", "now", "ok"), [
    ("s3cret", b"{}", 1767000000, True),
    ("s3cret", b"{}", 1767000000 + 300, True),
    ("s3cret", b"{}", 1767000000 + 301, False),  # replayed too late
    ("other", b"{}", 1767000000, False),
    ("s3cret", b"{ }", 1767000000, False),  # body changed
])
def test_verify_checks_secret_body_and_freshness(secret, body, now, ok):
    header = notify_webhook.signature_header("s3cret", 1767000000, b"{}")
    assert notify_webhook.verify(secret, header, body, now) is ok
    assert notify_webhook.verify("s3cret", "v1=abc", b"{}", now) is False


def test_webhook_endpoint_by_url_or_by_name():
    secrets = {"NOTIFY_WEBHOOK_URL": "https://a.example/hook", "NOTIFY_WEBHOOK_SECRET": "s",
               "NOTIFY_WEBHOOK_URL_CRM": "https://crm.example/in", "NOTIFY_WEBHOOK_SECRET_CRM": "c"}
    assert notify_webhook.endpoint("default", secrets.get) == ("https://a.example/hook", "s")
    assert notify_webhook.endpoint("crm", secrets.get) == ("https://crm.example/in", "c")
    assert notify_webhook.endpoint("https://x.example/h", secrets.get) == ("https://x.example/h", "s")
    assert notify_webhook.endpoint("erp", secrets.get) == (None, "s")


# --- recipients ----------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "to", "address"), [
    ("email", "assignee", "sato@example.com"),
    ("sms", "assignee", "+819012345678"),
    ("email", "customer", "hanako@example.jp"),
    ("email", "escalation_contact", "suzuki@example.com"),
    ("email", "department_manager", "ito@example.com"),
    ("sms", "department_manager", "+819011112222"),
    ("email", "manager", "kato@example.com"),
    ("slack", "assignee", "#support-alerts"),  # the agent's department
    ("slack", "escalation_contact", "#warehouse"),
    ("slack", "department_manager", "#warehouse"),
    ("slack", {"address": "#vip"}, "#vip"),
    ("webhook", "manager", "default"),
    ("log", "manager", "kato"),
    ("fax", "department_manager", None),
    ("email", {"address": "ops@example.com"}, "ops@example.com"),
])
def test_roles_resolve_to_the_address_for_the_target(target, to, address):
    who = resolve(target, to, TICKET, DIRECTORY, AGENTS.get)
    assert who.address == address and (who.problem is None) == (address is not None)


def test_missing_people_and_addresses_are_problems_a_person_can_act_on():
    unassigned = {**TICKET, "assignee": None}
    assert resolve("email", "assignee", unassigned, DIRECTORY, AGENTS.get).problem == \
        "nobody is the assignee of this ticket"
    no_phone = resolve("sms", "manager", TICKET, DIRECTORY, AGENTS.get)
    assert no_phone.address is None and no_phone.problem == "the manager (加藤) has no phone number"


def test_escalation_contact_by_id_is_completed_from_the_directory():
    ticket = {**TICKET, "escalation": {"department": "warehouse", "contact": "suzuki"}}
    person = person_for("escalation_contact", ticket, DIRECTORY, AGENTS.get)
    assert person["email"] == "suzuki@example.com" and person["slack_user"] == "U1"


def test_slack_channel_falls_back_to_support_then_default():
    assert slack_channel("department_manager", {}, {"department": "billing"}, DIRECTORY) == "#support-alerts"
    assert slack_channel("manager", {}, {}, Directory({})) == "default"
    assert slack_channel("assignee", {"slack_channel": "#mine"}, {}, DIRECTORY) == "#mine"


# --- per-target formatting -----------------------------------------------------------------


def _note(target: str, **over) -> Notification:
    fields = {"target": target, "recipient": "x", "subject": "[#12] 期限 <1h> & more", "body_text": "本文",
              "dedupe_key": "k", "ticket_id": 12, "metadata": {"link": "https://hd.example/tickets/12"}}
    return Notification(**{**fields, **over})


def test_slack_secret_names_and_escaped_text_with_mention():
    assert notify_slack.secret_name("#support-alerts") == "SLACK_WEBHOOK_URL_SUPPORT_ALERTS"
    assert notify_slack.secret_name("default") == "SLACK_WEBHOOK_URL"
    assert notify_slack.webhook_url("#x", {"SLACK_WEBHOOK_URL": "u"}.get) == "u"
    msg = notify_slack.message(_note("slack", metadata={"person": {"slack_user": "U1"}}))
    assert msg["text"] == "<@U1> *[#12] 期限 &lt;1h&gt; &amp; more*\n本文"


def test_slack_without_a_webhook_url_is_a_permanent_failure():
    result = notify_slack.helpdesk_notify(_note("slack", recipient="#ops"), lambda _name: None)
    assert result.delivered is False and "SLACK_WEBHOOK_URL_OPS" in result.detail
    assert notify_slack.helpdesk_notify(_note("email"), lambda _name: None) is None


def test_sms_text_is_the_body_when_short_else_subject_and_link():
    assert notify_sms.sms_text(_note("sms")) == "本文"
    long = _note("sms", body_text="あ" * 400)
    assert notify_sms.sms_text(long) == "[#12] 期限 <1h> & more\nhttps://hd.example/tickets/12"
    assert len(notify_sms.sms_text(long, max_chars=10)) == 10
    bad = notify_sms.helpdesk_notify(_note("sms", recipient="090-1234-5678"), lambda _name: None)
    assert bad.delivered is False and "E.164" in bad.detail


def test_email_request_has_sender_name_and_reply_to(monkeypatch):
    monkeypatch.setenv("NOTIFY_EMAIL_FROM", "helpdesk@example.com")
    monkeypatch.setenv("NOTIFY_EMAIL_FROM_NAME", "Help Desk")
    request = notify_ses.email_request(_note("email", recipient="a@example.com",
                                             metadata={"reply_to": "support+12@example.com"}))
    assert request["Source"] == "Help Desk <helpdesk@example.com>"
    assert request["ReplyToAddresses"] == ["support+12@example.com"]
    assert request["Message"]["Subject"]["Charset"] == "UTF-8"
    assert notify_ses.helpdesk_notify(_note("email", recipient="not-an-address"), lambda _n: None).delivered is False


# --- the rule checker ----------------------------------------------------------------------


def _rules(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    return rules


def test_a_per_target_template_with_an_unknown_variable_is_rejected(tmp_path):
    rules = _rules(tmp_path)
    variant = {"ja": {"subject": "#{{ ticket.id }}", "body": "{{ ticket.url }} {{ deadline.remaning }}"}}
    (rules / "templates" / "sla-warning.slack.json").write_text(json.dumps(variant))
    errors = check_all(rules)
    assert [(e["file"], "remaning" in e["message"]) for e in errors] == [("templates/sla-warning.slack.json", True)]


def test_an_inline_notify_body_with_an_unknown_variable_is_rejected(tmp_path):
    rules = _rules(tmp_path)
    rule = json.loads((rules / "notify-manager-on-breach.json").read_text())
    rule["actions"][0] = {"type": "notify", "target": "slack", "to": {"address": "#ops"},
                          "body": "#{{ ticket.id }} {{ custmer.name }}"}
    (rules / "notify-manager-on-breach.json").write_text(json.dumps(rule))
    errors = check_all(rules)
    assert [(e["file"], e["pointer"]) for e in errors] == [("notify-manager-on-breach.json", "/actions/0/body")]
    assert "custmer" in errors[0]["message"]


def test_shipped_rules_name_installed_targets():
    assert check_all(ROOT / "rules") == []

"""The machine-mail classifier, class by class (tests/machine_mail.py builds the members), plus the
address predicates of the outbound guard and the flufl.bounce adapter."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.mail import bounce_lib, senders
from chalicelib.mail.classify import RULES, classify
from chalicelib.mail.parse import parse_mail
from tests import machine_mail as mm

pytestmark = pytest.mark.usefixtures("no_tracebacks")  # the mail suite logs no exception


def _kind(raw: bytes):
    warnings: list[str] = []
    result = classify(parse_mail(raw), warnings)
    assert result.reason and result.rule, result
    return result


@pytest.mark.parametrize("sender", mm.NULL_SENDERS)
def test_null_and_domain_less_senders_are_machine_mail(sender):
    result = _kind(mm.null_sender_notice(sender))
    assert result.automatic and result.rule == "null-sender", result


def test_null_return_path_is_machine_mail_even_from_an_ordinary_address():
    result = _kind(mm.null_return_path())
    assert result.kind == "auto_reply" and result.rule == "null-return-path"


@pytest.mark.parametrize("sender", mm.ROLE_SENDERS)
def test_role_senders_and_their_misspellings_bounce(sender):
    result = _kind(mm.role_notice(sender))
    assert result.kind == "bounce" and result.rule == "role-sender", result
    assert mm.OUR_ID in result.original_message_ids


@pytest.mark.parametrize("name", sorted(mm.CARRIER_NOTICES))
@pytest.mark.parametrize("charset", ["iso-2022-jp", "shift_jis", "utf-8"])
def test_japanese_carrier_notices_bounce_with_the_failed_address_and_our_id(name, charset):
    result = _kind(mm.carrier_notice(name, charset))
    assert result.kind == "bounce", result
    assert mm.OUR_ID in result.original_message_ids, result
    assert "hanako@ezweb.ne.jp" in [r.address for r in result.recipients], result


@given(name=st.sampled_from(sorted(mm.CARRIER_NOTICES)), charset=st.sampled_from(["iso-2022-jp", "shift_jis"]),
       user=st.from_regex(r"[a-z][a-z0-9._-]{2,20}", fullmatch=True),
       domain=st.sampled_from(["ezweb.ne.jp", "au.com", "docomo.ne.jp", "softbank.ne.jp", "i.softbank.jp"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_carrier_notices_for_any_recipient_bounce(name, charset, user, domain):
    rcpt = f"{user}@{domain}"
    result = classify(parse_mail(mm.carrier_notice(name, charset, rcpt=rcpt)))
    assert result.kind == "bounce" and rcpt in [r.address for r in result.recipients], result


def test_isp_plain_text_notice_from_an_ordinary_mailbox_bounces():
    result = _kind(mm.isp_notice())
    assert result.kind == "bounce" and result.rule in ("flufl-bounce", "text-notice"), result
    assert "kenji@verizon.net" in [r.address for r in result.recipients]


@pytest.mark.parametrize("raw", [mm.fml_error(), mm.fml_error("Re: order (rejected: not a member)"),
                                 mm.mailman_moderation()])
def test_mailing_list_managers_notices_are_machine_mail(raw):
    result = _kind(raw)
    assert result.automatic and result.rule in ("list-manager", "precedence"), result


def test_multipart_report_without_report_type_bounces_and_names_our_message():
    result = _kind(mm.report_without_type())
    assert result.kind == "bounce" and result.rule == "report-untyped"
    assert mm.OUR_ID in result.original_message_ids


def test_forwarded_bounce_without_words_of_the_forwarder_is_machine_mail():
    result = _kind(mm.forwarded_bounce())
    assert result.kind == "bounce" and mm.OUR_ID in result.original_message_ids, result


def test_arf_inside_multipart_mixed_is_a_complaint():
    result = _kind(mm.arf_in_mixed())
    assert result.kind == "complaint" and result.rule == "report-arf"
    assert [r.address for r in result.recipients] == ["hanako@example.jp"]
    assert mm.OUR_ID in result.original_message_ids


def test_sns_notifications_by_mail_are_machine_mail():
    result = _kind(mm.sns_by_mail())
    assert result.kind == "notification" and result.rule == "sns"


@pytest.mark.parametrize(("original", "fields"), [
    (None, "X-Original-Message-ID: " + mm.OUR_ID),
    (None, "Original-Message-ID: " + mm.OUR_ID),
    (("text/rfc822-headers", mm.original_headers()), ""),
    (("message/rfc822-headers", mm.original_headers()), ""),
])
def test_delivery_reports_name_our_message_wherever_they_put_it(original, fields):
    result = _kind(mm.dsn(original, fields))
    assert result.original_message_ids == (mm.OUR_ID,), result


def test_x_original_message_id_as_a_header_of_the_report():
    raw = mm.raw_mail(mm.base_headers("Mail Delivery System <mailer-daemon@mx.example.net>", "Undeliverable",
                                      extra=[("X-Original-Message-ID", mm.OUR_ID)]), "Delivery failed.\n")
    assert _kind(raw).original_message_ids == (mm.OUR_ID,)


@pytest.mark.parametrize(("sender", "subject", "body"), mm.HUMAN_LOOKALIKES)
def test_people_writing_about_failed_delivery_are_people(sender, subject, body):
    result = classify(parse_mail(mm.raw_mail(mm.base_headers(sender, subject), body, "utf-8")))
    assert result.kind == "message", result


def test_a_person_forwarding_a_bounce_with_a_question_is_a_person():
    words = "Hello, this came back when I wrote to your sales address. " * 5
    assert classify(parse_mail(mm.forwarded_bounce(words))).kind == "message"


def test_the_decision_order_is_documented_rule_by_rule():
    from chalicelib.mail import classify as module

    ids = ["report-dsn", "report-arf", "report-mdn", "dsn-part", "report-untyped", "null-sender",
           "null-return-path", "role-sender", "sns", "auto-submitted", "auto-header", "failed-recipients",
           "list-manager", "precedence", "no-reply-sender", "notice-sender", "flufl-bounce", "text-notice",
           "forwarded-bounce", "auto-subject"]
    doc = module.__doc__ or ""
    positions = [doc.index(f"``{rule}``") for rule in ids]
    assert positions == sorted(positions)
    assert len(RULES) == 8


@pytest.mark.parametrize(("address", "machine"), [
    ("", True), (None, True), ("MAILER-DAEMON", True), ("postmaster@example.com", True),
    ("post_master@example.com", True), ("Postmastr@example.com", True), ("mailer-deamon@x.jp", True),
    ("no-reply@example.com", True), ("noreply@example.com", True), ("do_not_reply@example.com", True),
    ("DoNotReply@example.com", True), ("bounces+abc=x.jp@lists.example.org", True),
    ("no-reply@sns.amazonaws.com", True), ("0106abc@ap-northeast-1.amazonses.com", True),
    ("hanako@example.jp", False), ("info@example.co.jp", False), ("support@customer.example", False),
    ("poster@example.com", False), ("replyall@example.com", False), ("master@example.com", False),
])
def test_machine_addresses_for_the_outbound_guard(address, machine):
    assert (senders.machine_reason(address) is not None) is machine


def test_flufl_bounce_detectors_that_raise_do_not_stop_the_scan():
    assert bounce_lib.DETECTORS, "flufl.bounce==6.0.0 exposes its detector list"

    class Broken:
        def process(self, msg):
            raise IndexError("list index out of range")

    saved = list(bounce_lib.DETECTORS)
    bounce_lib.DETECTORS.insert(0, Broken)
    try:
        warnings: list[str] = []
        found = bounce_lib.detect(parse_mail(mm.role_notice("postmaster@example.net")).message, warnings)
    finally:
        bounce_lib.DETECTORS[:] = saved
    assert found is not None and "hanako@example.jp" in found.permanent
    assert warnings == ["flufl.bounce Broken detector failed: IndexError"]


def test_the_log_guard_of_the_mail_suite_catches_tracebacks():
    import logging
    import sys

    from tests.conftest import logged_problems

    def record(level: int, msg: str, exc: bool = False) -> logging.LogRecord:
        info = None
        if exc:
            try:
                raise ValueError("no email address")
            except ValueError:
                info = sys.exc_info()
        return logging.LogRecord("chalicelib.services.effects", level, __file__, 1, msg, (), info)

    assert logged_problems([record(logging.WARNING, "EMAIL_FROM is not set")]) == []
    assert logged_problems([record(logging.INFO, "bounce concerns no ticket")]) == []
    assert len(logged_problems([record(logging.WARNING, "auto-reply failed", exc=True)])) == 1
    assert len(logged_problems([record(logging.ERROR, "send failed")])) == 1
    assert len(logged_problems([record(logging.WARNING, "Traceback (most recent call last): ...")])) == 1

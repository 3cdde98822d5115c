"""Web-form plugin: verification and parsing, without AWS."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from chalicelib.domain import InboundRequest
from chalicelib.errors import Unauthorized, ValidationFailed
from chalicelib.plugin_manager import build_plugin_manager

NOW = datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)
SECRETS = {"FORM_WEBHOOK_SECRET": "s3cret"}.get


@pytest.fixture(scope="module")
def pm():
    return build_plugin_manager(entry_points=False)


def _req(body: bytes, ctype: str = "application/json", **headers: str) -> InboundRequest:
    return InboundRequest("form", {"content-type": ctype, **headers}, body)


def test_verify_accepts_secret_or_hmac_and_rejects_others(pm):
    body = b'{"a":1}'
    verify = pm.hook.helpdesk_verify_inbound
    assert verify(channel="form", request=_req(body, **{"x-form-secret": "s3cret"}), get_secret=SECRETS, now=NOW)
    sig = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert verify(channel="form", request=_req(body, **{"x-form-signature": sig}), get_secret=SECRETS, now=NOW)
    with pytest.raises(Unauthorized):
        verify(channel="form", request=_req(body + b" ", **{"x-form-signature": sig}), get_secret=SECRETS, now=NOW)
    with pytest.raises(Unauthorized, match="not configured"):
        verify(channel="form", request=_req(body), get_secret=lambda _: None, now=NOW)


def test_other_channels_are_not_answered(pm):
    assert pm.hook.helpdesk_parse_inbound(channel="fax", request=_req(b"{}"), now=NOW) is None


def test_parse_makes_one_message_with_stable_dedupe_key(pm):
    fields = {"name": " 佐藤 ", "email": "Taro@Example.JP", "subject": "返金", "body": "返金してください\r\n"}
    req = _req(json.dumps(fields).encode())
    (msg,) = pm.hook.helpdesk_parse_inbound(channel="form", request=req, now=NOW)
    assert msg.sender.identity_value == "taro@example.jp"
    assert msg.sender.name == "佐藤"
    assert msg.body_text == "返金してください\n"
    assert msg.received_at == NOW
    assert msg.dedupe_window_s and msg.dedupe_key.startswith("form:content:")
    (again,) = pm.hook.helpdesk_parse_inbound(channel="form", request=req, now=NOW)
    assert again.dedupe_key == msg.dedupe_key


def test_submission_id_dedupes_forever(pm):
    fields = {"name": "a", "email": "a@example.com", "subject": "s", "body": "b", "submission_id": "abc-1"}
    (msg,) = pm.hook.helpdesk_parse_inbound(channel="form", request=_req(json.dumps(fields).encode()), now=NOW)
    assert msg.dedupe_key == "form:sub:abc-1"
    assert msg.dedupe_window_s is None


def test_blank_required_fields_are_errors_by_field(pm):
    fields = {"name": "  ", "email": "a@example.com", "subject": "", "body": "b"}
    with pytest.raises(ValidationFailed) as exc:
        pm.hook.helpdesk_parse_inbound(channel="form", request=_req(json.dumps(fields).encode()), now=NOW)
    assert [e["field"] for e in exc.value.errors] == ["name", "subject"]

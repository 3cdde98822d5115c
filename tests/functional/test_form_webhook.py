"""Web form -> exactly one ticket; bad input -> 400 by field; nothing lost."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from tests.functional.conftest import auth, form_json, form_urlencoded, sample_form


def _tickets(client, view: str = "all") -> list[dict]:
    resp = client.http.get(f"/tickets?view={view}&limit=100", headers=auth())
    assert resp.status_code == 200, resp.body
    return resp.json_body["tickets"]


def test_json_form_creates_ticket_listed_for_agents(client, agents):
    resp = client.http.post("/webhooks/form", **form_json(sample_form(submission_id="s-1")))
    assert resp.status_code == 201, resp.body
    ticket_id = resp.json_body["results"][0]["ticket_id"]

    listed = _tickets(client, "new")
    assert [t["id"] for t in listed] == [ticket_id]
    t = listed[0]
    assert t["subject"] == "クーポンが適用されません"
    assert t["status"] == "new" and t["channel"] == "form"
    # The shipped complaint-keyword rule raised the coupon complaint and tagged it.
    assert t["priority"] == "high" and t["tags"] == ["complaint"]
    assert t["customer"]["email"] == "hanako.yamada@example.jp"
    assert t["category"] == "billing"

    detail = client.http.get(f"/tickets/{ticket_id}", headers=auth()).json_body
    event = detail["timeline"][0]
    assert event["type"] == "message_in"
    assert "A-1001" in event["data"]["body_text"]
    assert detail["customer"]["identities"] == [{"kind": "email", "value": "hanako.yamada@example.jp"}]


def test_urlencoded_form_signed_with_hmac(client, agents):
    resp = client.http.post("/webhooks/form", **form_urlencoded(sample_form(subject="返品について")))
    assert resp.status_code == 201, resp.body
    assert [t["subject"] for t in _tickets(client)] == ["返品について"]


def test_extra_form_fields_are_kept_for_templates(client, agents):
    resp = client.http.post("/webhooks/form", **form_json(sample_form(order_number="A-1001")))
    ticket_id = resp.json_body["results"][0]["ticket_id"]
    event = client.http.get(f"/tickets/{ticket_id}", headers=auth()).json_body["timeline"][0]
    assert event["data"]["metadata"]["fields"] == {"order_number": "A-1001"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Form-Secret": "wrong"}, {"X-Form-Signature": "sha256=00"}],
    ids=["no-secret", "wrong-secret", "bad-signature"],
)
def test_unverified_form_delivery_is_refused_and_creates_nothing(client, agents, aws, headers):
    resp = client.http.post(
        "/webhooks/form",
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(sample_form()),
    )
    assert resp.status_code == 401
    assert resp.json_body["error"] == "Unauthorized"
    assert _tickets(client) == []
    objects = boto3.client("s3").list_objects_v2(Bucket=aws["bucket"]).get("KeyCount", 0)
    assert objects == 0, "nothing from an unverified sender is stored"


def test_same_submission_id_twice_makes_one_ticket(client, agents):
    first = client.http.post("/webhooks/form", **form_json(sample_form(submission_id="dup-1")))
    second = client.http.post("/webhooks/form", **form_json(sample_form(submission_id="dup-1")))
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json_body["results"][0]["duplicate"] is True
    assert second.json_body["results"][0]["ticket_id"] == first.json_body["results"][0]["ticket_id"]
    assert len(_tickets(client)) == 1


def test_same_content_without_submission_id_is_one_ticket_within_window(client, agents, monkeypatch):
    t0 = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)
    clock = {"now": t0}
    monkeypatch.setattr("chalicelib.api.webhooks.utcnow", lambda: clock["now"])
    client.http.post("/webhooks/form", **form_json(sample_form()))
    clock["now"] = t0 + timedelta(minutes=3)
    again = client.http.post("/webhooks/form", **form_json(sample_form()))
    assert again.json_body["results"][0]["duplicate"] is True
    assert len(_tickets(client)) == 1

    clock["now"] = t0 + timedelta(minutes=30)
    later = client.http.post("/webhooks/form", **form_json(sample_form()))
    assert later.status_code == 201, "the same text sent again much later is a new inquiry"
    assert len(_tickets(client)) == 2


def test_twenty_concurrent_deliveries_make_one_ticket(client, agents):
    kwargs = form_json(sample_form(submission_id="race-1"))
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: client.http.post("/webhooks/form", **kwargs), range(20)))
    assert all(r.status_code in (200, 201) for r in responses), [r.body for r in responses]
    ids = {r.json_body["results"][0]["ticket_id"] for r in responses}
    assert len(ids) == 1
    assert sum(r.status_code == 201 for r in responses) == 1
    assert len(_tickets(client)) == 1


def test_same_address_in_any_case_is_one_customer(client, agents):
    client.http.post("/webhooks/form", **form_json(sample_form(submission_id="a")))
    client.http.post(
        "/webhooks/form", **form_json(sample_form(submission_id="b", email="Hanako.Yamada@Example.JP"))
    )
    customers = {t["customer"]["id"] for t in _tickets(client)}
    assert len(customers) == 1


def _post_raw(client, body: str, content_type: str = "application/json"):
    return client.http.post(
        "/webhooks/form",
        headers={"Content-Type": content_type, "X-Form-Secret": "test-form-secret"},
        body=body,
    )


@pytest.mark.parametrize(
    ("body", "content_type", "pointers"),
    [
        (json.dumps({k: v for k, v in sample_form().items() if k != "email"}), "application/json", ["/email"]),
        (json.dumps(sample_form(email="not-an-address")), "application/json", ["/email"]),
        (json.dumps(sample_form(body="あ" * 20_001)), "application/json", ["/body"]),
        (json.dumps({"category": 3}), "application/json", ["/body", "/category", "/email", "/name", "/subject"]),
        ("name=x", "text/plain", ["/content-type"]),
        ("{not json", "application/json", [""]),
        ("[1, 2]", "application/json", [""]),
    ],
    ids=["missing-email", "invalid-email", "body-over-limit", "everything-wrong", "wrong-content-type",
         "non-json", "json-array"],
)
def test_malformed_submission_gets_400_listing_each_field(client, agents, aws, body, content_type, pointers):
    resp = _post_raw(client, body, content_type)
    assert resp.status_code == 400, resp.body
    assert resp.json_body["error"] == "ValidationFailed"
    assert [e["pointer"] for e in resp.json_body["errors"]] == pointers
    assert all(e["message"] for e in resp.json_body["errors"])
    # Nothing is lost: the raw payload was kept and can be found again.
    stored = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=resp.json_body["raw_ref"])["Body"].read()
    assert stored.decode() == body
    assert _tickets(client) == []


def test_unsupported_media_type_is_rejected_without_a_500(client, agents):
    resp = _post_raw(client, "<x/>", "image/png")
    assert resp.status_code in (400, 415)


def test_unknown_channel_is_404(client, agents):
    resp = client.http.post("/webhooks/fax", **form_json(sample_form()))
    assert resp.status_code == 404
    assert "fax" in resp.json_body["message"]

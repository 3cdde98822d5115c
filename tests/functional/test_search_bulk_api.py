"""Search (number, identity, tag, subject words), queue filters, bulk changes, customer edits, ending an
escalation: auth, roles, validation, audit, and the DynamoDB requests a search costs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from tests.functional.conftest import AGENT_TOKEN, auth, form_json, run_dispatch, sample_form
from tests.functional.mailkit import sent_mail

SUPER_TOKEN = "test-supervisor-token"


@pytest.fixture
def supervisor(agents):
    from chalicelib.store import agents as store

    store.upsert_agent("kato", name="加藤", role="supervisor")
    store.issue_token("kato", datetime.now(timezone.utc), SUPER_TOKEN)
    return SUPER_TOKEN


def _form(client, **over) -> int:
    resp = client.http.post("/webhooks/form", **form_json(sample_form(**over)))
    assert resp.status_code in (200, 201), resp.body
    return resp.json_body["results"][0]["ticket_id"]


def _req(client, method, path, body=None, token=AGENT_TOKEN):
    return client.http.request(method, path, headers={**auth(token), "Content-Type": "application/json"},
                               body=json.dumps(body, ensure_ascii=False) if body is not None else b"")


def _ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.body
    return [t["id"] for t in resp.json_body["tickets"]]


def test_search_by_number_email_identity_tag_and_subject_words(client, agents):
    a = _form(client, email="hanako@example.jp", subject="注文の配送状況", submission_id="a")
    b = _form(client, email="jiro@example.jp", name="佐藤 次郎", subject="Coupon code not working", submission_id="b")
    c = _form(client, email="HANAKO@example.jp", subject="返品について", submission_id="c")
    assert _req(client, "PATCH", f"/tickets/{b}", {"tags": ["coupon", "vip-watch"]}).status_code == 200
    assert _ids(client.http.get(f"/tickets?q=%23{b}", headers=auth())) == [b]
    assert _ids(client.http.get("/tickets?q=hanako@example.jp", headers=auth())) == [c, a]
    assert _ids(client.http.get("/tickets?q=email:Hanako@Example.jp", headers=auth())) == [c, a]
    assert _ids(client.http.get("/tickets?q=tag:coupon", headers=auth())) == [b]
    assert _ids(client.http.get("/tickets?view=all&tag=coupon", headers=auth())) == [b]
    assert _ids(client.http.get("/tickets?q=%E9%85%8D%E9%80%81", headers=auth())) == [a]  # 配送
    assert _ids(client.http.get("/tickets?q=coupon%20WORKING", headers=auth())) == [b]
    assert _ids(client.http.get("/tickets?q=nothing-like-this", headers=auth())) == []
    assert _ids(client.http.get("/tickets?q=%23999", headers=auth())) == []
    body = client.http.get("/tickets?q=tag:coupon", headers=auth()).json_body
    assert body["view"] == "search" and body["search_kind"] == "tag"


def test_a_removed_tag_leaves_the_index(client, agents):
    n = _form(client, submission_id="t")
    _req(client, "PATCH", f"/tickets/{n}", {"tags": ["x1", "x2"]})
    _req(client, "PATCH", f"/tickets/{n}", {"tags": ["x2"]})
    assert _ids(client.http.get("/tickets?q=tag:x1", headers=auth())) == []
    assert _ids(client.http.get("/tickets?q=tag:x2", headers=auth())) == [n]


def test_search_by_line_identity_after_a_merge(client, supervisor):
    from chalicelib.store import customers

    n = _form(client, email="line-user@example.jp", submission_id="l")
    ticket = client.http.get(f"/tickets/{n}", headers=auth()).json_body
    other = customers.find_or_create_customer("line", "U0123456789", name="LINE user", email="",
                                              now=datetime.now(timezone.utc))
    assert _req(client, "POST", f"/customers/{ticket['customer']['id']}/merge",  # merging is a supervisor's
                {"customer_id": other.customer_id}, supervisor).status_code == 200
    assert _ids(client.http.get("/tickets?q=line:U0123456789", headers=auth())) == [n]


def test_search_costs_a_bounded_number_of_requests(client, agents):
    from bench.ddb_cost import counting

    numbers = [_form(client, email=f"c{i}@example.jp", subject=f"配送 {i}", submission_id=f"s{i}") for i in range(6)]
    for n in numbers:
        _req(client, "PATCH", f"/tickets/{n}", {"tags": ["late"]})
    for query, most in (("tag:late", 2), ("c3@example.jp", 4), ("配送", 2), (f"#{numbers[0]}", 1)):
        with counting() as tally:
            assert client.http.get(f"/tickets?q={quote(query)}", headers=auth()).status_code == 200
        auth_requests = 3  # token, agent; plus nothing else per search
        assert tally.total - auth_requests <= most, (query, dict(tally.ops))
        assert "Scan" not in tally.ops


@pytest.mark.parametrize("query", ["view=nope", "limit=0", "priority=huge", "tag=two%20words", "colour=red",
                                   "q=" + "x" * 201])
def test_bad_list_parameters_are_400_naming_the_parameter(client, agents, query):
    resp = client.http.get(f"/tickets?{query}", headers=auth())
    assert resp.status_code == 400, resp.body


def test_queue_filters(client, supervisor):
    a = _form(client, submission_id="fa", category="shipping")
    b = _form(client, submission_id="fb")
    _req(client, "PATCH", f"/tickets/{a}", {"priority": "high", "assignee": "tanaka", "tags": ["late"]}, supervisor)
    assert _ids(client.http.get("/tickets?view=open&priority=high", headers=auth())) == [a]
    assert _ids(client.http.get("/tickets?view=all&assignee=tanaka", headers=auth())) == [a]
    assert _ids(client.http.get("/tickets?view=new&assignee=none", headers=auth())) == [b]
    assert _ids(client.http.get("/tickets?view=all&channel=form&tag=late", headers=auth())) == [a]


def test_bulk_reassign_is_for_supervisors_and_reports_each_ticket(client, supervisor):
    ids = [_form(client, submission_id=f"b{i}") for i in range(3)]
    denied = _req(client, "POST", "/tickets/bulk", {"ids": ids, "assignee": "tanaka"})
    assert denied.status_code == 403
    resp = _req(client, "POST", "/tickets/bulk", {"ids": [*ids, 999], "assignee": "tanaka", "add_tags": ["moved"]},
                SUPER_TOKEN)
    assert resp.status_code == 200, resp.body
    assert resp.json_body["changed"] == 3
    assert resp.json_body["results"][-1] == {"id": 999, "ok": False, "status": 404, "error": "NotFound",
                                             "message": "ticket 999 not found"}
    for n in ids:
        t = client.http.get(f"/tickets/{n}", headers=auth()).json_body
        assert t["assignee"] == "tanaka" and "moved" in t["tags"]
        assert any(e["type"] == "assigned" and e["actor"] == "agent:kato" for e in t["timeline"])
    mine = _req(client, "POST", "/tickets/bulk", {"ids": ids, "status": "pending", "remove_tags": ["moved"]})
    assert mine.status_code == 200 and mine.json_body["changed"] == 3
    assert _req(client, "POST", "/tickets/bulk", {"ids": []}).status_code == 400
    assert _req(client, "POST", "/tickets/bulk", {"ids": ids}).status_code == 400, "nothing to change"
    assert client.http.post("/tickets/bulk", body=b"{}").status_code == 401


def test_customer_patch_vip_needs_a_supervisor_and_the_next_ticket_gets_the_vip_policy(client, supervisor):
    n = _form(client, email="vip@example.jp", submission_id="v1")
    customer_id = client.http.get(f"/tickets/{n}", headers=auth()).json_body["customer"]["id"]
    assert _req(client, "PATCH", f"/customers/{customer_id}", {"vip": True}).status_code == 403
    assert _req(client, "PATCH", f"/customers/{customer_id}", {"vip": "yes"}, SUPER_TOKEN).status_code == 400
    assert _req(client, "PATCH", f"/customers/{customer_id}", {}, SUPER_TOKEN).status_code == 400
    assert _req(client, "PATCH", "/customers/nobody", {"notes": "x"}, SUPER_TOKEN).status_code == 404
    resp = _req(client, "PATCH", f"/customers/{customer_id}", {"vip": True, "notes": "大口のお客様"}, SUPER_TOKEN)
    assert resp.status_code == 200 and resp.json_body["vip"] is True and resp.json_body["notes"] == "大口のお客様"
    nxt = client.http.get(f"/tickets/{_form(client, email='vip@example.jp', submission_id='v2')}",
                          headers=auth()).json_body
    assert nxt["priority"] == "high" and nxt["sla"]["policy"] == "sla-vip"
    entry = _req(client, "GET", "/audit", token=SUPER_TOKEN).json_body["events"][0]
    assert entry["type"] == "customer_updated" and entry["data"]["changes"]["vip"] == {"from": False, "to": True}


def test_customer_language_picks_the_acknowledgement_language(client, agents, mail_env):
    n = _form(client, email="mary@example.com", name="Mary Smith", submission_id="e1")
    run_dispatch(client)  # the acknowledgement is queued with the ticket; the dispatch job sends it
    first = sent_mail()[-1].raw_data
    assert "お問い合わせを受け付けました" in _decoded_subject(first)
    customer_id = client.http.get(f"/tickets/{n}", headers=auth()).json_body["customer"]["id"]
    assert _req(client, "PATCH", f"/customers/{customer_id}", {"lang": "en", "name": "Mary Smith"}).status_code == 200
    _form(client, email="mary@example.com", name="Mary Smith", subject="Second question", submission_id="e2")
    run_dispatch(client)
    assert "We received your inquiry" in _decoded_subject(sent_mail()[-1].raw_data)


def _decoded_subject(raw: str) -> str:
    import email
    from email.header import decode_header, make_header

    return str(make_header(decode_header(email.message_from_string(raw)["Subject"])))


def test_cancelled_escalation_leaves_the_escalated_queue(client, agents):
    n = _form(client, submission_id="x", category="shipping")
    assert _req(client, "POST", f"/tickets/{n}/escalations", {"department": "warehouse", "note": "在庫確認"}
                ).status_code == 201
    assert _ids(client.http.get("/tickets?view=escalated&department=warehouse", headers=auth())) == [n]
    resp = _req(client, "DELETE", f"/tickets/{n}/escalations/current", {"reason": "解決"})
    assert resp.status_code == 200, resp.body
    assert _ids(client.http.get("/tickets?view=escalated", headers=auth())) == []


def test_a_search_plugin_answers_first(client, agents):
    from chalicelib.hookspecs import hookimpl
    from chalicelib.plugin_manager import get_plugin_manager

    n = _form(client, submission_id="p")

    class OpenSearch:
        @hookimpl
        def helpdesk_search_tickets(self, query, filters, limit):
            return [n] if query == "anything at all" else None

    pm = get_plugin_manager()
    plugin = OpenSearch()
    pm.register(plugin)
    try:
        body = client.http.get("/tickets?q=anything%20at%20all", headers=auth()).json_body
        assert [t["id"] for t in body["tickets"]] == [n] and body["search_kind"] == "plugin"
    finally:
        pm.unregister(plugin)

"""GDPR erasure, ``DELETE /customers/{id}``: the proof is a scan of every item in the table and every object in
the raw bucket (moto) for the customer's email, name, phone number and LINE id, before and after."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest

from bench.requests_count import count_requests
from tests.functional.conftest import AGENT_TOKEN, auth, make_supervisor, sample_form
from tests.functional.mailkit import make_mail
from tests.functional.signing import headers_for

JSON = {"Content-Type": "application/json"}
ADMIN_TOKEN = "test-admin-token"
EMAIL, NAME, PHONE, LINE_ID = "hanako.yamada@example.jp", "山田 花子", "090-1234-5678", "U4af4980629hanako"
SECRETS = (EMAIL, NAME, "山田", PHONE, LINE_ID)


@pytest.fixture
def admin(agents):
    from chalicelib.store import agents as store

    store.upsert_agent("boss", name="Boss", email="boss@example.com", role="admin")
    store.issue_token("boss", datetime.now(timezone.utc), ADMIN_TOKEN)
    return ADMIN_TOKEN


def _everything(aws) -> tuple[list[str], list[str]]:
    """Every item of the table and every object of the bucket, as text (each item as its DynamoDB JSON)."""
    ddb = boto3.client("dynamodb", region_name=aws["region"])
    items, start = [], {}
    while True:
        page = ddb.scan(TableName=aws["table"], **start)
        items += [json.dumps(i, ensure_ascii=False) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    s3 = boto3.client("s3", region_name=aws["region"])
    objects = []
    for o in s3.list_objects_v2(Bucket=aws["bucket"]).get("Contents", []):
        body = s3.get_object(Bucket=aws["bucket"], Key=o["Key"])["Body"].read()
        objects.append(o["Key"] + "\n" + body.decode("utf-8", "replace"))
    return items, objects


def _leaks(aws, needles=SECRETS) -> list[tuple[str, str]]:
    items, objects = _everything(aws)
    return [(n, text[:300]) for text in items + objects for n in needles if n.lower() in text.lower()]


def _line(client, text: str, event_id: str) -> dict:
    body = json.dumps({"destination": "U0dest", "events": [{
        "type": "message", "mode": "active", "webhookEventId": event_id, "timestamp": 1767949200000,
        "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": LINE_ID},
        "message": {"type": "text", "id": f"m{event_id}", "text": text}}]}, ensure_ascii=False).encode()
    resp = client.http.post("/webhooks/line", headers=headers_for("line", body), body=body)
    assert resp.status_code in (200, 201), resp.body
    return resp.json_body["results"][0]


def _story(client) -> dict:
    """Hanako writes by form, by mail and on LINE; agents reply, note, escalate, edit her; Suzuki is a bystander."""
    first = _form(client, name=NAME, email=EMAIL, body=f"電話番号は {PHONE} です。注文 A-1001 のクーポンが効きません。")
    number = first.json_body["results"][0]["ticket_id"]
    ticket = client.http.get(f"/tickets/{number}", headers=auth()).json_body
    customer_id = ticket["customer"]["id"]
    reply = client.http.post(f"/tickets/{number}/replies", headers={**auth(), **JSON}, body=json.dumps(
        {"body": "山田 花子様\n\nお問い合わせありがとうございます。確認いたします。",
         "last_seen_event_id": ticket["timeline"][-1]["id"], "override": True, "override_reason": "test"}))
    assert reply.status_code in (200, 201), reply.body
    note = client.http.post(f"/tickets/{number}/notes", headers={**auth(), **JSON},
                            body=json.dumps({"body": f"山田様から電話あり {PHONE}"}))
    assert note.status_code == 201, note.body
    esc = client.http.post(f"/tickets/{number}/escalations", headers={**auth(), **JSON}, body=json.dumps(
        {"department": "warehouse", "contact": "suzuki", "note": "山田 花子様の荷物を確認", "due_minutes": 240}))
    assert esc.status_code == 201, esc.body
    patched = client.http.patch(f"/customers/{customer_id}", headers={**auth(), **JSON},
                                body=json.dumps({"name": "山田 花子 (ヤマダ)", "notes": f"携帯 {PHONE}"}))
    assert patched.status_code == 200, patched.body
    mail = _mail(client, sender=f"{NAME} <{EMAIL}>", subject=f"Re: [#{number}] クーポン",
                 body=f"{NAME}です。追加の連絡です。")
    assert mail.status_code == 201, mail.body
    line = _line(client, "山田です。LINEからも連絡します", "01LINEA")
    line_customer = client.http.get(f"/tickets/{line['ticket_id']}", headers=auth()).json_body["customer"]["id"]
    make_supervisor()
    merged = client.http.post(f"/customers/{customer_id}/merge", headers={**auth(), **JSON},
                              body=json.dumps({"customer_id": line_customer}))
    assert merged.status_code == 200, merged.body
    from chalicelib.store import files  # an agent's reply upload and an extracted inbound part (s-18a's layout)

    s3 = boto3.client("s3", region_name="ap-northeast-1")
    for key in (files.upload_key(number, "up-" + "a" * 32), files.inbound_key(number, "01EV", "2")):
        s3.put_object(Bucket=client_aws(client)["bucket"], Key=key, Body=f"見積書 {NAME} {PHONE}".encode())
    other = _form(client, name="鈴木 一郎", email="ichiro@example.jp", subject="返品したい", submission_id="s-other")
    return {"customer_id": customer_id, "tickets": sorted({number, mail.json_body["results"][0]["ticket_id"],
                                                           line["ticket_id"]}),
            "line_customer": line_customer, "other": other.json_body["results"][0]["ticket_id"]}


def _form(client, **over):
    body = json.dumps(sample_form(**over), ensure_ascii=False).encode()
    resp = client.http.post("/webhooks/form", headers=headers_for("form", body), body=body)
    assert resp.status_code in (200, 201), resp.body
    return resp


def _mail(client, **kw):
    raw = make_mail(**kw)
    return client.http.post("/webhooks/email", headers=headers_for("email", raw), body=raw)


def _erase(client, customer_id: str, token: str = ADMIN_TOKEN):
    return client.http.delete(f"/customers/{customer_id}", headers=auth(token))


def test_after_erasure_no_item_and_no_object_holds_her_email_name_phone_or_line_id(client, agents, admin, mail_env,
                                                                                  channel_secrets):
    story = _story(client)
    before = _leaks(client_aws(client))
    assert {n for n, _ in before} == set(SECRETS), "the story must put every secret in the store first"
    today = datetime.now(timezone.utc).date()
    kpi_url = f"/reports/kpis?from={today.replace(day=1) if today.day > 1 else today}&to={today}"
    kpis_before = client.http.get(kpi_url, headers=auth()).json_body

    resp = _erase(client, story["customer_id"])
    assert resp.status_code == 200, resp.body
    doc = resp.json_body
    assert doc["status"] == "erased" and doc["customer_id"] == story["customer_id"]
    counts = doc["erasure"]["counts"]
    assert counts["tickets"] == len(story["tickets"]) and counts["identities_deleted"] == 2
    assert counts["objects_deleted"] >= 5 and counts["events_scrubbed"] >= 8 and counts["references_deleted"] >= 2

    assert _leaks(client_aws(client)) == []
    for number in story["tickets"]:
        ticket = client.http.get(f"/tickets/{number}", headers=auth()).json_body
        assert ticket["subject"] == "(erased)" and ticket["erased_at"] and ticket["customer"]["email"] is None
        erased = [e for e in ticket["timeline"] if e["type"] == "customer_erased"]
        assert len(erased) == 1 and erased[0]["actor"] == "agent:boss" and erased[0]["data"]["counts"]["tickets"] == 1
    bystander = client.http.get(f"/tickets/{story['other']}", headers=auth()).json_body
    assert bystander["subject"] == "返品したい" and bystander["customer"]["name"] == "鈴木 一郎"
    kpis_after = client.http.get(kpi_url, headers=auth()).json_body

    def figures(doc):  # what was read and when differs (two more events); the figures must not
        kept = {k: v for k, v in doc.items() if k not in ("source", "generated_at")}
        backlog = doc.get("backlog")
        return kept | {"backlog": {**backlog, "as_of": None} if isinstance(backlog, dict) else backlog}

    assert figures(kpis_after) == figures(kpis_before)  # counts and durations: nothing personal, nothing lost

    _export_and_replay_bring_nothing_back(story)

    entries = client.http.get("/audit", headers=auth(ADMIN_TOKEN)).json_body["events"]
    kinds = [(e["type"], e["actor"], e["target"]) for e in entries]
    assert ("customer_erased", "agent:boss", f"customer:{story['customer_id']}") in kinds
    assert ("customer_erasure_started", "agent:boss", f"customer:{story['customer_id']}") in kinds
    done = next(e for e in entries if e["type"] == "customer_erased")
    assert done["data"]["counts"] == counts and done["data"]["customer_id"] == story["customer_id"]
    assert not [e for e in entries if any(n in json.dumps(e, ensure_ascii=False) for n in SECRETS)]

    shown = client.http.get(f"/customers/{story['customer_id']}", headers=auth()).json_body
    assert shown["erased_at"] and shown["name"] is None and shown["identities"] == []
    assert shown["erasure"]["state"] == "erased" and "values" not in shown["erasure"]
    again = _erase(client, story["customer_id"])
    assert again.status_code == 200 and again.json_body["status"] == "already_erased"


def _export_and_replay_bring_nothing_back(story: dict) -> None:
    """Issue 16's history export (and a replay of it) reads the erased store: nothing personal comes back."""
    import io
    from datetime import timedelta
    from pathlib import Path

    from chalicelib.replay import history as history_file
    from chalicelib.replay import run
    from chalicelib.replay.source import stored_history

    today = datetime.now(timezone.utc).date()
    w = run.window(str(today - timedelta(days=1)), str(today + timedelta(days=1)))
    out = io.StringIO()
    history_file.write_lines(out, history_file.header(), stored_history(w.start, w.end))
    text = out.getvalue()
    exported = {json.loads(line)["ticket"]["number"] for line in text.splitlines()[1:]}
    assert set(story["tickets"]) | {story["other"]} <= exported
    assert [n for n in SECRETS if n.lower() in text.lower()] == []
    rules = Path(__file__).resolve().parents[2] / "rules"
    summary = run.replay(list(run.from_file(text.splitlines(), w)), rules, rules, w, workers=1)
    assert summary.tickets == len(exported) and summary.differing == 0


def client_aws(client) -> dict[str, str]:
    from chalicelib.settings import get_settings

    s = get_settings()
    return {"table": s.table_name, "bucket": s.raw_bucket, "region": s.region}


def test_the_next_mail_from_her_address_is_a_new_unlinked_customer(client, agents, admin, mail_env, channel_secrets):
    story = _story(client)
    old_ids = client.http.get(f"/tickets/{story['tickets'][0]}", headers=auth()).json_body
    assert _erase(client, story["customer_id"]).status_code == 200
    number = story["tickets"][0]
    # a reply quoting the erased ticket's number, as her mail client would send it
    resp = _mail(client, sender=f"{NAME} <{EMAIL}>", subject=f"Re: [#{number}] クーポン",
                 body="まだですか")
    assert resp.status_code == 201, resp.body
    result = resp.json_body["results"][0]
    assert result["created"] and result["ticket_id"] not in story["tickets"]
    fresh = client.http.get(f"/tickets/{result['ticket_id']}", headers=auth()).json_body
    assert fresh["customer"]["id"] != story["customer_id"] and fresh["customer"]["email"] == EMAIL
    assert client.http.get(f"/tickets/{result['ticket_id']}/customer",
                           headers=auth()).json_body["other_tickets"] == []
    line = _line(client, "もう一度", "01LINEB")  # her LINE conversation no longer threads into the erased ticket
    assert line["created"] and line["ticket_id"] not in story["tickets"]
    assert old_ids["customer"]["id"] == story["customer_id"]
    found = client.http.get(f"/tickets?q={EMAIL}", headers=auth()).json_body
    assert [t["id"] for t in found["tickets"]] == [result["ticket_id"]]


def test_only_an_admin_erases_and_bad_requests_are_4xx(client, agents, admin, channel_secrets):
    resp = _form(client, email=EMAIL)
    number = resp.json_body["results"][0]["ticket_id"]
    cid = client.http.get(f"/tickets/{number}", headers=auth()).json_body["customer"]["id"]
    assert client.http.delete(f"/customers/{cid}").status_code == 401
    forbidden = _erase(client, cid, AGENT_TOKEN)
    assert forbidden.status_code == 403 and "admin" in forbidden.json_body["message"]
    make_supervisor()
    assert _erase(client, cid, AGENT_TOKEN).status_code == 403  # irreversible: not a supervisor's
    assert _erase(client, "01NOSUCHCUSTOMER").status_code == 404
    with_body = client.http.delete(f"/customers/{cid}", headers={**auth(ADMIN_TOKEN), **JSON}, body='{"x": 1}')
    assert with_body.status_code == 400 and with_body.json_body["errors"][0]["pointer"] == ""
    assert client.http.get(f"/tickets/{number}", headers=auth()).json_body["erased_at"] is None  # nothing done
    assert _erase(client, cid).status_code == 200


def test_many_tickets_are_erased_in_bounded_pages_and_each_request_is_bounded(client, agents, admin, channel_secrets,
                                                                            monkeypatch):
    from chalicelib.services import erasure

    monkeypatch.setattr(erasure, "MAX_TICKETS_PER_REQUEST", 2)
    for i in range(5):
        _form(client, email=EMAIL, subject=f"件名 {i}", submission_id=f"s{i}")
    cid = client.http.get("/tickets/1", headers=auth()).json_body["customer"]["id"]
    answers, per_request = [], []
    for _ in range(5):
        with count_requests() as tally:
            resp = _erase(client, cid)
        answers.append((resp.status_code, resp.json_body["status"], resp.json_body.get("tickets_erased")))
        per_request.append(tally.total)
        if resp.json_body["status"] != "in_progress":
            break
    assert answers == [(202, "in_progress", 2), (202, "in_progress", 2), (200, "erased", 1)]
    # DynamoDB requests per page: a constant (customer, lease, identities, page query, outbox states, audit)
    # plus a fixed number per ticket (timeline, batch writes, batch reads, header transaction), never a Scan
    assert max(per_request) <= 14 + 2 * 12, per_request
    assert _leaks(client_aws(client), (EMAIL,)) == []


def test_a_retry_after_a_failure_half_way_finishes_the_job(client, agents, admin, channel_secrets, monkeypatch):
    from chalicelib.store import erasure as store

    for i in range(3):
        _form(client, email=EMAIL, subject=f"件名 {i}", submission_id=f"r{i}")
    cid = client.http.get("/tickets/1", headers=auth()).json_body["customer"]["id"]
    real, calls = store.erase_ticket, []

    def flaky(ticket, *args, **kwargs):
        calls.append(int(ticket.number))
        if len(calls) == 2:
            raise RuntimeError("S3 went away")
        return real(ticket, *args, **kwargs)

    monkeypatch.setattr(store, "erase_ticket", flaky)
    failed = _erase(client, cid)
    assert failed.status_code == 500
    partly = client.http.get(f"/customers/{cid}", headers=auth()).json_body
    assert partly["erasure"]["state"] == "in_progress" and partly["identities"] == []
    monkeypatch.setattr(store, "erase_ticket", real)
    resp = _erase(client, cid)  # at once: the failed request gave its lease back
    assert resp.status_code == 200 and resp.json_body["status"] == "erased", resp.body
    assert resp.json_body["erasure"]["counts"]["tickets"] == 3
    assert _leaks(client_aws(client), (EMAIL, NAME)) == []


def test_two_requests_never_erase_one_customer_at_once(client, agents, admin, channel_secrets):
    from chalicelib.store import customers, erasure

    _form(client, email=EMAIL)
    cid = client.http.get("/tickets/1", headers=auth()).json_body["customer"]["id"]
    assert erasure.claim(customers.get_customer(cid), "agent:other", {"values": [EMAIL]}, datetime.now(timezone.utc))
    busy = _erase(client, cid)
    assert busy.status_code == 409 and busy.json_body["error"] == "Conflict"


def test_an_erased_ticket_stays_workable_and_answers_4xx_to_a_reply(client, agents, admin, channel_secrets):
    _form(client, email=EMAIL, name=NAME, submission_id="twice")
    again = _form(client, email=EMAIL, name=NAME, submission_id="twice")  # the provider repeats a delivery
    assert again.json_body["results"][0]["duplicate"] and again.json_body["raw_ref"]
    ticket = client.http.get("/tickets/1", headers=auth()).json_body
    assert _erase(client, ticket["customer"]["id"]).status_code == 200
    last = client.http.get("/tickets/1", headers=auth()).json_body["timeline"][-1]["id"]
    reply = client.http.post("/tickets/1/replies", headers={**auth(), **JSON},
                             body=json.dumps({"body": "ご連絡ありがとうございます。", "last_seen_event_id": last}))
    assert 400 <= reply.status_code < 500, reply.body
    solved = client.http.patch("/tickets/1", headers={**auth(), **JSON}, body=json.dumps({"status": "solved"}))
    assert solved.status_code == 200, solved.body  # agents can still close the work; the KPIs count it
    assert client.http.get("/tickets?q=" + EMAIL, headers=auth()).json_body["tickets"] == []
    assert _leaks(client_aws(client), (EMAIL, NAME)) == []  # the repeat's own raw object went too

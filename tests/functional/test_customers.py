"""One customer across addresses: merge two customers and their history; a ticket shows the other tickets."""

from __future__ import annotations

import json

from tests.functional.conftest import OTHER_TOKEN, auth, make_supervisor
from tests.functional.mailkit import make_mail, post_mail

JSON = {"Content-Type": "application/json"}


def _mail_from(client, sender: str, subject: str) -> int:
    resp = post_mail(client, make_mail(sender=sender, subject=subject))
    assert resp.status_code == 201, resp.body
    return resp.json_body["results"][0]["ticket_id"]


def _customer_of(client, number: int) -> dict:
    return client.http.get(f"/tickets/{number}/customer", headers=auth()).json_body


def test_merge_moves_identities_and_tickets_and_the_ticket_shows_the_others(client, agents, mail_env):
    pc = _mail_from(client, "山田 花子 <hanako@example.jp>", "注文の件")
    phone = _mail_from(client, "hanako@docomo.ne.jp", "配送について")
    keep, other = _customer_of(client, pc), _customer_of(client, phone)
    assert keep["id"] != other["id"] and keep["other_tickets"] == []
    make_supervisor()  # merging customers is a supervisor's (chalicelib.roles)

    resp = client.http.post(f"/customers/{keep['id']}/merge", headers={**auth(), **JSON},
                            body=json.dumps({"customer_id": other["id"]}))
    assert resp.status_code == 200, resp.body
    assert resp.json_body["tickets"] == [phone]
    merged = client.http.get(f"/customers/{keep['id']}", headers=auth()).json_body
    assert {i["value"] for i in merged["identities"]} == {"hanako@example.jp", "hanako@docomo.ne.jp"}
    assert sorted(t["id"] for t in merged["tickets"]) == sorted([pc, phone])
    assert [t["id"] for t in _customer_of(client, pc)["other_tickets"]] == [phone]
    old = client.http.get(f"/customers/{other['id']}", headers=auth()).json_body
    assert old["id"] == keep["id"] and old["merged_from"] == other["id"]

    later = _mail_from(client, "hanako@docomo.ne.jp", "別件です")  # the phone address now finds the survivor
    assert _customer_of(client, later)["id"] == keep["id"]
    again = client.http.post(f"/customers/{keep['id']}/merge", headers={**auth(), **JSON},
                             body=json.dumps({"customer_id": other["id"]}))
    assert again.status_code == 200 and again.json_body["tickets"] == []


def test_merge_refuses_bad_requests(client, agents, mail_env):
    a = _customer_of(client, _mail_from(client, "a@example.jp", "x"))["id"]
    b = _customer_of(client, _mail_from(client, "b@example.jp", "y"))["id"]
    make_supervisor()
    make_supervisor("tanaka")
    post = lambda cid, body, token="test-agent-token": client.http.post(  # noqa: E731
        f"/customers/{cid}/merge", headers={**auth(token), **JSON}, body=json.dumps(body))
    assert post(a, {"customer_id": a}).status_code == 400
    assert post(a, {}).status_code == 400
    assert post(a, {"customer_id": "nope"}).status_code == 404
    assert client.http.post(f"/customers/{a}/merge", headers=JSON, body="{}").status_code == 401
    assert post(a, {"customer_id": b}, OTHER_TOKEN).status_code == 200
    assert post(b, {"customer_id": a}).status_code == 400  # b was merged: not a survivor

"""Issue 11: who may do what (``chalicelib.roles``, README "Roles"): agents get a 403 JSON, supervisors may."""

from __future__ import annotations

import json

from tests.functional.conftest import OTHER_TOKEN, auth, make_supervisor, sample_form
from tests.functional.signing import headers_for

JSON = {"Content-Type": "application/json"}


def _ticket(client, **fields) -> int:
    body = json.dumps(sample_form(**fields), ensure_ascii=False).encode()
    resp = client.http.post("/webhooks/form", body=body, headers=headers_for("form", body))
    assert resp.status_code == 201, resp.body
    return json.loads(resp.body)["results"][0]["ticket_id"]


def _customer(client, number: int) -> str:
    return json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)["customer"]["id"]


def _forbidden(resp) -> None:
    assert resp.status_code == 403, (resp.status_code, resp.body)
    assert json.loads(resp.body)["error"] == "Forbidden"


def _patch(client, number: int, change: dict, token: str | None = None):
    return client.http.patch(f"/tickets/{number}", headers={**(auth(token) if token else auth()), **JSON},
                             body=json.dumps(change))


def test_agents_take_and_hand_over_tickets_but_only_supervisors_move_anothers(client, agents, channel_secrets):
    number = _ticket(client)
    assert _patch(client, number, {"assignee": "sato"}).status_code == 200  # takes an unassigned ticket
    _forbidden(_patch(client, number, {"assignee": "tanaka"}, OTHER_TOKEN))  # tanaka cannot take sato's
    _forbidden(_patch(client, number, {"assignee": None}, OTHER_TOKEN))
    assert _patch(client, number, {"assignee": "tanaka"}).status_code == 200  # sato hands his own over
    _forbidden(_patch(client, number, {"assignee": "sato"}))  # and cannot take it back from tanaka
    assert _patch(client, number, {"assignee": None}, OTHER_TOKEN).status_code == 200  # tanaka gives it back
    assert _patch(client, number, {"assignee": "tanaka"}, OTHER_TOKEN).status_code == 200  # and takes it again
    assert _patch(client, number, {"status": "pending", "tags": ["vip"]}).status_code == 200
    make_supervisor()
    moved = _patch(client, number, {"assignee": "sato"})  # a supervisor moves tanaka's ticket
    assert moved.status_code == 200 and json.loads(moved.body)["assignee"] == "sato"


def test_only_supervisors_merge_customers_redrive_break_claims_and_rebuild(client, agents, channel_secrets):
    a, b = _ticket(client), _ticket(client, email="other@example.jp", subject="別件")
    keep, other = _customer(client, a), _customer(client, b)
    merge = lambda: client.http.post(f"/customers/{keep}/merge", headers={**auth(), **JSON},  # noqa: E731
                                     body=json.dumps({"customer_id": other}))
    _forbidden(merge())
    _forbidden(client.http.post("/outbox/" + "0" * 32 + "/redrive", headers=auth()))
    client.http.post(f"/tickets/{a}/claim", headers={**auth(OTHER_TOKEN), **JSON}, body="{}")
    _forbidden(client.http.post(f"/tickets/{a}/claim", headers={**auth(), **JSON}, body=json.dumps({"force": True})))
    _forbidden(client.http.post("/reports/aggregates", headers={**auth(), **JSON},
                                body=json.dumps({"from": "2026-01-13", "to": "2026-01-14"})))

    make_supervisor()
    assert merge().status_code == 200
    assert client.http.post("/outbox/" + "0" * 32 + "/redrive", headers=auth()).status_code == 404  # allowed: none
    broke = client.http.post(f"/tickets/{a}/claim", headers={**auth(), **JSON}, body=json.dumps({"force": True}))
    assert broke.status_code == 200 and json.loads(broke.body)["broke"] == "tanaka"
    assert client.http.post("/reports/aggregates", headers={**auth(), **JSON},
                            body=json.dumps({"from": "2026-01-13", "to": "2026-01-14"})).status_code == 202


def test_the_readme_documents_every_permission():
    from chalicelib.roles import DESCRIPTIONS, PERMISSIONS
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Roles"):]
    for action in PERMISSIONS:
        assert DESCRIPTIONS[action] in section, action

"""Issue 18: reply attachments (upload slot, checks, SES raw message) and signed inbound downloads."""

from __future__ import annotations

import base64
import email
import json
from email import policy
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from bench.requests_count import count_requests
from tests.functional.conftest import OTHER_TOKEN, auth, sample_form
from tests.functional.mailkit import REGION, post_mail, sent_mail
from tests.functional.signing import headers_for
from tests.functional.test_channel_chat import _deliver, message
from tests.functional.test_channel_chat import chat as chat
from tests.functional.test_email_channel import _jis_mail_with_attachment

JSON = {"Content-Type": "application/json"}
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
NAME = "見積書（改訂版）2026年1月.pdf"


@pytest.fixture(autouse=True)
def _secrets(channel_secrets):
    """Every channel's webhook secret (form tickets are posted signed)."""


def _form_ticket(client, **over) -> tuple[int, str]:
    body = json.dumps(sample_form(**over), ensure_ascii=False).encode()
    resp = client.http.post("/webhooks/form", body=body, headers=headers_for("form", body))
    assert resp.status_code == 201, resp.body
    result = json.loads(resp.body)["results"][0]
    return result["ticket_id"], result["event_id"]


def _slot(client, number: int, token: str | None = None, **over):
    doc = {"filename": NAME, "content_type": "application/pdf", "size": len(PDF), **over}
    headers = {**(auth(token) if token else auth()), **JSON}
    return client.http.post(f"/tickets/{number}/attachments", headers=headers, body=json.dumps(doc))


def _upload(client, number: int, data: bytes = PDF, name: str = NAME, ctype: str = "application/pdf") -> str:
    """What the console does: ask for a slot, POST the file to S3 with the signed form fields."""
    resp = _slot(client, number, filename=name, content_type=ctype, size=len(data))
    assert resp.status_code == 201, resp.body
    slot = json.loads(resp.body)
    up = slot["upload"]
    posted = requests.post(up["url"], data=up["fields"], files={"file": (name, data, ctype)}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    return slot["id"]


def _reply(client, number: int, seen: str, ids: list[str], token: str | None = None, **over):
    doc = {"body": "山田様\n\n見積書をお送りします。", "last_seen_event_id": seen, "attachments": ids, **over}
    headers = {**(auth(token) if token else auth()), **JSON}
    return client.http.post(f"/tickets/{number}/replies", headers=headers, body=json.dumps(doc, ensure_ascii=False))


def _errors(resp) -> list[str]:
    assert resp.status_code == 400, (resp.status_code, resp.body)
    return [e["pointer"] for e in json.loads(resp.body)["errors"]]


def test_upload_slot_needs_auth_and_valid_fields(client, agents, mail_env):
    number, _ = _form_ticket(client)
    assert client.http.post(f"/tickets/{number}/attachments", headers=JSON, body="{}").status_code == 401
    assert _slot(client, 999999).status_code == 404
    assert _errors(_slot(client, number, content_type="application/x-msdownload")) == ["/content_type"]
    assert _errors(_slot(client, number, size=10 * 1024 * 1024 + 1)) == ["/size"]
    assert _errors(_slot(client, number, filename="../../etc/passwd")) == ["/filename"]
    assert _errors(_slot(client, number, filename="a\r\nb.pdf")) == ["/filename"]
    assert _errors(_slot(client, number, filename="見" * 230 + ".pdf")) == ["/filename"]  # > S3's 2 KB metadata
    assert _slot(client, number, filename="見" * 190 + ".pdf").status_code == 201
    assert _errors(_slot(client, number, size="12")) == ["/size"]
    assert "/filename" in _errors(client.http.post(f"/tickets/{number}/attachments", headers={**auth(), **JSON},
                                                   body=json.dumps({"content_type": "text/plain", "size": 1})))
    ok = _slot(client, number, token=OTHER_TOKEN)  # any agent role may attach
    assert ok.status_code == 201
    slot = json.loads(ok.body)
    assert slot["id"].startswith("up-") and len(slot["id"]) == 35
    fields = slot["upload"]["fields"]
    assert fields["key"] == f"attachments/{number}/out/{slot['id']}"
    signed = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 10 * 1024 * 1024] in signed["conditions"]
    assert {"Content-Type": "application/pdf"} in signed["conditions"]
    assert {"x-amz-meta-filename": fields["x-amz-meta-filename"]} in signed["conditions"]
    assert slot["upload"]["expires_in"] == 600


def test_reply_sends_the_file_by_ses_with_its_japanese_name_and_lists_it(client, agents, mail_env):
    number, seen = _form_ticket(client)
    upload = _upload(client, number)
    small = _upload(client, number, b"col1,col2\n1,2\n", "注文一覧.csv", "text/csv")
    resp = _reply(client, number, seen, [upload, small])
    assert resp.status_code == 201, resp.body
    raw = sent_mail()[-1].raw_data
    out = email.message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
    assert out.get_content_type() == "multipart/mixed"
    assert out.get_body(("plain",)).get_content().startswith("山田様")
    files = list(out.iter_attachments())
    assert [f.get_filename() for f in files] == [NAME, "注文一覧.csv"]
    assert files[0].get_content() == PDF and files[0].get_content_type() == "application/pdf"
    text = raw if isinstance(raw, str) else raw.decode("ascii")  # 7-bit clean: no raw UTF-8 in any header
    assert "filename*=utf-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8" in text and "name*=utf-8''" in text  # RFC 2231
    timeline = json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)["timeline"]
    sent = [e for e in timeline if e["type"] == "message_out"][-1]
    assert sent["data"]["state"] == "sent"
    assert [(a["id"], a["filename"], a["size"]) for a in sent["data"]["attachments"]] == [
        (upload, NAME, len(PDF)), (small, "注文一覧.csv", 14)]


def test_reply_checks_every_attachment_with_pointers(client, agents, mail_env, monkeypatch):
    number, seen = _form_ticket(client)
    other, _ = _form_ticket(client, email="someone@example.jp", subject="別件")
    foreign = _upload(client, other)
    mine = _upload(client, number)
    acks = len(sent_mail())
    assert _errors(_reply(client, number, seen, ["up-" + "0" * 32])) == ["/attachments/0"]
    assert _errors(_reply(client, number, seen, [mine, foreign])) == ["/attachments/1"]  # another ticket's file
    assert _errors(_reply(client, number, seen, ["../../raw/x"])) == ["/attachments/0"]
    assert _errors(_reply(client, number, seen, [mine, mine])) == ["/attachments"]  # uniqueItems
    monkeypatch.setenv("ATTACHMENTS_MAX_TOTAL_BYTES", str(len(PDF) + 10))
    second = _upload(client, number, PDF, "見積書2.pdf")
    too_big = _reply(client, number, seen, [mine, second])
    assert _errors(too_big) == ["/attachments"] and "limit per reply" in too_big.body.decode()
    assert len(sent_mail()) == acks  # nothing sent, nothing committed
    timeline = json.loads(client.http.get(f"/tickets/{number}", headers=auth()).body)["timeline"]
    assert not [e for e in timeline if e["type"] == "message_out" and not e["data"].get("auto_reply")]


def test_chat_tickets_refuse_attachments_naming_the_field(client, agents, mail_env, chat):
    resp = _deliver(client, message())
    assert resp.status_code == 201, resp.body
    number, seen = resp.json_body["results"][0]["ticket_id"], resp.json_body["results"][0]["event_id"]
    upload = _upload(client, number)
    resp = _reply(client, number, seen, [upload])
    assert _errors(resp) == ["/attachments"] and "chat channel" in resp.body.decode()


def test_attachments_add_no_dynamodb_request_to_the_reply(client, agents, mail_env):
    counts = []
    for with_file in (False, False, True):  # the first one warms caches (rules, auth, templates)
        number, seen = _form_ticket(client, email=f"c{len(counts)}@example.jp")
        ids = [_upload(client, number)] if with_file else []
        with count_requests() as tally:
            assert _reply(client, number, seen, ids).status_code == 201
        counts.append(tally.total)
    assert counts[1] == counts[2], counts


def _inbound(client) -> tuple[int, dict]:
    result = post_mail(client, _jis_mail_with_attachment()).json_body["results"][0]
    timeline = json.loads(client.http.get(f"/tickets/{result['ticket_id']}", headers=auth()).body)["timeline"]
    return result["ticket_id"], timeline[0]


def test_inbound_attachment_downloads_through_a_short_signed_link(client, agents, mail_env):
    number, first = _inbound(client)
    meta = first["data"]["metadata"]["email"]["attachments"][0]
    att = f"{first['id']}-{meta['part']}"
    path = f"/tickets/{number}/attachments/{att}"
    assert client.http.get(path).status_code == 401
    resp = client.http.get(path, headers=auth())
    assert resp.status_code == 302, resp.body
    location = resp.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    assert "filename*=UTF-8''%E9%A0%98%E5%8F%8E%E6%9B%B8.pdf" in query["response-content-disposition"][0]
    assert urlsplit(location).path.endswith(f"/attachments/{number}/in/{first['id']}/{meta['part']}")
    got = requests.get(location, timeout=10)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 receipt"
    as_json = client.http.get(path, headers={**auth(), "Accept": "application/json"})
    assert as_json.status_code == 200 and json.loads(as_json.body)["filename"] == "領収書.pdf"
    stored = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=mail_env["bucket"],
                                                                     Prefix=f"attachments/{number}/")
    assert [o["Key"] for o in stored["Contents"]] == [f"attachments/{number}/in/{first['id']}/{meta['part']}"]


def test_download_refuses_other_tickets_unknown_parts_and_ids(client, agents, mail_env):
    number, first = _inbound(client)
    other, _ = _form_ticket(client)
    part = first["data"]["metadata"]["email"]["attachments"][0]["part"]
    assert client.http.get(f"/tickets/{other}/attachments/{first['id']}-{part}", headers=auth()).status_code == 404
    assert client.http.get(f"/tickets/{number}/attachments/{first['id']}-9", headers=auth()).status_code == 404
    assert client.http.get(f"/tickets/{number}/attachments/..%2Fraw", headers=auth()).status_code == 404
    upload = _upload(client, other)
    assert client.http.get(f"/tickets/{number}/attachments/{upload}", headers=auth()).status_code == 404
    assert client.http.get(f"/tickets/{other}/attachments/{upload}", headers=auth()).status_code == 302


@pytest.mark.parametrize("kind", ["upload", "download"])
def test_links_are_short_lived(client, agents, mail_env, kind):
    number, first = _inbound(client)
    if kind == "upload":
        slot = json.loads(_slot(client, number).body)
        signed = json.loads(base64.b64decode(slot["upload"]["fields"]["policy"]))
        assert signed["expiration"]  # S3 refuses the form after it (600 s)
    else:
        part = first["data"]["metadata"]["email"]["attachments"][0]["part"]
        resp = client.http.get(f"/tickets/{number}/attachments/{first['id']}-{part}",
                               headers={**auth(), "Accept": "application/json"})
        assert json.loads(resp.body)["expires_at"].endswith("Z")


def test_console_csp_adds_only_the_upload_origin(client):
    csp = client.http.get("/console").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["connect-src"] == "'self' https://helpdesk-raw.s3.ap-northeast-1.amazonaws.com"
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
    assert directives["form-action"] == "'none'"  # the upload is a fetch, not a form submission

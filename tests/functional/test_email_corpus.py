"""Every mail of the shared real-world corpus goes through POST /webhooks/email without a server error.

Each mail either creates/updates a ticket or is classified as machine mail
(bounce, delay, auto-reply, bulk). Japanese subjects and bodies must come out
readable (known strings, no U+FFFD). The corpus is posted in chunks, one fresh
table each: moto copies the whole table on every transaction, so one table
for all 103 mails costs about 30 s, chunks of 13 about a third of that.
"""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.mail.classify import classify
from chalicelib.mail.parse import parse_mail
from tests.functional.conftest import auth
from tests.functional.mailkit import corpus_files, post_mail

# file (relative to the corpus) -> strings the ticket must show (subject, body)
READABLE = {
    "multi_charset/japanese_iso_2022.eml": ("まみむめも", "すみません。"),
    "multi_charset/japanese_shift_jis.eml": ("test", "このメールはテスト用のメールです。"),
    "multi_charset/japanese.eml": ("まみむめも", "かきくえこ"),
    "rfc2822/example14.eml": ("Re: TEST テストテスト", "Hello"),
    "multi_charset/japanese_attachment_long_name.eml": ("まみむめも" * 10, ""),
    "multi_charset/ks_c_5601-1987.eml": ("test", "스티해"),
    "rfc6532/utf8_headers.eml": ("Säying Hello", "body"),
}


pytestmark = pytest.mark.usefixtures("no_tracebacks")  # the mail suite logs no exception
CHUNK = 13
FILES = corpus_files()
ROOT_DIR = FILES[0].parents[[p.name for p in FILES[0].parents].index("email")] if FILES else None


def test_the_corpus_is_there():
    assert len(FILES) >= 100, "the shared corpus (../shared/corpus/email) is missing"


@pytest.mark.parametrize("start", range(0, len(FILES), CHUNK))
def test_every_corpus_mail_is_ingested_or_classified(client, agents, mail_env, start):
    files = FILES[start:start + CHUNK]
    root = ROOT_DIR
    outcomes: Counter[str] = Counter()
    seen: dict[str, int] = {}
    for path in files:
        raw = path.read_bytes()
        resp = post_mail(client, raw)
        name = path.relative_to(root).as_posix().split("/", 1)[1]
        assert resp.status_code in (200, 201), (name, resp.status_code, resp.body)
        results = resp.json_body["results"]
        kind = classify(parse_mail(raw))
        if kind.automatic:
            assert results == [], (name, kind)  # no ticket from machine mail
            outcomes[kind.kind] += 1
            continue
        assert len(results) == 1, (name, resp.json_body)
        outcomes["duplicate" if results[0]["duplicate"] else "created" if results[0]["created"] else "threaded"] += 1
        seen[name] = results[0]["ticket_id"]
    for name, (subject, body) in READABLE.items():
        if name not in seen:
            continue
        detail = client.http.get(f"/tickets/{seen[name]}", headers=auth()).json_body
        assert detail["subject"] == subject, name
        texts = [e["data"]["body_text"] for e in detail["timeline"] if e["type"] == "message_in"]
        assert any(body in t for t in texts), (name, texts)
        assert not any("\ufffd" in t for t in [detail["subject"], *texts]), name
    assert sum(outcomes.values()) == len(files)

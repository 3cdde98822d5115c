"""The local stand-in refuses what S3 refuses on pre-signed requests (``infra/s3_policy.py``): uploads
breaking their signed policy (size, type, name, expiry) and download links past their life. Through
real HTTP, with the same signing code the service uses (``chalicelib.store.files``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
import requests

from infra.moto_standin import StandInServer

BUCKET = "helpdesk-raw"
REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    server = StandInServer("127.0.0.1", 0)
    server.start()
    try:
        boto3.client("s3", region_name=REGION, endpoint_url=server.url).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def files(standin, monkeypatch):
    from chalicelib.store import files as store

    monkeypatch.setenv("AWS_ENDPOINT_URL", standin)
    monkeypatch.setenv("HELPDESK_RAW_BUCKET", BUCKET)
    store.reset_clients()
    yield store
    store.reset_clients()


def _post(files, key: str, data: bytes, *, ctype: str = "application/pdf", send_type: str | None = None,
          name: str = "見積書.pdf", max_bytes: int = 1000, expires_s: int = 60, wait_s: float = 0, **extra: str):
    post = files.presign_upload(key, name, ctype, max_bytes, expires_s)
    time.sleep(wait_s)
    fields = {**post["fields"], **extra}
    if send_type:
        fields["Content-Type"] = send_type
    return requests.post(post["url"], data=fields, files={"file": (name, data)}, timeout=10)


def test_an_upload_within_its_policy_is_stored_with_its_name_and_type(files):
    resp = _post(files, "attachments/1/out/up-ok", b"%PDF-1.4 ok")
    assert resp.status_code == 204, resp.text
    stored = files.head("attachments/1/out/up-ok")
    assert (stored.filename, stored.content_type, stored.size) == ("見積書.pdf", "application/pdf", 11)


@pytest.mark.parametrize("case,expect", [
    ("too-large", (400, "EntityTooLarge")), ("empty", (400, "EntityTooSmall")),
    ("other-type", (403, "Policy Condition failed")), ("other-name", (403, "Policy Condition failed")),
    ("expired", (403, "Policy expired"))])
def test_uploads_breaking_their_policy_are_refused_and_not_stored(files, case, expect):
    key = f"attachments/1/out/up-{case}"
    if case == "too-large":
        resp = _post(files, key, b"x" * 1001)
    elif case == "empty":
        resp = _post(files, key, b"")
    elif case == "other-type":
        resp = _post(files, key, b"<script>", send_type="text/html")
    elif case == "other-name":
        resp = _post(files, key, b"%PDF", **{"x-amz-meta-filename": "evil.exe"})
    else:
        resp = _post(files, key, b"%PDF", expires_s=1, wait_s=2.1)
    assert (resp.status_code, expect[1] in resp.text) == (expect[0], True), resp.text
    assert files.head(key) is None


def test_a_download_link_works_until_it_expires(files):
    from datetime import datetime, timezone

    assert _post(files, "attachments/2/out/up-dl", b"%PDF-1.4 dl").status_code == 204
    stored = files.head("attachments/2/out/up-dl")
    link = files.presign_download(stored, 2, datetime.now(timezone.utc))
    got = requests.get(link["url"], timeout=10)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 dl"
    assert "filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf" in got.headers["Content-Disposition"]
    time.sleep(3.1)
    late = requests.get(link["url"], timeout=10)
    assert late.status_code == 403 and "Request has expired" in late.text

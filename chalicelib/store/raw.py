"""Raw inbound payloads in S3: every delivery is kept before it is parsed."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from ulid import ULID

from chalicelib import aws
from chalicelib.settings import get_settings

_clients: dict[str, Any] = {}
_lock = threading.Lock()  # boto3's default session is not safe for concurrent client creation


def _s3() -> Any:
    region = get_settings().region
    with _lock:
        if region not in _clients:
            _clients[region] = aws.client("s3", region)
        return _clients[region]


def _header_safe(value: str) -> str:
    """A sender's header value as printable ASCII, at most 256 characters (S3 sends it as a header)."""
    return "".join(c if " " <= c <= "~" else "?" for c in str(value))[:256].strip()


def put_raw(channel: str, body: bytes, headers: dict[str, str], now: datetime) -> str:
    """Store a raw delivery; returns its S3 key (the ``raw_ref`` kept on the timeline)."""
    key = f"raw/{channel}/{now:%Y/%m/%d}/{ULID.from_datetime(now)}"
    meta = {k: _header_safe(v) for k, v in headers.items() if k in ("content-type", "user-agent")}
    _s3().put_object(
        Bucket=get_settings().raw_bucket,
        Key=key,
        Body=body,
        ContentType=_header_safe(headers.get("content-type", "")) or "application/octet-stream",
        Metadata={k.replace("-", "_"): v for k, v in meta.items()},
    )
    return key


def get_raw(key: str) -> bytes:
    """Read a stored raw delivery."""
    return _s3().get_object(Bucket=get_settings().raw_bucket, Key=key)["Body"].read()


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints), the attachment store's too."""
    from chalicelib.store import files

    _clients.clear()
    files.reset_clients()
    aws.reset("s3")


def list_keys(prefix: str) -> list[str]:
    """Keys under a prefix (one ListObjectsV2 request per 1,000 keys)."""
    found: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = _s3().list_objects_v2(Bucket=get_settings().raw_bucket, Prefix=prefix, **token)
        found += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return found
        token = {"ContinuationToken": page["NextContinuationToken"]}


def delete_keys(keys: list[str]) -> int:
    """Delete objects (one DeleteObjects request per 1,000 keys; a missing key counts as deleted, as S3
    says). Returns how many were asked for; raises if S3 reports an error for any of them."""
    bucket = get_settings().raw_bucket
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        result = _s3().delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
        if result.get("Errors"):
            first = result["Errors"][0]
            raise RuntimeError(f"S3 refused to delete {len(result['Errors'])} object(s), e.g. {first.get('Key')}: "
                               f"{first.get('Code')} {first.get('Message')}")
    return len(keys)

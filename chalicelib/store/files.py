"""Ticket attachments in the raw bucket (S3): pre-signed uploads, metadata, bytes, pre-signed downloads.

Key layout (everything of one ticket under one prefix, so erasing a ticket's
files is one prefix delete; raw deliveries stay under ``raw/`` and
``inbound/email/``, named by each event's ``raw_ref``):

- ``attachments/<ticket>/out/<id>``: a file an agent uploaded for a reply
  (``id`` = ``up-`` + 32 random hex digits, unguessable);
- ``attachments/<ticket>/in/<event id>/<MIME part>``: an inbound mail's part,
  extracted from the raw message on its first download.

The original file name travels as percent-encoded UTF-8 in the object's
``x-amz-meta-filename`` (S3 metadata is ASCII), its type in
``x-amz-meta-content-type``; the upload policy pins both.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from chalicelib import aws
from chalicelib.settings import get_settings

PREFIX = "attachments"
_lock = threading.Lock()
_clients: dict[str, Any] = {}


@dataclass(frozen=True)
class StoredFile:
    """What S3 knows about a stored attachment."""

    key: str
    filename: str
    content_type: str
    size: int


def ticket_prefix(ticket_id: int) -> str:
    """Every attachment of ``ticket_id`` lives under this prefix (GDPR erasure deletes it)."""
    return f"{PREFIX}/{int(ticket_id)}/"


def upload_key(ticket_id: int, upload_id: str) -> str:
    """The key of an agent's upload."""
    return f"{ticket_prefix(ticket_id)}out/{upload_id}"


def inbound_key(ticket_id: int, event_id: str, part: str) -> str:
    """The key of an inbound mail's part once extracted."""
    return f"{ticket_prefix(ticket_id)}in/{event_id}/{part}"


def _s3() -> Any:
    """An S3 client signing SigV4 against the regional endpoint (pre-signed URLs must name the
    bucket's own region), or the local stand-in when ``AWS_ENDPOINT_URL`` is set."""
    region = get_settings().region
    with _lock:
        if region not in _clients:
            from botocore.config import Config

            custom = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            kwargs: dict[str, Any] = {"region_name": region}
            if custom:
                kwargs["config"] = Config(signature_version="s3v4")
            else:
                kwargs["endpoint_url"] = f"https://s3.{region}.amazonaws.com"
                kwargs["config"] = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
            _clients[region] = aws.session().client("s3", **kwargs)
        return _clients[region]


def _meta(filename: str, content_type: str) -> dict[str, str]:
    return {"filename": quote(filename, safe=""), "content-type": content_type}


def presign_upload(key: str, filename: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
    """A pre-signed POST for exactly ``key``: the policy pins the type and name and limits the size
    (``content-length-range``); returns ``{"url", "fields"}`` for a multipart form POST."""
    meta = _meta(filename, content_type)
    fields = {"Content-Type": content_type, **{f"x-amz-meta-{k}": v for k, v in meta.items()}}
    conditions: list[Any] = [{k: v} for k, v in fields.items()] + [["content-length-range", 1, max_bytes]]
    return _s3().generate_presigned_post(get_settings().raw_bucket, key, Fields=fields, Conditions=conditions,
                                         ExpiresIn=expires_s)


def upload_origin() -> str:
    """The origin the browser posts uploads to (the console's CSP ``connect-src`` names it)."""
    url = _s3().generate_presigned_post(get_settings().raw_bucket, f"{PREFIX}/origin", ExpiresIn=60)["url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def head(key: str) -> StoredFile | None:
    """The stored file's name, type and size; None when there is no such object."""
    try:
        resp = _s3().head_object(Bucket=get_settings().raw_bucket, Key=key)
    except Exception as exc:  # botocore ClientError 404/403: not there (or not ours)
        if _status(exc) in (403, 404):
            return None
        raise
    meta = {k.lower(): v for k, v in (resp.get("Metadata") or {}).items()}
    return StoredFile(key=key, filename=unquote(meta.get("filename") or key.rsplit("/", 1)[-1]),
                      content_type=meta.get("content-type") or resp.get("ContentType") or "application/octet-stream",
                      size=int(resp.get("ContentLength") or 0))


def _status(exc: Exception) -> int | None:
    return getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")


def read(key: str) -> bytes:
    """The bytes of a stored file."""
    return _s3().get_object(Bucket=get_settings().raw_bucket, Key=key)["Body"].read()


def put(key: str, data: bytes, filename: str, content_type: str) -> StoredFile:
    """Store an extracted part under ``key``."""
    _s3().put_object(Bucket=get_settings().raw_bucket, Key=key, Body=data, ContentType=content_type,
                     Metadata=_meta(filename, content_type))
    return StoredFile(key=key, filename=filename, content_type=content_type, size=len(data))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def presign_download(stored: StoredFile, expires_s: int, now: datetime) -> dict[str, Any]:
    """A short-lived GET URL that makes the browser save the file under its own name."""
    url = _s3().generate_presigned_url("get_object", ExpiresIn=expires_s, Params={
        "Bucket": get_settings().raw_bucket, "Key": stored.key,
        "ResponseContentDisposition": content_disposition(stored.filename),
        "ResponseContentType": stored.content_type})
    return {"url": url, "expires_at": (now + timedelta(seconds=expires_s)).isoformat().replace("+00:00", "Z")}


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints)."""
    _clients.clear()

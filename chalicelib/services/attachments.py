"""Reply attachments and inbound-mail downloads: upload slots, checks before a reply, signed downloads.

- Upload: ``new_upload`` hands the browser a pre-signed S3 POST for one file
  under the ticket (``store.files`` key layout); S3 enforces the size
  (``content-length-range``), type and name from the signed policy. Nothing is
  written to DynamoDB until the reply that uses the file.
- Reply: ``for_reply`` checks every referenced upload (exists under this
  ticket, allowed type, per-file and total size) with S3 HEADs, again on our
  side (the policy is not trusted alone; the local stand-in does not enforce it).
  The reply's ``message_out`` event lists them in the same write as the reply.
- Download: ``download_link`` checks that the attachment belongs to the ticket
  (an upload under its prefix, or a part listed on one of its inbound mails),
  extracts an inbound part from the raw MIME on its first download (the raw
  message is kept whole at ingest; extraction on demand needs no change to
  ingest and serves every mail ever received), and returns a short-lived
  pre-signed GET with ``Content-Disposition: attachment``.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from chalicelib.domain import OutboundAttachment
from chalicelib.errors import NotFound, ValidationFailed, schema_error
from chalicelib.store import files, tickets

MB = 1024 * 1024
UPLOAD_ID = re.compile(r"^up-[0-9a-f]{32}$")
INBOUND_ID = re.compile(r"^(?P<event>[0-9A-HJKMNP-TV-Z]{26})-(?P<part>[0-9]{1,4}(\.[0-9]{1,4}){0,15})$")
ATTACHMENT_ID_PATTERN = r"^(up-[0-9a-f]{32}|[0-9A-HJKMNP-TV-Z]{26}-[0-9]{1,4}(\.[0-9]{1,4}){0,15})$"
ALLOWED_TYPES = (
    "application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif", "image/webp",
    "image/heic", "application/zip", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
"""Types an agent may attach (documents and pictures; no executables, no HTML)."""
MAIL_CHANNELS = ("email", "form")
INBOUND_TYPES = ("message_in", "internal_message")  # a customer's mail, an escalation contact's answer
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_ENCODED_NAME = 1800


@dataclass(frozen=True)
class Limits:
    """Attachment limits (environment, read when used)."""

    max_file: int
    max_total: int
    max_count: int
    upload_ttl_s: int
    link_ttl_s: int


def limits() -> Limits:
    """``ATTACHMENT_MAX_BYTES`` (10 MB), ``ATTACHMENTS_MAX_TOTAL_BYTES`` (10 MB per reply; SES takes
    40 MB raw, base64 adds a third), ``ATTACHMENTS_MAX_COUNT`` (10), upload URL 600 s, download 60 s."""
    env = os.environ
    return Limits(max_file=int(env.get("ATTACHMENT_MAX_BYTES") or 10 * MB),
                  max_total=int(env.get("ATTACHMENTS_MAX_TOTAL_BYTES") or 10 * MB),
                  max_count=int(env.get("ATTACHMENTS_MAX_COUNT") or 10),
                  upload_ttl_s=int(env.get("ATTACHMENT_UPLOAD_TTL_S") or 600),
                  link_ttl_s=int(env.get("ATTACHMENT_LINK_TTL_S") or 60))


def clean_filename(name: str) -> str:
    """NFC, trimmed, control characters and path separators refused (400 naming ``/filename``)."""
    value = unicodedata.normalize("NFC", name).strip()
    if not value or _BAD_NAME.search(value) or value in (".", ".."):
        raise ValidationFailed([schema_error(["filename"], "a file name without control characters, / or \\")])
    if len(quote(value, safe="")) > MAX_ENCODED_NAME:  # S3 keeps at most 2 KB of metadata per object
        raise ValidationFailed([schema_error(["filename"], "the file name is too long (about 200 Japanese or "
                                                           f"{MAX_ENCODED_NAME} ASCII characters at most)")])
    return value


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def new_upload(number: int, filename: str, content_type: str, size: int, now: datetime) -> dict[str, Any]:
    """An upload slot for one file on ticket ``number`` (404 if no such ticket)."""
    lim = limits()
    name = clean_filename(filename)
    if content_type not in ALLOWED_TYPES:
        raise ValidationFailed([schema_error(["content_type"], f"{content_type!r} is not an allowed type")])
    if size > lim.max_file:
        raise ValidationFailed([schema_error(["size"], f"{_mb(size)} is over the {_mb(lim.max_file)} limit per file")])
    tickets.get_ticket(number)
    upload_id = "up-" + secrets.token_hex(16)
    post = files.presign_upload(files.upload_key(number, upload_id), name, content_type, lim.max_file,
                                lim.upload_ttl_s)
    return {"id": upload_id, "filename": name, "content_type": content_type, "size": size,
            "max_bytes": lim.max_file, "upload": {"method": "POST", "url": post["url"], "fields": post["fields"],
                                                  "expires_in": lim.upload_ttl_s}}


def to_dict(stored: files.StoredFile) -> dict[str, Any]:
    """What the timeline keeps about an attached file."""
    return {"id": stored.key.rsplit("/", 1)[-1], "filename": stored.filename, "content_type": stored.content_type,
            "size": stored.size}


def for_reply(number: int, ids: list[str] | tuple[str, ...]) -> list[files.StoredFile]:
    """The uploads a reply attaches, checked (400 with ``/attachments/<i>`` on the first bad one)."""
    lim = limits()
    if len(ids) > lim.max_count:
        raise ValidationFailed([schema_error(["attachments"], f"at most {lim.max_count} files per reply")])
    found, errors = [], []
    for i, upload_id in enumerate(ids):
        stored = files.head(files.upload_key(number, upload_id)) if UPLOAD_ID.match(upload_id) else None
        if stored is None:
            errors.append(schema_error(["attachments", str(i)], f"no uploaded file {upload_id} on ticket {number}"))
        elif stored.content_type not in ALLOWED_TYPES:
            errors.append(schema_error(["attachments", str(i)], f"{stored.content_type!r} is not an allowed type"))
        elif stored.size > lim.max_file:
            errors.append(schema_error(["attachments", str(i)], f"{_mb(stored.size)} is over the "
                                                                 f"{_mb(lim.max_file)} limit per file"))
        else:
            found.append(stored)
    if errors:
        raise ValidationFailed(errors)
    total = sum(f.size for f in found)
    if total > lim.max_total:
        raise ValidationFailed([schema_error(["attachments"], f"{_mb(total)} in all is over the "
                                                              f"{_mb(lim.max_total)} limit per reply")])
    return found


def ensure_channel_sends_files(channel: str, stored: list[files.StoredFile]) -> None:
    """Files go out by mail only: a reply with files on a chat channel is a 400 naming ``/attachments``."""
    if stored and channel not in MAIL_CHANNELS:
        raise ValidationFailed([schema_error(["attachments"], f"replies on the {channel} channel cannot carry "
                                                              "files; share a link in the text instead")])


def load(stored: list[files.StoredFile]) -> tuple[OutboundAttachment, ...]:
    """The files' bytes, ready for the channel plugin."""
    return tuple(OutboundAttachment(filename=f.filename, content_type=f.content_type, data=files.read(f.key))
                 for f in stored)


def _inbound(number: int, event_id: str, part: str) -> files.StoredFile:
    from chalicelib.mail.parse import extract_part
    from chalicelib.store import raw

    event = tickets.get_event(number, event_id)
    data = (event.data or {}) if event is not None else {}
    listed = ((data.get("metadata") or {}).get("email") or {}).get("attachments") or []
    meta = next((a for a in listed if isinstance(a, dict) and a.get("part") == part), None)
    if event is None or event.type not in INBOUND_TYPES or meta is None or not data.get("raw_ref"):
        raise NotFound(f"no attachment {event_id}-{part} on ticket {number}")
    key = files.inbound_key(number, event_id, part)
    stored = files.head(key)
    if stored is not None:
        return stored
    extracted = extract_part(raw.get_raw(data["raw_ref"]), part)
    if extracted is None:
        raise NotFound(f"attachment {event_id}-{part} is not in the stored mail")
    content, ctype = extracted
    name = str(meta.get("filename") or f"part-{part}")
    return files.put(key, content, name, str(meta.get("content_type") or ctype))


def download_link(number: int, attachment_id: str, now: datetime) -> dict[str, Any]:
    """A short-lived signed GET for one of the ticket's attachments (404 when it is not the ticket's)."""
    inbound = INBOUND_ID.match(attachment_id)
    if UPLOAD_ID.match(attachment_id):
        stored = files.head(files.upload_key(number, attachment_id))
        if stored is None:
            raise NotFound(f"no attachment {attachment_id} on ticket {number}")
    elif inbound:
        stored = _inbound(number, inbound["event"], inbound["part"])
    else:
        raise NotFound(f"no attachment {attachment_id} on ticket {number}")
    link = files.presign_download(stored, limits().link_ttl_s, now)
    return {"id": attachment_id, "filename": stored.filename, "content_type": stored.content_type,
            "size": stored.size, **link}

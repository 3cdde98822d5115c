"""Notification target ``slack``: a message in a Slack channel through an incoming webhook.

- Recipient: a channel name such as ``#support-alerts`` (a rule's
  ``"to": {"address": "#support-alerts"}``, or for a role the person's or
  their department's ``slack_channel`` in ``rules/directory/departments.json``)
  or ``default``.
- Webhook URL (a secret: never in a rule file): ``SLACK_WEBHOOK_URL_<CHANNEL>``
  (the channel upper-cased, other characters as ``_``: ``#support-alerts`` ->
  ``SLACK_WEBHOOK_URL_SUPPORT_ALERTS``), else ``SLACK_WEBHOOK_URL``. Each is
  read with ``get_secret``: the environment variable, or the SSM SecureString
  named by ``<NAME>_PARAM`` (e.g. ``SLACK_WEBHOOK_URL_PARAM=/helpdesk/slack-webhook``).
- Text: the subject in bold, then the body (Slack's ``&``, ``<``, ``>`` escaped),
  mentioning the person when they have a ``slack_user`` id. A per-target
  template ``<template>.slack.json`` can shape it.
- Outcome: 2xx is delivered; 429, 5xx and network errors raise (the
  dispatcher retries with backoff); other 4xx (``invalid_payload``,
  ``no_service``, ``channel_not_found``, a revoked webhook) and a missing URL
  are permanent failures: fix the setup, then redrive.
"""

from __future__ import annotations

import json
import os
import re

from chalicelib.domain import DeliveryResult, Notification
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import lazy_import

# urllib.request (with http.client and ssl) loads on the first call, not on every cold start
urllib_request = lazy_import("urllib.request")
urllib_error = lazy_import("urllib.error")

TARGET = "slack"
URL_SECRET = "SLACK_WEBHOOK_URL"
RETRY_STATUSES = (408, 429)


class SlackUnavailable(RuntimeError):
    """Slack answered with a status worth retrying (429 or 5xx)."""


def secret_name(channel: str) -> str:
    """The secret holding ``channel``'s webhook URL (``#support-alerts`` -> ``SLACK_WEBHOOK_URL_SUPPORT_ALERTS``)."""
    suffix = re.sub(r"[^A-Z0-9]+", "_", channel.upper()).strip("_")
    return f"{URL_SECRET}_{suffix}" if suffix and suffix != "DEFAULT" else URL_SECRET


def webhook_url(channel: str, get_secret: SecretGetter) -> str | None:
    """The channel's own webhook URL, else the default one, else None."""
    return get_secret(secret_name(channel)) or get_secret(URL_SECRET)


def escape(text: str) -> str:
    """Escape Slack's control characters in user text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(notification: Notification) -> dict[str, object]:
    """The webhook payload: bold subject, body, optional mention of the person."""
    person = notification.metadata.get("person") or {}
    mention = f"<@{person['slack_user']}> " if person.get("slack_user") else ""
    subject = escape(notification.subject)
    text = f"{mention}*{subject}*\n{escape(notification.body_text)}".rstrip()
    return {"text": text, "unfurl_links": False, "unfurl_media": False}


def post(url: str, payload: dict[str, object], timeout_s: float) -> tuple[int, str]:
    """POST JSON; returns (status, body) for any HTTP answer, raises on network errors."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib_request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib_request.urlopen(request, timeout=timeout_s) as resp:
            return resp.status, resp.read(2000).decode("utf-8", "replace")
    except urllib_error.HTTPError as err:
        return err.code, err.read(2000).decode("utf-8", "replace")


@hookimpl
def helpdesk_notification_targets() -> list[str]:
    """The slack target."""
    return [TARGET]


@hookimpl
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """Post the notification to the channel's incoming webhook."""
    if notification.target != TARGET:
        return None
    channel = notification.recipient or "default"
    url = webhook_url(channel, get_secret)
    if not url:
        return DeliveryResult(delivered=False,
                              detail=f"no Slack webhook URL for {channel}: set {secret_name(channel)} or {URL_SECRET}")
    status, text = post(url, message(notification), float(os.environ.get("NOTIFY_HTTP_TIMEOUT_S") or 5))
    if 200 <= status < 300:
        return DeliveryResult(delivered=True, detail=f"slack {channel}: {status} {text[:100]}".strip())
    if status >= 500 or status in RETRY_STATUSES:
        raise SlackUnavailable(f"Slack answered {status}: {text[:200]}")
    return DeliveryResult(delivered=False, detail=f"Slack refused the message for {channel}: {status} {text[:200]}")

"""The plugin contract: pluggy hook specifications.

Plugins implement these with ``@hookimpl`` and keyword arguments named as
below. Channel connectors turn webhook deliveries into ``InboundMessage``s and
send replies; notifier targets deliver ``Notification``s to people and team
channels. Every hook is called with keyword arguments; a plugin that does not
handle the given channel or target returns ``None`` so the next one is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pluggy

from chalicelib.domain import (
    DeliveryResult,
    InboundMessage,
    InboundRequest,
    Notification,
    OutboundMessage,
    SendResult,
)

PROJECT = "helpdesk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

SecretGetter = Callable[[str], "str | None"]


@hookspec
def helpdesk_channels() -> list[str]:
    """Called once when the plugin manager starts and by ``GET /channels``.

    Return the names of the channels this plugin connects (e.g. ``["form"]``).
    A channel named ``x`` receives deliveries at ``POST /webhooks/x``.
    """


@hookspec
def helpdesk_notification_targets() -> list[str]:
    """Called when rules are checked and when a firing queues a notification.

    Return the names of the notification targets this plugin delivers to
    (e.g. ``["email"]``); rules name them in their ``notify`` actions (the
    rule checker rejects a target no plugin names, and a queued notification
    for one fails visibly).
    """


@hookspec(firstresult=True)
def helpdesk_verify_inbound(
    channel: str, request: InboundRequest, get_secret: SecretGetter, now: datetime
) -> bool | None:
    """Called for every delivery to ``POST /webhooks/{channel}``, before parsing.

    Check the sender's signature or shared secret (use ``get_secret(NAME)``,
    never a literal; ``now`` is for replay windows). Return ``True`` when verified; raise
    ``chalicelib.errors.Unauthorized`` when the check fails (the delivery is
    answered 401 and nothing is created); return ``None`` when ``channel`` is
    not yours.
    """


@hookspec(firstresult=True)
def helpdesk_inbound_response(
    channel: str, request: InboundRequest, now: datetime
) -> dict[str, Any] | None:
    """Called after ``helpdesk_verify_inbound`` succeeded, before the delivery is kept or parsed.

    Return a JSON object to answer the delivery with at once (status 200) when
    it is a handshake rather than a message, e.g. Slack's ``url_verification``
    challenge (``{"challenge": "..."}``): nothing is stored, parsed or
    ingested then. Return ``None`` for ordinary deliveries and for channels
    that are not yours.
    """


@hookspec(firstresult=True)
def helpdesk_parse_inbound(
    channel: str, request: InboundRequest, now: datetime
) -> list[InboundMessage] | None:
    """Called after ``helpdesk_verify_inbound`` succeeded for the same delivery.

    Return the customer messages in the delivery (an empty list for pings and
    events that carry no message). Each message needs a ``dedupe_key`` that is
    the same when the provider retries the delivery (``now`` is the receipt
    time for messages that carry none). Raise
    ``chalicelib.errors.ValidationFailed`` with one entry per problem
    (``field``, ``pointer``, ``message``) for bad input (answered 400; the raw
    payload is kept). Return ``None`` when ``channel`` is not yours.
    """


@hookspec(firstresult=True)
def helpdesk_send_message(message: OutboundMessage, get_secret: SecretGetter) -> SendResult | None:
    """Called when an agent reply or a rule's auto-reply goes to a customer.

    Send ``message`` through ``message.channel`` and return a ``SendResult``
    with the provider's message id; raise an exception when sending failed (the
    caller records the failure and retries). Return ``None`` when the channel is
    not yours.
    """


@hookspec(firstresult=True)
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """Called by the outbox dispatcher for each attempt at a notification written to the
    outbox (right after the commit, then by the ``dispatch`` schedule until it succeeds or
    its attempts are used up, and again after a redrive).

    Deliver it to ``notification.recipient`` (the address resolved for your
    target: an email address, a phone number, a channel, an endpoint) through
    ``notification.target``. ``notification.metadata`` holds ``outbox_id`` (the
    same on every attempt: pass it on so receivers can dedupe), ``attempt``,
    ``lang``, ``link``, ``person``, ``ticket`` and ``deadline``; secrets come
    from ``get_secret(NAME)``. Return ``DeliveryResult(delivered=True, detail=...)``
    when delivered; return ``DeliveryResult(delivered=False, detail=why)`` when
    it can never succeed as configured (it fails at once, visibly, until
    redriven); raise an exception on a transient failure so the dispatcher
    retries with backoff. Return ``None`` when the target is not yours.
    """


@hookspec(firstresult=True)
def helpdesk_search_tickets(query: str, filters: dict[str, Any], limit: int) -> list[int] | None:
    """Called by ``GET /tickets?q=`` (the console's search box) before the built-in search,
    for queries that are not a ticket number.

    ``query`` is the text as typed; ``filters`` the other query parameters
    (``tag``, ``status``, ``assignee``, ...). Return the matching ticket numbers,
    best first, at most ``limit`` (the API loads and shows them in that order),
    e.g. from an OpenSearch index you keep up to date from the table's stream.
    Return ``None`` to leave the query to the built-in DynamoDB inverted index.
    """

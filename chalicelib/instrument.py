"""Chalice middleware for every invocation: fresh correlation ids (Lambda request id, function,
cold start), webhook 4xx/5xx counts, and the buffered EMF metrics flushed at the end.

A middleware, not Powertools' ``@logger.inject_lambda_context``: that decorator expects the
``(event, context)`` signature, and Chalice's event handlers take one argument.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib import log as hlog
from chalicelib import metrics

_log = logging.getLogger(__name__)
_cold = True


def _lambda_context(event: Any) -> Any:
    return getattr(event, "lambda_context", None) or getattr(event, "context", None)


def _webhook_channel(event: Any) -> str | None:
    """The channel of a ``/webhooks/{channel}`` request; ``other`` for names no plugin serves
    (a caller must not be able to create metric dimensions)."""
    context = getattr(event, "context", None) or {}
    if not isinstance(context, dict) or context.get("resourcePath") != "/webhooks/{channel}":
        return None
    from chalicelib.plugin_manager import channel_names, get_plugin_manager

    channel = (getattr(event, "uri_params", None) or {}).get("channel")
    return channel if channel in channel_names(get_plugin_manager()) else "other"


def count_http(event: Any, status: int) -> None:
    """Webhook responses by class: ``WebhookClientErrors`` (4xx) and ``WebhookServerErrors`` (5xx)."""
    channel = _webhook_channel(event)
    if channel is None or status < 400:
        return
    metrics.count("WebhookServerErrors" if status >= 500 else "WebhookClientErrors", channel=channel)


def invocation(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Middleware body: correlation ids for the invocation, then metrics flushed whatever happens."""
    global _cold
    ctx = _lambda_context(event)
    hlog.reset(function_name=getattr(ctx, "function_name", None),
               function_request_id=getattr(ctx, "aws_request_id", None), cold_start=_cold)
    _cold = False
    try:
        response = get_response(event)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            count_http(event, status)
        return response
    except Exception:
        if _webhook_channel(event) is not None:
            count_http(event, 500)
        raise
    finally:
        try:
            metrics.flush()
        except Exception:  # noqa: BLE001 - metrics must never fail a request
            _log.exception("flushing metrics failed")
        hlog.reset()


def instrument(app: Any) -> None:
    """Register the middleware for every event type (HTTP, schedules, S3/SNS/SQS/stream events)."""
    app.register_middleware(invocation, "all")

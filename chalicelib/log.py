"""Logging: one JSON object per line (Powertools for AWS Lambda's formatter) with correlation ids.

Modules keep logging through ``logging.getLogger(__name__)``; ``configure_logging(app)``
sends the ``chalicelib`` and ``plugins`` loggers through Powertools' JSON formatter and adds
the ids of what is being worked on: ``with correlate(ticket_id=12, outbox_id="...")`` (or
``bind(...)`` for the rest of an invocation) puts them on every line logged meanwhile, and the
middleware (``chalicelib.instrument``) starts each invocation with the Lambda request id,
function name and cold-start flag. Level from ``LOG_LEVEL`` (INFO); the service name from
``POWERTOOLS_SERVICE_NAME`` (helpdesk). The formatter is imported on the first log line, not
at import (cold start).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

SERVICE = "helpdesk"
LOGGERS = ("chalicelib", "plugins")
CORRELATION_KEYS = ("ticket_id", "delivery_id", "outbox_id", "channel", "function_name", "function_request_id",
                    "cold_start")
"""Keys ``correlate``/``bind`` accept; each becomes a top-level key of the JSON line."""

_ids: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("helpdesk_log_ids",
                                                                         default=MappingProxyType({}))


def current_ids() -> dict[str, Any]:
    """The correlation ids in effect (a copy)."""
    return dict(_ids.get())


def bind(**ids: Any) -> None:
    """Add correlation ids for the rest of the current invocation (``None`` removes one)."""
    _check(ids)
    merged = {**_ids.get(), **ids}
    _ids.set({k: v for k, v in merged.items() if v is not None})


def reset(**ids: Any) -> None:
    """Start a fresh set of correlation ids (the start of an invocation)."""
    _check(ids)
    _ids.set({k: v for k, v in ids.items() if v is not None})


@contextlib.contextmanager
def correlate(**ids: Any) -> Iterator[None]:
    """Correlation ids for the lines logged inside the block; the previous ones come back after it."""
    _check(ids)
    token = _ids.set({k: v for k, v in {**_ids.get(), **ids}.items() if v is not None})
    try:
        yield
    finally:
        _ids.reset(token)


def _check(ids: dict[str, Any]) -> None:
    unknown = sorted(set(ids) - set(CORRELATION_KEYS))
    if unknown:
        raise TypeError(f"unknown correlation ids {unknown}; known: {CORRELATION_KEYS}")


class CorrelationFilter(logging.Filter):
    """Puts the current correlation ids on each record (Powertools prints extra attributes as keys)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _ids.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """Powertools' ``LambdaPowertoolsFormatter``, created on the first record (keeps it out of cold import)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._inner: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._inner is None:
            from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

            self._inner = LambdaPowertoolsFormatter(service=self.service, use_rfc3339=True)
        return self._inner.format(record)


def json_handler(service: str | None = None) -> logging.Handler:
    """A stderr handler writing JSON lines with correlation ids."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service or os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE))
    handler.addFilter(CorrelationFilter())
    return handler


def configure_logging(app: Any) -> None:
    """Send the service's loggers through one JSON handler.

    In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) they stop propagating to the root logger, whose
    runtime handler would print every line a second time as plain text; elsewhere (tests,
    ``make run``) they propagate as usual.
    """
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    in_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    app.log.setLevel(level)
    handler = None
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
            handler = handler or json_handler()
            logger.addHandler(handler)
            logger.propagate = not in_lambda

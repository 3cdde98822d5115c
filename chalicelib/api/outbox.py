"""Agent API: the notification outbox (what was sent, what is waiting, what failed) and redrive."""

from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib import roles
from chalicelib.api.common import authenticate, handles_errors, int_param, json_response
from chalicelib.domain import utcnow
from chalicelib.errors import NotFound
from chalicelib.lazy import lazy_import

dispatch = lazy_import("chalicelib.services.dispatch")
outbox = lazy_import("chalicelib.store.outbox")

bp = Blueprint(__name__)
_ID = re.compile(r"^[0-9a-f]{32}$")


def _outbox_id(raw: str) -> str:
    if not _ID.match(raw):
        raise NotFound(f"outbox item {raw!r} not found")
    return raw


@bp.route("/outbox", methods=["GET"])
@handles_errors
def list_outbox():
    """``?state=`` (failed (default), pending, sending, sent), ``limit`` (1-100), ``cursor``;
    most recent first, with the rendered subject and body and the last error."""
    request = bp.current_request
    authenticate(request)
    params = dict(request.query_params or {})
    state = params.get("state", outbox.FAILED)
    items, cursor = outbox.list_state(state, limit=int_param(params, "limit", 25, 1, 100),
                                      cursor=params.get("cursor"))
    return json_response({"state": state, "items": [outbox.to_dict(i) for i in items], "next_cursor": cursor})


@bp.route("/outbox/{outbox_id}", methods=["GET"])
@handles_errors
def get_outbox_item(outbox_id: str):
    """One outbox item."""
    authenticate(bp.current_request)
    return json_response(outbox.to_dict(outbox.get(_outbox_id(outbox_id))))


@bp.route("/outbox/{outbox_id}/redrive", methods=["POST"])
@handles_errors
def redrive(outbox_id: str):
    """A ``failed`` item gets a fresh set of attempts and one is made at once; 409 unless failed."""
    agent = authenticate(bp.current_request)
    roles.ensure(agent, "redrive")
    now = utcnow()
    item = dispatch.redrive(_outbox_id(outbox_id), f"agent:{agent.agent_id}", now)
    dispatch.deliver_now([item.outbox_id], now)
    return json_response(outbox.to_dict(outbox.get(item.outbox_id)))

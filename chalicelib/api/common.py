"""Shared glue for routes: JSON errors, authentication, query parsing."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Response
from chalice.app import Request

from chalicelib.errors import (
    Conflict,
    Forbidden,
    HelpdeskError,
    NotFound,
    PreconditionFailed,
    PresendFailed,
    Unauthorized,
    ValidationFailed,
)
from chalicelib.lazy import lazy_import
from chalicelib.settings import get_settings
from chalicelib.store import auth

if TYPE_CHECKING:
    from chalicelib.store.models import AgentItem

agents = lazy_import("chalicelib.store.agents")

log = logging.getLogger(__name__)

_STATUS = [
    (ValidationFailed, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (PreconditionFailed, 412),
    (Conflict, 409),
    (PresendFailed, 422),
]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (UTF-8, Japanese kept readable)."""
    return Response(
        body=json.dumps(body, ensure_ascii=False, default=str),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def error_response(exc: Exception) -> Response:
    """Map an exception to a JSON error response; unexpected ones become a logged 500."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            body: dict[str, Any] = {"error": cls.__name__, "message": str(exc)}
            if isinstance(exc, ValidationFailed):
                body["errors"] = exc.errors
                if getattr(exc, "raw_ref", None):
                    body["raw_ref"] = exc.raw_ref  # type: ignore[attr-defined]
            if isinstance(exc, Conflict) and exc.detail:
                body.update(exc.detail)
            if isinstance(exc, PresendFailed):
                body["problems"] = exc.problems
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return json_response(body, status, headers)
    log.exception("unhandled error", exc_info=exc)
    return json_response({"error": "InternalError", "message": "internal error; it was logged"}, 500)


def documented(**extra: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator (below ``handles_errors``): OpenAPI details the code cannot show, e.g. headers.
    ``parameters`` are added to the operation's, ``responses`` merged into its responses."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.openapi = extra  # type: ignore[attr-defined]
        return view

    return mark


def handles_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: turn exceptions of a view into JSON error responses."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        auth.clear_guard()
        try:
            try:
                return view(*args, **kwargs)
            except auth.AgentChanged:
                # The cached agent was stale and nothing was written: once more, authenticated afresh.
                auth.clear_guard()
                return view(*args, **kwargs)
        except HelpdeskError as exc:
            return error_response(exc)
        except Exception as exc:  # noqa: BLE001 - last line of defence, logged
            return error_response(exc)
        finally:
            auth.clear_guard()

    return wrapper


def authenticate(request: Request) -> AgentItem:
    """The agent making the request, or Unauthorized.

    ``HELPDESK_AUTH_MODE=token`` (default): ``Authorization: Bearer <token>``
    checked against stored token hashes. ``cognito``: API Gateway's Cognito
    authorizer has verified the ID token; the agent is found by the claim named in
    ``HELPDESK_COGNITO_AGENT_CLAIM`` (see ``cognito_agent``). Disabled agents are
    refused. Cached per container (``store.auth``): no DynamoDB request when warm;
    every write of the request then checks the agent's version.
    """
    if get_settings().auth_mode == "cognito":
        agent = cognito_agent((request.context or {}).get("authorizer", {}).get("claims") or {})
    else:
        header = (request.headers or {}).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token")
        agent = agents.agent_for_token(token.strip())
        if agent is None:
            raise Unauthorized("invalid token")
    auth.set_guard(agent.agent_id, int(agent.auth_version or 0))
    return agent


def cognito_agent(claims: dict[str, Any]) -> AgentItem:
    """The enabled agent the verified Cognito claims name, or Unauthorized.

    The claim is ``HELPDESK_COGNITO_AGENT_CLAIM`` (default ``email``). ``email`` is matched against the
    agent's ``email`` (case-insensitive; refused when ``email_verified`` is present and not true, or
    when two agents share the address); any other claim (``cognito:username``, ``custom:agent_id``, ...)
    is the agent's id. There is no fallback to another claim.
    """
    claim = get_settings().cognito_agent_claim
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise Unauthorized(f"the ID token has no {claim!r} claim (HELPDESK_COGNITO_AGENT_CLAIM)")
    if claims.get("token_use", "id") != "id":
        raise Unauthorized("send the ID token, not the access token")
    if claim == "email":
        if str(claims.get("email_verified", "true")).lower() != "true":
            raise Unauthorized("the Cognito user's e-mail is not verified")
        agent = agents.agent_by_email(value)
    else:
        agent = agents.agent_by_id(value.strip())
    if agent is None:
        raise Unauthorized(f"no enabled agent for this Cognito user ({claim} {value!r})")
    return agent


def int_param(params: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter within [lo, hi]; 400 naming the parameter otherwise."""
    raw_value = params.get(name)
    if raw_value is None or raw_value == "":
        return default
    try:
        value = int(raw_value)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ValidationFailed(
            [{"field": name, "pointer": f"/{name}", "message": f"must be an integer from {lo} to {hi}"}]
        )
    return value

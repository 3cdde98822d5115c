"""``GET /openapi.json``: the API described from the app's own routes and the JSON Schemas they
validate with (no second copy to keep in step).

For each route of the running app (so routes added later are described without editing this
file): the path and its ``{parameters}``, the methods, the view's docstring, the request body
schema — the module-level ``jsonschema`` validator the view (or a helper of its module it calls)
validates with — the content types it accepts, and whether it needs an agent (it calls
``authenticate``). Error responses share one schema: the JSON every 4xx/5xx answers with.
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from types import FunctionType
from typing import Any

from chalice import Blueprint

from chalicelib.api.common import handles_errors, json_response
from chalicelib.lazy import LazyValidator

bp = Blueprint(__name__)
OPENAPI_VERSION = "3.1.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "the error class, e.g. ValidationFailed, Unauthorized"},
        "message": {"type": "string"},
        "errors": {"type": "array", "description": "every validation problem",
                   "items": {"type": "object", "required": ["pointer", "message"],
                             "properties": {"field": {"type": "string"}, "pointer": {"type": "string"},
                                            "message": {"type": "string"}}}},
        "raw_ref": {"type": "string", "description": "where the raw payload was kept"},
    },
}


def _helpers(func: FunctionType) -> list[FunctionType]:
    """The function and the same-module functions it calls by name (one level)."""
    found = [func]
    for name in func.__code__.co_names:
        candidate = func.__globals__.get(name)
        if isinstance(candidate, FunctionType) and candidate.__module__ == func.__module__ and candidate is not func:
            found.append(candidate)
    return found


def _referenced(func: FunctionType) -> list[Any]:
    return [func.__globals__.get(name) for f in _helpers(func) for name in f.__code__.co_names]


def body_schema(view: Any) -> dict[str, Any] | None:
    """The JSON Schema of the validator the view's code validates its body with, if any."""
    from jsonschema.protocols import Validator  # only when the document is asked for

    func = inspect.unwrap(view)
    validators = [v for v in _referenced(func) if isinstance(v, (Validator, LazyValidator))]
    return validators[0].schema if validators else None


def needs_agent(view: Any) -> bool:
    """Whether the view authenticates an agent."""
    from chalicelib.api.common import authenticate

    return any(v is authenticate for v in _referenced(inspect.unwrap(view)))


def _summary(view: Any) -> tuple[str, str]:
    doc = inspect.getdoc(inspect.unwrap(view)) or ""
    first, _, rest = doc.partition("\n")
    return first.strip(), doc


def operation(path: str, method: str, entry: Any) -> dict[str, Any]:
    """One OpenAPI operation for a Chalice route entry."""
    summary, description = _summary(entry.view_function)
    op: dict[str, Any] = {"operationId": f"{entry.view_name}_{method.lower()}"}
    if summary:
        op["summary"] = summary[:200]
        op["description"] = description
    params = re.findall(r"\{([^}]+)\}", path)
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
    schema = body_schema(entry.view_function)
    if method in ("POST", "PUT", "PATCH") or schema is not None:  # e.g. a DELETE with a reason
        types = entry.content_types or ["application/json"]
        op["requestBody"] = {"required": schema is not None and bool(schema.get("required")),
                             "content": {t: {"schema": schema if schema and t == "application/json" else {}}
                                         for t in types}}
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    if path == "/console" or path.startswith("/console/"):
        ok = {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}
    op["responses"] = {"200": ok, "4XX": {"$ref": "#/components/responses/Error"},
                       "5XX": {"$ref": "#/components/responses/Error"}}
    if method == "POST":
        op["responses"]["201"] = {"description": "Created", "content": ok["content"]}
        if "answers 202" in (entry.view_function.__doc__ or ""):  # queued, runs asynchronously
            op["responses"]["202"] = {"description": "Accepted: queued", "content": ok["content"]}
    op["security"] = [{"bearer": []}] if needs_agent(entry.view_function) else []
    extra = getattr(inspect.unwrap(entry.view_function), "openapi", {})
    if extra.get("parameters"):
        op["parameters"] = [*op.get("parameters", []), *extra["parameters"]]
    op["responses"].update(extra.get("responses", {}))
    return op


def build_spec(app: Any, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of ``app``."""
    paths: dict[str, Any] = {}
    for path, methods in sorted(app.routes.items()):
        paths[path] = {m.lower(): operation(path, m, entry) for m, entry in sorted(methods.items())}
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {"title": "helpdesk-rules", "version": _version(),
                 "description": "Help-desk rules service: webhooks, agent API, reports and console."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "agent token (`helpdesk agent add`), or a Cognito "
                                                          "ID token in Cognito mode"}},
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {"Error": {"description": "error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("helpdesk-rules")
    except metadata.PackageNotFoundError:
        return "0.0.0+source"


@cache
def _cached_spec(app_id: int, server_url: str) -> dict[str, Any]:
    return build_spec(bp.current_app, server_url)


@bp.route("/openapi.json", methods=["GET"])
@handles_errors
def openapi_document():
    """This API as an OpenAPI 3.1 document, generated from the routes and their JSON Schemas."""
    stage = ((bp.current_request.context or {}).get("stage") or "").strip("/")
    server = f"/{stage}" if stage and stage != "local" else "/"
    return json_response(_cached_spec(id(bp.current_app), server))

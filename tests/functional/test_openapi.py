"""``GET /openapi.json``: a valid OpenAPI 3.1 document covering every route of the app, with the very
JSON Schemas the routes validate their bodies with."""

from __future__ import annotations

import importlib
import pkgutil

from chalice import Blueprint, Chalice
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

import chalicelib.api
from chalicelib.api.common import authenticate, handles_errors, json_response
from chalicelib.api.openapi import build_spec
from chalicelib.lazy import LazyValidator
from tests.functional.conftest import AGENT_TOKEN, auth, form_json, sample_form


def test_openapi_json_validates_and_covers_every_route(client):
    from app import app

    resp = client.http.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.json_body
    validate(spec)  # raises on an invalid document
    assert spec["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routes = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert documented == routes
    assert len(routes) >= 23 and ("/openapi.json", "GET") in routes


def test_request_bodies_are_the_schemas_the_routes_validate_with(client):
    spec = client.http.get("/openapi.json").json_body
    bodies = [op["requestBody"]["content"].get("application/json", {}).get("schema")
              for ops in spec["paths"].values() for op in ops.values() if "requestBody" in op]
    validators = []
    for info in pkgutil.iter_modules(chalicelib.api.__path__):
        module = importlib.import_module(f"chalicelib.api.{info.name}")
        validators += [(f"{info.name}.{name}", v) for name, v in vars(module).items()
                       if isinstance(v, (Draft202012Validator, LazyValidator))]
    assert len(validators) >= 8
    for name, validator in validators:  # every body validator of the API is documented, as it is
        assert validator.schema in bodies, f"{name} validates a body but is in no requestBody"
    from chalicelib.api import agent

    claim = spec["paths"]["/tickets/{ticket_id}/claim"]["post"]
    assert claim["requestBody"]["content"]["application/json"]["schema"] == agent.CLAIM.schema
    assert claim["parameters"] == [{"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert claim["security"] == [{"bearer": []}]
    webhook = spec["paths"]["/webhooks/{channel}"]["post"]
    assert webhook["security"] == [] and "message/rfc822" in webhook["requestBody"]["content"]
    assert spec["paths"]["/me"]["get"]["security"] == [{"bearer": []}]


def test_a_documented_body_is_accepted_and_the_error_shape_is_as_documented(client, agents):
    spec = client.http.get("/openapi.json").json_body
    error_schema = spec["components"]["schemas"]["Error"]
    bad = client.http.post("/webhooks/form", **form_json(sample_form(email="nope")))
    assert bad.status_code == 400
    Draft202012Validator(error_schema).validate(bad.json_body)
    unauthorized = client.http.get("/me")
    Draft202012Validator(error_schema).validate(unauthorized.json_body)
    assert client.http.get("/me", headers=auth(AGENT_TOKEN)).status_code == 200


WIDGET = Draft202012Validator({"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}})


def test_a_route_added_later_is_described_without_editing_the_generator():
    app = Chalice(app_name="probe")
    bp = Blueprint(__name__)

    @bp.route("/widgets/{widget_id}", methods=["PUT"])
    @handles_errors
    def put_widget(widget_id: str):
        """Replace a widget."""
        authenticate(bp.current_request)
        WIDGET.validate({})
        return json_response({})

    app.register_blueprint(bp)
    spec = build_spec(app)
    validate(spec)
    op = spec["paths"]["/widgets/{widget_id}"]["put"]
    assert op["summary"] == "Replace a widget."
    assert op["requestBody"]["content"]["application/json"]["schema"] == WIDGET.schema
    assert op["security"] == [{"bearer": []}]


def test_the_validator_rejects_a_broken_document():
    spec = build_spec(Chalice(app_name="empty"))
    spec["paths"] = {"/x": {"get": {"responses": {"200": {"description": 1}}}}}
    try:
        validate(spec)
    except OpenAPIValidationError:
        return
    raise AssertionError("openapi-spec-validator accepted a broken document")

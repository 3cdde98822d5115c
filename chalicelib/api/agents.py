"""Agents (the agents page), the admin timeline and the reply template list. Authenticated.

- ``GET /agents``: everyone (for the assignee picker); supervisors and admins
  also see phone, Slack channel and language. ``POST /agents`` adds one and
  answers its first token once; ``PATCH /agents/{id}`` changes name, email, role,
  department, phone, Slack channel, language or ``disabled``;
  ``POST /agents/{id}/token`` rotates the token (earlier ones stop working).
  Every change is written to the admin timeline, ``GET /audit``.
- ``GET /templates``: reply templates with their subject and body per language.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.common import authenticate, handles_errors, int_param, json_response
from chalicelib.api.tickets import read_json
from chalicelib.domain import utcnow
from chalicelib.errors import NotFound
from chalicelib.lazy import LazyValidator, lazy_import
from chalicelib.settings import get_settings

agent_admin = lazy_import("chalicelib.services.agent_admin")
templates = lazy_import("chalicelib.templates")
agents = lazy_import("chalicelib.store.agents")
audit = lazy_import("chalicelib.store.audit")

bp = Blueprint(__name__)
ADD = LazyValidator(lambda: agent_admin.ADD_SCHEMA)
UPDATE = LazyValidator(lambda: agent_admin.UPDATE_SCHEMA)
ROTATE = LazyValidator({"type": "object", "additionalProperties": False, "properties": {}})
_PUBLIC = ("id", "name", "role", "department", "disabled")


@bp.route("/agents", methods=["GET"])
@handles_errors
def list_agents() -> Response:
    """Every agent; contact details only for supervisors and admins."""
    me = authenticate(bp.current_request)
    full = me.role in agent_admin.MANAGER_ROLES
    docs = [agents.agent_to_dict(a) for a in agents.list_agents()]
    return json_response({"agents": [d if full else {k: d[k] for k in _PUBLIC} for d in docs]})


@bp.route("/agents", methods=["POST"])
@handles_errors
def add_agent() -> Response:
    """Add an agent (supervisor/admin); the answer carries its first token, shown once."""
    request = bp.current_request
    me = authenticate(request)
    agent_admin.require_manager(me)
    body = read_json(request.raw_body, ADD)
    agent, token = agent_admin.add(me, body, utcnow())
    return json_response({"agent": agents.agent_to_dict(agent), "token": token}, 201)


@bp.route("/agents/{agent_id}", methods=["GET"])
@handles_errors
def get_agent(agent_id: str) -> Response:
    """One agent (supervisor/admin, or the agent themself) with its recent admin timeline."""
    me = authenticate(bp.current_request)
    if me.agent_id != agent_id:
        agent_admin.require_manager(me)
    agent = agents.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id!r} not found")
    return json_response({**agents.agent_to_dict(agent), "audit": audit.recent(20, f"agent:{agent_id}")})


@bp.route("/agents/{agent_id}", methods=["PATCH"])
@handles_errors
def update_agent(agent_id: str) -> Response:
    """Change an agent (supervisor/admin; admins only for admins)."""
    request = bp.current_request
    me = authenticate(request)
    agent_admin.require_manager(me)
    change = read_json(request.raw_body, UPDATE)
    return json_response(agents.agent_to_dict(agent_admin.update(me, agent_id, change, utcnow())))


@bp.route("/agents/{agent_id}/token", methods=["POST"])
@handles_errors
def rotate_token(agent_id: str) -> Response:
    """A new token for the agent (shown once); the old ones stop working at once."""
    request = bp.current_request
    me = authenticate(request)
    read_json(request.raw_body or b"{}", ROTATE)
    return json_response({"agent": agent_id, "token": agent_admin.rotate(me, agent_id, utcnow())}, 201)


@bp.route("/audit", methods=["GET"])
@handles_errors
def admin_timeline() -> Response:
    """The admin timeline, newest first (supervisor/admin); ``?target=agent:sato``, ``limit``."""
    request = bp.current_request
    me = authenticate(request)
    agent_admin.require_manager(me)
    params = dict(request.query_params or {})
    limit = int_param(params, "limit", 100, 1, 500)
    return json_response({"events": audit.recent(limit, params.get("target") or None)})


def template_list() -> list[dict[str, Any]]:
    """Reply templates (``"reply": true`` in the file), sorted by name."""
    folder = get_settings().rules_dir / "templates"
    found = []
    for path in sorted(folder.glob("*.json")):
        doc = templates.load_template(folder, path.stem)
        if doc.get("reply"):
            found.append({"name": path.stem, "title": doc.get("title") or {},
                          **{lang: doc[lang] for lang in templates.LANGS if lang in doc}})
    return found


@bp.route("/templates", methods=["GET"])
@handles_errors
def list_templates() -> Response:
    """Reply templates for the template picker (render one with ``POST /tickets/{id}/replies/preview``)."""
    authenticate(bp.current_request)
    return json_response({"templates": template_list()})

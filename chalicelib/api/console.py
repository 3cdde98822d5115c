"""The support console: a static page (HTML, JS, CSS, vendored Chart.js) served by the app.

The page and its assets are public (they hold no data); everything it shows
comes from the authenticated API with the bearer token the agent enters on its
login screen (kept in ``sessionStorage``). In Cognito mode the page carries the
hosted UI's address and the app client id (``<meta name="helpdesk-auth">``) and
the console signs in there (authorization code + PKCE, ``console/static/auth.js``);
the CSP then also lets the page reach the hosted UI's token endpoint. Assets ship
inside ``chalicelib/`` so ``chalice package`` includes them; only the files listed
here are served.
"""

from __future__ import annotations

import html
import json
import os
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib.api.common import handles_errors
from chalicelib.errors import NotFound
from chalicelib.lazy import lazy_import
from chalicelib.settings import get_settings

files = lazy_import("chalicelib.store.files")

bp = Blueprint(__name__)
STATIC = Path(__file__).resolve().parents[1] / "console" / "static"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Every stylesheet and ES module of the console (one module per page and concern, no build step).
ASSETS = {p.name: _TYPES[p.suffix] for p in sorted(STATIC.iterdir()) if p.suffix in _TYPES}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}
AUTH_META = '<meta name="helpdesk-auth" content="{}">'


def sign_in_config() -> dict[str, str]:
    """How the console signs in: ``{"mode": "token"}``, or Cognito's hosted UI and app client."""
    from chalicelib.secrets import get_secret

    if get_settings().auth_mode != "cognito":
        return {"mode": "token"}
    domain = (os.environ.get("HELPDESK_COGNITO_DOMAIN") or "").rstrip("/")
    client_id = get_secret("HELPDESK_COGNITO_CLIENT_ID") or ""  # env, or the stack's SSM parameter (_PARAM)
    return {"mode": "cognito", "domain": domain, "client_id": client_id}


def page_headers(config: dict[str, str]) -> dict[str, Any]:
    """The page's headers: the same strict CSP, whose ``connect-src`` also names the raw bucket's
    origin, the one place the browser posts reply attachments to (pre-signed POST), and in Cognito
    mode the hosted UI's origin (its token endpoint)."""
    origins = [files.upload_origin()]
    if config.get("domain"):
        parts = urlsplit(config["domain"])
        origins.append(f"{parts.scheme}://{parts.netloc}")
    csp = CSP.replace("connect-src 'self'", "connect-src 'self' " + " ".join(origins))
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp}


@cache
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@bp.route("/console", methods=["GET"])
@handles_errors
def console_page() -> Response:
    """The console's single page (shows a login form until a valid token is entered, or the hosted UI's
    sign-in button in Cognito mode)."""
    config = sign_in_config()
    meta = AUTH_META.format(html.escape(json.dumps(config, separators=(",", ":")), quote=True))
    body = _read("index.html").replace("<!--helpdesk-auth-->", meta, 1)
    return Response(body=body, status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
                             **page_headers(config)})


@bp.route("/console/static/{name}", methods=["GET"])
@handles_errors
def console_asset(name: str) -> Response:
    """One of the console's static files (a fixed list; anything else is 404)."""
    if name not in ASSETS:
        raise NotFound(f"no asset {name!r}")
    return Response(body=_read(name), status_code=200,
                    headers={"Content-Type": ASSETS[name], "Cache-Control": "public, max-age=300",
                             **SECURITY_HEADERS})

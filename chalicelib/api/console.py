"""The support console: a static page (HTML, JS, CSS, vendored Chart.js) served by the app.

The page and its assets are public (they hold no data); everything it shows
comes from the authenticated API with the bearer token the agent enters on its
login screen (kept in ``sessionStorage``). Assets ship inside ``chalicelib/``
so ``chalice package`` includes them; only the files listed here are served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.common import handles_errors
from chalicelib.errors import NotFound
from chalicelib.lazy import lazy_import

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


def page_headers() -> dict[str, Any]:
    """The page's headers: the same strict CSP, whose ``connect-src`` also names the raw bucket's
    origin, the one place the browser posts reply attachments to (pre-signed POST)."""
    csp = CSP.replace("connect-src 'self'", f"connect-src 'self' {files.upload_origin()}")
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp}


@cache
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@bp.route("/console", methods=["GET"])
@handles_errors
def console_page() -> Response:
    """The console's single page (shows a login form until a valid token is entered)."""
    return Response(body=_read("index.html"), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
                             **page_headers()})


@bp.route("/console/static/{name}", methods=["GET"])
@handles_errors
def console_asset(name: str) -> Response:
    """One of the console's static files (a fixed list; anything else is 404)."""
    if name not in ASSETS:
        raise NotFound(f"no asset {name!r}")
    return Response(body=_read(name), status_code=200,
                    headers={"Content-Type": ASSETS[name], "Cache-Control": "public, max-age=300",
                             **SECURITY_HEADERS})

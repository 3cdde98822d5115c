"""The console's page and assets are served by the app (no CDN), with a strict content policy."""

from __future__ import annotations

import hashlib
import re

from chalicelib.api.console import ASSETS, STATIC


def test_page_and_assets_are_served_with_a_content_security_policy(client):
    page = client.http.get("/console")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.body.decode()
    assert 'src="console/static/chart.umd.min.js"' in html
    assert '<script type="module" src="console/static/main.js">' in html
    assert "<script>" not in html and "http" not in html.replace("http-equiv", "")  # nothing inline or remote
    for name, content_type in ASSETS.items():
        resp = client.http.get(f"/console/static/{name}")
        assert resp.status_code == 200 and resp.headers["Content-Type"] == content_type, name
    assert client.http.get("/console/static/VENDORED.md").status_code == 404
    assert client.http.get("/console/static/..%2Fapi").status_code == 404


def test_vendored_chart_js_is_the_recorded_release():
    recorded = (STATIC / "VENDORED.md").read_text()
    digest = hashlib.sha256((STATIC / "chart.umd.min.js").read_bytes()).hexdigest()
    assert digest in recorded
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", (STATIC / "chart.umd.min.js").read_text()[:200]).group(1)
    assert f"| {version} |" in recorded
    assert "MIT" in (STATIC / "chart.js-LICENSE.md").read_text()


def test_console_modules_never_insert_api_text_as_html_and_stay_small():
    modules = {p.name: p.read_text() for p in STATIC.glob("*.js") if p.name != "chart.umd.min.js"}
    assert {"main.js", "api.js", "i18n.js", "i18n-ja.js", "i18n-en.js", "state.js", "queue.js", "ticket.js",
            "reply.js", "customer.js", "agents-page.js", "reports.js", "sla.js"} <= set(modules)
    for name, script in modules.items():
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script, name
        assert "localStorage.setItem(TOKEN" not in script, name
        assert len(script.splitlines()) < 400, f"{name}: a module stays a few hundred lines"
    assert "sessionStorage" in modules["api.js"]
    for name in modules:
        assert name in ASSETS, f"{name} is served"

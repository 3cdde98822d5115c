"""Through the real app, ``get_settings()`` is called dozens of times per ingest and builds once (issue 15)."""

from __future__ import annotations

from chalicelib import settings
from tests.functional.conftest import form_json, sample_form


def test_one_form_ingest_builds_the_settings_once(client):
    assert client.http.post("/webhooks/form", **form_json(sample_form())).status_code in (200, 201)  # warm
    settings.reset()
    resp = client.http.post("/webhooks/form", **form_json(sample_form(subject="別件の問い合わせ")))
    assert resp.status_code in (200, 201), resp.body
    calls, builds = settings.calls, settings.builds
    print(f"get_settings() calls per form ingest: {calls}, Settings built: {builds}")
    assert builds == 1, builds  # was one Settings (9 environment reads) per call
    assert calls >= 20  # called all along the path: why it must be cheap

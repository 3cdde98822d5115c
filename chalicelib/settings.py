"""Environment -> settings. Read lazily on each call, never at import time.

Chalice applies a stage's ``environment_variables`` only while a request (or
event) is handled, so nothing may read the environment at import.

``get_settings()`` is called many times per request (about 94 per ingest), so
the ``Settings`` object is cached, keyed on the raw values of the environment
variables it is built from: a changed variable (a test's ``monkeypatch.setenv``,
a stage applied by Chalice) gives new settings on the next call, with no reset
needed. ``reset()`` empties the cache anyway (tests that count builds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parents[1]
"""Directory holding app.py, chalicelib/, rules/ and plugins/ (also in the Lambda zip)."""

ENV_NAMES = ("HELPDESK_TABLE", "HELPDESK_RAW_BUCKET", "AWS_REGION", "AWS_DEFAULT_REGION", "HELPDESK_RULES_DIR",
             "HELPDESK_DUE_SHARDS", "HELPDESK_AUTH_MODE", "HELPDESK_PUBLIC_BASE_URL", "HELPDESK_SWEEP_WORKERS",
             "HELPDESK_COGNITO_AGENT_CLAIM")
"""Every environment variable ``Settings`` is built from (the cache key)."""
DEFAULT_SWEEP_WORKERS = 10


@dataclass(frozen=True)
class Settings:
    """Service settings for one stage."""

    table_name: str
    raw_bucket: str
    region: str
    rules_dir: Path
    due_shards: int
    auth_mode: str
    public_base_url: str
    sweep_workers: int = DEFAULT_SWEEP_WORKERS
    cognito_agent_claim: str = "email"


_cache: dict[tuple[str | None, ...], Settings] = {}
builds = 0
"""How many ``Settings`` were built since start (or ``reset()``): tests assert the cache works."""
calls = 0
"""How many times ``get_settings()`` was called since start (or ``reset()``)."""


def _build() -> Settings:
    global builds
    builds += 1
    env = os.environ
    return Settings(
        table_name=env.get("HELPDESK_TABLE", "helpdesk"),
        raw_bucket=env.get("HELPDESK_RAW_BUCKET", "helpdesk-raw"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-northeast-1",
        rules_dir=Path(env.get("HELPDESK_RULES_DIR") or APP_ROOT / "rules"),
        due_shards=int(env.get("HELPDESK_DUE_SHARDS", "8")),
        auth_mode=env.get("HELPDESK_AUTH_MODE", "token"),
        public_base_url=env.get("HELPDESK_PUBLIC_BASE_URL", "").rstrip("/"),
        sweep_workers=max(1, int(env.get("HELPDESK_SWEEP_WORKERS") or DEFAULT_SWEEP_WORKERS)),
        cognito_agent_claim=env.get("HELPDESK_COGNITO_AGENT_CLAIM") or "email",
    )


def get_settings() -> Settings:
    """The settings of the current environment (cached per set of environment values; call when needed)."""
    global calls
    calls += 1
    get = os.environ.get
    raw = tuple(get(name) for name in ENV_NAMES)
    settings = _cache.get(raw)
    if settings is None:
        if len(_cache) > 64:  # environments come and go in tests; never grow without bound
            _cache.clear()
        settings = _cache[raw] = _build()
    return settings


def reset() -> None:
    """Forget the cached settings (and the build count)."""
    global builds, calls
    _cache.clear()
    builds = calls = 0

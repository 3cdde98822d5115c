"""Environment -> settings. Read lazily on each call, never at import time.

Chalice applies a stage's ``environment_variables`` only while a request (or
event) is handled, so nothing may read the environment at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parents[1]
"""Directory holding app.py, chalicelib/, rules/ and plugins/ (also in the Lambda zip)."""


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


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call when needed)."""
    env = os.environ
    return Settings(
        table_name=env.get("HELPDESK_TABLE", "helpdesk"),
        raw_bucket=env.get("HELPDESK_RAW_BUCKET", "helpdesk-raw"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-northeast-1",
        rules_dir=Path(env.get("HELPDESK_RULES_DIR") or APP_ROOT / "rules"),
        due_shards=int(env.get("HELPDESK_DUE_SHARDS", "8")),
        auth_mode=env.get("HELPDESK_AUTH_MODE", "token"),
        public_base_url=env.get("HELPDESK_PUBLIC_BASE_URL", "").rstrip("/"),
    )

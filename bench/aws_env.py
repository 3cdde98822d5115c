"""Fake AWS settings for benchmarks (as the tests set them): never a real endpoint or account."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = "ap-northeast-1"


def fake_aws_env(**extra: str) -> dict[str, str]:
    """Fake credentials, no endpoint override, the stage's table/bucket names, plus ``extra``; returns them."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    stage = json.loads((ROOT / ".chalice" / "config.json").read_text())["environment_variables"]
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "HELPDESK_TABLE": stage["HELPDESK_TABLE"],
        "HELPDESK_RAW_BUCKET": stage["HELPDESK_RAW_BUCKET"],
        "HELPDESK_DUE_SHARDS": stage.get("HELPDESK_DUE_SHARDS", "8"),
        **extra,
    }
    os.environ.update(env)
    return env

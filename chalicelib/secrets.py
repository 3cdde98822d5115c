"""Secrets for webhook verification: from the environment, or from SSM Parameter Store.

A secret named ``FORM_WEBHOOK_SECRET`` is read from the environment variable of
that name (local runs and tests), else from the SecureString parameter named by
``FORM_WEBHOOK_SECRET_PARAM`` (deployments: nothing secret is committed).
"""

from __future__ import annotations

import os
import time

_CACHE: dict[str, tuple[float, str | None]] = {}
_TTL_S = 300.0


def get_secret(name: str) -> str | None:
    """Return the secret ``name`` or None when it is not configured."""
    value = os.environ.get(name)
    if value:
        return value
    param = os.environ.get(f"{name}_PARAM")
    if not param:
        return None
    cached = _CACHE.get(param)
    if cached and time.monotonic() - cached[0] < _TTL_S:
        return cached[1]
    import boto3  # deferred: only deployments use SSM

    resp = boto3.client("ssm").get_parameter(Name=param, WithDecryption=True)
    secret = resp["Parameter"]["Value"]
    _CACHE[param] = (time.monotonic(), secret)
    return secret

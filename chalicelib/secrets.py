"""Secrets for webhook verification and providers: from the environment, Secrets Manager or SSM.

A secret named ``FORM_WEBHOOK_SECRET`` is read, in order, from

1. the environment variable of that name (local runs and tests);
2. the Secrets Manager secret named by ``FORM_WEBHOOK_SECRET_SECRET_ID`` (the package template
   creates one per secret and stage, ``helpdesk/<stage>/form-webhook-secret``, and sets these);
3. the SSM SecureString parameter named by ``FORM_WEBHOOK_SECRET_PARAM`` (if you keep secrets there).

Values are cached for 5 minutes per container, so a rotated secret is picked up without a deploy.
"""

from __future__ import annotations

import os
import time

_CACHE: dict[str, tuple[float, str | None]] = {}
_TTL_S = 300.0


def _cached(key: str, fetch: object) -> str | None:
    cached = _CACHE.get(key)
    if cached and time.monotonic() - cached[0] < _TTL_S:
        return cached[1]
    value = fetch()  # type: ignore[operator]
    _CACHE[key] = (time.monotonic(), value)
    return value


def get_secret(name: str) -> str | None:
    """Return the secret ``name`` or None when it is not configured."""
    value = os.environ.get(name)
    if value:
        return value
    secret_id = os.environ.get(f"{name}_SECRET_ID")
    if secret_id:
        from chalicelib import aws  # deferred: only deployments use Secrets Manager
        from chalicelib.settings import get_settings

        return _cached(f"sm:{secret_id}", lambda: aws.client("secretsmanager", get_settings().region).get_secret_value(
            SecretId=secret_id).get("SecretString"))
    param = os.environ.get(f"{name}_PARAM")
    if not param:
        return None
    from chalicelib import aws  # deferred: only deployments use SSM
    from chalicelib.settings import get_settings

    return _cached(f"ssm:{param}", lambda: aws.client("ssm", get_settings().region).get_parameter(
        Name=param, WithDecryption=True)["Parameter"]["Value"])


def clear_cache() -> None:
    """Forget cached values (tests; after rotating a secret by hand)."""
    _CACHE.clear()

"""Secrets for webhook verification and providers: from the environment, Secrets Manager or SSM.

A secret named ``FORM_WEBHOOK_SECRET`` is read, in order, from

1. the environment variable of that name (local runs and tests);
2. the Secrets Manager secret named by ``FORM_WEBHOOK_SECRET_SECRET_ID`` (the package template
   creates one per secret and stage, ``helpdesk/<stage>/form-webhook-secret``, and sets these);
3. the SSM SecureString parameter named by ``FORM_WEBHOOK_SECRET_PARAM`` (if you keep secrets there).

Values are cached for 5 minutes per container, so a rotated secret is picked up without a deploy.
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger(__name__)
_CACHE: dict[str, tuple[float, str | None]] = {}
_TTL_S = 300.0


def _cached(key: str, fetch: object) -> str | None:
    cached = _CACHE.get(key)
    if cached and time.monotonic() - cached[0] < _TTL_S:
        return cached[1]
    value = fetch()  # type: ignore[operator]
    if value is not None:  # an unreadable secret is asked again next time, not remembered as missing
        _CACHE[key] = (time.monotonic(), value)
    return value


def get_secret(name: str) -> str | None:
    """Return the secret ``name`` or None when it is not configured (or its store cannot be read)."""
    value = os.environ.get(name)
    if value:
        return value
    secret_id = os.environ.get(f"{name}_SECRET_ID")
    param = os.environ.get(f"{name}_PARAM")
    if not secret_id and not param:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib import aws  # deferred: only deployments read a secret store
    from chalicelib.settings import get_settings

    def fetch() -> str | None:
        try:
            if secret_id:
                client = aws.client("secretsmanager", get_settings().region)
                return client.get_secret_value(SecretId=secret_id).get("SecretString")
            client = aws.client("ssm", get_settings().region)
            return client.get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
        except (ClientError, BotoCoreError) as exc:  # missing or unreadable: not configured (callers answer 401)
            log.error("secret %s (%s) cannot be read: %s", name, secret_id or param, exc)
            return None

    return _cached(f"sm:{secret_id}" if secret_id else f"ssm:{param}", fetch)


def clear_cache() -> None:
    """Forget cached values (tests; after rotating a secret by hand)."""
    _CACHE.clear()

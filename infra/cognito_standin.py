"""API Gateway's Cognito authorizer, locally: ``HELPDESK_AUTH_MODE=cognito make run``.

In AWS the REST API's ``cognito_user_pools`` authorizer (``infra/template_cognito.py``) verifies
the ``Authorization`` header's ID token on every agent route before the function runs, and the
function only reads the verified claims from ``requestContext.authorizer.claims``. ``make run``
has no API Gateway, so this module does the same in front of the local app:

- ``create_local_pool`` makes a user pool (e-mail as the user name, as the template's) and a
  public app client in the stack's moto, unless ``HELPDESK_LOCAL_COGNITO_POOL_ID`` names one;
- ``CognitoAuthorizer`` checks the token as API Gateway does: RS256 signature against the pool's
  JWKS (fetched from moto's ``/<pool>/.well-known/jwks.json``), issuer, expiry, and for ID tokens
  the audience = an app client of the pool. A failure answers 401 ``{"message":"Unauthorized"}``
  before the app runs, like API Gateway; a valid token puts its claims, every value a string as
  API Gateway passes them, into the request context.

Local only (``infra/`` is not in the Lambda zip). Routes without agent authentication
(webhooks, the console page, ``/openapi.json``) are not checked, as in the template.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# moto serves the JWKS only to requests it can tell are for cognito-idp (see moto's docs).
MOTO_COGNITO_HEADER = ("AWS4-HMAC-SHA256 Credential=local/20260101/{region}/cognito-idp/aws4_request, "
                       "SignedHeaders=host, Signature=local")
JWKS_TTL_S = 300.0


def create_local_pool(cognito: Any, stage: str) -> tuple[str, str]:
    """A user pool like the template's and a public (no secret) app client in moto; (pool id, client id)."""
    pool = cognito.create_user_pool(
        PoolName=f"helpdesk-{stage}-agents", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="console", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email", "profile"],
        AllowedOAuthFlowsUserPoolClient=True, SupportedIdentityProviders=["COGNITO"],
        ReadAttributes=["email", "email_verified", "name"], WriteAttributes=["name"],
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


class CognitoAuthorizer:
    """Verifies Cognito JWTs for the agent routes of a Chalice app, as API Gateway's authorizer does."""

    def __init__(self, app: Any, *, issuer: str, jwks_url: str, client_ids: list[str], region: str) -> None:
        from chalice.local import LocalGatewayAuthorizer

        from chalicelib.api.openapi import needs_agent

        self._issuer = issuer
        self._jwks_url = jwks_url
        self._client_ids = set(client_ids)
        self._region = region
        self._keys: tuple[float, KeySet] | None = None
        self._lock = threading.Lock()
        self._inner = LocalGatewayAuthorizer(app)
        self._guarded = {(path, method) for path, methods in app.routes.items()
                         for method, entry in methods.items() if needs_agent(entry.view_function)}

    def _key_set(self) -> KeySet:
        with self._lock:
            if self._keys is None or self._keys[0] < time.monotonic():
                request = urllib.request.Request(
                    self._jwks_url, headers={"Authorization": MOTO_COGNITO_HEADER.format(region=self._region)})
                with urllib.request.urlopen(request, timeout=10) as resp:
                    self._keys = (time.monotonic() + JWKS_TTL_S, KeySet.import_key_set(json.loads(resp.read())))
            return self._keys[1]

    def claims(self, header: str | None) -> dict[str, str] | None:
        """The verified claims of ``Authorization: <jwt>`` (with or without ``Bearer``), or None."""
        if not header:
            return None
        token = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header
        try:
            decoded = jwt.decode(token.strip(), self._key_set(), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(iss={"essential": True, "value": self._issuer},
                                  exp={"essential": True}).validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            return None
        claims = decoded.claims
        client = claims.get("aud") if claims.get("token_use") == "id" else claims.get("client_id")
        if claims.get("token_use") not in ("id", "access") or client not in self._client_ids:
            return None
        # API Gateway hands claims to the function as strings (lists as "[a b]", booleans "true").
        return {k: v if isinstance(v, str) else
                ("[" + " ".join(map(str, v)) + "]" if isinstance(v, list) else json.dumps(v))
                for k, v in claims.items()}

    def authorize(self, raw_path: str, lambda_event: dict[str, Any], lambda_context: Any) -> tuple[Any, Any]:
        """Chalice ``LocalGatewayAuthorizer`` interface: 401 or the event with the claims in its context."""
        from chalice.local import NotAuthorizedError

        route = lambda_event["requestContext"].get("resourcePath")
        method = lambda_event["requestContext"]["httpMethod"]
        if (route, method) not in self._guarded:
            return self._inner.authorize(raw_path, lambda_event, lambda_context)
        claims = self.claims((lambda_event.get("headers") or {}).get("authorization"))
        if claims is None:
            raise NotAuthorizedError({"x-amzn-RequestId": lambda_context.aws_request_id,
                                      "x-amzn-ErrorType": "UnauthorizedException"}, b'{"message":"Unauthorized"}')
        lambda_event["requestContext"]["authorizer"] = {"claims": claims}
        return lambda_event, lambda_context


def from_environment(app: Any, environ: Any, region: str, stage: str) -> tuple[CognitoAuthorizer | None, str]:
    """The local authorizer when ``HELPDESK_AUTH_MODE=cognito`` (else None) and a banner line.

    Creates the local pool unless ``HELPDESK_LOCAL_COGNITO_POOL_ID`` is given; sets
    ``HELPDESK_COGNITO_CLIENT_ID`` (the console's app client) when not given. Needs
    ``AWS_ENDPOINT_URL`` (the stack's moto)."""
    if environ.get("HELPDESK_AUTH_MODE") != "cognito":
        return None, ""
    import boto3

    cognito = boto3.client("cognito-idp", region_name=region)
    pool_id = environ.get("HELPDESK_LOCAL_COGNITO_POOL_ID")
    if pool_id:
        client_id = environ.get("HELPDESK_COGNITO_CLIENT_ID") or \
            cognito.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"][0]["ClientId"]
    else:
        pool_id, client_id = create_local_pool(cognito, stage)
    environ.setdefault("HELPDESK_COGNITO_CLIENT_ID", client_id)
    clients = [c["ClientId"] for c in cognito.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"]]
    authorizer = CognitoAuthorizer(
        app, issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        jwks_url=f"{environ['AWS_ENDPOINT_URL'].rstrip('/')}/{pool_id}/.well-known/jwks.json",
        client_ids=clients, region=region)
    claim = environ.get("HELPDESK_COGNITO_AGENT_CLAIM") or "email"
    domain = environ.get("HELPDESK_COGNITO_DOMAIN") or "(HELPDESK_COGNITO_DOMAIN unset: no hosted UI)"
    return authorizer, (f"cognito        pool {pool_id}, app client {client_id}, agents found by the "
                        f"{claim!r} claim; hosted UI {domain}")

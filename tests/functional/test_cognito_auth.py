"""Cognito mode as deployed: ID tokens issued by a user pool (moto's cognito-idp, ``admin_initiate_auth``),
verified against the pool's JWKS in front of the app (``infra.cognito_standin``, what API Gateway's
authorizer does in AWS), and the agent found by the documented claim.

The stack test goes through the real HTTP stack ``make run`` starts, with
``HELPDESK_AUTH_MODE=cognito``; the claim-selection tests call ``cognito_agent`` with claims as
API Gateway passes them.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
import requests

from tests.functional import cognito_kit
from tests.functional.stack_kit import Stack, add_agents, running_stack


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(HELPDESK_AUTH_MODE="cognito") as s:
        add_agents(s, ["sato", "gone", "stranger-agent"])
        add_agents(s, ["boss"], role="supervisor")
        yield s


def test_an_id_token_of_the_pool_signs_in_the_agent_with_that_email_and_role(stack: Stack) -> None:
    sato = cognito_kit.sign_in(stack.moto_url, "sato@example.com")["IdToken"]
    boss = cognito_kit.sign_in(stack.moto_url, "boss@example.com")["IdToken"]
    claims = json.loads(base64.urlsafe_b64decode(sato.split(".")[1] + "=="))
    assert claims["email"] == "sato@example.com" and claims["token_use"] == "id"

    me = requests.get(f"{stack.url}/me", headers=bearer(sato), timeout=30)
    assert me.status_code == 200, me.text
    assert (me.json()["id"], me.json()["role"]) == ("sato", "agent")
    me = requests.get(f"{stack.url}/me", headers=bearer(boss), timeout=30).json()
    assert (me["id"], me["role"]) == ("boss", "supervisor")

    # The role comes from the agent record: only the supervisor sees contact details and may disable.
    listed = requests.get(f"{stack.url}/agents", headers=bearer(sato), timeout=30).json()["agents"]
    assert all("email" not in a for a in listed)
    listed = requests.get(f"{stack.url}/agents", headers=bearer(boss), timeout=30).json()["agents"]
    assert {a["id"]: a["email"] for a in listed}["sato"] == "sato@example.com"
    refused = requests.patch(f"{stack.url}/agents/gone", headers=bearer(sato), json={"disabled": True}, timeout=30)
    assert refused.status_code == 403, refused.text
    done = requests.patch(f"{stack.url}/agents/gone", headers=bearer(boss), json={"disabled": True}, timeout=30)
    assert done.status_code == 200, done.text


def test_a_disabled_or_unknown_user_and_a_bad_token_are_refused(stack: Stack) -> None:
    boss = cognito_kit.sign_in(stack.moto_url, "boss@example.com")["IdToken"]
    done = requests.patch(f"{stack.url}/agents/gone", headers=bearer(boss), json={"disabled": True}, timeout=30)
    assert done.status_code == 200 and done.json()["disabled"] is True, done.text
    gone = cognito_kit.sign_in(stack.moto_url, "gone@example.com")
    answer = requests.get(f"{stack.url}/me", headers=bearer(gone["IdToken"]), timeout=30)
    assert answer.status_code == 401 and "no enabled agent" in answer.json()["message"]

    # A Cognito user without an agent record.
    nobody = cognito_kit.sign_in(stack.moto_url, "nobody@example.com")["IdToken"]
    answer = requests.get(f"{stack.url}/me", headers=bearer(nobody), timeout=30)
    assert answer.status_code == 401 and "nobody@example.com" in answer.json()["message"]

    access = requests.get(f"{stack.url}/me", headers=bearer(gone["AccessToken"]), timeout=30)
    assert access.status_code == 401  # verified, but an access token carries no e-mail: send the ID token

    sato = cognito_kit.sign_in(stack.moto_url, "stranger-agent@example.com")["IdToken"]
    head, body, sig = sato.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged["email"] = "boss@example.com"
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    expired = dict(forged, email="stranger-agent@example.com", exp=int(time.time()) - 10)
    expired_body = base64.urlsafe_b64encode(json.dumps(expired).encode()).rstrip(b"=").decode()
    for token in (f"{head}.{forged_body}.{sig}",      # claims changed: the signature no longer matches
                  f"{head}.{expired_body}.{sig}",     # expired (and re-encoded)
                  stack.token,                        # an API token is no JWT in Cognito mode
                  "", sato[:-4] + "AAAA"):            # missing, truncated signature
        answer = requests.get(f"{stack.url}/tickets", headers=bearer(token) if token else {}, timeout=30)
        assert answer.status_code == 401, (token[:20], answer.text)
        assert answer.json() == {"message": "Unauthorized"}  # API Gateway's answer: the app never ran
    assert requests.get(f"{stack.url}/me", headers=bearer(sato), timeout=30).status_code == 200
    # Routes without agent authentication are not behind the authorizer.
    assert requests.get(f"{stack.url}/openapi.json", timeout=30).status_code == 200


@pytest.fixture
def claim_env(agents, monkeypatch: pytest.MonkeyPatch):
    from chalicelib.store import auth

    monkeypatch.setenv("HELPDESK_AUTH_MODE", "cognito")
    monkeypatch.setenv("HELPDESK_AUTH_CACHE_TTL_S", "0")
    auth.forget()
    return monkeypatch


def test_the_agent_claim_is_configurable_and_has_no_fallback(claim_env) -> None:
    from chalicelib.api.common import cognito_agent
    from chalicelib.errors import Unauthorized
    from chalicelib.store import agents as store

    assert cognito_agent({"email": "SATO@example.com", "email_verified": "true",
                          "token_use": "id"}).agent_id == "sato"
    with pytest.raises(Unauthorized, match="'email' claim"):
        cognito_agent({"cognito:username": "sato", "token_use": "id"})  # no silent fallback
    with pytest.raises(Unauthorized, match="not verified"):
        cognito_agent({"email": "sato@example.com", "email_verified": "false"})
    store.upsert_agent("sato2", name="Sato Two", email="sato@example.com")
    with pytest.raises(Unauthorized):  # two agents share the address: nobody is signed in by it
        cognito_agent({"email": "sato@example.com"})

    claim_env.setenv("HELPDESK_COGNITO_AGENT_CLAIM", "custom:agent_id")
    assert cognito_agent({"custom:agent_id": "tanaka", "email": "sato@example.com"}).agent_id == "tanaka"
    with pytest.raises(Unauthorized, match="'custom:agent_id' claim"):
        cognito_agent({"email": "tanaka@example.com"})
    claim_env.setenv("HELPDESK_COGNITO_AGENT_CLAIM", "cognito:username")
    assert cognito_agent({"cognito:username": "tanaka"}).agent_id == "tanaka"


def test_the_console_page_tells_the_script_how_to_sign_in(client, monkeypatch: pytest.MonkeyPatch) -> None:
    import html
    import re

    import boto3

    from chalicelib import secrets

    page = client.http.get("/console")
    assert '<meta name="helpdesk-auth" content="{&quot;mode&quot;:&quot;token&quot;}">' in page.body.decode()
    token_csp = page.headers["Content-Security-Policy"]
    assert "amazoncognito" not in token_csp

    # Deployed: the client id comes from the stack's SSM parameter (the function cannot refer to the client).
    boto3.client("ssm", region_name="ap-northeast-1").put_parameter(
        Name="/helpdesk/prod/cognito-client-id", Value="5abc123client", Type="String")
    secrets.clear_cache()
    domain = "https://helpdesk-prod-123456789012.auth.ap-northeast-1.amazoncognito.com"
    monkeypatch.setenv("HELPDESK_AUTH_MODE", "cognito")
    monkeypatch.setenv("HELPDESK_COGNITO_DOMAIN", domain + "/")
    monkeypatch.setenv("HELPDESK_COGNITO_CLIENT_ID_PARAM", "/helpdesk/prod/cognito-client-id")
    page = client.http.get("/console")
    meta = re.search(r'<meta name="helpdesk-auth" content="([^"]*)">', page.body.decode()).group(1)
    assert json.loads(html.unescape(meta)) == {"mode": "cognito", "domain": domain, "client_id": "5abc123client"}
    csp = page.headers["Content-Security-Policy"]
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src "))
    assert connect == next(d for d in token_csp.split("; ") if d.startswith("connect-src ")) + " " + domain
    assert csp.replace(" " + domain, "") == token_csp  # nothing else loosened

"""Console sign-in through Cognito's hosted UI, in a real browser (Debian's Chromium), in Japanese and English.

The real local stack runs in Cognito mode (``HELPDESK_AUTH_MODE=cognito``: a user pool in its moto,
ID tokens verified against the pool's JWKS in front of the app as API Gateway's authorizer does);
``cognito_kit.FakeHostedUi`` plays the hosted UI (authorize, sign-in form, token endpoint with PKCE,
logout) over that pool, so the tokens are moto's. The agent clicks "sign in", signs in on the hosted
UI, lands back in the console with the code exchanged (authorization code + PKCE S256), works with
the ID token, and logs out of both. A Cognito user who is no agent, and a forged callback, are refused.

Screenshots go to ``test-artifacts/console-cognito/``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional import cognito_kit
from tests.functional.browser_kit import ARTIFACTS as ALL_ARTIFACTS
from tests.functional.browser_kit import BrowserPage, browser_stack
from tests.functional.stack_kit import Stack, add_agents

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

ARTIFACTS = ALL_ARTIFACTS / "console-cognito"
TEXT = {
    "ja": {"button": "Cognito でログイン", "form": "パスワード", "bad_password": "パスワードが違います",
           "no_agent": "有効な担当者として登録されていません", "failed": "ログインが完了しませんでした",
           },
    "en": {"button": "Sign in with Cognito", "form": "Password", "bad_password": "Incorrect username or password",
           "no_agent": "not an enabled agent", "failed": "Sign-in did not complete"},
}


@pytest.fixture(scope="module")
def hosted_ui() -> Iterator[cognito_kit.FakeHostedUi]:
    ui = cognito_kit.FakeHostedUi()
    yield ui
    ui.stop()


@pytest.fixture(scope="module")
def stack(hosted_ui: cognito_kit.FakeHostedUi) -> Iterator[Stack]:
    with browser_stack(HELPDESK_AUTH_MODE="cognito", HELPDESK_COGNITO_DOMAIN=hosted_ui.url) as running:
        hosted_ui.start(running.moto_url, callbacks=[f"{running.url}/console"])
        add_agents(running, ["sato", "kato"])
        for who in ("sato", "kato", "outsider"):
            cognito_kit.create_user(running.moto_url, f"{who}@example.com")
        yield running


def _sign_in_on_hosted_ui(page: Any, ui: cognito_kit.FakeHostedUi, email: str, password: str) -> None:
    page.wait_for_url(f"{ui.url}/oauth2/authorize?*")
    page.fill("#username", email)
    page.fill("#password", password)
    page.click("#signin")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_console_signs_in_through_the_hosted_ui_with_pkce_and_logs_out(stack, browser, hosted_ui, lang) -> None:
    tx = TEXT[lang]
    s = BrowserPage(browser, lang, ARTIFACTS, ignore_console="401")  # signed out, the console's calls are 401s
    page = s.page
    console = f"{stack.url}/console"

    page.goto(console + "#/view/all")
    page.wait_for_selector("#sso-button")
    assert page.is_hidden("#login-form")  # no token field in Cognito mode
    assert page.inner_text("#sso-button") == tx["button"]
    s.shot("sign-in-button")

    # 1. To the hosted UI: authorization code with an S256 challenge, in the console's language.
    page.click("#sso-button")
    page.wait_for_url(f"{hosted_ui.url}/oauth2/authorize?*")
    asked = hosted_ui.requests[-1][2]
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
    assert asked["lang"] == [lang] and asked["redirect_uri"] == [console]
    _sign_in_on_hosted_ui(page, hosted_ui, "sato@example.com", "wrong-password-1A")
    page.wait_for_selector("#error:not(:empty)")
    assert tx["bad_password"] in page.inner_text("#error")
    s.shot("hosted-ui-wrong-password")
    page.fill("#username", "sato@example.com")
    page.fill("#password", cognito_kit.PASSWORD)
    page.click("#signin")

    # 2. Back in the console: the code was exchanged with the verifier; the ID token works on the API.
    page.wait_for_selector("#nav-all")
    assert page.inner_text("#whoami") == "sato"
    assert "code=" not in page.url and page.url.endswith("#/view/all")  # back where the agent was
    exchange = [p for m, path, p in hosted_ui.requests if path == "/oauth2/token"][-1]
    assert exchange["grant_type"] == ["authorization_code"] and len(exchange["code_verifier"][0]) == 43
    stored = page.evaluate("() => Object.assign({}, sessionStorage)")
    assert not any(k.startswith("helpdesk.pkce.") for k in stored), stored  # verifier and state are gone
    claims = json.loads(base64.urlsafe_b64decode(stored["helpdesk.token"].split(".")[1] + "=="))
    assert (claims["email"], claims["token_use"]) == ("sato@example.com", "id")
    csp = requests.get(console, timeout=30).headers["Content-Security-Policy"]
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src ")).split()
    assert connect[:2] == ["connect-src", "'self'"] and connect[-1] == hosted_ui.url and "script-src 'self';" in csp
    s.shot("signed-in")

    # 3. Log out of the console and the hosted UI: back to the sign-in button, no token kept.
    page.click("#logout")
    page.wait_for_url(console)
    page.wait_for_selector("#sso-button")
    assert hosted_ui.paths()[-1] == "/logout"
    assert page.evaluate("() => sessionStorage.getItem('helpdesk.token')") is None
    assert page.is_hidden("#logout") and page.is_hidden("#nav")
    s.shot("logged-out")

    # 4. A Cognito user who is no agent signs in at the hosted UI but not into the console.
    page.click("#sso-button")
    _sign_in_on_hosted_ui(page, hosted_ui, "outsider@example.com", cognito_kit.PASSWORD)
    page.wait_for_selector("#login-error:not(:empty)")
    assert tx["no_agent"] in page.inner_text("#login-error") and page.is_hidden("#nav")
    s.shot("not-an-agent")

    # 5. A callback the console did not start (forged or replayed state) exchanges nothing.
    exchanges = hosted_ui.paths().count("/oauth2/token")
    page.goto(console + "?code=stolen&state=forged")
    page.wait_for_selector("#login-error:not(:empty)")
    assert tx["failed"] in page.inner_text("#login-error")
    assert hosted_ui.paths().count("/oauth2/token") == exchanges and "code=" not in page.url
    s.shot("forged-callback")
    assert not s.errors, s.errors
    s.context.close()


def test_the_token_endpoint_refuses_a_wrong_verifier_and_a_reused_code(stack, hosted_ui) -> None:
    """The stand-in enforces PKCE as Cognito does (else the browser test above would prove nothing)."""
    form = {"response_type": "code", "client_id": cognito_kit.pool_and_client(stack.moto_url)[1],
            "redirect_uri": f"{stack.url}/console", "state": "s", "code_challenge_method": "S256",
            "code_challenge": base64.urlsafe_b64encode(__import__("hashlib").sha256(b"v" * 43).digest())
            .rstrip(b"=").decode(), "username": "sato@example.com", "password": cognito_kit.PASSWORD}
    for verifier, expected in (("w" * 43, 400), ("v" * 43, 200)):
        login = requests.post(f"{hosted_ui.url}/login", data=form, allow_redirects=False, timeout=30)
        code = login.headers["Location"].split("code=")[1].split("&")[0]
        token = {"grant_type": "authorization_code", "client_id": form["client_id"], "code": code,
                 "redirect_uri": form["redirect_uri"], "code_verifier": verifier}
        assert requests.post(f"{hosted_ui.url}/oauth2/token", data=token, timeout=30).status_code == expected
        assert requests.post(f"{hosted_ui.url}/oauth2/token", data=token, timeout=30).status_code == 400  # used
    Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)

"""Cognito for tests: users in the stack's moto user pool, and a small stand-in of the hosted UI.

``FakeHostedUi`` serves what the console uses of Cognito's hosted UI, with its rules:

- ``GET /oauth2/authorize``: only ``response_type=code`` with a PKCE ``S256`` challenge, the pool's
  app client and a registered ``redirect_uri``; shows a sign-in form (Japanese or English by ``lang``);
- ``POST /login``: signs the user in against moto's pool (``admin_initiate_auth``: moto issues and
  signs the tokens) and redirects to ``redirect_uri?code=...&state=...``;
- ``POST /oauth2/token``: ``grant_type=authorization_code``; the code is single use and the
  ``code_verifier`` must hash to the challenge; answers the pool's tokens (CORS, as Cognito does);
- ``GET /logout``: only a registered ``logout_uri``; redirects there.

Every request is recorded (``requests``) for the test to assert on.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3

PASSWORD = "Correct-Horse-9-battery"
REGION = "ap-northeast-1"


def cognito(moto_url: str) -> Any:
    """A cognito-idp client of the stack's moto."""
    return boto3.client("cognito-idp", region_name=REGION, endpoint_url=moto_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def pool_and_client(moto_url: str) -> tuple[str, str]:
    """The stack's user pool and its (console) app client."""
    idp = cognito(moto_url)
    pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    return pool, idp.list_user_pool_clients(UserPoolId=pool)["UserPoolClients"][0]["ClientId"]


def create_user(moto_url: str, email: str, password: str = PASSWORD) -> None:
    """A confirmed user with a verified e-mail, as an administrator creates agents' accounts."""
    idp = cognito(moto_url)
    pool, _ = pool_and_client(moto_url)
    try:
        idp.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email},
                                              {"Name": "email_verified", "Value": "true"}])
    except idp.exceptions.UsernameExistsException:
        return
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)


def sign_in(moto_url: str, email: str, password: str = PASSWORD) -> dict[str, str]:
    """The pool's tokens for the user (created when missing): ``IdToken``, ``AccessToken``, ..."""
    create_user(moto_url, email, password)
    pool, client = pool_and_client(moto_url)
    result = cognito(moto_url).admin_initiate_auth(
        UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password})
    return result["AuthenticationResult"]


FORM = {"ja": ("サインイン", "メールアドレス", "パスワード", "サインイン", "メールアドレスまたはパスワードが違います"),
        "en": ("Sign in", "Email", "Password", "Sign in", "Incorrect username or password")}


class FakeHostedUi:
    """The hosted UI's authorize, login, token and logout endpoints over the stack's moto pool."""

    def __init__(self) -> None:
        self.moto_url = ""
        self.callbacks: list[str] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self, moto_url: str, callbacks: list[str]) -> None:
        self.moto_url, self.callbacks = moto_url, callbacks
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]

    # --- endpoints: (status, headers, body) ---

    def authorize(self, q: dict[str, str], error: str = "") -> tuple[int, dict[str, str], str]:
        _, client = pool_and_client(self.moto_url)
        if (q.get("response_type") != "code" or q.get("client_id") != client
                or q.get("redirect_uri") not in self.callbacks or q.get("code_challenge_method") != "S256"
                or len(q.get("code_challenge", "")) != 43 or not q.get("state")):
            return 400, {}, "invalid_request"
        title, user, password, button, bad = FORM["ja" if q.get("lang") == "ja" else "en"]
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in q.items())
        page = (f'<!doctype html><html lang="{q.get("lang", "en")}"><meta charset="utf-8">'
                f'<link rel="icon" href="data:,"><title>{title}</title>'
                f'<body><h1>{title}</h1><form method="post" action="/login">{hidden}'
                f'<label>{user} <input id="username" name="username" type="email"></label><br>'
                f'<label>{password} <input id="password" name="password" type="password"></label><br>'
                f'<p id="error">{bad if error else ""}</p><button id="signin" type="submit">{button}</button>'
                f'</form></body></html>')
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page

    def login(self, form: dict[str, str]) -> tuple[int, dict[str, str], str]:
        try:
            tokens = sign_in_existing(self.moto_url, form.get("username", ""), form.get("password", ""))
        except Exception:  # noqa: BLE001 - wrong password or unknown user: the form again
            return self.authorize({k: v for k, v in form.items() if k not in ("username", "password")}, "bad")
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = {"challenge": form["code_challenge"], "redirect_uri": form["redirect_uri"],
                                 "client_id": form["client_id"], "tokens": tokens}
        target = form["redirect_uri"] + "?" + urlencode({"code": code, "state": form["state"]})
        return 302, {"Location": target}, ""

    def token(self, form: dict[str, str], origin: str | None) -> tuple[int, dict[str, str], str]:
        cors = {"Access-Control-Allow-Origin": origin or "*", "Content-Type": "application/json"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # single use
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (form.get("grant_type") != "authorization_code" or grant is None or grant["challenge"] != digest
                or grant["redirect_uri"] != form.get("redirect_uri") or grant["client_id"] != form.get("client_id")):
            return 400, cors, json.dumps({"error": "invalid_grant"})
        t = grant["tokens"]
        return 200, cors, json.dumps({"id_token": t["IdToken"], "access_token": t["AccessToken"],
                                      "refresh_token": t["RefreshToken"], "expires_in": t["ExpiresIn"],
                                      "token_type": "Bearer"})

    def logout(self, q: dict[str, str]) -> tuple[int, dict[str, str], str]:
        _, client = pool_and_client(self.moto_url)
        if q.get("client_id") != client or q.get("logout_uri") not in self.callbacks:
            return 400, {}, "invalid_request"
        return 302, {"Location": q["logout_uri"]}, ""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ui = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, headers: dict[str, str], body: str) -> None:
                data = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                raw = parts.query
                if method == "POST":
                    raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = parse_qs(raw, keep_blank_values=True)
                ui.requests.append((method, parts.path, params))
                flat = {k: v[0] for k, v in params.items()}
                routes = {("GET", "/oauth2/authorize"): lambda: ui.authorize(flat),
                          ("POST", "/login"): lambda: ui.login(flat),
                          ("POST", "/oauth2/token"): lambda: ui.token(flat, self.headers.get("Origin")),
                          ("GET", "/logout"): lambda: ui.logout(flat)}
                route = routes.get((method, parts.path))
                self._answer(*(route() if route else (404, {}, "not found")))

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def sign_in_existing(moto_url: str, email: str, password: str) -> dict[str, str]:
    """The pool's tokens for an existing user and the right password (raises otherwise)."""
    pool, client = pool_and_client(moto_url)
    return cognito(moto_url).admin_initiate_auth(
        UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]

"""Hypothesis strategies for the route fuzz suite: a request for every route the app defines.

Each route has a valid template (signed webhook deliveries, agent calls with a valid token) that is
then mutated: keys dropped or retyped, hostile strings (CR/LF, lone surrogates, formulas, 60,000
characters, placeholders), junk JSON, raw bytes, deep nesting, huge integers; query strings and path
parameters likewise; a few requests lose their credentials. Routes the suite does not know get the
generic treatment (path parameters, query and body all generated), so a new route is fuzzed too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.functional.signing import headers_for

TOKEN, SUPERVISOR_TOKEN, ADMIN_TOKEN = "fuzz-agent-token", "fuzz-supervisor-token", "fuzz-admin-token"
NASTY = ["\r\nBcc: victim@example.org", "\ud800", "x\udfffy", "=HYPERLINK(\"http://e.example\")", "+1", "@SUM(1)",
         "●●", "{{name}}", "[#1]", "@sato", "山田 花子", "", " ", "\x00", "\t\n", "a" * 300, "長" * 60_000,
         "9" * 5000, "-1", "1e999", "NaN", "../../etc/passwd", "<script>x</script>", "%00", "#1", "sato", "c-1"]
DEEP = b"[" * 3000 + b"]" * 3000
HUGE_INT = b'{"n": ' + b"7" * 4400 + b"}"
CORPUS = ROOT.parent / "shared" / "corpus" / "email"


@dataclass
class Req:
    """One generated request."""

    route: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    webhook: str | None = None
    signed: bool = True
    notes: list[str] = field(default_factory=list)


text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
junk = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=12)


@st.composite
def mutated(draw: st.DrawFn, doc: Any, depth: int = 0) -> Any:
    """``doc`` itself or with one of its parts (recursively) dropped, retyped or made hostile."""
    kind = draw(st.sampled_from(["keep", "keep", "value", "drop", "add", "deeper", "replace"]))
    if kind == "keep" or kind == "replace" and depth > 0:
        return doc if kind == "keep" else draw(junk)
    if kind == "replace":
        return draw(junk)
    if isinstance(doc, dict) and doc:
        key = draw(st.sampled_from(sorted(doc)))
        out = dict(doc)
        if kind == "drop":
            out.pop(key)
        elif kind == "add":
            out[draw(text)] = draw(junk)
        elif kind == "deeper" and depth < 3:
            out[key] = draw(mutated(doc[key], depth + 1))
        else:
            out[key] = draw(st.one_of(junk, text))
        return out
    if isinstance(doc, list) and doc:
        i = draw(st.integers(0, len(doc) - 1))
        out = list(doc)
        out[i] = draw(mutated(doc[i], depth + 1)) if kind == "deeper" else draw(junk)
        return out if kind != "drop" else out[:i] + out[i + 1:]
    return draw(st.one_of(junk, text))


@st.composite
def json_body(draw: st.DrawFn, template: Any) -> bytes:
    """A JSON body from ``template`` (mutated), sometimes not JSON at all."""
    kind = draw(st.sampled_from(["json"] * 8 + ["bytes", "deep", "huge-int", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        return DEEP
    if kind == "huge-int":
        return HUGE_INT
    if kind == "empty":
        return b""
    doc = draw(mutated(template))
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _chat_doc(i: int) -> dict[str, Any]:
    return {"type": "message", "id": f"m{i}", "conversation_id": f"conv-{i % 3}",
            "sender": {"id": f"visitor-{i % 2}", "name": "山田 花子", "email": "hanako@example.jp"},
            "text": "クーポンが使えません", "attachments": [{"url": "https://e.example/a.png", "size": 1}]}


def _slack_doc(i: int) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T0", "event_id": f"Ev{i}",
            "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
            "event": {"type": "message", "channel": "C0", "channel_type": "channel", "user": f"U{i % 2}",
                      "text": "注文 A-1001", "ts": f"1767949200.{i:06d}", "thread_ts": "1767949200.000000",
                      "user_profile": {"real_name": "山田"}, "files": [{"name": "a.png", "size": 3}]}}


def _line_doc(i: int) -> dict[str, Any]:
    return {"destination": "U0dest", "events": [{
        "type": "message", "mode": "active", "webhookEventId": f"01W{i}", "timestamp": 1767949200000,
        "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": f"U{i % 2}"},
        "message": {"type": "text", "id": f"4{i}", "text": "配送状況を教えてください"}}]}


def _form_doc(i: int) -> dict[str, Any]:
    return {"name": "山田 花子", "email": "hanako@example.jp", "subject": f"クーポン {i % 3}",
            "body": "注文番号 A-1001 で割引されません", "category": "billing", "submission_id": f"s-{i}",
            "order": "A-1"}


def _corpus() -> list[bytes]:
    if not CORPUS.is_dir():
        return []
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".eml", ".txt", "")
                   and p.name != "LICENSE")
    return [p.read_bytes()[:200_000] for p in files[:80]]


CORPUS_MAILS = _corpus()


@st.composite
def email_body(draw: st.DrawFn, i: int) -> bytes:
    """A raw mail: built with hostile headers, a real corpus mail, or either with bytes cut or flipped."""
    if CORPUS_MAILS and draw(st.booleans()):
        raw = draw(st.sampled_from(CORPUS_MAILS))
    else:
        msg = EmailMessage()
        msg["From"] = draw(st.sampled_from(["山田 <hanako@example.jp>", "<>", "MAILER-DAEMON", "x@y.example"]))
        msg["To"] = "support@example.com"
        msg["Subject"] = draw(st.sampled_from(["注文の件", "Re: [#1] 注文", "", "自動応答: 不在"]))
        msg["Message-ID"] = draw(st.sampled_from([f"<e{i}@example.jp>", "<" + "m" * 3000 + "@x>", "", "<a>"]))
        refs = draw(st.sampled_from(["", "<e0@example.jp>", " ".join(f"<r{k}@x>" for k in range(3000))]))
        if refs:
            msg["References"] = refs
        msg.set_content(draw(st.sampled_from(["本文です", "x" * 50_000, "=HYPERLINK(1)"])), charset="utf-8")
        raw = msg.as_bytes()
    op = draw(st.sampled_from(["keep", "keep", "cut", "flip", "bytes"]))
    if op == "cut":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif op == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1:]
    elif op == "bytes":
        raw = draw(st.binary(max_size=300))
    return raw


TEMPLATES = {"form": _form_doc, "chat": _chat_doc, "slack": _slack_doc, "line": _line_doc}


@st.composite
def webhook(draw: st.DrawFn) -> Req:
    """A delivery to ``POST /webhooks/{channel}``, signed as the provider signs it (mostly)."""
    channel = draw(st.sampled_from(["form", "chat", "slack", "line", "email", "email", "unknown"]))
    i = draw(st.integers(0, 40))
    if channel == "email":
        body = draw(email_body(i))
    elif channel == "unknown":
        body = draw(st.binary(max_size=50))
    else:
        body = draw(json_body(TEMPLATES[channel](i)))
    ctype = None
    if channel == "form" and draw(st.integers(0, 5)) == 0:
        ctype = draw(st.sampled_from(["application/x-www-form-urlencoded", "text/plain"]))
        if ctype.startswith("application/x-www"):
            body = urlencode({k: str(v) for k, v in _form_doc(i).items()}).encode()
    headers = headers_for(channel if channel != "unknown" else "form", body, content_type=ctype)
    signed = draw(st.integers(0, 12)) != 12  # hypothesis starts from 0: signed first
    if not signed:
        headers = {k: v for k, v in headers.items() if k == "Content-Type"}
        headers[draw(st.sampled_from(["X-Form-Secret", "X-Slack-Signature", "X-Line-Signature"]))] = "forged"
    return Req("/webhooks/{channel}", "POST", f"/webhooks/{channel}", headers, body, webhook=channel, signed=signed)


def _param(draw: st.DrawFn, name: str, known: dict[str, list[str]]) -> str:
    choices = known.get(name) or ["1"]
    value = draw(st.one_of(st.sampled_from(choices), st.sampled_from(choices), text.filter(lambda t: t.strip()),
                           st.integers().map(str)))  # an empty segment is another (unrouted) path
    return value if value in choices else quote(value.encode("utf-8", "surrogatepass"), safe="")


def _DAYS_AGO(days: int) -> str:
    return (datetime.now(timezone.utc).date() - timedelta(days=days)).isoformat()


QUERY = {
    "/tickets": {"view": ["all", "new", "open", "mine", "unassigned", "at_risk", "breached", "escalated", "x"],
                 "limit": ["1", "100", "0", "101", "-5", "abc"], "order": ["oldest", "newest", "x"],
                 "window": ["60", "0", "99999999"], "lang": ["en", "ja", "fr"], "cursor": ["", "eyJhIjoxfQ==", "!"]},
    "/outbox": {"state": ["failed", "pending", "sending", "sent", "x"], "limit": ["5", "1000"],
                "cursor": ["", "eyJpIjoiT3V0Ym94QnlTdGF0ZSJ9", "%%"]},
    # Dates near today (a report reads only stored aggregates; the range stays realistic).
    "/reports/kpis": {"from": [_DAYS_AGO(7), "2026-13-40", "x"], "to": [_DAYS_AGO(0), "1999-01-01"],
                      "group_by": ["agent", "category", "channel", "department", "x"], "format": ["csv", "json", "x"],
                      "repeat_days": ["7", "0", "31"]},
    "/departments": {"category": ["shipping", "billing", "", "x"]},
    "/tickets/{ticket_id}": {"lang": ["en", "ja"]},
}
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/tickets/{ticket_id}"): {"status": "open", "priority": "high", "tags": ["vip"], "assignee": "fuzz-sato",
                                        "department": "support"},
    ("POST", "/tickets/{ticket_id}/claim"): {"ttl_seconds": 60, "force": False},
    ("POST", "/tickets/{ticket_id}/replies"): {"body": "山田様\n\n確認いたします。", "last_seen_event_id": "@EVENT0",
                                               "status": "pending", "override": True, "override_reason": "fuzz",
                                               "attachments": []},
    ("POST", "/tickets/{ticket_id}/replies/preview"): {"body": "山田様\n\n●●です", "to": "hanako@example.jp"},
    ("POST", "/tickets/{ticket_id}/attachments"): {"filename": "見積書（改訂）.pdf", "size": 12345,
                                                   "content_type": "application/pdf"},
    ("POST", "/tickets/{ticket_id}/notes"): {"body": "メモ @fuzz-kato"},
    ("POST", "/tickets/{ticket_id}/escalations"): {"department": "warehouse", "note": "在庫確認", "due_minutes": 60},
    ("POST", "/tickets/{ticket_id}/escalations/decline"): {"reason": "担当外"},
    ("POST", "/customers/{customer_id}/merge"): {"customer_id": "@CUSTOMER1"},
    ("POST", "/reports/aggregates"): {"from": "2026-01-13", "to": "2026-01-14"},
    ("POST", "/outbox/{outbox_id}/redrive"): {},
}


@st.composite
def agent_call(draw: st.DrawFn, route: str, method: str, known: dict[str, list[str]]) -> Req:
    """A call of an agent route with a valid token (mostly), generated path, query and body."""
    path = route
    for name in [p[1:-1] for p in route.split("/") if p.startswith("{")]:
        path = path.replace("{" + name + "}", _param(draw, name, known))
    params = QUERY.get(route, {})
    query = {}
    for name, choices in params.items():
        if draw(st.booleans()):
            query[name] = draw(st.one_of(st.sampled_from(choices), text))
    if draw(st.integers(0, 8)) == 0:
        query[draw(st.text(min_size=1, max_size=8))] = draw(text)
    if query:
        path += "?" + urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
    token = draw(st.sampled_from([TOKEN] * 6 + [SUPERVISOR_TOKEN] * 3 + [ADMIN_TOKEN] + ["wrong", ""]))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = b""
    if method in ("POST", "PATCH", "PUT"):
        template = BODIES.get((method, route), {"x": 1})
        body = draw(json_body(template))
        headers["Content-Type"] = "application/json"
    return Req(route, method, path, headers, body)

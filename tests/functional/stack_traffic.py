"""Mixed traffic against the running local stack: what the soak test asserts and ``bench/bench_stack.py`` times.

Each client loops, for ``duration_s``, over the things real users do at once: a
customer posts a web form, a customer's mail arrives through the inbound-mail
webhook, agents list and read tickets, reply, and PATCH priority and tags. Every
request's status and latency is recorded; a connection error (reset, refused,
timeout) is recorded as such, never retried.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import requests

from tests.functional.stack_kit import SECRETS, Stack


@dataclass
class Traffic:
    """Everything the clients saw."""

    statuses: dict[str, list[int]] = field(default_factory=dict)  # kind -> status codes
    latencies: list[float] = field(default_factory=list)
    connection_errors: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # delivery key -> ticket number
    elapsed_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, seconds: float) -> None:
        with self._lock:
            self.statuses.setdefault(kind, []).append(status)
            self.latencies.append(seconds)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.statuses.values())

    def server_errors(self) -> dict[str, int]:
        return {k: sum(1 for s in v if s >= 500) for k, v in self.statuses.items() if any(s >= 500 for s in v)}

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        rate = self.requests / self.elapsed_s if self.elapsed_s else 0.0
        mix = {k: len(v) for k, v in sorted(self.statuses.items())}
        return (f"{self.requests} requests in {self.elapsed_s:.1f} s = {rate:.1f} req/s; "
                f"p50 {self.percentile(0.5) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms; "
                f"mix {mix}; 5xx {self.server_errors()}; connection errors {len(self.connection_errors)}; "
                f"deliveries acknowledged {len(self.acknowledged)}")


def _mail(n: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Taro Suzuki <mail-{n}@example.jp>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"請求書の再発行 {n}"
    msg["Message-ID"] = make_msgid(domain="example.jp")
    msg.set_content(f"お世話になっております。請求書 {n} の再発行をお願いします。\n鈴木")
    return msg.as_bytes()


def _client(stack: Stack, traffic: Traffic, token: str, number: int, until: float, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    mine: list[tuple[int, str]] = []  # (ticket, last message event) this client created
    i = 0

    def call(kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            resp = session.request(method, f"{stack.url}{path}", timeout=60, **kwargs)
        except requests.RequestException as exc:
            traffic.connection_errors.append(f"{kind} {path}: {exc!r}")
            return None
        traffic.record(kind, resp.status_code, time.perf_counter() - started)
        return resp

    while time.monotonic() < until:
        i += 1
        key = f"c{number}-{i}"
        roll = rng.random()
        if roll < 0.25 or not mine:
            resp = call("form", "POST", "/webhooks/form", headers={"X-Form-Secret": SECRETS["FORM_WEBHOOK_SECRET"]},
                        json={"name": "Hanako Yamada", "email": f"form-{key}@example.com", "subject": f"Coupon {key}",
                              "body": f"Order {key}: the coupon was not applied.", "submission_id": key})
            if resp is not None and resp.status_code in (200, 201):
                result = resp.json()["results"][0]
                traffic.acknowledged[f"form:{key}"] = result["ticket_id"]
                mine.append((result["ticket_id"], result["event_id"]))
        elif roll < 0.40:
            resp = call("email", "POST", "/webhooks/email", data=_mail(key),
                        headers={"Content-Type": "message/rfc822", "X-Email-Secret": SECRETS["EMAIL_WEBHOOK_SECRET"]})
            if resp is not None and resp.status_code in (200, 201):
                traffic.acknowledged[f"email:{key}"] = resp.json()["results"][0]["ticket_id"]
        elif roll < 0.60:
            call("list", "GET", f"/tickets?view={rng.choice(['all', 'new', 'open', 'at_risk'])}&limit=25", headers=auth)
        elif roll < 0.80:
            call("read", "GET", f"/tickets/{rng.choice(mine)[0]}", headers=auth)
        elif roll < 0.90:
            ticket, seen = mine.pop(rng.randrange(len(mine)))
            call("reply", "POST", f"/tickets/{ticket}/replies", headers=auth,
                 json={"body": f"Thank you for waiting ({key}). The coupon is applied now.",
                       "last_seen_event_id": seen})
        else:
            ticket = rng.choice(mine)[0]
            call("patch", "PATCH", f"/tickets/{ticket}", headers=auth,
                 json={"priority": rng.choice(["low", "normal", "high"]), "tags": [f"soak-{number}"]})
    session.close()


def drive(stack: Stack, tokens: list[str], clients: int, duration_s: float) -> Traffic:
    """``clients`` threads of mixed traffic for ``duration_s`` seconds."""
    traffic = Traffic()
    until = time.monotonic() + duration_s
    started = time.monotonic()
    threads = [threading.Thread(target=_client, args=(stack, traffic, tokens[n % len(tokens)], n, until, n))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration_s + 120)
    traffic.elapsed_s = time.monotonic() - started
    return traffic


def stored_deliveries(stack: Stack) -> dict[int, int]:
    """Ticket number -> inbound messages stored on its timeline, for every ticket (via the API)."""
    numbers: list[int] = []
    cursor = None
    while True:
        params = {"view": "all", "limit": "100", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{stack.url}/tickets", params=params, headers=stack.auth, timeout=120).json()
        numbers += [t["id"] for t in page["tickets"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    counts = {}
    for number in numbers:
        timeline = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=120).json()["timeline"]
        counts[int(number)] = sum(1 for e in timeline if e["type"] == "message_in")
    return counts

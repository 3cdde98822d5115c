"""The flufl-bounce corpus through the real HTTP stack that ``make run`` starts: every bounce answered as
machine mail with its rule and reason, no ticket, nothing mailed back, and no traceback in the server log."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from tests.functional.test_local_stack import TOKEN, free_port, start_stack
from tests.functional.test_machine_mail import BOUNCES, NOT_BOUNCES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]
SECRET = "stack-email-secret"


def test_every_corpus_bounce_is_machine_mail_through_the_running_stack():
    port, moto_port = free_port(), free_port()
    running = start_stack(PORT=str(port), MOTO_PORT=str(moto_port), LOCAL_AGENT_TOKEN=TOKEN,
                          EMAIL_WEBHOOK_SECRET=SECRET)
    try:
        url = running.wait_for(lambda line: line.startswith("READY "), 90).split(" ", 1)[1]
        session = requests.Session()
        automatic = []
        for path in BOUNCES:
            resp = session.post(f"{url}/webhooks/email", data=path.read_bytes(), timeout=60,
                                headers={"Content-Type": "message/rfc822", "X-Email-Secret": SECRET})
            assert resp.status_code in (200, 201), (path.name, resp.status_code, resp.text)
            if path.name not in NOT_BOUNCES:
                (auto,) = resp.json()["automatic"]
                assert auto["rule"] and auto["reason"] and not resp.json()["results"], (path.name, resp.json())
                automatic.append(auto)
        assert len(automatic) == len(BOUNCES) - len(NOT_BOUNCES)
        listed = session.get(f"{url}/tickets?view=all&limit=100", headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=30).json()["tickets"]
        assert [t["customer"]["email"] if isinstance(t.get("customer"), dict) else t.get("customer_email")
                for t in listed] == ["reservas@yyyyy.cu"], listed
        ses = json.dumps(session.get(f"http://127.0.0.1:{moto_port}/moto-api/data.json", timeout=30).json()["ses"])
        for path in BOUNCES:  # nothing went to any sender of the corpus but the one person
            raw = path.read_bytes()[:4000].decode("latin-1")
            sender = next((line.split(":", 1)[1].strip() for line in raw.splitlines()
                           if line.lower().startswith("from:")), "")
            if path.name not in NOT_BOUNCES and "@" in sender:
                address = sender.split("<")[-1].strip(">").strip()
                assert address not in ses, (path.name, address)
    finally:
        if running.proc.poll() is None:
            running.proc.send_signal(signal.SIGTERM)
            try:
                running.proc.wait(30)
            except Exception:  # noqa: BLE001
                running.proc.kill()
                running.proc.wait(10)
    log = "\n".join(running.lines)
    assert "Traceback" not in log and " ERROR " not in log, log[-4000:]

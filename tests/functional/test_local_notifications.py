"""``make run``: notifications are observable without any real service (outbox API, moto's SES)."""

from __future__ import annotations

import pytest
import requests

from tests.functional.test_local_stack import SECRET, TOKEN, stack  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]


def test_local_email_shows_in_the_outbox_and_in_motos_ses_store(stack):  # noqa: F811 - the fixture
    running, url, _ = stack
    headers = {"Authorization": f"Bearer {TOKEN}"}
    form = {"name": "山田 花子", "email": "hanako@example.jp", "subject": "配送状況", "body": "いつ届きますか"}
    posted = requests.post(f"{url}/webhooks/form", json=form, headers={"X-Form-Secret": SECRET}, timeout=30)
    assert posted.status_code == 201, posted.text + "\n".join(running.lines)
    number = posted.json()["results"][0]["ticket_id"]
    # The shipped rule notify-new-assignee emails the local agent.
    patched = requests.patch(f"{url}/tickets/{number}", json={"assignee": "local"}, headers=headers, timeout=30)
    assert patched.status_code == 200, patched.text

    sent = requests.get(f"{url}/outbox?state=sent", headers=headers, timeout=30).json()["items"]
    [mail] = [i for i in sent if i["target"] == "email"]
    assert mail["recipient"] == "local-agent@example.com" and f"#{number}" in mail["subject"] and mail["body"]

    moto_line = running.wait_for(lambda line: line.startswith("moto endpoint"), 5)
    moto_url = moto_line.split()[2]
    data = requests.get(f"{moto_url}/moto-api/data.json", timeout=30).json()
    subjects = [m["subject"] for m in data["ses"]["Message"]]
    assert mail["subject"] in subjects

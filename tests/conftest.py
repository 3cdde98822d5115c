"""Test-wide settings: fake AWS credentials, never a real endpoint."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Before any boto3 client exists: fake credentials, a region, no endpoint override.
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="ap-northeast-1",
    AWS_REGION="ap-northeast-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
)


import logging  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

import bench.requests_count  # noqa: E402, F401 - counts AWS requests at every client made from here on


@pytest.fixture(autouse=True)
def _plugins_restored():
    """Whatever a test registers on the shared plugin manager is gone after it, even if its setup failed."""
    from chalicelib.plugin_manager import get_plugin_manager

    pm = get_plugin_manager()
    before = {id(p) for p in pm.get_plugins()}
    yield
    for plugin in list(pm.get_plugins()):
        if id(plugin) not in before:
            pm.unregister(plugin)


def logged_problems(records: list[logging.LogRecord]) -> list[str]:
    """Records from WARNING up that carry an exception or a traceback, or are errors."""
    return [f"{r.name} {r.levelname} {r.getMessage()[:200]}" for r in records if r.levelno >= logging.WARNING and (
        r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage())]


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if anything logged an exception or an error (the server log of the mail suite stays clean).

    Records are captured from WARNING up, in setup, call and teardown; a record with ``exc_info``, a
    traceback in its text, or level ERROR and above fails the test.
    """
    caplog.handler.setLevel(logging.WARNING)
    yield
    bad = logged_problems([*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records])
    assert not bad, "logged: " + "; ".join(bad)

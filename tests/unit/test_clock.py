"""chalicelib.clock: real time unless the local stack installs a movable clock; one clock for everything."""

from __future__ import annotations

import ast
import time
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, domain
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _real_time_after():
    yield
    clock.uninstall_local_clock()


def test_real_time_by_default():
    assert clock.local_clock() is None
    before = datetime.now(timezone.utc)
    got = clock.now()
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert before <= got <= datetime.now(timezone.utc)


def test_movable_clock_starts_runs_fast_and_jumps():
    start = clock.parse_clock("2026-01-09T16:00+09:00")
    assert start == datetime(2026, 1, 9, 7, 0, tzinfo=timezone.utc)
    moved = clock.install_local_clock(start, speed=600)
    time.sleep(0.1)
    elapsed = clock.now() - start
    assert timedelta(seconds=50) <= elapsed <= timedelta(seconds=600), elapsed  # ~60 simulated seconds
    assert domain.utcnow() - clock.now() < timedelta(seconds=5), "domain.utcnow() is the same clock"
    before = clock.now()
    moved.advance(timedelta(days=7))
    assert clock.now() - before >= timedelta(days=7)
    with pytest.raises(ValueError):
        moved.advance(timedelta(minutes=-1))
    moved.set_speed(1)
    assert moved.speed == 1.0


@pytest.mark.parametrize("text", ["2026-01-09T16:00", "tomorrow", "", "2026-13-01T00:00Z"])
def test_clock_text_needs_a_valid_time_with_a_zone(text):
    with pytest.raises(ValueError, match="CLOCK="):
        clock.parse_clock(text)


@pytest.mark.parametrize("speed", [0, -1, float("nan"), 10_000_000])
def test_speed_must_be_positive_and_sane(speed):
    with pytest.raises(ValueError):
        clock.MovableClock(None, speed)


def test_never_movable_inside_lambda(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "helpdesk-dev-sweep")
    with pytest.raises(RuntimeError, match="local stack only"):
        clock.install_local_clock()
    assert clock.local_clock() is None


# Calls that read the wall clock directly. Only chalicelib/clock.py may make them; the exceptions
# below are timestamps another party checks against its own real clock (signature freshness).
_WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "time_ns"), ("time", "gmtime"), ("time", "localtime")}
_REAL_TIME_ON_PURPOSE = {
    ("plugins/channel_chat.py", "time.time"),      # X-Chat-Timestamp of a signed outbound delivery
    ("plugins/channel_chat.py", "time.time_ns"),   # a unique delivery id, not a time
    ("plugins/notify_webhook.py", "time.time"),    # signature timestamp the receiver checks
    ("chalicelib/clock.py", "datetime.now"),
}


def _wall_clock_calls(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (name, node.func.attr) in _WALL_CLOCK:
                yield f"{name}.{node.func.attr}", node.lineno


def test_every_component_reads_time_from_the_one_clock():
    offenders = []
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py")), *sorted((ROOT / "plugins").rglob("*.py"))]
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for call, line in _wall_clock_calls(path):
            if (rel, call) not in _REAL_TIME_ON_PURPOSE:
                offenders.append(f"{rel}:{line} {call}()")
    assert offenders == [], "use chalicelib.clock.now() (glue) or take `now` as an argument (core):\n" + \
        "\n".join(offenders)

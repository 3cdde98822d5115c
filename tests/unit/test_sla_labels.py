"""Remaining-time labels and urgency classes shown to agents."""

from __future__ import annotations

import pytest

from chalicelib.sla.labels import duration_label, remaining_label, urgency


@pytest.mark.parametrize(
    ("minutes", "ja", "en"),
    [
        (45, "残り45分", "45m left"),
        (60, "残り1時間", "1h left"),
        (90, "残り1時間30分", "1h 30m left"),
        (1440, "残り1日", "1d left"),
        (3000, "残り2日", "2d left"),
        (0, "残り1分未満", "under 1m left"),
        (0.2, "残り1分未満", "under 1m left"),  # never "0" before the deadline
        (67 / 60, "残り1分", "1m left"),  # 67 s: cut, never "残り2分" (more time than there is)
        (119.99, "残り1時間59分", "1h 59m left"),
        (2879, "残り1日", "1d left"),
        (-0.5, "期限超過", "overdue"),  # 30 s late
        (-61 / 60, "1分超過", "1m overdue"),
        (-120, "2時間超過", "2h overdue"),
        (-5, "5分超過", "5m overdue"),
        (-2880, "2日超過", "2d overdue"),
    ],
)
def test_remaining_labels(minutes, ja, en):
    assert remaining_label(minutes) == ja
    assert remaining_label(minutes, "ja") == ja
    assert remaining_label(minutes, "en") == en


def test_language_tags_and_unknown_language():
    assert remaining_label(45, "en-US") == "45m left"
    assert remaining_label(45, "ja_JP") == "残り45分"
    with pytest.raises(ValueError, match="unsupported language"):
        remaining_label(45, "fr")


def test_breached_at_closing_time_and_paused_labels():
    assert remaining_label(0, "ja", breached=True) == "期限超過"
    assert remaining_label(0, "en", breached=True) == "overdue"
    assert remaining_label(90, "ja", paused=True) == "停止中 残り1時間30分"
    assert remaining_label(90, "en", paused=True) == "paused, 1h 30m left"


def test_duration_label_has_no_sign_and_no_float_noise():
    assert duration_label(-90, "en") == "1h 30m"
    assert duration_label(44.0000000001, "ja") == "44分"


@pytest.mark.parametrize(
    ("minutes", "kwargs", "expected"),
    [
        (500, {}, "ok"),
        (61, {}, "ok"),
        (60, {}, "at_risk"),
        (0, {}, "at_risk"),
        (-1, {}, "breached"),
        (0, {"breached": True}, "breached"),
        (-30, {"paused": True}, "paused"),
        (100, {"warn_minutes": 120}, "at_risk"),
    ],
)
def test_urgency(minutes, kwargs, expected):
    assert urgency(minutes, **kwargs) == expected

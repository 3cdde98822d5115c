"""Times shown to people: the zone named, cut to the minute, the same rule everywhere."""

from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.sla.display import ceil_minute, local_time, minutes_left, zone_for
from chalicelib.sla.labels import remaining_label

UTC = timezone.utc


def test_local_time_names_the_zone_and_cuts_to_the_minute():
    t = datetime(2026, 1, 13, 6, 0, 59, tzinfo=UTC)
    assert local_time(t, "Asia/Tokyo") == "2026-01-13 15:00 JST"
    assert local_time("2026-01-13T06:00:59Z", "Europe/Berlin") == "2026-01-13 07:00 CET"
    assert local_time(datetime(2026, 7, 1, 6, tzinfo=UTC), "Europe/Berlin") == "2026-07-01 08:00 CEST"
    assert local_time(t, "UTC") == "2026-01-13 06:00 UTC"
    assert local_time(t, "Asia/Dubai") == "2026-01-13 10:00 UTC+04:00"  # no letters for this zone
    assert local_time(t, "Asia/Kathmandu") == "2026-01-13 11:45 UTC+05:45"
    assert local_time(None, "Asia/Tokyo") == ""


def test_the_reader_zone_else_the_calendar_zone():
    assert zone_for({"timezone": "Europe/Berlin"}, "Asia/Tokyo") == "Europe/Berlin"
    assert zone_for({"timezone": "Mars/Olympus"}, "Asia/Tokyo") == "Asia/Tokyo"
    assert zone_for(None, None) == "Asia/Tokyo"


def test_deadlines_made_on_whole_minutes_and_time_left_never_overstated():
    assert ceil_minute(datetime(2026, 1, 13, 5, 0, 0, 1, tzinfo=UTC)) == datetime(2026, 1, 13, 5, 1, tzinfo=UTC)
    assert ceil_minute(datetime(2026, 1, 13, 5, 0, tzinfo=UTC)) == datetime(2026, 1, 13, 5, 0, tzinfo=UTC)
    now = datetime(2026, 1, 13, 5, 0, tzinfo=UTC)
    left = minutes_left(datetime(2026, 1, 13, 5, 1, 7, tzinfo=UTC), now)  # 67 s
    assert remaining_label(left) == "残り1分" and remaining_label(left, "en") == "1m left"

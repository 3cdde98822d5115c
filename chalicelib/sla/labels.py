"""Short remaining-time labels and urgency classes for agents (Japanese, English).

Labels format whatever minutes they are given: pass
``MetricState.business_minutes_remaining`` for business time, or
``(due_at - now)`` in minutes for wall-clock time. A "day" is 1440 minutes
(24 hours), not a working day.

Rounding (the same rule as every time shown to a person, ``chalicelib.sla.display``):
never promise more time than there is. Minutes are cut to whole minutes
(67 s left is "残り1分", not "残り2分"); under one minute left is "残り1分未満" /
"under 1m left"; under one minute overdue is "期限超過" / "overdue"; hours
show with their minutes below one day; from one day on only whole days show
(2 days 23 hours left is "残り2日").
"""

from __future__ import annotations

import math

_WORDS = {
    "ja": {"d": "{}日", "h": "{}時間", "m": "{}分", "sep": "",
           "left": "残り{}", "over": "{}超過", "overdue": "期限超過", "paused": "停止中 ",
           "under": "残り1分未満"},
    "en": {"d": "{}d", "h": "{}h", "m": "{}m", "sep": " ",
           "left": "{} left", "over": "{} overdue", "overdue": "overdue", "paused": "paused, ",
           "under": "under 1m left"},
}
URGENCIES = ("breached", "at_risk", "ok", "paused")


def _lang(lang: str) -> dict[str, str]:
    key = lang.split("-")[0].split("_")[0].lower()
    if key not in _WORDS:
        raise ValueError(f"unsupported language {lang!r} (use 'ja' or 'en')")
    return _WORDS[key]


def duration_label(minutes: float, lang: str = "ja") -> str:
    """A duration without sign: 45 → "45分"/"45m", 90 → "1時間30分"/"1h 30m", 3000 → "2日"/"2d"."""
    words = _lang(lang)
    total = math.floor(round(abs(minutes), 6))  # 44.9999999 is 45 (float noise), 44.9 is 44
    if total >= 1440:
        return words["d"].format(total // 1440)
    hours, mins = divmod(total, 60)
    if hours == 0:
        return words["m"].format(mins)
    parts = [words["h"].format(hours)] + ([words["m"].format(mins)] if mins else [])
    return words["sep"].join(parts)


def remaining_label(
    minutes: float, lang: str = "ja", *, breached: bool = False, paused: bool = False
) -> str:
    """"残り1時間30分" / "1h 30m left", or "2時間超過" / "2h overdue" when negative.

    ``breached`` with 0 minutes left (deadline at closing time, now after it)
    gives "期限超過" / "overdue"; ``paused`` prefixes "停止中 " / "paused, ".
    """
    words = _lang(lang)
    whole = math.floor(round(abs(minutes), 6))
    if minutes < 0 or breached:
        text = words["over"].format(duration_label(minutes, lang)) if minutes < 0 and whole else words["overdue"]
    elif whole == 0:
        text = words["under"]
    else:
        text = words["left"].format(duration_label(minutes, lang))
    return words["paused"] + text if paused else text


def urgency(
    minutes: float, warn_minutes: float = 60, *, paused: bool = False, breached: bool = False
) -> str:
    """Colour class: "paused" if paused, "breached" if overdue, "at_risk" within
    ``warn_minutes`` of the deadline, else "ok"."""
    if paused:
        return "paused"
    if breached or minutes < 0:
        return "breached"
    if minutes <= warn_minutes:
        return "at_risk"
    return "ok"

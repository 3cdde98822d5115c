"""Summary statistics for KPI values: mean, median, p90 and rates.

Percentiles use the nearest-rank method (the smallest value with at least p%
of the values at or below it), so a p90 is always a value that really
occurred and can be checked by hand; the median is the usual middle value
(mean of the two middle values for an even count).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

DECIMALS = 2


def percentile(values: Iterable[float], p: float) -> float | None:
    """Nearest-rank ``p``-th percentile (0 < p <= 100) of ``values``; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def summarize(values: Iterable[float]) -> dict[str, Any]:
    """``{"count", "mean", "median", "p90"}`` of minutes, rounded to 0.01 (None when empty)."""
    data = list(values)
    if not data:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    return {"count": len(data), "mean": round(statistics.fmean(data), DECIMALS),
            "median": round(statistics.median(data), DECIMALS), "p90": round(percentile(data, 90) or 0, DECIMALS)}


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 0.0001; None when ``whole`` is 0 (no basis, not 0 %)."""
    return round(part / whole, 4) if whole else None

"""Small numeric helpers the experiments share; standard library only (they run in measured children)."""

from __future__ import annotations

import math
import statistics
from typing import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by linear interpolation between the sorted values
    (numpy's default): with fewer than 1 / (1 - q) values it lies between the two largest."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def log_crossing(x0: float, y0: float, x1: float, y1: float, level: float = 1.0) -> float:
    """Where a curve through (x0, y0) and (x1, y1), straight on log-log axes, reaches ``level``."""
    lx0, lx1, ly0, ly1 = math.log(x0), math.log(x1), math.log(y0), math.log(y1)
    if ly1 == ly0:
        return math.sqrt(x0 * x1)
    return math.exp(lx0 + (math.log(level) - ly0) * (lx1 - lx0) / (ly1 - ly0))


def ms(seconds: float) -> float:
    return seconds * 1e3

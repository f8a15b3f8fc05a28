"""A row's verdict from its test: the words, and when a look decides (step 4 of the rule in
``bench.judge.compare``).

Why apart: this is the rule itself, in a few pure functions of a ``RowTest`` and the row's threshold T and
tolerance M, so that what "slower", "no change" or "inconclusive" means is read in one place and tested
without data.
"""

from __future__ import annotations

import math

from ..data.thresholds import METRICS
from .tests import RowTest

FAILED = "failed"
INCONCLUSIVE = "inconclusive"
NOT_COMPARABLE = "not comparable"
WITHIN_FLOOR = "within run-to-run floor"


def worse_log(fraction: float, direction: int) -> float:
    """A change of ``fraction`` in the worse direction on the oriented log scale the tests use: time
    ``fraction`` slower is log(1 + fraction); speedup ``fraction`` lower is -log(1 - fraction)."""
    if math.isinf(fraction):
        return fraction
    return math.log1p(fraction) if direction > 0 else -math.log1p(-min(fraction, 0.999999))


def worse_fraction(x: float, direction: int) -> float:
    """The inverse of ``worse_log``: an oriented log change as a fraction in the worse direction."""
    if math.isinf(x) or math.isnan(x):
        return x
    return math.expm1(x) if direction > 0 else -math.expm1(-x)


def shown_worse(test: RowTest, tolerance: float) -> bool:
    """Worse by more than the tolerance (oriented log) beyond doubt: the lower bound above it; with no
    tolerance the exact test's p at the level counts too (with ties the bounds can sit on 0 while p is
    below the level)."""
    return test.low > tolerance or (tolerance <= 0 and test.p <= test.level)


def decided(test: RowTest, threshold: float, tolerance: float | None = None, direction: int = 1) -> bool:
    """Whether a look settles the row: shown worse than the tolerance M (a regression), or shown better
    than the threshold T (a pass). ``threshold`` and ``tolerance`` are fractions (M defaults to T/2)."""
    tolerance = threshold / 2 if tolerance is None else tolerance
    return (shown_worse(test, worse_log(tolerance, direction))
            or test.pass_high < worse_log(threshold, direction))


def verdict(metric: str, test: RowTest, threshold: float, tolerance: float | None = None) -> tuple[str, bool]:
    """(verdict, is_regression) by step 4 of the rule (``bench.judge.compare``); ``test`` on the oriented
    log scale, ``threshold`` (T) and ``tolerance`` (M, default T/2) as fractions of the metric's value."""
    direction, worse, better = METRICS[metric]
    tolerance = threshold / 2 if tolerance is None else tolerance
    t, m = worse_log(threshold, direction), worse_log(tolerance, direction)
    if shown_worse(test, m):
        return worse, True
    if test.high < -m:
        return better, False
    if test.pass_high < t:
        if test.low > 0 or test.p <= test.level:
            return f"{worse}, under {threshold * 100:g} %", False
        if test.high < 0:
            return better, False
        return ("no change" if test.pass_low > -t else "no regression"), False
    return INCONCLUSIVE, False

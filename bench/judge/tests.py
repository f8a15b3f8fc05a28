"""A row's statistical tests: pure functions over log differences oriented so that positive is worse.

Why apart: these are the only numbers a verdict rests on (step 3 of the rule in ``bench.judge.compare``), and
as pure functions of lists of floats they can be checked against scipy and by simulation without a run
folder. Paired rows use the exact signed-rank test, counted rows Student's t, separate runs Welch's t widened
to the run-to-run ``Spread``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ..data import stats
from .family import PASS_ERROR
from .sides import Terms


@dataclass
class RowTest:
    """One row's test at one look, on the log scale, oriented so that positive is worse.

    ``low`` / ``high``: one-sided bounds at ``level`` (the row's share of ALPHA at this look): what a
    regression (low above the tolerance) or an improvement must clear. ``pass_low`` / ``pass_high``:
    one-sided bounds at ``pass_level`` (PASS_ERROR at this look): what a pass (pass_high below the
    threshold) must clear."""

    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    p: float = math.nan  # one-sided, worse
    level: float = math.nan
    n: int = 0
    look: int = 0
    pass_low: float = math.nan
    pass_high: float = math.nan
    pass_level: float = math.nan


def paired_test(worse: list[float], level: float, look: int = 0, pass_level: float | None = None) -> RowTest:
    """Exact one-sided signed-rank p, Hodges-Lehmann change and its exact bounds at ``level`` (and at
    ``pass_level``, by default PASS_ERROR)."""
    pass_level = PASS_ERROR if pass_level is None else pass_level
    low, high = stats.hodges_lehmann_bounds(worse, level)
    pass_low, pass_high = stats.hodges_lehmann_bounds(worse, pass_level)
    return RowTest(stats.hodges_lehmann(worse), low, high, stats.signed_rank_p(worse, "greater"), level,
                   len(worse), look, pass_low, pass_high, pass_level)


def count_se(worse: list[float]) -> float:
    """The standard error of the mean of a count row's paired log differences (at least 2)."""
    return statistics.stdev(worse) / math.sqrt(len(worse))


def counted_test(worse: list[float], level: float, pass_level: float | None = None) -> RowTest:
    """A count row's test (``COUNTED``): the mean of the paired log differences and its one-sided Student
    t bounds on n - 1 degrees of freedom, at ``level`` and ``pass_level``, one look.

    Why not the rank test: its smallest p with n pairs is 2^-n, so the few rounds a count can afford
    (``bench.measure.counters.COUNT_ROUNDS``) never reach a row's level. Why t is sound here: counts of equal
    code differ between rounds by parts per million (their A/A spread, docs/gate.md), so the bounds are
    that narrow; a stray count widens them (inconclusive), it cannot narrow them; and equal counts
    (sd 0) are exact, their bounds the difference itself. Fewer than 2 pairs: no test (n kept)."""
    pass_level = PASS_ERROR if pass_level is None else pass_level
    n = len(worse)
    if n < 2:
        return RowTest(level=level, n=n, pass_level=pass_level)
    est, se = statistics.fmean(worse), count_se(worse)
    if se == 0:
        p = 0.0 if est > 0 else 1.0
    else:
        tail = stats.t_p_two_sided(est / se, n - 1) / 2
        p = tail if est > 0 else 1 - tail

    def half(at: float) -> float:
        return stats.t_quantile(1 - at, n - 1) * se

    h, ph = half(level), half(pass_level)
    return RowTest(est, est - h, est + h, p, level, n, 1, est - ph, est + ph, pass_level)


@dataclass(frozen=True)
class Spread:
    """A row's run-to-run spread: the sample sd of the log figure over ``runs`` earlier runs."""

    sd: float
    runs: int

    def half_width(self, level: float) -> float:
        """The one-sided prediction bound, at ``level``, of the difference of two new runs' figures:
        t(1 - level, runs - 1) x sd x sqrt(2) (each of the two runs brings its own offset)."""
        return stats.t_quantile(1 - level, self.runs - 1) * self.sd * math.sqrt(2)


def unpaired_test(base: Terms, cand: Terms, direction: int, level: float, pass_level: float | None = None,
                  spread: Spread | None = None) -> RowTest:
    """Welch's t on the log summaries (each side's terms with their signs), one-sided bounds at ``level``
    and ``pass_level``; with a run-to-run ``spread`` each half-width is at least its prediction bound."""
    pass_level = PASS_ERROR if pass_level is None else pass_level
    terms = [(sign, list(t.values())) for sign, t in cand] + [(-sign, list(t.values())) for sign, t in base]
    est, se, df = stats.welch(terms)
    if math.isnan(est):
        return RowTest(level=level, pass_level=pass_level)
    est *= direction

    def half(at: float) -> float:
        within = stats.t_quantile(1 - at, df) * se if se > 0 else 0.0
        return max(within, spread.half_width(at)) if spread is not None else within

    if se == 0:
        p = 0.0 if est > 0 else 1.0
    else:
        tail = stats.t_p_two_sided(est / se, df) / 2
        p = tail if est > 0 else 1 - tail
    h, ph = half(level), half(pass_level)
    return RowTest(est, est - h, est + h, p, level, 0, 0, est - ph, est + ph, pass_level)

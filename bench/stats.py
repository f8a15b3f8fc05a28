"""Pure functions over numbers: summaries, speedup, ideal, efficiency, parallelism.

No I/O and no pandas here, so every figure in a report can be recomputed by hand from these rules:

* speedup    = median batch time of the sequential baseline (same workload, same cores)
               / median batch time of the cell
* ideal      = workers for io-bound work (waiting overlaps without limit);
               min(workers, cores) for cpu-bound work (a task needs a core); never above the tasks
* efficiency = speedup / ideal
* effective parallelism = CPU seconds of the measured process and its children / wall seconds,
               per batch, median over batches
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, median, mean, stdev, min, max, quartiles and coefficient of variation of ``values``."""
    xs = sorted(float(v) for v in values)
    n = len(xs)
    if n == 0:
        nan = math.nan
        return {"n": 0, "median": nan, "mean": nan, "stdev": nan, "min": nan, "max": nan, "q1": nan, "q3": nan, "cv": nan}
    mean = statistics.fmean(xs)
    stdev = statistics.stdev(xs) if n > 1 else 0.0
    q1, q3 = (statistics.quantiles(xs, n=4, method="inclusive")[i] for i in (0, 2)) if n > 1 else (xs[0], xs[0])
    return {
        "n": n,
        "median": statistics.median(xs),
        "mean": mean,
        "stdev": stdev,
        "min": xs[0],
        "max": xs[-1],
        "q1": q1,
        "q3": q3,
        "cv": stdev / mean if mean else math.nan,
    }


def ideal_speedup(kind: str, workers: int, cores: int, tasks: int | None = None) -> float:
    """The speedup perfect parallel execution would reach for this kind of work."""
    ideal = workers if kind == "io-bound" else min(workers, cores)
    return float(min(ideal, tasks) if tasks else ideal)


def speedup(baseline: float, measured: float) -> float:
    """baseline / measured: above 1 is faster than the baseline."""
    if not measured or math.isnan(measured) or math.isnan(baseline):
        return math.nan
    return baseline / measured


def efficiency(speedup_value: float, ideal: float) -> float:
    return speedup_value / ideal if ideal else math.nan


def batch_parallelism(walls: Sequence[float], cpus: Sequence[float]) -> list[float]:
    """Each batch's CPU seconds / wall seconds."""
    return [c / w for w, c in zip(walls, cpus) if w > 0]


def effective_parallelism(walls: Sequence[float], cpus: Sequence[float]) -> float:
    """Median over batches of CPU seconds / wall seconds: 1.0 is one core busy all along."""
    ratios = batch_parallelism(walls, cpus)
    return statistics.median(ratios) if ratios else math.nan


# --- comparing two samples --------------------------------------------------------------------

def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value: valid for unequal sample counts, no normality assumed.

    1.0 when both samples are one and the same constant (nothing to tell apart).
    """
    from scipy.stats import mannwhitneyu

    if not a or not b:
        return math.nan
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def min_mann_whitney_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value Mann-Whitney U can give for these sample counts (no ties)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def bootstrap_ci(replicates: "Sequence[float]", confidence: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates."""
    import numpy as np

    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(reps, [tail, 100 - tail])
    return float(low), float(high)


def median_replicates(values: Sequence[float], n_boot: int, rng: "object") -> "object":
    """``n_boot`` bootstrap replicates of the median of ``values`` (numpy array)."""
    import numpy as np

    xs = np.asarray(values, dtype=float)
    if xs.size == 0:
        return np.full(n_boot, np.nan)
    return np.median(rng.choice(xs, size=(n_boot, xs.size), replace=True), axis=1)


def min_detectable_effect(ci: tuple[float, float], confidence: float, power: float = 0.8) -> float:
    """The smallest relative change a comparison with this confidence interval of the ratio could
    detect with ``power``: the interval's half-width scaled from the test's z to z + z_power."""
    from statistics import NormalDist

    low, high = ci
    if math.isnan(low) or math.isnan(high):
        return math.nan
    z_test = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return (high - low) / 2 * (z_test + NormalDist().inv_cdf(power)) / z_test

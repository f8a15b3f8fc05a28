"""Pure functions over numbers: summaries, speedup, ideal, efficiency, parallelism.

No I/O and no pandas here, so every figure in a report can be recomputed by hand from these rules:

* speedup    = median batch time of the sequential baseline (same workload, same cores)
               / median batch time of the cell
* ideal      = workers for io-bound work (waiting overlaps without limit);
               min(workers, cores) for cpu-bound work (a task needs a core); never above the tasks
* efficiency = speedup / ideal
* effective parallelism = CPU seconds of the measured process and its children / wall seconds,
               per batch, median over batches

and the statistics the comparison uses (bench.compare): variance components of a cell's processes,
Welch's t on independent samples, the exact Wilcoxon signed-rank test of paired differences, Holm's
step-down adjustment, bootstrap intervals of a median, and the minimum detectable effect.
"""

from __future__ import annotations

import functools
import math
import statistics
from statistics import NormalDist
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


# --- bootstrap -------------------------------------------------------------------------------

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
    # sorting each short row and averaging the middle two is np.median, several times faster
    reps = np.sort(rng.choice(xs, size=(n_boot, xs.size), replace=True), axis=1)
    return (reps[:, (xs.size - 1) // 2] + reps[:, xs.size // 2]) / 2


# --- the process as the unit ------------------------------------------------------------------

def variance_components(groups: Sequence[Sequence[float]]) -> tuple[float, float]:
    """(between-process share of the variance, effective number of independent samples).

    ``groups`` holds each process's values. One-way random-effects ANOVA: the between-process
    variance component over the total is the intra-class correlation (ICC); with ``m`` values a
    process, ``N`` values in all, the effective sample size is N / (1 + (m - 1) * ICC) (Kish's design
    effect). An ICC near 1 means the values of one process repeat each other: the cell has about as
    many samples as processes, not as values. (nan, N) when it cannot be estimated.
    """
    groups = [list(map(float, g)) for g in groups if len(g) > 0]
    n_total = sum(len(g) for g in groups)
    k = len(groups)
    if k < 2 or n_total <= k:
        return math.nan, float(n_total)
    grand = sum(sum(g) for g in groups) / n_total
    ss_between = sum(len(g) * (statistics.fmean(g) - grand) ** 2 for g in groups)
    ss_within = sum((x - statistics.fmean(g)) ** 2 for g in groups for x in g)
    ms_between = ss_between / (k - 1)
    ms_within = ss_within / (n_total - k)
    # the average group size, corrected for unequal sizes (n0 of the unbalanced ANOVA)
    n0 = (n_total - sum(len(g) ** 2 for g in groups) / n_total) / (k - 1)
    var_between = max(0.0, (ms_between - ms_within) / n0) if n0 > 0 else 0.0
    total = var_between + ms_within
    if total <= 0:
        return 0.0, float(n_total)
    icc = var_between / total
    m = n_total / k
    return icc, n_total / (1 + (m - 1) * icc)


# --- tests on process summaries (the gate) ------------------------------------------------------

#: 1.4826 x MAD estimates the standard deviation of normal data, and one wild value cannot move it
MAD_TO_SD = 1.4826


def robust_sd(values: Sequence[float]) -> float:
    """1.4826 x the median absolute deviation; the sample standard deviation when the MAD is 0
    (more than half the values equal), 0.0 for fewer than two values or all equal."""
    xs = [float(v) for v in values]
    if len(xs) < 2:
        return 0.0
    center = statistics.median(xs)
    mad = statistics.median(abs(x - center) for x in xs)
    return MAD_TO_SD * mad if mad > 0 else statistics.stdev(xs)


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (the normal's for infinite df)."""
    from scipy.special import stdtrit

    if math.isinf(df):
        return NormalDist().inv_cdf(q)
    return float(stdtrit(df, q))


def t_p_two_sided(t: float, df: float) -> float:
    """Two-sided p-value of a t statistic (normal for infinite df)."""
    from scipy.special import stdtr

    if math.isinf(df):
        return 2 * (1 - NormalDist().cdf(abs(t)))
    return float(2 * stdtr(df, -abs(t)))


def welch(terms: Sequence[tuple[float, Sequence[float]]]) -> tuple[float, float, float]:
    """(estimate, standard error, degrees of freedom) of sum(sign x mean(sample)) over independent
    samples: variances s^2/n add, df by Welch-Satterthwaite. With the terms (+1, cand) and (-1, base)
    this is Welch's unequal-variance t-test (scipy.stats.ttest_ind(equal_var=False)); with four terms
    it compares a ratio of two cells between two runs. (nan, nan, nan) when a sample has fewer than 2
    values; df is infinite when every sample is constant (se 0)."""
    est, var, denom = 0.0, 0.0, 0.0
    for sign, sample in terms:
        xs = [float(x) for x in sample]
        if len(xs) < 2:
            return math.nan, math.nan, math.nan
        v = statistics.variance(xs) / len(xs)
        est += sign * statistics.fmean(xs)
        var += v
        denom += v * v / (len(xs) - 1)
    se = math.sqrt(var)
    df = var * var / denom if denom > 0 else math.inf
    return est, se, df


def welch_p(est: float, se: float, df: float) -> float:
    """Two-sided p of ``welch``'s estimate against 0: 1.0 for 0 +- 0, 0.0 for a nonzero constant."""
    if math.isnan(est) or math.isnan(se):
        return math.nan
    if se == 0:
        return 1.0 if est == 0 else 0.0
    return t_p_two_sided(est / se, df)


@functools.lru_cache(maxsize=None)
def _signed_rank_cdf(n: int) -> tuple[float, ...]:
    """P(W+ <= w), w = 0 .. n(n+1)/2, under the null: each rank's sign a fair coin."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for rank in range(1, n + 1):  # subsets of {1..rank} by their sum
        for w in range(rank * (rank + 1) // 2, rank - 1, -1):
            counts[w] += counts[w - rank]
    total, running, cdf = 2 ** n, 0, []
    for c in counts:
        running += c
        cdf.append(running / total)
    return tuple(cdf)


def wilcoxon_p(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences against 0, zeros dropped: exact
    (2 x P(W <= min(W+, W-)), the same figure as scipy.stats.wilcoxon's exact method, from a cached
    null distribution) for up to 50 nonzero differences without tied magnitudes; otherwise
    scipy.stats.wilcoxon's choice. 1.0 when every difference is 0, nan when there are none."""
    d = [float(x) for x in differences if x != 0]
    if not differences:
        return math.nan
    if not d:
        return 1.0
    magnitudes = sorted(abs(x) for x in d)
    if len(d) > 50 or len(set(magnitudes)) < len(magnitudes):
        from scipy.stats import wilcoxon

        return float(wilcoxon(d, alternative="two-sided").pvalue)
    rank = {m: i + 1 for i, m in enumerate(magnitudes)}
    w_plus = sum(rank[abs(x)] for x in d if x > 0)
    w = min(w_plus, len(d) * (len(d) + 1) // 2 - w_plus)
    return min(1.0, 2 * _signed_rank_cdf(len(d))[w])


def min_wilcoxon_p(n: int) -> float:
    """The smallest two-sided p-value the exact signed-rank test can give with ``n`` differences
    (all of one sign): 2 / 2^n."""
    return min(1.0, 2 / 2 ** n) if n > 0 else 1.0


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order: sorted ascending, the i-th (from 0)
    becomes max over j <= i of min(1, (m - j) x p_(j)). Rejecting where the adjusted p < alpha is
    Holm's procedure: the family-wise error rate stays at most alpha whatever the dependence.
    nan entries stay nan and do not count in the family (m = the number of finite ones)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def mde_fraction(se: float, alpha: float, df: float, power: float = 0.8) -> float:
    """The smallest relative change (a fraction) a two-sided test at ``alpha`` on a log scale with
    standard error ``se`` detects with ``power``: exp((t_{1-alpha/2, df} + z_power) x se) - 1."""
    if math.isnan(se) or math.isnan(df):
        return math.nan
    q = t_quantile(1 - alpha / 2, df) + NormalDist().inv_cdf(power)
    return math.expm1(q * se)

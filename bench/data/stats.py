"""Pure functions over numbers: summaries, speedup, ideal, efficiency, parallelism.

No I/O and no pandas here, so every figure in a report can be recomputed by hand from these rules:

* speedup    = median batch time of the sequential baseline (same workload, same cores)
               / median batch time of the cell
* ideal      = workers for io-bound work (waiting overlaps without limit);
               min(workers, cores) for cpu-bound work (a task needs a core); never above the tasks
* efficiency = speedup / ideal
* effective parallelism = CPU seconds of the measured process and its children / wall seconds,
               per batch, median over batches

and the statistics the comparison uses (bench.judge): variance components of a cell's processes,
Welch's t on independent samples, the exact one-sided Wilcoxon signed-rank test of paired
differences (exact with ties and zeros), the Hodges-Lehmann estimate with its exact bounds, and the
minimum detectable effect (by simulation for the rank test); bootstrap intervals of a median for fits.
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
    means = [statistics.fmean(g) for g in groups]
    ss_between = sum(len(g) * (mean - grand) ** 2 for g, mean in zip(groups, means))
    ss_within = sum((x - mean) ** 2 for g, mean in zip(groups, means) for x in g)
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


def mde_fraction(se: float, alpha: float, df: float, power: float = 0.8) -> float:
    """The smallest relative change (a fraction) a two-sided test at ``alpha`` on a log scale with
    standard error ``se`` detects with ``power``: exp((t_{1-alpha/2, df} + z_power) x se) - 1."""
    if math.isnan(se) or math.isnan(df):
        return math.nan
    q = t_quantile(1 - alpha / 2, df) + NormalDist().inv_cdf(power)
    return math.expm1(q * se)


# --- the paired gate: exact signed-rank with ties, Hodges-Lehmann, its exact bounds ------------

def _doubled_midranks(magnitudes: Sequence[float]) -> list[int]:
    """2 x the midrank of each magnitude (ties share the mean of their ranks): integers, so that the
    exact null distribution of a rank sum can be counted."""
    order = sorted(range(len(magnitudes)), key=lambda i: magnitudes[i])
    ranks = [0] * len(magnitudes)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and magnitudes[order[j + 1]] == magnitudes[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = i + j + 2  # 2 x the mean of ranks i+1 .. j+1
        i = j + 1
    return ranks


@functools.lru_cache(maxsize=256)
def _sign_flip_counts(ranks: tuple[int, ...]) -> tuple[int, ...]:
    """counts[s]: how many of the 2^n sign assignments give the positive ranks a sum of s."""
    counts = [1] + [0] * sum(ranks)
    top = 0
    for r in ranks:
        top += r
        for s in range(top, r - 1, -1):
            counts[s] += counts[s - r]
    return tuple(counts)


def signed_rank_p(differences: Sequence[float], alternative: str = "greater") -> float:
    """Exact one-sided p of the Wilcoxon signed-rank test that the differences lie above 0
    (``alternative="greater"``) or below it ("less").

    Exact also with ties and zeros: zeros are dropped (Wilcoxon's treatment), tied magnitudes share
    their midrank, and the null distribution is counted for those very ranks (each sign a fair coin),
    so one tie never switches the test to a normal approximation. nan without differences; 1.0 when
    every difference is 0.
    """
    d = [float(x) for x in differences if x == x]
    if not d:
        return math.nan
    nonzero = [x for x in d if x != 0]
    if not nonzero:
        return 1.0
    ranks = _doubled_midranks([abs(x) for x in nonzero])
    sign = 1 if alternative == "greater" else -1
    t_plus = sum(r for r, x in zip(ranks, nonzero) if x * sign > 0)
    counts = _sign_flip_counts(tuple(sorted(ranks)))
    return sum(counts[t_plus:]) / 2 ** len(nonzero)


@functools.lru_cache(maxsize=64)
def _pairs(n: int) -> tuple:
    """The (i, j) index arrays of every i <= j below ``n`` (numpy's triu_indices, built once per n: the
    gate asks for the same few sizes thousands of times in a simulation)."""
    import numpy as np

    return np.triu_indices(n)


def walsh_averages(differences: Sequence[float]) -> "object":
    """Every (d_i + d_j) / 2 with i <= j, sorted (numpy array of n(n+1)/2)."""
    import numpy as np

    d = np.asarray(differences, dtype=float)
    i, j = _pairs(d.size)
    return np.sort((d[i] + d[j]) / 2)


def hodges_lehmann(differences: Sequence[float]) -> float:
    """The Hodges-Lehmann estimate of the differences' centre: the median of their Walsh averages
    (the estimate that goes with the signed-rank test; robust, and efficient for normal data)."""
    import numpy as np

    w = walsh_averages(differences)
    return float(np.median(w)) if w.size else math.nan


def hodges_lehmann_bounds(differences: Sequence[float], alpha: float) -> tuple[float, float]:
    """(lower, upper): each a one-sided exact 1 - ``alpha`` confidence bound of the centre, from the
    Walsh averages and the signed-rank null distribution (Hollander and Wolfe): the lower bound is
    the k-th smallest Walsh average, the upper the k-th largest, k the largest count with
    P(W+ <= k - 1) <= alpha. Together a 1 - 2 x alpha interval. (-inf, inf) when ``alpha`` is below
    what n differences can reach (2^-n)."""
    w = walsh_averages(differences)
    n = len(differences)
    if n == 0:
        return math.nan, math.nan
    counts = _sign_flip_counts(tuple(range(2, 2 * n + 1, 2)))  # untied ranks 1..n, doubled
    total, running, k = 2 ** n, 0, 0
    for s in range(0, len(counts), 2):  # W+ = s / 2
        running += counts[s]
        if running / total > alpha:
            break
        k = s // 2 + 1
    if k == 0:
        return -math.inf, math.inf
    return float(w[k - 1]), float(w[-k])


def min_signed_rank_p(n: int) -> float:
    """The smallest one-sided p the exact signed-rank test can give with ``n`` nonzero differences."""
    return 2.0 ** -n if n > 0 else 1.0


def signed_rank_mde(differences: Sequence[float], level: float, power: float = 0.8, draws: int = 400,
                    seed: int = 0, n: int | None = None) -> float:
    """The smallest upward shift of the differences that the one-sided exact signed-rank test at
    ``level`` detects with ``power``, by simulation from the differences themselves.

    The differences are centred on their Hodges-Lehmann estimate and resampled (``draws`` samples of
    the same size, common random numbers for every shift); the shift is found by bisection. A closed
    form (z or t quantiles times a standard error) overstates the power of a rank test at these small
    n and tiny levels (here 61-69 % where it claimed 80 %). inf when the level cannot be reached with
    this n; nan with fewer than 2 differences. ``n``: the number of differences the test will have
    (default: as many as given), for the resolvable change of rounds still to come.
    """
    import numpy as np

    d = np.asarray([x for x in differences if x == x], dtype=float)
    given = d.size
    if given < 2:
        return math.nan
    n = given if n is None else n
    if min_signed_rank_p(n) > level:
        return math.inf
    counts = _sign_flip_counts(tuple(range(2, 2 * n + 1, 2)))
    tail, critical = 0, None  # the least W+ (doubled) with P(W+ >= it) <= level
    total = 2 ** n
    for s in range(len(counts) - 1, -1, -2):
        if (tail + counts[s]) / total > level:
            break
        tail += counts[s]
        critical = s
    centred = (d - hodges_lehmann(d)) * math.sqrt(given / (given - 1))  # resampling shrinks the spread by (n-1)/n
    rng = np.random.default_rng(seed)
    sample = centred[rng.integers(0, given, size=(draws, n))]
    scale = float(np.median(np.abs(centred))) * MAD_TO_SD or float(np.std(centred)) or 1e-9

    def detected(shift: float) -> float:
        x = sample + shift
        ranks = np.argsort(np.argsort(np.abs(x), axis=1), axis=1) + 1
        w2 = 2 * np.where(x > 0, ranks, 0).sum(axis=1)
        return float(np.mean(w2 >= critical))

    low, high = 0.0, scale
    while detected(high) < power:
        high *= 2
        if high > 1e3 * scale:
            return math.inf
    for _ in range(30):
        mid = (low + high) / 2
        if detected(mid) >= power:
            high = mid
        else:
            low = mid
    return high

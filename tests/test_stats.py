import math

import numpy as np
import pytest

from gilbench.bench.data import stats


def test_summarize_known_values():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s["n"] == 5 and s["median"] == 3.0 and s["mean"] == 3.0
    assert s["min"] == 1.0 and s["max"] == 5.0 and s["q1"] == 2.0 and s["q3"] == 4.0
    assert s["stdev"] == pytest.approx(math.sqrt(2.5))


def test_summarize_empty_and_single():
    assert math.isnan(stats.summarize([])["median"])
    one = stats.summarize([2.0])
    assert one["median"] == 2.0 and one["stdev"] == 0.0


def test_ideal_by_kind():
    assert stats.ideal_speedup("io-bound", workers=8, cores=2) == 8
    assert stats.ideal_speedup("cpu-bound", workers=8, cores=2) == 2
    assert stats.ideal_speedup("cpu-bound", workers=1, cores=2) == 1
    assert stats.ideal_speedup("io-bound", workers=8, cores=2, tasks=4) == 4


def test_speedup_and_efficiency():
    assert stats.speedup(0.8, 0.4) == 2.0
    assert math.isnan(stats.speedup(0.8, math.nan))
    assert stats.efficiency(1.6, 2.0) == 0.8


def test_effective_parallelism_is_median_cpu_over_wall():
    assert stats.effective_parallelism([1.0, 1.0, 1.0], [1.9, 2.0, 0.5]) == 1.9
    assert math.isnan(stats.effective_parallelism([], []))


# --- the statistics of the gate ---------------------------------------------------------------------

def test_variance_components_known_answers():
    # processes that repeat their own value: all variance between processes, n_eff = processes
    icc, n_eff = stats.variance_components([[1.0] * 5, [2.0] * 5, [3.0] * 5])
    assert icc == pytest.approx(1.0) and n_eff == pytest.approx(3.0)
    # identical processes: nothing between, every value counts
    icc, n_eff = stats.variance_components([[1.0, 2.0, 3.0]] * 4)
    assert icc == 0.0 and n_eff == 12
    assert math.isnan(stats.variance_components([[1.0, 2.0]])[0])  # one process: no estimate


def test_robust_sd():
    assert stats.robust_sd([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(1.4826 * 1.0)  # the outlier ignored
    assert stats.robust_sd([1.0, 1.0, 1.0, 5.0]) == pytest.approx(2.0)  # MAD 0: the sd
    assert stats.robust_sd([3.0]) == 0.0


def test_welch_is_scipys_unequal_variance_t_test():
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 7), rng.normal(0.8, 2, 12)
    est, se, df = stats.welch([(+1, b), (-1, a)])
    ref = ttest_ind(b, a, equal_var=False)
    assert est / se == pytest.approx(ref.statistic) and df == pytest.approx(ref.df)
    assert stats.welch_p(est, se, df) == pytest.approx(ref.pvalue)
    assert stats.welch_p(0.0, 0.0, math.inf) == 1.0 and stats.welch_p(0.2, 0.0, math.inf) == 0.0
    assert math.isnan(stats.welch([(+1, [1.0]), (-1, [1.0, 2.0])])[0])


def test_t_helpers_reduce_to_the_normal():
    assert stats.t_quantile(0.975, math.inf) == pytest.approx(1.959964)
    assert stats.t_quantile(0.975, 10) == pytest.approx(2.228139)
    assert stats.t_p_two_sided(2.228139, 10) == pytest.approx(0.05, rel=1e-5)


def test_mde_fraction():
    # (z_0.995 + z_0.8) x se on the log scale, as a fraction
    assert stats.mde_fraction(0.01, 0.01, math.inf) == pytest.approx(math.expm1((2.5758 + 0.8416) * 0.01), rel=1e-4)
    assert stats.mde_fraction(0.0, 0.01, 5) == 0.0
    assert stats.mde_fraction(0.01, 0.001, 10) > stats.mde_fraction(0.01, 0.01, 10)


def test_bootstrap_helpers():
    assert stats.bootstrap_ci([1.0] * 10, 0.99) == (1.0, 1.0)
    xs = np.random.default_rng(3).normal(size=9)
    reps = stats.median_replicates(xs, 300, np.random.default_rng(4))
    ref = np.median(np.random.default_rng(4).choice(xs, size=(300, 9), replace=True), axis=1)
    assert np.array_equal(reps, ref)


# --- the paired gate: exact signed-rank with ties, Hodges-Lehmann and its bounds ---------------------

def _midranks(magnitudes):
    order = sorted(magnitudes)
    return [sum(i + 1 for i, m in enumerate(order) if m == x) / order.count(x) for x in magnitudes]


def _enumerated_p(d, alternative="greater"):
    """P(T+ >= observed) over all 2^m sign flips of the nonzero differences, with midranks."""
    import itertools

    nonzero = [x for x in d if x != 0]
    ranks = _midranks([abs(x) for x in nonzero])
    sign = 1 if alternative == "greater" else -1
    observed = sum(r for r, x in zip(ranks, nonzero) if sign * x > 0)
    hits = sum(sum(r for r, s in zip(ranks, signs) if s) >= observed - 1e-9
               for signs in itertools.product((False, True), repeat=len(ranks)))
    return hits / 2 ** len(ranks)


def test_one_tie_among_all_positive_differences_keeps_the_signed_rank_p_exact():
    d = [0.01 * k for k in range(1, 14)] + [0.05]  # 14 positive, 0.05 twice
    assert stats.signed_rank_p(d) == 2.0 ** -14 == stats.min_signed_rank_p(14)
    assert stats.signed_rank_p([-x for x in d], "less") == 2.0 ** -14
    assert stats.signed_rank_p(d, "less") == 1.0


def test_signed_rank_p_is_the_exhaustive_count_with_ties_and_zeros():
    rng = np.random.default_rng(5)
    for n in range(1, 13):
        for _ in range(4):
            d = list(np.round(rng.normal(0.3, 1, n), 0) / 4)  # coarse: ties and zeros
            if not any(d):
                continue
            for alternative in ("greater", "less"):
                assert stats.signed_rank_p(d, alternative) == pytest.approx(_enumerated_p(d, alternative), abs=1e-12)
    assert stats.signed_rank_p([0.0, 0.0]) == 1.0 and math.isnan(stats.signed_rank_p([]))


def test_signed_rank_p_without_ties_is_scipys_exact_one_sided_test():
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(6)
    for n in (5, 9, 14, 20):
        d = rng.normal(0.2, 1, n)
        assert stats.signed_rank_p(list(d)) == pytest.approx(wilcoxon(d, alternative="greater").pvalue, rel=1e-12)


def test_hodges_lehmann_is_the_median_of_the_walsh_averages():
    d = list(np.random.default_rng(7).normal(0.1, 1, 11))
    walsh = [(d[i] + d[j]) / 2 for i in range(11) for j in range(i, 11)]
    assert stats.hodges_lehmann(d) == pytest.approx(float(np.median(walsh)), rel=1e-12)
    assert stats.hodges_lehmann([1.0, 2.0, 3.0]) == 2.0


def test_the_hodges_lehmann_bounds_agree_with_the_one_sided_test():
    # untied data: the lower bound is above 0 exactly when the one-sided test rejects at alpha
    rng = np.random.default_rng(8)
    for n in (8, 12, 16, 24):
        for alpha in (0.05, 0.01, 0.0025):
            for shift in (0.0, 0.4, 0.8, 1.5):
                d = list(rng.normal(shift, 1, n))
                low, high = stats.hodges_lehmann_bounds(d, alpha)
                assert (low > 0) == (stats.signed_rank_p(d, "greater") <= alpha)
                assert (high < 0) == (stats.signed_rank_p(d, "less") <= alpha)
                assert low <= stats.hodges_lehmann(d) <= high
    assert stats.hodges_lehmann_bounds([0.1, 0.2, 0.3], 0.01) == (-math.inf, math.inf)  # 2^-3 > 0.01


def test_the_smallest_p_is_that_of_all_differences_on_one_side():
    for n in (1, 10, 14):
        assert stats.min_signed_rank_p(n) == 2.0 ** -n == stats.signed_rank_p([0.5] * n)


def test_signed_rank_mde_has_the_power_it_claims():
    # normal differences with a known sd; the MDE is estimated from samples of them (median of several),
    # then data shifted by it are tested: detected about 80 % of the time (the old closed form gave 61-69 %)
    rng = np.random.default_rng(9)
    n, sd, level = 16, 0.03, 0.005
    mdes = [stats.signed_rank_mde(list(rng.normal(0, sd, n)), level, 0.8, seed=k) for k in range(7)]
    mde = float(np.median(mdes))
    assert 0.5 * sd < mde < 3 * sd
    power = np.mean([stats.signed_rank_p(list(rng.normal(mde, sd, n))) <= level for _ in range(400)])
    assert 0.6 < power < 0.95
    assert math.isinf(stats.signed_rank_mde([0.1, -0.1, 0.2], 0.01))  # 3 rounds never reach 1 %
    assert math.isnan(stats.signed_rank_mde([0.1], 0.01))

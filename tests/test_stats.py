import math

import numpy as np
import pytest

from gilbench.bench import stats


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


def test_wilcoxon_is_scipys_exact_signed_rank_test():
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(2)
    for n in (3, 8, 14, 30):
        for shift in (0.0, 0.5, 2.0):
            d = rng.normal(shift, 1, n)
            assert stats.wilcoxon_p(list(d)) == pytest.approx(wilcoxon(d).pvalue, rel=1e-12)
    assert stats.wilcoxon_p([0.1] * 1 + [0.2, 0.3, 0.4, 0.5]) == stats.min_wilcoxon_p(5) == 2 / 32
    assert stats.wilcoxon_p([0.0, 0.0]) == 1.0 and math.isnan(stats.wilcoxon_p([]))
    assert stats.wilcoxon_p([0.0, 0.1, 0.2, 0.3]) == pytest.approx(2 / 8)  # the zero dropped


def test_holm_adjusted_p_values():
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = stats.holm([0.5, math.nan, 0.001])
    assert adjusted[0] == 0.5 and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.002)  # m = 2


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

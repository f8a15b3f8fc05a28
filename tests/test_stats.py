import math

import pytest

from bench import stats


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

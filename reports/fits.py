"""Pure functions for the scaling analyses: Amdahl's law fitted to a speedup curve, and bootstrap
intervals of speedups over a cell's processes.

numpy arrays in, numbers out; no run data, no pandas, so each figure can be recomputed by hand.

Amdahl's law: with a serial fraction ``s`` of the work, ``N`` workers reach S(N) = 1 / (s + (1 - s) / N).
Its reciprocal, the time on N workers over the time on one, is linear in s:
1 / S(N) = 1 / N + s (1 - 1 / N). The fit is least squares on that time ratio with relative weights
(each point's residual over its own measured value: timing noise is proportional to the time), which
is a one-parameter weighted linear least squares; with s bounded to [0, 1] its minimum is the
unbounded solution clipped to the bounds (a convex quadratic in one variable), so every bootstrap
replicate is fitted at once. ``scipy.optimize.curve_fit`` with ``sigma`` = the measured time ratio and
``bounds=(0, 1)`` finds the same s (tests/test_analyses.py checks it).

The process is the unit: a cell's time is the median of its process medians, and an interval
resamples each cell's process medians (independently per cell, with replacement) and recomputes. Those
rules are ``bench.data.precision``'s, the very functions a run with a precision target stops its cells by, so the
interval the report draws over processes is the one the run was run to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..bench.data import precision
from ..bench.data.precision import CONFIDENCE, RESAMPLES, cell_replicates, cell_time, seed_of  # noqa: F401 - fits' names
from ..bench.data.stats import bootstrap_ci


def amdahl(workers: "np.ndarray | Sequence[float] | float", serial: float) -> np.ndarray:
    """Amdahl's speedup on ``workers`` workers with serial fraction ``serial``."""
    n = np.asarray(workers, dtype=float)
    return 1.0 / (serial + (1.0 - serial) / n)


def fit_serial_fraction(workers: Sequence[float], speedups: "np.ndarray | Sequence[float]") -> np.ndarray:
    """The serial fraction s in [0, 1] that fits Amdahl's law to ``speedups`` (shape (..., k): one curve
    per row, at the k ``workers``), least squares on 1 / speedup with relative weights; nan for a row
    with no worker count above 1 or a non-finite speedup."""
    n = np.asarray(workers, dtype=float)
    y = 1.0 / np.asarray(speedups, dtype=float)  # time on N workers / time on one
    x = 1.0 - 1.0 / n
    w = 1.0 / y ** 2  # residual relative to the measured point
    target = y - 1.0 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sum(w * x * target, axis=-1) / np.sum(w * x * x, axis=-1)
    return np.clip(s, 0.0, 1.0)


def max_residual(workers: Sequence[float], speedups: Sequence[float], serial: float) -> float:
    """The largest relative error of the fitted curve at the measured points: max |S_measured / S_fit - 1|."""
    measured = np.asarray(speedups, dtype=float)
    if measured.size == 0 or math.isnan(serial):
        return math.nan
    return float(np.max(np.abs(measured / amdahl(workers, serial) - 1.0)))


@dataclass(frozen=True)
class Estimate:
    """A figure and the interval around it: a bootstrap interval (the fits here) or the range over a
    cell's processes (reports.intervals); nan bounds where there is none, e.g. one process."""

    value: float
    low: float = math.nan
    high: float = math.nan

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))

    def straddles(self, threshold: float) -> bool:
        """Whether the interval holds ``threshold`` strictly inside: the data do not say which side it is on."""
        return self.has_interval and self.low < threshold < self.high

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)

    @property
    def bounded(self) -> bool:
        """Whether value and both ends are finite numbers (then low <= value <= high by construction)."""
        return all(math.isfinite(x) for x in (self.value, self.low, self.high))

    @property
    def half_width(self) -> float:
        """The larger distance from the value to either end: a symmetric ± for tools that take one number."""
        return max(self.value - self.low, self.high - self.value) if self.bounded else math.nan

    def scaled(self, factor: float) -> "Estimate":
        return Estimate(self.value * factor, self.low * factor, self.high * factor)

    def text(self, spec: str = ".2f", suffix: str = "") -> str:
        """"1.93x (1.88–1.97)"."""
        if math.isnan(self.value):
            return "–"
        out = f"{self.value:{spec}}{suffix}"
        return out + (f" ({self.low:{spec}}–{self.high:{spec}})" if self.has_interval else "")


def whiskers(estimates: Sequence[Estimate]) -> np.ndarray:
    """The distances from each value down to its interval's low end and up to its high end, shape (2, n),
    as matplotlib's ``yerr`` takes them (0 where there is no interval)."""
    return np.array([[max(e.value - e.low, 0.0) if e.has_interval else 0.0 for e in estimates],
                     [max(e.high - e.value, 0.0) if e.has_interval else 0.0 for e in estimates]])


def estimate(value: float, replicates: np.ndarray, confidence: float = CONFIDENCE, enough: bool = True) -> Estimate:
    """``value`` with the percentile interval of ``replicates`` (no interval unless ``enough``)."""
    if not enough:
        return Estimate(value)
    low, high = bootstrap_ci(replicates, confidence)
    return Estimate(value, low, high)


def speedup_estimate(reference: Sequence[float], cell: Sequence[float], resamples: int = RESAMPLES,
                     seed: int = 0) -> tuple[Estimate, np.ndarray]:
    """time(reference) / time(cell) from both cells' process medians, with its bootstrap interval and
    the replicates (for ratios of speedups): ``bench.data.precision.speedup_interval``, as an Estimate."""
    found, ratio = precision.speedup_interval(reference, cell, seed, resamples)
    return Estimate(found.value, found.low, found.high), ratio


@dataclass(frozen=True)
class AmdahlFit:
    """Amdahl's law fitted to one speedup curve."""

    workers: tuple[int, ...]
    speedups: tuple[float, ...]
    serial: Estimate  # the fitted serial fraction s, with its bootstrap interval
    residual: float  # the largest relative error of the fitted curve at the measured points

    def fits(self, tolerance: float) -> bool:
        return not math.isnan(self.residual) and self.residual <= tolerance


def fit_curve(workers: Sequence[int], reference: Sequence[float], cells: Sequence[Sequence[float]],
              resamples: int = RESAMPLES, seed: int = 0, confidence: float = CONFIDENCE) -> AmdahlFit:
    """Amdahl's law fitted to the speedups time(reference) / time(cell) at ``workers`` (one ``cells`` entry,
    its process medians, per worker count; ``reference``: the process medians of the cell the speedups
    are against), with a bootstrap interval of s over the processes of every cell."""
    points = [cell_time(c) for c in cells]
    speedups = np.asarray([cell_time(reference) / t for t in points], dtype=float)
    serial = float(fit_serial_fraction(workers, speedups))
    reps = cell_replicates([reference, *cells], resamples, np.random.default_rng(seed))
    curves = reps[:, :1] / reps[:, 1:]
    fitted = fit_serial_fraction(workers, curves)
    return AmdahlFit(tuple(int(w) for w in workers), tuple(float(s) for s in speedups),
                     estimate(serial, fitted, confidence, enough=precision.enough([reference, *cells])),
                     max_residual(workers, speedups, serial))

"""A figure's interval over processes, and the rule that stops a cell once its figure is known.

Why here and pure: the runner decides with it whether a cell takes more pyperf processes, and the report
draws the same interval (``reports.fits`` builds its estimates on these functions); bench/ may not import
reports/, so the one definition lives on this side. Numbers in, numbers out: no run folder, no process
started, numpy imported only when called (measured processes import ``bench.plan.matrix``, which names this
module's neighbours, and must not pay for numpy).

Two intervals live here. The band the report draws is the percentile bootstrap over processes
(``time_interval``, ``speedup_interval``): a cell's time is the median of its process medians, each replicate
resamples those medians (a speedup: both cells', independently); over 2 to 4 processes it is their range.
The precision a run states, and the rule stops on, is ``repeat_interval``: where a repeat run's figure would
fall (t on the log process medians, sqrt 2 for a second run, never under ``REPEAT_FLOOR``), since the
bootstrap over a few processes missed other runs' figures (docs/results.md).

A speedup of a cell whose workload is not io-bound is stated to an interval that also covers its
reading at one machine speed, each process's time over its canary's (``speed_covered``): the cell and its
baseline run at different times, and a machine whose speed moved between them moves the speedup by as much.

The stopping rule (``next_block``) reads only the interval's relative width, ``(high - low) / (high + low)``,
and the count of processes, never where the figure lies: see docs/measuring.md for why that does not bias
the figure, and tests/test_precision_simulation.py for the check on recorded processes.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import numpy as np

#: bootstrap resamples per interval, and the interval's confidence (what the report's intervals use too)
RESAMPLES = 500
CONFIDENCE = 0.95
#: the fewest processes a figure is judged on: below 4 the interval is the range of 2 or 3 processes, which
#: holds a cell's median with a chance of 50 % or 75 % only
MIN_JUDGED = 4
#: processes a cell takes at a time after its first block, and the most a cell takes in all
BLOCK = 2
CAP = 16
#: processes a budget never takes a cell below (two still give a range over processes and layouts)
FLOOR = 2
#: the extra processes a plan's estimate counts per cell beyond the first block: one block (quiet cells take
#: none, noisy ones several)
EXPECTED_EXTRA = BLOCK
#: a focus workload's cell weighs this much more than another in the budget's split (``focus_weights``)
FOCUS_WEIGHT = 4.0
#: the narrowest relative half-width a figure is stated to (``repeat_interval``): the shift between runs that no
#: interval over one run's processes sees and no reading of the machine's speed covers. Five sets of 8 quick runs
#: in a row here (tests/fixtures/between-runs.json): hello-sleep/processes x4, whose four process starts on two CPUs
#: are a tenth of its time, moved between runs by up to t * sqrt 2 * sd = 1.94 % with each run's processes agreeing
#: within 0.2 %; the floor is that, rounded up to the next half percent (a test holds it to the recordings)
REPEAT_FLOOR = 0.02
#: why a cell stopped short of its target: its budget share, the cap, a machine speed that moved between it and
#: its baseline by more than the target (``speed_gap``), or a target narrower than ``REPEAT_FLOOR`` (neither of the
#: last two is narrowed by more processes)
BUDGET, CAPPED, SPEED, FLOORED = "budget", "cap", "speed", "floor"


def finite(samples: Sequence[float]) -> "np.ndarray":
    """The finite numbers of ``samples``, as a numpy array."""
    import numpy as np

    xs = np.asarray(samples, dtype=float)
    return xs[np.isfinite(xs)]


def cell_time(samples: Sequence[float]) -> float:
    """A cell's time from its process medians: their median (nan for none)."""
    import numpy as np

    xs = finite(samples)
    return float(np.median(xs)) if xs.size else math.nan


def cell_replicates(samples: Sequence[Sequence[float]], resamples: int, rng: Any) -> "np.ndarray":
    """Bootstrap replicates of each cell's time (the median of its process medians), shape (resamples, cells):
    each cell's process medians resampled with replacement, independently."""
    import numpy as np

    from .stats import median_replicates

    if not samples:
        return np.empty((resamples, 0))
    return np.column_stack([median_replicates(finite(s), resamples, rng) for s in samples])


def enough(samples: Sequence[Sequence[float]]) -> bool:
    """Every cell has two finite process medians at least: an interval means something."""
    return all(finite(s).size >= 2 for s in samples)


def seed_of(key: str) -> int:
    """A stable seed from a text key (not Python's salted hash): an interval does not depend on what else ran."""
    return zlib.crc32(key.encode("utf-8"))


@dataclass(frozen=True)
class Interval:
    """A figure and its interval over processes; nan ends where there is none (fewer than two processes)."""

    value: float
    low: float = math.nan
    high: float = math.nan

    @property
    def bounded(self) -> bool:
        return all(math.isfinite(x) for x in (self.value, self.low, self.high))

    @property
    def relative(self) -> float:
        """The interval's half-width over its midpoint, ``(high - low) / (high + low)``: the "±" a precision is
        said in. A function of high / low only, so of the spread of the processes and not of the figure's
        value; nan without an interval."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high + self.low <= 0:
            return math.nan
        return (self.high - self.low) / (self.high + self.low)


def _percentiles(replicates: "np.ndarray", confidence: float) -> tuple[float, float]:
    from .stats import bootstrap_ci

    return bootstrap_ci(replicates, confidence)


def time_interval(samples: Sequence[float], seed: int = 0, resamples: int = RESAMPLES,
                  confidence: float = CONFIDENCE) -> Interval:
    """A cell's time (the median of its process medians ``samples``) with its bootstrap interval."""
    import numpy as np

    value = cell_time(samples)
    if not enough([samples]):
        return Interval(value)
    reps = cell_replicates([samples], resamples, np.random.default_rng(seed))[:, 0]
    return Interval(value, *_percentiles(reps, confidence))


def speedup_interval(reference: Sequence[float], cell: Sequence[float], seed: int = 0, resamples: int = RESAMPLES,
                     confidence: float = CONFIDENCE) -> tuple[Interval, "np.ndarray"]:
    """time(reference) / time(cell) from both cells' process medians, with its bootstrap interval, and the
    replicates (for ratios of speedups)."""
    import numpy as np

    reps = cell_replicates([reference, cell], resamples, np.random.default_rng(seed))
    ratio = reps[:, 0] / reps[:, 1]
    value = cell_time(reference) / cell_time(cell)
    if not enough([reference, cell]):
        return Interval(value), ratio
    return Interval(value, *_percentiles(ratio, confidence)), ratio


def repeat_interval(medians: Sequence[float], reference: Sequence[float] | None = None,
                    confidence: float = CONFIDENCE) -> Interval:
    """A cell's figure (its time, or with ``reference``, the baseline's process medians, its speedup) and the
    interval a repeat of the run is expected to give it: the precision the report states and the rule stops on.

    On a log scale, where timing noise acts: Student's t (Welch's degrees of freedom for a speedup) times the
    standard error of the difference of two runs' figures, sqrt 2 times one run's, so that another run's
    figure, not only the unseen true one, falls inside as often as the confidence says; never narrower than
    ``REPEAT_FLOOR``, the shift between runs that no interval over one run's processes sees. A percentile
    bootstrap over 4 or 5 processes is about their range: 8 quick runs in a row here fell outside each other's
    bootstrap intervals in 7 of 10 hello cells (docs/results.md). Nan ends with fewer than two processes a cell."""
    import numpy as np
    from scipy import stats as st

    cell = finite(medians)
    base = None if reference is None else finite(reference)
    value = cell_time(cell) if base is None else cell_time(base) / cell_time(cell)
    groups = [g for g in (cell, base) if g is not None]
    if any(g.size < 2 for g in groups) or any((g <= 0).any() for g in groups) or not math.isfinite(value):
        return Interval(value)
    parts = [float(np.log(g).var(ddof=1)) / g.size for g in groups]
    se2 = sum(parts)
    if se2 > 0:
        df = se2 ** 2 / sum(p ** 2 / (g.size - 1) for p, g in zip(parts, groups))
        half = float(st.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(2 * se2)
    else:
        half = 0.0
    half = max(half, math.atanh(REPEAT_FLOOR))  # Interval.relative is tanh(half)
    return Interval(value, value * math.exp(-half), value * math.exp(half))


def _per_canary(times: Sequence[float] | None, canaries: Sequence[Any] | None) -> list[float] | None:
    """Each process's time over its canary reading (the machine's speed as it saw it); None unless every
    process has a reading."""
    if times is None or canaries is None or len(times) != len(canaries):
        return None
    if not all(isinstance(c, (int, float)) and math.isfinite(c) and c > 0 for c in canaries):
        return None
    return [t / c for t, c in zip(times, canaries)]


def speed_reading(medians: Sequence[float], reference: Sequence[float],
                  canaries: tuple[Sequence[Any], Sequence[Any]], confidence: float = CONFIDENCE) -> Interval | None:
    """The speedup read on a machine of one speed: ``repeat_interval`` of each process's median over its canary
    reading (``canaries``: the cell's and the baseline's, in the order of ``medians`` and ``reference``); None
    where a process has no reading or there is no interval."""
    cell, base = _per_canary(medians, canaries[0]), _per_canary(reference, canaries[1])
    if cell is None or base is None:
        return None
    corrected = repeat_interval(cell, base, confidence)
    return corrected if corrected.bounded else None


def speed_covered(interval: Interval, medians: Sequence[float], reference: Sequence[float],
                  canaries: tuple[Sequence[Any], Sequence[Any]], confidence: float = CONFIDENCE) -> Interval:
    """A speedup's ``repeat_interval`` widened to cover its reading on a machine of one speed
    (``speed_reading``); unchanged where there is none. The figure stays the measured one.

    Why: a cell's processes run one after another, so a machine that is faster during the baseline than during
    the cell (another guest, a clock) moves the speedup by as much, and no spread over the cell's own processes
    shows it. Whether the canary's reading (one CPU, before the workload) is the cell's machine is not known,
    so the interval holds both readings instead of trusting either: 8 quick runs in a row here, replayed, left
    4 of 10 hello cells outside each other's intervals as measured, 1 corrected, none covering both
    (docs/results.md). Where the speed did not move the two readings differ only by the canaries' own noise,
    which the corrected reading's spread adds to the measured one's: the interval widens by that much."""
    return _cover(interval, speed_reading(medians, reference, canaries, confidence))


def _cover(interval: Interval, corrected: Interval | None) -> Interval:
    """``interval`` widened to hold ``corrected`` too (its value kept); unchanged without one."""
    if corrected is None or not interval.bounded:
        return interval
    return Interval(interval.value, min(interval.low, corrected.low), max(interval.high, corrected.high))


def speed_gap(interval: Interval, corrected: Interval | None) -> float:
    """The narrowest ± an interval covering both readings can have, whatever the processes: half the gap
    between the measured figure and the one at one machine speed, as ``Interval.relative`` says a width
    (tanh of half the log gap); 0 without a reading at one speed."""
    if corrected is None or not (interval.value > 0 and corrected.value > 0):
        return 0.0
    return math.tanh(abs(math.log(corrected.value / interval.value)) / 2)


def baseline_target(target: float, has_speedups: bool, floor: float = REPEAT_FLOOR) -> float:
    """The precision a baseline's time is taken to: ``target / sqrt(2)`` where speedups rest on it, so that a
    speedup (whose width adds the baseline's and the cell's, about in quadrature) can reach ``target`` with
    its own cell at the same width, but never under the ``floor`` (no interval is stated narrower) unless
    ``target`` itself is; ``target`` where none does."""
    return max(target / math.sqrt(2), min(target, floor)) if has_speedups else target


def under_floor(target: float) -> str:
    """What a run says before it starts when its target is narrower than ``REPEAT_FLOOR``; "" otherwise."""
    if target >= REPEAT_FLOOR:
        return ""
    return (f"±{target * 100:g} % is narrower than any interval a run states (±{REPEAT_FLOOR * 100:g} %, the shift "
            "between runs that their processes do not show): each figure stops once judged, flagged "
            "\"not at precision\"")


def reached(interval: Interval, processes: int, target: float) -> bool:
    """Whether a figure is known to ``target``: judged on ``MIN_JUDGED`` processes at least, its interval's
    relative width within the target. The figure's value is never read."""
    width = interval.relative
    return processes >= MIN_JUDGED and math.isfinite(width) and width <= target


def next_block(processes: int, first: int, at_target: bool, cap: int = CAP, block: int = BLOCK,
               share_left_s: float | None = None, per_process_s: float = 0.0) -> tuple[int, str]:
    """How many more processes a cell runs now, and why it stops short of its target ("" when it need not).

    ``processes`` ran so far; the first block is ``first`` processes, then ``block`` at a time while its figure
    is not ``at_target`` (``reached``), up to ``cap``. ``share_left_s`` is what is left of the cell's share of
    the run's budget (None: no budget), ``per_process_s`` what one of its processes takes: a block the share
    cannot pay for is cut to what it can, and none is run once it cannot pay for one (``BUDGET``); below
    ``FLOOR`` processes the budget is not asked. Returns (0, "") when the cell is done at its target, (0,
    ``BUDGET``) or (0, ``CAPPED``) when it stops short.
    """
    if processes >= max(first, 1) and at_target:
        return 0, ""
    cap = max(cap, first)
    if processes >= cap:
        return 0, CAPPED
    want = min(first - processes if processes < first else block, cap - processes)
    if share_left_s is not None and per_process_s > 0:
        afford = int(max(0.0, share_left_s) // per_process_s)
        if afford < want:
            floor = max(0, min(FLOOR, first) - processes)
            if floor:
                return floor, ""
            if afford < 1:
                return 0, BUDGET
            want = afford
    return want, ""


def decide(medians: Sequence[float], reference: Sequence[float] | None, aim: float, first: int, cap: int = CAP,
           block: int = BLOCK, confidence: float = CONFIDENCE, share_left_s: float | None = None,
           per_process_s: float = 0.0,
           canaries: tuple[Sequence[float], Sequence[float]] | None = None) -> tuple[Interval, int, str]:
    """One look at a cell: its figure's interval from its process medians so far (its time, or with
    ``reference``, the baseline's process medians, its speedup; with ``canaries``, both cells' processes'
    canary readings, a speedup's interval covers its reading at one machine speed too: ``speed_covered``), and
    ``next_block``'s answer: (interval, more processes to run now, why it stops short). A speedup whose two
    readings alone lie further apart than the target (``speed_gap``) stops once judged, with ``SPEED``: more
    processes would not bring them together; a target under ``REPEAT_FLOOR`` stops once judged, with
    ``FLOORED``, for the same reason. What the runner asks after every block, and what the simulation on
    recorded processes replays."""
    interval = repeat_interval(medians, reference, confidence)
    ran = int(finite(medians).size)
    judged = ran >= max(first, MIN_JUDGED)
    if reference is not None and canaries is not None:
        corrected = speed_reading(medians, reference, canaries, confidence)
        covered = _cover(interval, corrected)  # speed_covered, its reading made once
        if judged and not reached(covered, ran, aim) and speed_gap(interval, corrected) > aim:
            return covered, 0, SPEED
        interval = covered
    if judged and aim < REPEAT_FLOOR and not reached(interval, ran, aim):
        return interval, 0, FLOORED
    more, why = next_block(ran, first, reached(interval, ran, aim), cap, block, share_left_s, per_process_s)
    return interval, more, why


def share_s(left_s: float, cell_s: float, rest_s: float) -> float:
    """A cell's share of the budget: the ``left_s`` seconds the run has left when it starts, split over it
    and the cells after it in proportion to their estimates (``cell_s``, and ``rest_s`` for all of theirs)."""
    if left_s <= 0:
        return 0.0
    whole = cell_s + rest_s
    return left_s * (cell_s / whole if whole > 0 else 1.0)


def focus_weights(workloads: Sequence[str], focus: Sequence[str]) -> list[float]:
    """Each cell's weight in the budget's split, by its workload: ``FOCUS_WEIGHT`` for a profile's focus
    workloads (the figures the run is for), 1 for the rest; all 1 where the profile names no focus. Fixed by
    the plan before any value is read, so the split cannot favour a figure for its value."""
    return [FOCUS_WEIGHT if focus and w in focus else 1.0 for w in workloads]


def expected_processes(first: int, cap: int = CAP) -> int:
    """The processes a plan's estimate counts for a cell with a precision target: its first block and
    ``EXPECTED_EXTRA`` more, never above the cap."""
    return min(max(cap, first), first + EXPECTED_EXTRA)


def parse_precision(text: str) -> float | None:
    """"2%", "2 %", "0.02" -> 0.02; "none" or "off" -> None (no target); a ValueError naming the forms."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned in ("none", "off"):
        return None
    try:
        value = float(cleaned[:-1]) / 100 if cleaned.endswith("%") else float(cleaned)
    except ValueError:
        raise ValueError(f"--precision must be a percentage such as 2% or 0.5%, or none, not {text!r}") from None
    if not 0 < value < 1:
        raise ValueError(f"--precision must be above 0 % and below 100 %, not {text!r}")
    return value

"""Two run folders -> per-cell, per-metric verdicts: the gate, and the one statement of its rule.

Data only: no formatting, no I/O but reading. The unit of analysis is the pyperf *process*: values
inside one process share its memory layout, CPU placement and clock, so each process is summarized
by one figure per *summary* and the tests run on the logs of these figures.

The rule (``ALPHA`` = 0.01; ``--fail-on METRIC:T%[,tol=M%]`` or a workload's own ``fail_on`` gives a row's
threshold T and tolerance M, M = T/2 unless given; "worse" is slower time, lower speedup, lower
parallelism):

0. The promise. A row fails when its change is shown to be larger than M and passes when it is shown
   to be smaller than T; between M and T (the indifference zone) either may happen. So: no change,
   or a change of M or less, fails at most ALPHA of gates (over all rows together); a change of T or
   more passes at most PASS_ERROR of the time in a row, and fails at least POWER of gates in every
   cell whose noise resolves T in the rounds it has (``Row.resolvable``: said at the first look of
   ``gilbench ab`` and in every row; a cell that cannot resolve T is named, and can end inconclusive).
1. Rows. For each cell and threshold metric: ``time`` twice, summarized by each process's fastest
   batch (``min``: noise only adds time, so it is the least disturbed reading) and by its mean batch
   (``mean``: the guard that sees a regression hitting one batch in three, or only the first);
   ``speedup`` (the baseline cell of the same interpreter, workload and cores over the cell, both by
   ``min``; ``bench.query.baseline_of``); ``parallelism`` (the median over batches of CPU / wall);
   ``memory`` (the process tree's peak, PSS where the OS gives it, else RSS: ``ProcessRecord.memory``);
   ``cpu`` (the CPU seconds of each process's least disturbed batch, its workers' included:
   ``ProcessRecord.cpu_best``; a co-tenant inflates it less than wall time).
2. Error budgets. To fail: the family is every row of the comparison; a row's share of ``ALPHA`` is
   ``ALPHA x weight / total weight``, weight 2 for a primary row and 1 for the ``mean`` guard
   (Bonferroni: the chance that two runs differing by at most M fail any row is at most ``ALPHA``).
   To pass: each row has its own ``PASS_ERROR`` (a guard ``GUARD_PASS_ERROR``: the cell's POWER at T
   rests on its primary row). Within a row both are split over the looks of the design
   (``bench.sequential``): a single look for separate runs and short ab runs (fewer than 24 rounds);
   0.2, 0.3, 0.5 at 40 %, 70 % and all of the rounds for the gate.
3. Test, per row and look, on the differences oriented so that positive is worse:

   * Paired (both folders from one ``gilbench ab``): d_k = log(cand_k) - log(base_k) over round k
     (speedup: the baseline cell's log minus the cell's, candidate minus baseline). The exact
     one-sided Wilcoxon signed-rank test (ties by midranks, zeros dropped, exact at any n:
     ``stats.signed_rank_p``); the change is the Hodges-Lehmann estimate; its lower bound L is the
     exact one-sided bound at the look's share of the row's alpha, its upper bound U the one at the
     look's share of its pass error (``stats.hodges_lehmann_bounds``). A row stops at the first
     look where it is decided (L > M, or U < T); a cell runs on while any row reading it is undecided.
   * Counted (``instructions``, paired): a few rounds counted after the timed ones, one look. The
     mean of d_k and its one-sided Student t bounds on n - 1 df at the row's alpha and pass error
     (``counted_test``): counts of equal code differ by parts per million, and 2^-n, the rank test's
     smallest p, never reaches a row's level with so few pairs.
   * Unpaired (separate runs): the run is the unit, and one run a side cannot show a run-level
     offset. Welch's t on the processes' logs gives the change and its one-sided bounds; a time (and cpu) row's
     half-widths are at least the *run-to-run prediction bound*: t(1 - level, K - 1) x s x sqrt(2),
     s the ordinary sample sd of the cell's figure over the K earlier runs of the same plan and code
     (gilbench version and workloads' source hash) on this machine, the two compared never among
     them (``run_to_run_floor``). With fewer than ``FLOOR_MIN_RUNS`` such runs a time or cpu row shown above
     M is inconclusive ("run the baseline N more times"), never excused. Speedup and parallelism,
     ratios inside one run, have no floor.

4. Verdicts, first that applies:

   * ``failed`` (a regression): the cell (for speedup: the cell or its baseline cell) is ok in the
     baseline and crashed or raised in the candidate; or timed out in the candidate only, with a
     limit at least (1 + T) x the baseline's slowest process of the cell (a hang, in any round, is a
     regression; a limit within T of the cell's own time is inconclusive: raise --timeout). Timed
     out on both sides: inconclusive;
   * ``slower`` / ``worse`` (a regression): L > M;
   * ``faster`` / ``better``: the upper bound at the row's level below -M;
   * a pass, U < T: ``slower, under T`` (L > 0: a change shown, but not above M), ``faster`` (shown
     below 0), ``no change`` (the pass bounds within +-T), ``no regression`` (maybe faster);
   * ``inconclusive``: neither L > M nor U < T at the last look; its note gives the change the cell
     resolves in these rounds (``--fail-on-inconclusive`` fails the gate on these).

   An interval that excludes zero is never ``no change``.
5. Refused (``Refused``, exit 2) rather than judged: runs of different gilbench versions, values or
   warmups per process, or parameters (other than ``--scale``, which is shown); a paired comparison
   whose rounds cannot reach its level (it says how many rounds it needs).
6. The canary (a fixed reference loop timed in every process before anything of the workload is
   imported): the candidate's canary over the baseline's and its own A/A spread are shown, and a
   time row of CPU work gets a note when it differed beyond ``MACHINE_TOLERANCE``. It never
   changes a verdict: code that slows the interpreter cannot excuse itself.

Cells in one run only, cells not ok in the baseline, different tasks per batch, and runs on
different machines or interpreters (unless allowed) are ``not comparable``, never dropped.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import query, stats
from .model import CellRecord
from .records import Failure, RunManifest
from .results import RunFolder, RunFolderError
from .sequential import Design, single

#: the family's false-alarm rate: a change of the tolerance M or less (no change included) fails at most
#: this share of gates
ALPHA = 0.01
#: a row's chance of passing a change of its threshold T or more (split over the looks, as ALPHA is)
PASS_ERROR = 0.05
#: a guard row's (weight 1: ``SUMMARIES``) chance of passing a change of T: the cell's POWER at T rests on
#: its primary row; the guard only adds the catches the primary summary hides (a slowdown of one batch
#: in three), so it passes on weaker evidence instead of holding the gate inconclusive on its noise
GUARD_PASS_ERROR = 0.20
#: the power a cell's resolvable change is stated at: a change that large fails at least this share
#: of gates (1 - PASS_ERROR)
POWER = 0.95
#: the canary ratio beyond which (and significant) the two sides' machines differed in speed
MACHINE_TOLERANCE = 0.05
#: the fewest earlier runs of a plan on a machine a run-to-run floor is measured from (t on 2 degrees
#: of freedom); with fewer, a change of separate runs beyond the tolerance is inconclusive
FLOOR_MIN_RUNS = 3

#: metric -> (direction: +1 if a higher value is worse, words for worse/better)
METRICS: dict[str, tuple[int, str, str]] = {
    "time": (+1, "slower", "faster"),
    "speedup": (-1, "worse", "better"),
    "parallelism": (-1, "worse", "better"),
    "memory": (+1, "larger", "smaller"),  # a process tree's peak memory (ProcessRecord.memory: PSS, else RSS)
    "cpu": (+1, "more CPU", "less CPU"),  # the process tree's CPU seconds per batch (ProcessRecord.cpu_best)
    "instructions": (+1, "more work", "less work"),  # instructions per task (ProcessRecord.instructions)
}
#: a primary row's weight in the family; a guard's is less
PRIMARY_WEIGHT = 2.0
#: metrics whose separate runs carry a run-level offset (the machine's speed): judged beyond the
#: run-to-run prediction bound
FLOORED = ("time", "cpu")
#: metrics counted, not timed: near-deterministic figures from a few rounds after the timed ones, judged by
#: ``counted_test`` at one look (the exact rank test cannot reach a row's level with so few pairs)
COUNTED = ("instructions",)
#: metric -> its summaries of one process, each with its weight in the family (primary 2, guard 1)
SUMMARIES: dict[str, tuple[tuple[str, float], ...]] = {
    "time": (("min", 2.0), ("mean", 1.0)),
    "speedup": (("min", 2.0),),
    "parallelism": (("median", 2.0),),
    "memory": (("peak", 2.0),),
    "cpu": (("cpu", 2.0),),
    "instructions": (("count", 2.0),),
}
#: metrics that were dropped, and why: parse_threshold says so
DROPPED_METRICS = {
    "efficiency": "efficiency is speedup / ideal and the ideal cancels between runs: it gives the same verdict "
                  "as speedup; use speedup:PCT% instead",
    "gil-penalty": "gil-penalty is the ratio of two cells' times, i.e. of two speedup rows of one workload; "
                   "use speedup:PCT%, which judges each of them",
}
FAILED = "failed"
INCONCLUSIVE = "inconclusive"
NOT_COMPARABLE = "not comparable"
WITHIN_FLOOR = "within run-to-run floor"
#: what must match for two runs to be compared at all, and what only needs to be shown
MACHINE_KEYS = ("cpu_model", "logical_cpus")
PYTHON_KEYS = ("python_version", "python_implementation", "python_build", "gil_enabled")
SHOWN_KEYS = ("hostname", "os", "physical_cores", "memory_total_bytes", "default_start_method", "packages")


class Refused(RunFolderError):
    """Two runs the gate will not judge at all; the message says which difference and what to do."""


@dataclass(frozen=True)
class Threshold:
    """``--fail-on METRIC:T%[,tol=M%]``: fail a change shown above the tolerance M, pass one shown below
    T. M defaults to T/2; between M and T either outcome is allowed (the indifference zone)."""

    metric: str
    percent: float
    tolerance_percent: float | None = None

    @property
    def fraction(self) -> float:
        return self.percent / 100

    @property
    def tolerance(self) -> float:
        """M as a fraction: the largest change the gate tolerates (a change of M or less fails at most
        ALPHA of gates)."""
        return (self.percent / 2 if self.tolerance_percent is None else self.tolerance_percent) / 100

    @property
    def text(self) -> str:
        tol = "" if self.tolerance_percent is None else f",tol={self.tolerance_percent:g}%"
        return f"{self.metric}:{self.percent:g}%{tol}"


def parse_threshold(text: str) -> Threshold:
    """"time:10%" -> Threshold("time", 10.0); "time:5%,tol=1%" sets the tolerance M to 1 %; ValueError
    with the accepted syntax otherwise."""
    match = re.fullmatch(r"\s*([a-z-]+)\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*"
                         r"(?:,\s*tol\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*)?", text)
    if match and match.group(1) in DROPPED_METRICS:
        raise ValueError(f"--fail-on {text!r}: {DROPPED_METRICS[match.group(1)]}")
    if not match or match.group(1) not in METRICS or float(match.group(2)) <= 0:
        raise ValueError(
            f"--fail-on {text!r}: expected METRIC:PCT%[,tol=PCT%], e.g. time:10% or time:5%,tol=1%, with METRIC "
            f"one of {', '.join(METRICS)} and PCT above 0"
        )
    tolerance = None if match.group(3) is None else float(match.group(3))
    if tolerance is not None and not 0 <= tolerance < float(match.group(2)):
        raise ValueError(f"--fail-on {text!r}: the tolerance must be at least 0 and below the threshold "
                         f"({match.group(2)} %): the gate fails a change shown above it and passes one shown below "
                         "the threshold")
    return Threshold(match.group(1), float(match.group(2)), tolerance)


@dataclass(frozen=True)
class Thresholds:
    """The thresholds of a comparison: the default list, and a workload's own list where it has one."""

    default: tuple[Threshold, ...]
    per_workload: Mapping[str, tuple[Threshold, ...]] = field(default_factory=dict)

    def of(self, workload: str) -> tuple[Threshold, ...]:
        return self.per_workload.get(workload, self.default)

    @property
    def all(self) -> list[Threshold]:
        seen = dict.fromkeys(list(self.default) + [t for ts in self.per_workload.values() for t in ts])
        return list(seen)


def as_thresholds(thresholds: "Thresholds | list[Threshold] | tuple[Threshold, ...]") -> Thresholds:
    return thresholds if isinstance(thresholds, Thresholds) else Thresholds(tuple(thresholds))


@dataclass
class RunSide:
    """What a comparison needs of one run folder: its cells (with their processes), machine and plan."""

    path: str
    machine: dict[str, Any]
    cells: dict[str, CellRecord]
    #: the ab root both sides of one interleaved ``gilbench ab`` share ("" for a plain run)
    interleaved_with: str = ""
    timing: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    #: the group-sequential design of an ab (None: one look at the rounds there are)
    design: Design | None = None
    #: the hash of the measured workloads' source (``bench.runner.code_hash``; "" in runs made before it)
    code: str = ""

    @classmethod
    def load(cls, path: str) -> "RunSide":
        folder = RunFolder(path)
        manifest = folder.read_manifest()
        suite = folder.load_suite()  # not read for values (the manifest has them), but it must be ours
        if suite is not None and not any(b.get_metadata().get("gilbench_workload") for b in suite.get_benchmarks()):
            raise RunFolderError(f"{folder.suite}: a pyperf suite without gilbench metadata")
        machine = folder.read_optional(folder.machine, "machine.json", {})
        try:
            manifest = RunManifest.from_dict(manifest)
            records = manifest.records
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise RunFolderError(f"{folder.manifest}: a cell entry is not readable ({exc!r})") from None
        design = manifest.gate_design
        return cls(str(path), machine if isinstance(machine, dict) else {}, {r.id: r for r in records},
                   str(manifest.interleaved_with or ""), dict(manifest.timing),
                   str(manifest.gilbench_version or ""), Design.from_dict(design) if design else None,
                   str(manifest.code_hash or ""))

    def ok(self, cell_id: str) -> bool:
        return query.finished(self.cells.get(cell_id))

    def baseline_of(self, cell_id: str) -> str | None:
        """The id of the cell's speedup baseline (same interpreter, workload and cores: ``bench.query``)."""
        base = query.baseline_of(self.cells.values(), self.cells[cell_id])
        return base.id if base is not None else None

    def canaries(self) -> dict[tuple[str, int], float]:
        """Every process's canary wall time (s) by (cell, round); processes without one left out."""
        return {(cid, p.index): p.canary for cid, r in self.cells.items() for p in r.processes
                if p.canary is not None and math.isfinite(p.canary) and p.canary > 0}


@dataclass
class Row:
    """One cell, metric and summary compared."""

    id: str
    metric: str
    verdict: str
    summary: str = ""
    base: float = math.nan
    cand: float = math.nan
    ratio: float = math.nan  # the estimated candidate / baseline (exp of the log change)
    ci_low: float = math.nan  # the bounds of the ratio at the row's level (each one-sided)
    ci_high: float = math.nan
    p_value: float = math.nan  # one-sided, in the worse direction, at the look that decided
    level: float = math.nan  # the level that look tested at
    mde: float = math.nan
    threshold: float = math.nan  # T: a change shown below it passes
    tolerance: float = math.nan  # M: a change shown above it fails
    #: the change (worse direction) this row fails with probability POWER at its last look, on this
    #: noise: above the threshold, a change of T can end inconclusive here
    resolvable: float = math.nan
    pass_level: float = math.nan  # the level of the upper bound that a pass must clear
    floor: float = 0.0  # separate runs: the run-to-run prediction bound the row's bounds were widened to
    n_base: int = 0  # processes
    n_cand: int = 0
    regression: bool = False
    note: str = ""
    pairs: int = 0  # rounds used, paired; 0 unpaired
    look: int = 0  # the look (1-based) that decided the row; 0 when no look did
    decided: bool = False
    weight: float = 0.0
    kind: str = ""  # the workload's kind (io-bound rows get no canary note)
    between_base: float = math.nan  # the between-process share of the variance of the cell's values
    between_cand: float = math.nan
    n_eff_base: float = math.nan  # effective number of independent values (Kish)
    n_eff_cand: float = math.nan

    @property
    def change(self) -> float:
        return self.ratio - 1

    @property
    def label(self) -> str:
        return f"{self.metric} ({self.summary})" if self.summary and len(SUMMARIES[self.metric]) > 1 else self.metric


def _finite(x: Any) -> Any:
    """JSON has no NaN or Infinity: such floats become None, recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


@dataclass
class Comparison:
    base: str
    cand: str
    thresholds: list[Threshold]
    rows: list[Row] = field(default_factory=list)
    environment: list[tuple[str, str, str, bool]] = field(default_factory=list)  # key, base, cand, differs
    not_comparable: str = ""
    paired: bool = False
    rounds: int = 0  # the most rounds any paired row used
    family: int = 0  # rows in the family
    design: Design | None = None
    floor: Floor | None = None  # unpaired only
    machine_speed_ratio: float = math.nan  # canary time, candidate / baseline
    machine_speed_ci: tuple[float, float] = (math.nan, math.nan)
    machine_speed_p: float = math.nan
    machine_speed_spread: float = math.nan  # the canary's own A/A spread: sd of its per-round log ratios
    machine_speed_differed: bool = False  # p < ALPHA and beyond MACHINE_TOLERANCE
    machine_speed_note: str = ""
    scaled: str = ""  # the sides' --scale, when they differ

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regression]

    @property
    def inconclusive(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == INCONCLUSIVE]

    @property
    def unresolvable(self) -> list[Row]:
        """Rows whose noise, in these rounds, resolves less than their threshold: a change of T can end
        inconclusive there (the guarantee that T fails in POWER of gates does not hold for them)."""
        return [r for r in self.rows if r.resolvable > r.threshold]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, strict JSON: every NaN or infinity is None."""
        return _finite({
            "base": self.base,
            "cand": self.cand,
            "thresholds": [asdict(t) for t in self.thresholds],
            "not_comparable": self.not_comparable,
            "paired": self.paired,
            "rounds": self.rounds,
            "family": self.family,
            "alpha": ALPHA,
            "pass_error": PASS_ERROR,
            "power": POWER,
            "design": self.design.to_dict() if self.design else None,
            "floor": ({"runs": self.floor.runs, "source": self.floor.source, "paths": list(self.floor.paths),
                       "rows": [[c, s, f.sd, f.runs] for (c, s), f in sorted(self.floor.by_row.items())]}
                      if self.floor else None),
            "scaled": self.scaled,
            "machine_speed": {"ratio": self.machine_speed_ratio, "ci": list(self.machine_speed_ci),
                              "p": self.machine_speed_p, "spread": self.machine_speed_spread,
                              "differed": self.machine_speed_differed, "note": self.machine_speed_note},
            "environment": [list(e) for e in self.environment],
            "rows": [{**asdict(r), "label": r.label} for r in self.rows],
        })


# --- the family ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowSpec:
    """A row the comparison will have: fixed before any value is seen, so that its budget is too."""

    id: str
    metric: str
    summary: str
    threshold: Threshold
    weight: float


def row_specs(cells: Mapping[str, CellRecord], thresholds: Thresholds) -> list[RowSpec]:
    """Every row of a comparison of runs with these cells (the family), in order."""
    specs = []
    for cid, record in cells.items():
        for threshold in thresholds.of(record.cell.workload):
            if threshold.metric == "speedup" and record.baseline:
                continue
            for summary, weight in SUMMARIES[threshold.metric]:
                specs.append(RowSpec(cid, threshold.metric, summary, threshold, weight))
    return specs


def row_alpha(spec: RowSpec, total_weight: float) -> float:
    return ALPHA * spec.weight / total_weight if total_weight else ALPHA


def row_pass_error(spec: RowSpec) -> float:
    """The row's chance of passing a change of its threshold: PASS_ERROR for a primary row,
    GUARD_PASS_ERROR for a guard."""
    return PASS_ERROR if spec.weight >= PRIMARY_WEIGHT else GUARD_PASS_ERROR


def check_reachable(cells: Mapping[str, CellRecord], thresholds: Thresholds, design: Design) -> None:
    """Refused when the design's first look cannot reach its level with the exact signed-rank test:
    the gate would pass every change forever. The message gives the rounds it needs."""
    specs = row_specs(cells, thresholds)
    if not specs or _first_level(design, specs) >= stats.min_signed_rank_p(design.looks[0]):
        return
    from .sequential import design_for

    needed = next(r for r in range(design.looks[0] + 1, 1000)
                  if _first_level(design_for(r), specs) >= stats.min_signed_rank_p(design_for(r).looks[0]))
    raise Refused(
        f"{design.looks[0]} rounds cannot reach the gate's level: {len(specs)} rows share alpha {ALPHA:g}, so the "
        f"strictest row tests at {_first_level(design, specs):.2g} at the first look, and the exact signed-rank "
        f"test's smallest p with {design.looks[0]} rounds is {stats.min_signed_rank_p(design.looks[0]):.2g}. It "
        f"needs at least {needed} rounds: give --rounds {needed} (or the gate profile), or fewer cells or thresholds")


def _first_level(design: Design, specs: list[RowSpec]) -> float:
    """The strictest level any rank-tested row (all but ``COUNTED``) tests at, at the design's first look;
    1 when there is none."""
    total = sum(s.weight for s in specs)
    return min((design.level(0, row_alpha(s, total)) for s in specs if s.metric not in COUNTED), default=1.0)


# --- per-process summaries --------------------------------------------------------------------

#: a side's figures for one row: (sign, {process index: log summary}) terms, summed with their signs
Terms = list[tuple[int, dict[int, float]]]

#: a row's summary -> the process figure it takes (``bench.query.process_summary``); a parallelism
#: row's "median" is the median over batches of CPU / wall
_SUMMARY = {"min": "min", "mean": "mean", "median": "parallelism", "peak": "peak", "cpu": "cpu", "count": "count"}


def _logs(record: CellRecord, summary: str) -> dict[int, float]:
    out = {}
    for p in record.processes:
        if not p.values:
            continue
        x = query.process_summary(p, _SUMMARY[summary])
        if x is not None and math.isfinite(x) and x > 0:
            out[p.index] = math.log(x)
    return out


def _terms(side: RunSide, cid: str, metric: str, summary: str) -> tuple[Terms | None, str]:
    """The row's terms on one side, or None and why not."""
    record = side.cells[cid]
    if metric == "speedup":
        bid = side.baseline_of(cid)
        if bid is None:
            return None, "no baseline cell (same interpreter, workload and cores)"
        if not side.ok(bid):
            return None, f"the baseline cell {bid} is {side.cells[bid].status}"
        terms = [(+1, _logs(side.cells[bid], summary)), (-1, _logs(record, summary))]
    else:
        terms = [(+1, _logs(record, summary))]
    if any(not t for _, t in terms):
        return None, "no " + {"parallelism": "CPU accounting", "cpu": "CPU accounting", "memory": "memory figures",
                              "instructions": "instruction counts"}.get(metric, "values")
    return terms, ""


def _point(terms: Terms) -> float:
    """The side's figure: the product of its cells' medians over processes, with their signs."""
    out = 1.0
    for sign, logs in terms:
        out *= statistics.median(math.exp(v) for v in logs.values()) ** sign
    return out


def _spread(record: CellRecord, metric: str) -> tuple[float, float]:
    """(between-process share, effective n) of the cell's values (per-batch parallelism for parallelism)."""
    if metric == "parallelism":
        groups = [stats.batch_parallelism(p.values, p.cpu) for p in record.processes]
    else:
        groups = [p.values for p in record.processes]
    return stats.variance_components(groups)


def paired_differences(base: Terms, cand: Terms) -> list[float]:
    """d_k over the rounds k present in every term of both sides, in round order."""
    rounds = set.intersection(*(set(t) for _, t in base + cand))
    return [sum(sign * (c[k] - b[k]) for (sign, b), (_, c) in zip(base, cand)) for k in sorted(rounds)]


# --- the tests: pure functions over oriented log differences ------------------------------------

@dataclass
class Test:
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


def paired_test(worse: list[float], level: float, look: int = 0, pass_level: float | None = None) -> Test:
    """Exact one-sided signed-rank p, Hodges-Lehmann change and its exact bounds at ``level`` (and at
    ``pass_level``, by default PASS_ERROR)."""
    pass_level = PASS_ERROR if pass_level is None else pass_level
    low, high = stats.hodges_lehmann_bounds(worse, level)
    pass_low, pass_high = stats.hodges_lehmann_bounds(worse, pass_level)
    return Test(stats.hodges_lehmann(worse), low, high, stats.signed_rank_p(worse, "greater"), level,
                len(worse), look, pass_low, pass_high, pass_level)


def count_se(worse: list[float]) -> float:
    """The standard error of the mean of a count row's paired log differences (at least 2)."""
    return statistics.stdev(worse) / math.sqrt(len(worse))


def counted_test(worse: list[float], level: float, pass_level: float | None = None) -> Test:
    """A count row's test (``COUNTED``): the mean of the paired log differences and its one-sided Student
    t bounds on n - 1 degrees of freedom, at ``level`` and ``pass_level``, one look.

    Why not the rank test: its smallest p with n pairs is 2^-n, so the few rounds a count can afford
    (``bench.counters.COUNT_ROUNDS``) never reach a row's level. Why t is sound here: counts of equal
    code differ between rounds by parts per million (their A/A spread, docs/gate.md), so the bounds are
    that narrow; a stray count widens them (inconclusive), it cannot narrow them; and equal counts
    (sd 0) are exact, their bounds the difference itself. Fewer than 2 pairs: no test (n kept)."""
    pass_level = PASS_ERROR if pass_level is None else pass_level
    n = len(worse)
    if n < 2:
        return Test(level=level, n=n, pass_level=pass_level)
    est, se = statistics.fmean(worse), count_se(worse)
    if se == 0:
        p = 0.0 if est > 0 else 1.0
    else:
        tail = stats.t_p_two_sided(est / se, n - 1) / 2
        p = tail if est > 0 else 1 - tail

    def half(at: float) -> float:
        return stats.t_quantile(1 - at, n - 1) * se

    h, ph = half(level), half(pass_level)
    return Test(est, est - h, est + h, p, level, n, 1, est - ph, est + ph, pass_level)


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
                  spread: Spread | None = None) -> Test:
    """Welch's t on the log summaries (each side's terms with their signs), one-sided bounds at ``level``
    and ``pass_level``; with a run-to-run ``spread`` each half-width is at least its prediction bound."""
    pass_level = PASS_ERROR if pass_level is None else pass_level
    terms = [(sign, list(t.values())) for sign, t in cand] + [(-sign, list(t.values())) for sign, t in base]
    est, se, df = stats.welch(terms)
    if math.isnan(est):
        return Test(level=level, pass_level=pass_level)
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
    return Test(est, est - h, est + h, p, level, 0, 0, est - ph, est + ph, pass_level)


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


def shown_worse(test: Test, tolerance: float) -> bool:
    """Worse by more than the tolerance (oriented log) beyond doubt: the lower bound above it; with no
    tolerance the exact test's p at the level counts too (with ties the bounds can sit on 0 while p is
    below the level)."""
    return test.low > tolerance or (tolerance <= 0 and test.p <= test.level)


def decided(test: Test, threshold: float, tolerance: float | None = None, direction: int = 1) -> bool:
    """Whether a look settles the row: shown worse than the tolerance M (a regression), or shown better
    than the threshold T (a pass). ``threshold`` and ``tolerance`` are fractions (M defaults to T/2)."""
    tolerance = threshold / 2 if tolerance is None else tolerance
    return (shown_worse(test, worse_log(tolerance, direction))
            or test.pass_high < worse_log(threshold, direction))


def verdict(metric: str, test: Test, threshold: float, tolerance: float | None = None) -> tuple[str, bool]:
    """(verdict, is_regression) by step 4 of this module's rule; ``test`` on the oriented log scale,
    ``threshold`` (T) and ``tolerance`` (M, default T/2) as fractions of the metric's value."""
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


def machine_speed(base: RunSide, cand: RunSide, paired: bool) -> tuple[float, tuple[float, float], float, float]:
    """(canary ratio cand/base, its 1 - ALPHA interval, p, the canary's own A/A spread).

    Paired: the per-round log ratios of the canary (the spread is their sd: what the same fixed work
    moves between two processes of one round); unpaired: Welch on the logs (the spread is the sd of
    the logs within the baseline run)."""
    b, c = base.canaries(), cand.canaries()
    if paired:
        d = [math.log(c[k] / b[k]) for k in b if k in c]
        if len(d) < 2:
            return math.nan, (math.nan, math.nan), math.nan, math.nan
        low, high = stats.hodges_lehmann_bounds(d, ALPHA / 2)
        p = min(1.0, 2 * min(stats.signed_rank_p(d, "greater"), stats.signed_rank_p(d, "less")))
        return math.exp(stats.hodges_lehmann(d)), (math.exp(low), math.exp(high)), p, statistics.stdev(d)
    lb, lc = [math.log(x) for x in b.values()], [math.log(x) for x in c.values()]
    est, se, df = stats.welch([(+1, lc), (-1, lb)])
    if math.isnan(est):
        return math.nan, (math.nan, math.nan), math.nan, math.nan
    half = stats.t_quantile(1 - ALPHA / 2, df) * se
    return (math.exp(est), (math.exp(est - half), math.exp(est + half)), stats.welch_p(est, se, df),
            statistics.stdev(lb))


def _environment(base: RunSide, cand: RunSide) -> list[tuple[str, str, str, bool]]:
    rows = []
    for key in MACHINE_KEYS + PYTHON_KEYS + SHOWN_KEYS:
        b, c = base.machine.get(key, ""), cand.machine.get(key, "")
        rows.append((key, str(b), str(c), b != c))
    return rows


def _error(record: CellRecord) -> str:
    error = record.error or Failure()
    message = error.message or error.how
    what = "timed out" if record.status == "timeout" else record.status
    return f"{what} in the candidate" + (f": {message}" if message else "")


def check_alike(base: RunSide, cand: RunSide) -> str:
    """Refused (exit 2) for differences the gate cannot judge across; the sides' scales when they differ."""
    if base.version and cand.version and base.version != cand.version:
        raise Refused(f"the runs were made by different gilbench versions ({base.version} and {cand.version}): "
                      "their rules and measurements may differ; rerun both with one version")
    for key in ("values", "warmups", "loops"):
        b, c = base.timing.get(key), cand.timing.get(key)
        if b is not None and c is not None and b != c:
            raise Refused(f"the runs' {key} per process differ ({b} and {c}): a process's minimum and mean "
                          "depend on it; rerun with the same --values (or profile)")
    scales = set()
    for cid, b_rec in base.cells.items():
        c_rec = cand.cells.get(cid)
        if c_rec is None:
            continue
        if b_rec.cell.scale != c_rec.cell.scale:
            scales.add((b_rec.cell.scale, c_rec.cell.scale))
            continue
        if b_rec.cell.params != c_rec.cell.params:
            raise Refused(f"{cid}: the runs' workload parameters differ ({b_rec.cell.params} and "
                          f"{c_rec.cell.params}): that is another benchmark, not a regression")
    return ", ".join(f"work scaled x{c / b:g} in the candidate" for b, c in sorted(scales))


# --- the run-to-run floor of separate runs --------------------------------------------------------

@dataclass
class Floor:
    """The run-to-run spread of separate runs, per (cell, summary), and the runs it came from.

    Each earlier run of the same plan and code on this machine gives a cell its run-level figure (the
    median over processes of the log summary); their sample sd, with a t quantile on runs - 1 degrees
    of freedom, bounds what a new pair of runs can differ by with no change (``Spread.half_width``)."""

    by_row: dict[tuple[str, str], Spread] = field(default_factory=dict)
    runs: int = 0  # earlier runs of the same plan and code found
    paths: tuple[str, ...] = ()  # those runs' folders
    source: str = ""

    def of(self, cell_id: str, summary: str) -> Spread | None:
        return self.by_row.get((cell_id, summary))

    @property
    def known(self) -> bool:
        return self.runs >= FLOOR_MIN_RUNS

    @property
    def more_runs(self) -> int:
        """How many more runs of this plan on this machine a floor needs."""
        return max(FLOOR_MIN_RUNS - self.runs, 0)


def _plan_key(side: RunSide) -> tuple:
    """What makes two runs the same benchmark: every cell's parameters, the values per process, the
    gilbench version and the workloads' source (not the CPUs it was given, nor a resumed run's history)."""
    cells = tuple(sorted((cid, r.cell.tasks, json.dumps(r.cell.params, sort_keys=True), r.cell.scale,
                          r.cell.start_method or "", r.cell.module or "") for cid, r in side.cells.items()))
    timing = tuple(sorted((k, v) for k, v in side.timing.items() if k in ("values", "warmups", "loops")))
    return cells, timing, side.version, side.code


def run_to_run_floor(base: RunSide, cand: RunSide, history: list[RunSide] | None = None) -> Floor:
    """Each time and cpu row's run-to-run spread over earlier runs of the same plan, code, machine and
    interpreter (``_plan_key``): the run folders beside the two, or ``history``. The two runs compared
    never count, nor a run of other code (its workloads' source hash differs) or without a hash."""
    if history is None:
        history = _siblings(base, cand)
    compared = {Path(base.path).resolve(), Path(cand.path).resolve()}
    key = _plan_key(base)
    same = [h for h in history if Path(h.path).resolve() not in compared and base.code and _plan_key(h) == key
            and all(h.machine.get(k) == base.machine.get(k) for k in MACHINE_KEYS + PYTHON_KEYS)]
    floor = Floor(runs=len(same), paths=tuple(h.path for h in same))
    if not floor.known:
        floor.source = (f"not known: {len(same)} earlier run(s) of this plan and code on this machine beside the two "
                        f"(the prediction bound needs {FLOOR_MIN_RUNS}); a change beyond the tolerance is inconclusive until "
                        f"{floor.more_runs} more run(s) of the baseline are made here")
        return floor
    for cid, record in base.cells.items():
        if record.kind != "cpu-bound" and record.kind != "io-bound":
            continue
        for summary, _ in SUMMARIES["time"] + SUMMARIES["cpu"]:
            figures = []
            for h in same:
                logs = _logs(h.cells[cid], summary) if h.ok(cid) else {}
                if logs:
                    figures.append(statistics.median(logs.values()))
            if len(figures) >= FLOOR_MIN_RUNS:
                floor.by_row[(cid, summary)] = Spread(statistics.stdev(figures), len(figures))
    names = ", ".join(Path(p).name for p in floor.paths)
    floor.source = f"the spread over {len(same)} earlier runs of this plan and code on this machine ({names})"
    return floor


def _siblings(base: RunSide, cand: RunSide) -> list[RunSide]:
    found, seen = [], {Path(base.path).resolve(), Path(cand.path).resolve()}
    for parent in {Path(base.path).resolve().parent, Path(cand.path).resolve().parent}:
        for child in sorted(parent.iterdir()) if parent.is_dir() else []:
            if child.resolve() in seen or child.is_symlink() or not (child / "manifest.json").is_file():
                continue
            seen.add(child.resolve())
            try:
                side = RunSide.load(str(child))
            except (RunFolderError, OSError, ValueError):
                continue
            if all(r.status in ("ok", "skipped") for r in side.cells.values()):
                found.append(side)
    return found


# --- the comparison ------------------------------------------------------------------------------

def compare(
    base: RunSide,
    cand: RunSide,
    thresholds: "Thresholds | list[Threshold]",
    allow_other_machine: bool = False,
    allow_other_python: bool = False,
    floor: Floor | None = None,
    final: bool = True,
    with_mde: bool = True,
) -> Comparison:
    """Every cell of either run, for every threshold's metric and summary, with its verdict (the module's
    rule). ``final``: the rounds are all there will be (an undecided row is inconclusive); ``gilbench ab``
    asks with ``final=False`` at a look, to learn which rows are still open; ``with_mde=False`` skips the
    simulated MDE (a figure for the reader, not for the verdict). Raises Refused."""
    thresholds = as_thresholds(thresholds)
    result = Comparison(base.path, cand.path, thresholds.all, environment=_environment(base, cand))
    result.paired = bool(base.interleaved_with) and base.interleaved_with == cand.interleaved_with
    reasons = []
    if not allow_other_machine and any(base.machine.get(k) != cand.machine.get(k) for k in MACHINE_KEYS):
        reasons.append("the runs are from different machines (CPU model or count)")
    if not allow_other_python and any(base.machine.get(k) != cand.machine.get(k) for k in PYTHON_KEYS):
        reasons.append("the runs are from different interpreters (version, build or GIL)")
    result.not_comparable = "; ".join(reasons)
    result.scaled = check_alike(base, cand)
    _check_machine_speed(result, base, cand)

    cells = dict(base.cells)
    cells.update({cid: r for cid, r in cand.cells.items() if cid not in cells})
    specs = row_specs(cells, thresholds)
    total = sum(s.weight for s in specs)
    result.family = len(specs)
    if result.paired:
        rounds = max((len(r.processes) for r in list(base.cells.values()) + list(cand.cells.values())), default=0)
        result.design = base.design or single(max(rounds, 1))
        if not result.not_comparable:
            check_reachable(cells, thresholds, result.design)
    elif not result.not_comparable:
        result.floor = floor if floor is not None else run_to_run_floor(base, cand)
    for spec in specs:
        row = _row(spec, base, cand, result, row_alpha(spec, total), final, with_mde)
        result.rows.append(row)
    result.rows.sort(key=_severity)
    return result


def _row(spec: RowSpec, base: RunSide, cand: RunSide, result: Comparison, alpha: float, final: bool,
         with_mde: bool) -> Row:
    cid, metric = spec.id, spec.metric
    b_rec, c_rec = base.cells.get(cid), cand.cells.get(cid)
    row = Row(cid, metric, NOT_COMPARABLE, summary=spec.summary, threshold=spec.threshold.fraction,
              tolerance=spec.threshold.tolerance, weight=spec.weight, kind=(b_rec or c_rec).kind)
    if result.not_comparable:
        row.note = result.not_comparable
        return row
    if b_rec is None or c_rec is None:
        row.note = "only in the " + ("candidate" if b_rec is None else "baseline")
        return row
    if b_rec.cell.tasks != c_rec.cell.tasks:
        row.note = f"tasks per batch differ: {b_rec.cell.tasks} vs {c_rec.cell.tasks}"
        return row
    failed = _failure(base, cand, cid, metric, row.threshold)
    if failed is not None:
        row.verdict, row.note = failed
        row.regression = row.decided = failed[0] == FAILED
        return row
    if not base.ok(cid):
        row.note = f"no result in the baseline ({b_rec.status})"
        return row
    if not cand.ok(cid) and c_rec.status != "pending":
        row.note = f"no result in the candidate ({c_rec.status})"
        return row
    (tb, why_b), (tc, why_c) = _terms(base, cid, metric, spec.summary), _terms(cand, cid, metric, spec.summary)
    if tb is None or tc is None:
        row.verdict = INCONCLUSIVE if not final else NOT_COMPARABLE
        row.note = (f"baseline: {why_b}" if tb is None else f"candidate: {why_c}")
        return row
    direction = METRICS[metric][0]
    row.base, row.cand = _point(tb), _point(tc)
    row.n_base, row.n_cand = len(tb[-1][1]), len(tc[-1][1])
    row.between_base, row.n_eff_base = _spread(b_rec, metric)
    row.between_cand, row.n_eff_cand = _spread(c_rec, metric)
    tolerance_log = worse_log(row.tolerance, direction)
    floor_unknown = False
    if result.paired and metric in COUNTED:
        worse = [direction * d for d in paired_differences(tb, tc)]
        row.pairs = len(worse)
        if len(worse) < 2:
            row.verdict = INCONCLUSIVE
            row.note = f"{len(worse)} round(s) counted on both sides: a count needs at least 2"
            return row
        test = counted_test(worse, alpha, row_pass_error(spec))
        df = len(worse) - 1
        shift = count_se(worse) * (stats.t_quantile(1 - alpha, df) + stats.t_quantile(POWER, df))
        row.mde, row.resolvable = math.expm1(shift), worse_fraction(tolerance_log + shift, direction)
    elif result.paired:
        worse = [direction * d for d in paired_differences(tb, tc)]
        # without a recorded design (a fixed number of rounds) each row has one look, at the rounds it has
        design = base.design or single(len(worse))
        test = _sequential(worse, design, alpha, row.threshold, row.tolerance, direction, row_pass_error(spec))
        row.pairs = len(worse) if not test.look else design.looks[test.look - 1]
        result.rounds = max(result.rounds, row.pairs)
        if with_mde and len(worse) >= 2:
            last = design.level(len(design.looks) - 1, alpha)
            shift = stats.signed_rank_mde(worse, last, POWER)
            row.mde = math.expm1(shift)
            if design.rounds > len(worse):  # rounds still to come: the shift those rounds will resolve
                shift = stats.signed_rank_mde(worse, last, POWER, n=design.rounds)
            row.resolvable = worse_fraction(tolerance_log + shift, direction)
        if test.look == 0:
            row.verdict = INCONCLUSIVE
            row.note = f"{len(worse)} rounds, fewer than the first look ({design.looks[0]})"
            return row
    else:
        spread = None
        if metric in FLOORED and result.floor is not None:
            spread = result.floor.of(cid, spec.summary)
            floor_unknown = spread is None
            if spread is not None:
                row.floor = worse_fraction(spread.half_width(alpha), 1)
        test = unpaired_test(tb, tc, direction, alpha, row_pass_error(spec), spread)
        if not math.isnan(test.estimate):
            _, se, df = stats.welch([(s, list(t.values())) for s, t in tc] + [(-s, list(t.values())) for s, t in tb])
            row.mde = stats.mde_fraction(se, 2 * alpha, df, POWER)
            within = se * (stats.t_quantile(1 - alpha, df) + stats.t_quantile(POWER, df))
            between = spread.half_width(alpha) + spread.half_width(1 - POWER) if spread else 0.0
            total = max(within, between)
            row.resolvable = worse_fraction(tolerance_log + total, direction) if not floor_unknown else math.inf
    if math.isnan(test.estimate):
        row.verdict = INCONCLUSIVE
        row.note = f"too few processes ({row.n_base} and {row.n_cand}) to test any change"
        return row
    row.ratio = math.exp(direction * test.estimate)
    row.ci_low, row.ci_high = sorted((math.exp(direction * test.low), math.exp(direction * test.pass_high)))
    row.p_value, row.level, row.look, row.pass_level = test.p, test.level, test.look, test.pass_level
    row.decided = decided(test, row.threshold, row.tolerance, direction)
    row.verdict, row.regression = verdict(metric, test, row.threshold, row.tolerance)
    notes = []
    if floor_unknown and row.regression:
        # a run-level offset cannot be told from a change without the spread of earlier runs
        row.verdict, row.regression, row.decided = INCONCLUSIVE, False, True
        notes.append(f"separate runs: beyond the tolerance, but the run-to-run spread is not known: "
                     f"run the baseline {result.floor.more_runs} more time(s) on this machine")
    if not row.decided and not final:
        row.verdict, row.regression = "open", False
    if row.floor and row.verdict != "no change":
        notes.append(f"separate runs: bounds widened to the run-to-run prediction bound of {row.floor * 100:.1f} %")
    if row.verdict == INCONCLUSIVE and not floor_unknown and not math.isnan(row.resolvable):
        notes.append(f"this cell resolves {row.resolvable * 100:.1f} % in these rounds (a change that large fails "
                     f"{POWER:.0%} of gates), above the threshold {row.threshold * 100:g} %")
    if metric == "time" and row.kind == "cpu-bound" and result.machine_speed_differed:
        notes.append(result.machine_speed_note + " (shown, not used: the canary never excuses a time row)")
    if result.scaled:
        notes.append(result.scaled)
    row.note = "; ".join(notes)
    return row


def _failure(base: RunSide, cand: RunSide, cid: str, metric: str, threshold: float) -> tuple[str, str] | None:
    """The rule for cells that did not finish (step 4's first case), or None when both sides did.

    The cell (for speedup: the cell or its baseline cell) ok in the baseline and, in the candidate:
    crashed or raised -> failed (a regression); timed out -> failed when the limit was at least
    (1 + T) x the baseline's slowest process of that cell (the candidate took longer than any baseline
    process by more than the threshold, however many rounds it ran first), else inconclusive (the limit
    was too near the cell's own time to judge). Timed out on both sides -> inconclusive: no side
    finished, no change can be told (raise --timeout)."""
    cells = [cid]
    if metric == "speedup":
        bid = cand.baseline_of(cid) if cid in cand.cells else None
        if bid and bid != cid:
            cells.append(bid)
    for i, c in enumerate(cells):
        b_rec, c_rec = base.cells.get(c), cand.cells.get(c)
        if b_rec is None or c_rec is None or c_rec.status not in ("failed", "timeout"):
            continue
        which = "" if i == 0 else f"its baseline cell {c} "
        if b_rec.status == "timeout" and c_rec.status == "timeout":
            return INCONCLUSIVE, f"{which}timed out on both sides: no change can be told (raise --timeout)"
        if not base.ok(c):
            continue
        if c_rec.status == "failed":
            return FAILED, which + _error(c_rec)
        limit = (c_rec.error.limit_s if c_rec.error else None) or math.nan
        slowest = max((p.ended - p.started for p in b_rec.processes if p.ended > p.started), default=math.nan)
        if math.isnan(limit) or math.isnan(slowest) or limit >= (1 + threshold) * slowest:
            return FAILED, which + _error(c_rec)
        return INCONCLUSIVE, (f"{which}timed out in the candidate, but its limit ({limit:.1f} s) was within "
                              f"{threshold * 100:g} % of the baseline's slowest process ({slowest:.1f} s): "
                              "raise --timeout")
    return None


def _sequential(worse: list[float], design: Design, alpha: float, threshold: float, tolerance: float,
                direction: int, pass_error: float = PASS_ERROR) -> Test:
    """The row's test at the first look that decides it, else at the last look its rounds reach. Both
    error budgets, ``alpha`` (to fail) and ``pass_error`` (to pass), are split over the looks."""
    last = Test()
    for j, look in enumerate(design.looks):
        if look > len(worse):
            break
        last = paired_test(worse[:look], design.level(j, alpha), j + 1, design.level(j, pass_error))
        if decided(last, threshold, tolerance, direction):
            break
    return last


def _check_machine_speed(result: Comparison, base: RunSide, cand: RunSide) -> None:
    ratio, ci, p, spread = machine_speed(base, cand, result.paired)
    result.machine_speed_ratio, result.machine_speed_ci, result.machine_speed_p = ratio, ci, p
    result.machine_speed_spread = spread
    if math.isnan(p):
        result.machine_speed_note = "machine speed not checked: too few processes with a canary"
        return
    differs = p < ALPHA and abs(ratio - 1) > MACHINE_TOLERANCE
    change = f"{(ratio - 1) * 100:+.1f} %"
    if differs:
        faster = "slower" if ratio > 1 else "faster"
        result.machine_speed_note = (f"the candidate's machine ran {faster}: canary {change}, the canary's own "
                                     f"spread {spread * 100:.1f} %")
    elif p >= ALPHA:
        result.machine_speed_note = f"machine speed the same within the noise (canary {change}, p {p:.2g})"
    else:
        result.machine_speed_note = (f"machine speed the same within {MACHINE_TOLERANCE * 100:g} % "
                                     f"(canary {change})")
    result.machine_speed_differed = differs


def open_cells(comparison: Comparison, cells: Mapping[str, CellRecord]) -> set[str]:
    """The cells that an undecided row still reads (the cell, and for speedup its baseline cell)."""
    out: set[str] = set()
    for row in comparison.rows:
        if row.decided or row.verdict in (FAILED, NOT_COMPARABLE):
            continue
        out.add(row.id)
        if row.metric == "speedup" and row.id in cells:
            base = query.baseline_of(cells.values(), cells[row.id])
            if base is not None:
                out.add(base.id)
    return out


VERDICT_ORDER = {FAILED: 0, "slower": 0, "worse": 0, "larger": 0, "more work": 0, "more CPU": 0, INCONCLUSIVE: 1, "open": 1, NOT_COMPARABLE: 2,
                 WITHIN_FLOOR: 2, "no change": 3, "no regression": 3, "faster": 4, "better": 4}


def _severity(row: Row) -> tuple[int, float]:
    direction = METRICS[row.metric][0]
    worse_by = row.change * direction if not math.isnan(row.ratio) else 0.0
    return VERDICT_ORDER.get(row.verdict, 2), -worse_by

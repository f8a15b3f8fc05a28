"""Two run folders -> per-cell verdicts against thresholds. Data only: no formatting, no I/O but reading.

For each metric named in a threshold (``time:10%``) and each cell:

* the change is the ratio candidate / baseline of the metric's point estimate (medians);
* its confidence interval comes from a bootstrap of both runs' values (seeded: reproducible);
* time and effective parallelism, which have one value per batch, also get a Mann-Whitney U test
  (valid for unequal sample counts);
* the minimum detectable effect (MDE) is the smallest change this much noise could have revealed;
  it is infinite when there are too few values for any test to reach ALPHA (fewer than 5 a side).

Verdict (``direction``: +1 when higher is worse, as for time):

* significant = the (1 - ALPHA) interval excludes 1 (and, where there is one, the test's p < ALPHA);
* a significant change of at least half the threshold, i.e. nearer to the threshold than to no
  change, is slower/faster (time) or worse/better (scaling metrics); a worse one is a regression;
* otherwise, an MDE above the threshold is "inconclusive": the data could not have told;
* otherwise "no change".

Cells in one run only, failed cells, different tasks, and runs on different machines or
interpreters (unless allowed) are "not comparable", never dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from bench import stats
from bench.results import RunFolder, RunFolderError

ALPHA = 0.01
N_BOOT = 2000
SEED = 20261125

#: metric -> (direction: +1 if a higher value is worse, words for worse/better)
METRICS: dict[str, tuple[int, str, str]] = {
    "time": (+1, "slower", "faster"),
    "speedup": (-1, "worse", "better"),
    "efficiency": (-1, "worse", "better"),
    "parallelism": (-1, "worse", "better"),
    "gil-penalty": (+1, "worse", "better"),
}
#: what must match for two runs to be compared at all, and what only needs to be shown
MACHINE_KEYS = ("cpu_model", "logical_cpus")
PYTHON_KEYS = ("python_version", "python_implementation", "python_build", "gil_enabled")
SHOWN_KEYS = ("hostname", "os", "physical_cores", "memory_total_bytes", "default_start_method", "packages")


@dataclass(frozen=True)
class Threshold:
    metric: str
    percent: float

    @property
    def fraction(self) -> float:
        return self.percent / 100


def parse_threshold(text: str) -> Threshold:
    """"time:10%" -> Threshold("time", 10.0); ValueError with the accepted syntax otherwise."""
    match = re.fullmatch(r"\s*([a-z-]+)\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*", text)
    if not match or match.group(1) not in METRICS or float(match.group(2)) <= 0:
        raise ValueError(
            f"--fail-on {text!r}: expected METRIC:PCT%, e.g. time:10%, with METRIC one of "
            f"{', '.join(METRICS)} and PCT above 0"
        )
    return Threshold(match.group(1), float(match.group(2)))


@dataclass
class RunSide:
    """What a comparison needs of one run folder."""

    path: str
    machine: dict[str, Any]
    cells: dict[str, dict[str, Any]]  # manifest entries by id
    values: dict[str, list[float]]  # pyperf values of ok cells

    @classmethod
    def load(cls, path: str) -> "RunSide":
        folder = RunFolder(path)
        manifest = folder.read_manifest()
        suite = folder.load_suite()
        values = {}
        if suite is not None:
            values = {b.get_name(): list(b.get_values()) for b in suite.get_benchmarks()}
            if not any(b.get_metadata().get("gilbench_workload") for b in suite.get_benchmarks()):
                raise RunFolderError(f"{folder.suite}: a pyperf suite without gilbench metadata")
        machine = folder.read_optional(folder.machine, "machine.json", {})
        cells = {c["id"]: c for c in manifest["cells"]}
        return cls(str(path), machine, cells, values)

    def ok(self, cell_id: str) -> bool:
        return self.cells.get(cell_id, {}).get("status") == "ok" and bool(self.values.get(cell_id))

    def sibling(self, cell: dict[str, Any], backend: str, workers: int | None = None) -> str:
        return f"{cell['workload']}/{backend}/w{workers or 1}/c{cell['cores']}"


@dataclass
class Row:
    """One cell and metric compared."""

    id: str
    metric: str
    verdict: str
    base: float = math.nan
    cand: float = math.nan
    ratio: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    mde: float = math.nan
    threshold: float = math.nan
    n_base: int = 0
    n_cand: int = 0
    regression: bool = False
    note: str = ""

    @property
    def change(self) -> float:
        return self.ratio - 1


@dataclass
class Comparison:
    base: str
    cand: str
    thresholds: list[Threshold]
    rows: list[Row] = field(default_factory=list)
    environment: list[tuple[str, str, str, bool]] = field(default_factory=list)  # key, base, cand, differs
    not_comparable: str = ""

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regression]

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "cand": self.cand,
            "thresholds": [asdict(t) for t in self.thresholds],
            "not_comparable": self.not_comparable,
            "environment": [list(e) for e in self.environment],
            "rows": [asdict(r) for r in self.rows],
        }


# --- metric estimators: (point, bootstrap replicates, per-batch samples or None) -------------------

Estimate = tuple[float, np.ndarray, list[float] | None]


def _time(side: RunSide, cid: str, rng: np.random.Generator) -> Estimate | None:
    if not side.ok(cid):
        return None
    v = side.values[cid]
    return float(np.median(v)), stats.median_replicates(v, N_BOOT, rng), v


def _speedup(side: RunSide, cid: str, rng: np.random.Generator) -> Estimate | None:
    cell = side.cells.get(cid)
    seq = side.sibling(cell, "sequential") if cell else ""
    if not cell or not side.ok(cid) or not side.ok(seq):
        return None
    base, mine = side.values[seq], side.values[cid]
    reps = stats.median_replicates(base, N_BOOT, rng) / stats.median_replicates(mine, N_BOOT, rng)
    return float(np.median(base) / np.median(mine)), reps, None


def _efficiency(side: RunSide, cid: str, rng: np.random.Generator) -> Estimate | None:
    found = _speedup(side, cid, rng)
    if not found:
        return None
    c = side.cells[cid]
    ideal = stats.ideal_speedup(c["kind"], c["workers"], c["cores"], c["tasks"])
    return found[0] / ideal, found[1] / ideal, None


def _parallelism(side: RunSide, cid: str, rng: np.random.Generator) -> Estimate | None:
    acct = side.cells.get(cid, {}).get("accounting") or {}
    ratios = stats.batch_parallelism(acct.get("wall", []), acct.get("cpu", []))
    if not side.ok(cid) or not ratios:
        return None
    return float(np.median(ratios)), stats.median_replicates(ratios, N_BOOT, rng), ratios


def _gil_penalty(side: RunSide, cid: str, rng: np.random.Generator) -> Estimate | None:
    """cid is a processes cell; the penalty is thread time / process time at the same workers."""
    cell = side.cells.get(cid)
    if not cell or cell["backend"] != "processes":
        return None
    threads = side.sibling(cell, "threads", cell["workers"])
    if not side.ok(cid) or not side.ok(threads):
        return None
    t, p = side.values[threads], side.values[cid]
    reps = stats.median_replicates(t, N_BOOT, rng) / stats.median_replicates(p, N_BOOT, rng)
    return float(np.median(t) / np.median(p)), reps, None


ESTIMATORS: dict[str, Callable[[RunSide, str, np.random.Generator], Estimate | None]] = {
    "time": _time,
    "speedup": _speedup,
    "efficiency": _efficiency,
    "parallelism": _parallelism,
    "gil-penalty": _gil_penalty,
}


def _applies(metric: str, cell: dict[str, Any]) -> bool:
    if metric in ("speedup", "efficiency"):
        return cell["backend"] != "sequential"
    if metric == "gil-penalty":
        return cell["backend"] == "processes"
    return True


def decide(threshold: Threshold, ratio: float, ci: tuple[float, float], p: float, mde: float) -> tuple[str, bool]:
    """(verdict, is_regression) by the rule in this module's docstring."""
    direction, worse, better = METRICS[threshold.metric]
    change = ratio - 1
    excludes_one = ci[0] > 1 or ci[1] < 1
    significant = excludes_one and (math.isnan(p) or p < ALPHA)
    if significant and abs(change) >= threshold.fraction / 2:
        is_worse = change * direction > 0
        return (worse if is_worse else better), is_worse
    if not math.isnan(mde) and mde > threshold.fraction:
        return "inconclusive", False
    return "no change", False


def _environment(base: RunSide, cand: RunSide) -> list[tuple[str, str, str, bool]]:
    rows = []
    for key in MACHINE_KEYS + PYTHON_KEYS + SHOWN_KEYS:
        b, c = base.machine.get(key, ""), cand.machine.get(key, "")
        rows.append((key, str(b), str(c), b != c))
    return rows


def compare(
    base: RunSide,
    cand: RunSide,
    thresholds: list[Threshold],
    allow_other_machine: bool = False,
    allow_other_python: bool = False,
) -> Comparison:
    """Every cell of either run, for every threshold's metric, with its verdict."""
    result = Comparison(base.path, cand.path, thresholds, environment=_environment(base, cand))
    reasons = []
    if not allow_other_machine and any(base.machine.get(k) != cand.machine.get(k) for k in MACHINE_KEYS):
        reasons.append("the runs are from different machines (CPU model or count)")
    if not allow_other_python and any(base.machine.get(k) != cand.machine.get(k) for k in PYTHON_KEYS):
        reasons.append("the runs are from different interpreters (version, build or GIL)")
    result.not_comparable = "; ".join(reasons)
    rng = np.random.default_rng(SEED)
    ids = list(base.cells) + [i for i in cand.cells if i not in base.cells]
    for threshold in thresholds:
        metric = threshold.metric
        for cid in ids:
            b_cell, c_cell = base.cells.get(cid), cand.cells.get(cid)
            cell = b_cell or c_cell
            if not _applies(metric, cell):
                continue
            row = Row(cid, metric, "not comparable", threshold=threshold.fraction)
            result.rows.append(row)
            if result.not_comparable:
                row.note = result.not_comparable
                continue
            if b_cell is None or c_cell is None:
                row.note = "only in the " + ("candidate" if b_cell is None else "baseline")
                continue
            if b_cell.get("tasks") != c_cell.get("tasks"):
                row.note = f"tasks per batch differ: {b_cell.get('tasks')} vs {c_cell.get('tasks')}"
                continue
            eb, ec = ESTIMATORS[metric](base, cid, rng), ESTIMATORS[metric](cand, cid, rng)
            if eb is None or ec is None:
                row.note = "no result in the " + ("baseline" if eb is None else "candidate") + \
                    f" ({(b_cell if eb is None else c_cell).get('status')})"
                continue
            row.base, row.cand = eb[0], ec[0]
            row.ratio = ec[0] / eb[0] if eb[0] else math.nan
            ci = stats.bootstrap_ci(ec[1] / eb[1], 1 - ALPHA)
            row.ci_low, row.ci_high = ci
            if eb[2] is not None and ec[2] is not None:
                row.p_value = stats.mann_whitney_p(eb[2], ec[2])
                row.n_base, row.n_cand = len(eb[2]), len(ec[2])
            else:
                row.n_base, row.n_cand = len(base.values.get(cid, [])), len(cand.values.get(cid, []))
            row.mde = stats.min_detectable_effect(ci, 1 - ALPHA)
            if stats.min_mann_whitney_p(row.n_base, row.n_cand) >= ALPHA:
                row.mde = math.inf  # too few values a side for any test to reach ALPHA
                row.note = f"too few values ({row.n_base} and {row.n_cand}) to detect any change"
            row.verdict, row.regression = decide(threshold, row.ratio, ci, row.p_value, row.mde)
            if b_cell.get("params") != c_cell.get("params"):
                row.note = f"parameters differ: {b_cell.get('params')} vs {c_cell.get('params')}"
    result.rows.sort(key=_severity)
    return result


VERDICT_ORDER = {"slower": 0, "worse": 0, "inconclusive": 1, "not comparable": 2, "no change": 3, "faster": 4, "better": 4}


def _severity(row: Row) -> tuple[int, float]:
    direction = METRICS[row.metric][0]
    worse_by = row.change * direction if not math.isnan(row.ratio) else 0.0
    return VERDICT_ORDER.get(row.verdict, 9), -worse_by

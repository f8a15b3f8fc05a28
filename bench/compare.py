"""Two run folders -> per-cell, per-metric verdicts, and a gate whose false-alarm rate is known.

Data only: no formatting, no I/O but reading. The unit of analysis is the pyperf *process*: values
inside one process share its memory layout, CPU placement and clock, so each process is summarized
by one figure (time: its fastest batch, ``ProcessRecord.best``: noise only adds time, so the minimum
is the least disturbed reading; parallelism: the median over its batches of CPU / wall seconds) and
the tests run on the logs of these summaries, one per process.

The rule (``ALPHA`` = 0.01, ``--fail-on METRIC:PCT%`` gives a row's threshold T = PCT / 100):

1. Rows. One row per cell and per threshold's metric: ``time`` (every cell), ``speedup`` (the cell
   flagged ``baseline`` in the run, same workload and cores, over the cell; every other cell),
   ``parallelism`` (every cell).
2. Estimate, p-value, interval, per row.

   * Paired, when both run folders carry the same ``interleaved_with`` (written by one
     ``gilbench ab``): process k of the baseline and of the candidate ran back to back in round k with
     the same layout, so the row uses the rounds present in both, d_k = log(cand_k) - log(base_k)
     (speedup: d_k = (log B_cand,k - log C_cand,k) - (log B_base,k - log C_base,k), B the baseline
     cell, C the cell). Change = exp(median d) - 1; p = two-sided Wilcoxon signed-rank test of d
     (zeros dropped; exact up to 50 rounds without ties); interval = percentile bootstrap of the
     median of d at 1 - ALPHA (2,000 resamples, seeded by crc32 of "cell|metric", so a row's interval
     does not depend on the other rows).
   * Unpaired (separate runs): Welch's t-test on the logs of each side's process summaries; change =
     exp(mean log cand - mean log base) - 1; interval = the Welch t interval at 1 - ALPHA. Speedup:
     each side's mean log B - mean log C, the four variances added (Welch-Satterthwaite df).

3. The family is every row of the comparison that has a p-value (all cells x all metrics): m rows.
   Holm's step-down at ALPHA: order the p-values p(1) <= ... <= p(m); row (i) is rejected when
   p(j) < ALPHA / (m - j + 1) for every j <= i. This keeps the probability that a comparison of two
   equal runs rejects any row (the family-wise error rate) at most 1 %.
4. Verdicts, first that applies:

   * ``failed`` (a regression): the cell (for speedup: the cell or its baseline cell) is ok in the
     baseline and failed or timed out in the candidate; the note carries the candidate's error;
   * ``slower`` / ``worse`` (a regression): Holm rejects the row and its change is at least half
     its threshold in the worse direction (nearer the threshold than no change): time +T/2 or more,
     speedup and parallelism -T/2 or less; ``faster`` / ``better`` likewise in the other direction;
   * ``machine speed differed`` (not a regression): a time row that would be slower or faster in an
     *unpaired* comparison whose machine speed differed (below);
   * ``inconclusive``: the row's minimum detectable effect (MDE) is above its threshold: MDE =
     exp((q + z_0.80) x SE) - 1, q the two-sided t quantile at ALPHA / m (df n - 1 paired, Welch df
     unpaired), SE the standard error of the log change (paired: 1.4826 x MAD of d, or the sd of d
     when the MAD is 0, over sqrt(n); unpaired: the Welch SE). The MDE is infinite when the test
     cannot reach ALPHA / m at all: paired with 2 / 2^n >= ALPHA / m, unpaired with fewer than 2
     processes on a side (then the row has no p-value and is not in the family);
   * ``no change`` otherwise.

5. Machine speed (the canary: a fixed reference loop every process times outside its timed region):
   the candidate's canary time over the baseline's, from every process of each run (Welch t on the
   logs; processes without a canary are left out, and with fewer than 2 a side there is no check). It
   *differed* when p < ALPHA and it is more than MACHINE_TOLERANCE (5 %) away from 1. In an unpaired
   comparison time rows are then not judged (slower/faster become ``machine speed differed``);
   speedup and parallelism, ratios measured inside one run, keep their verdicts. A paired comparison
   reports the ratio and judges time as usual (interleaving cancels drift).

Cells in one run only, cells not ok in the baseline, different tasks per batch, and runs on
different machines or interpreters (unless allowed) are ``not comparable``, never dropped.
"""

from __future__ import annotations

import math
import re
import statistics
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gilbench.bench import stats
from gilbench.bench.model import CellRecord
from gilbench.bench.results import RunFolder, RunFolderError

ALPHA = 0.01
POWER = 0.8
N_BOOT = 2000
#: the canary ratio beyond which (and significant) two separate runs' machines differed in speed
MACHINE_TOLERANCE = 0.05

#: metric -> (direction: +1 if a higher value is worse, words for worse/better)
METRICS: dict[str, tuple[int, str, str]] = {
    "time": (+1, "slower", "faster"),
    "speedup": (-1, "worse", "better"),
    "parallelism": (-1, "worse", "better"),
    "memory": (+1, "larger", "smaller"),  # a process tree's peak memory (ProcessRecord.memory: PSS, else RSS)
}
#: metrics that were dropped, and why: parse_threshold says so
DROPPED_METRICS = {
    "efficiency": "efficiency is speedup / ideal and the ideal cancels between runs: it gives the same verdict "
                  "as speedup; use speedup:PCT% instead",
    "gil-penalty": "gil-penalty is the ratio of two cells' times, i.e. of two speedup rows of one workload; "
                   "use speedup:PCT%, which judges each of them",
}
FAILED = "failed"
MACHINE = "machine speed differed"
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
    if match and match.group(1) in DROPPED_METRICS:
        raise ValueError(f"--fail-on {text!r}: {DROPPED_METRICS[match.group(1)]}")
    if not match or match.group(1) not in METRICS or float(match.group(2)) <= 0:
        raise ValueError(
            f"--fail-on {text!r}: expected METRIC:PCT%, e.g. time:10%, with METRIC one of "
            f"{', '.join(METRICS)} and PCT above 0"
        )
    return Threshold(match.group(1), float(match.group(2)))


@dataclass
class RunSide:
    """What a comparison needs of one run folder: its cells (with their processes) and its machine."""

    path: str
    machine: dict[str, Any]
    cells: dict[str, CellRecord]
    #: the ab root both sides of one interleaved ``gilbench ab`` share ("" for a plain run)
    interleaved_with: str = ""

    @classmethod
    def load(cls, path: str) -> "RunSide":
        folder = RunFolder(path)
        manifest = folder.read_manifest()
        suite = folder.load_suite()  # not read for values (the manifest has them), but it must be ours
        if suite is not None and not any(b.get_metadata().get("gilbench_workload") for b in suite.get_benchmarks()):
            raise RunFolderError(f"{folder.suite}: a pyperf suite without gilbench metadata")
        machine = folder.read_optional(folder.machine, "machine.json", {})
        try:
            records = [CellRecord.from_dict(c) for c in manifest["cells"]]
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise RunFolderError(f"{folder.manifest}: a cell entry is not readable ({exc!r})") from None
        return cls(str(path), machine if isinstance(machine, dict) else {}, {r.id: r for r in records},
                   str(manifest.get("interleaved_with") or ""))

    def ok(self, cell_id: str) -> bool:
        record = self.cells.get(cell_id)
        return record is not None and record.status == "ok" and any(p.values for p in record.processes)

    def baseline_of(self, cell_id: str) -> str | None:
        """The id of the cell flagged as the speedup baseline with the same workload and cores."""
        cell = self.cells[cell_id].cell
        for cid, record in self.cells.items():
            if record.baseline and record.cell.workload == cell.workload and record.cell.cores == cell.cores:
                return cid
        return None

    def canaries(self) -> list[float]:
        """Every process's canary wall time (s), over all cells; processes without one are left out."""
        return [p.canary for r in self.cells.values() for p in r.processes
                if p.canary is not None and math.isfinite(p.canary) and p.canary > 0]


@dataclass
class Row:
    """One cell and metric compared."""

    id: str
    metric: str
    verdict: str
    base: float = math.nan
    cand: float = math.nan
    ratio: float = math.nan  # the estimated candidate / baseline (exp of the paired or unpaired log change)
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan  # the row's own test
    mde: float = math.nan
    threshold: float = math.nan
    n_base: int = 0  # processes
    n_cand: int = 0
    regression: bool = False
    note: str = ""
    p_holm: float = math.nan  # Holm-adjusted over the comparison's family
    pairs: int = 0  # rounds used, paired; 0 unpaired
    between_base: float = math.nan  # the between-process share of the variance of the cell's values
    between_cand: float = math.nan
    n_eff_base: float = math.nan  # effective number of independent values (Kish)
    n_eff_cand: float = math.nan

    @property
    def change(self) -> float:
        return self.ratio - 1

    @property
    def rejected(self) -> bool:
        return not math.isnan(self.p_holm) and self.p_holm < ALPHA


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
    family: int = 0  # m: the rows with a p-value, over which Holm runs
    machine_speed_ratio: float = math.nan  # canary time, candidate / baseline
    machine_speed_ci: tuple[float, float] = (math.nan, math.nan)
    machine_speed_p: float = math.nan
    machine_speed_differed: bool = False  # p < ALPHA and beyond MACHINE_TOLERANCE
    machine_speed_note: str = ""

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regression]

    @property
    def time_judged(self) -> bool:
        """False when separate runs' machines differed in speed: their time rows are not judged."""
        return self.paired or not self.machine_speed_differed

    @property
    def inconclusive(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == "inconclusive"]

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
            "machine_speed": {"ratio": self.machine_speed_ratio, "ci": list(self.machine_speed_ci),
                              "p": self.machine_speed_p, "differed": self.machine_speed_differed,
                              "time_judged": self.time_judged, "note": self.machine_speed_note},
            "environment": [list(e) for e in self.environment],
            "rows": [asdict(r) for r in self.rows],
        })


# --- per-process summaries --------------------------------------------------------------------

#: a side's figures for one row: (sign, {process index: log summary}) terms, summed with their signs
Terms = list[tuple[int, dict[int, float]]]


def _logs(record: CellRecord, metric: str) -> dict[int, float]:
    out = {}
    for p in record.processes:
        if not p.values:
            continue
        x = p.parallelism if metric == "parallelism" else p.memory if metric == "memory" else p.best
        if x is not None and math.isfinite(x) and x > 0:
            out[p.index] = math.log(x)
    return out


def _terms(side: RunSide, cid: str, metric: str) -> tuple[Terms | None, str]:
    """The row's terms on one side, or None and why not."""
    record = side.cells[cid]
    if metric == "speedup":
        bid = side.baseline_of(cid)
        if bid is None:
            return None, "no baseline cell (same workload and cores)"
        if not side.ok(bid):
            return None, f"the baseline cell {bid} is {side.cells[bid].status}"
        terms = [(+1, _logs(side.cells[bid], "time")), (-1, _logs(record, "time"))]
    else:
        terms = [(+1, _logs(record, metric))]
    if any(not t for _, t in terms):
        return None, "no " + {"parallelism": "CPU accounting", "memory": "memory figures"}.get(metric, "values")
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


# --- the two analyses: pure functions over log summaries --------------------------------------

@dataclass
class Test:
    """One row's test, on the log scale: estimate, interval, p, standard error and df for the MDE."""

    estimate: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    p: float = math.nan
    se: float = math.nan
    df: float = math.nan
    n: int = 0  # paired: differences used
    min_p: float = 0.0  # the smallest p the test can give with this n


def row_seed(cell_id: str, metric: str) -> int:
    """A row's own bootstrap seed, from its identity only."""
    return zlib.crc32(f"{cell_id}|{metric}".encode())


def paired_test(differences: list[float], seed: int) -> Test:
    """Paired rounds: median of d, Wilcoxon signed-rank p, bootstrap interval of the median."""
    d = np.asarray(differences, dtype=float)
    n = int(d.size)
    if n == 0:
        return Test()
    reps = stats.median_replicates(d, N_BOOT, np.random.default_rng(seed))
    sd = stats.robust_sd(d.tolist())
    return Test(
        estimate=float(np.median(d)),
        ci=stats.bootstrap_ci(reps, 1 - ALPHA),
        p=stats.wilcoxon_p(d.tolist()),
        se=sd / math.sqrt(n),
        df=max(n - 1, 1),
        n=n,
        min_p=stats.min_wilcoxon_p(int(np.count_nonzero(d)) or n),
    )


def unpaired_test(base: Terms, cand: Terms) -> Test:
    """Separate runs: Welch's t on the log summaries, each side's terms with their signs."""
    terms = [(sign, list(t.values())) for sign, t in cand] + [(-sign, list(t.values())) for sign, t in base]
    est, se, df = stats.welch(terms)
    if math.isnan(est):
        return Test()
    half = stats.t_quantile(1 - ALPHA / 2, df) * se
    return Test(estimate=est, ci=(est - half, est + half), p=stats.welch_p(est, se, df), se=se, df=df)


def paired_differences(base: Terms, cand: Terms) -> list[float]:
    """d_k over the rounds k present in every term of both sides."""
    rounds = set.intersection(*(set(t) for _, t in base + cand))
    return [sum(sign * (c[k] - b[k]) for (sign, b), (_, c) in zip(base, cand)) for k in sorted(rounds)]


def decide(threshold: Threshold, ratio: float, rejected: bool, mde: float) -> tuple[str, bool]:
    """(verdict, is_regression) by the second, fourth and fifth bullets of step 4 of this module's rule."""
    direction, worse, better = METRICS[threshold.metric]
    change = ratio - 1
    if rejected and abs(change) >= threshold.fraction / 2:
        is_worse = change * direction > 0
        return (worse if is_worse else better), is_worse
    if not math.isnan(mde) and mde > threshold.fraction:
        return "inconclusive", False
    return "no change", False


def machine_speed(base: RunSide, cand: RunSide) -> tuple[float, tuple[float, float], float, int, int]:
    """(canary ratio cand/base, its 1 - ALPHA interval, Welch p, canaries base, canaries cand)."""
    b, c = base.canaries(), cand.canaries()
    test = unpaired_test([(+1, dict(enumerate(map(math.log, b))))], [(+1, dict(enumerate(map(math.log, c))))])
    return math.exp(test.estimate), (math.exp(test.ci[0]), math.exp(test.ci[1])), test.p, len(b), len(c)


def _environment(base: RunSide, cand: RunSide) -> list[tuple[str, str, str, bool]]:
    rows = []
    for key in MACHINE_KEYS + PYTHON_KEYS + SHOWN_KEYS:
        b, c = base.machine.get(key, ""), cand.machine.get(key, "")
        rows.append((key, str(b), str(c), b != c))
    return rows


def _applies(metric: str, record: CellRecord) -> bool:
    return not (metric == "speedup" and record.baseline)


def _error(record: CellRecord) -> str:
    error = record.error or {}
    message = error.get("message") or error.get("how") or ""
    what = "timed out" if record.status == "timeout" else record.status
    return f"{what} in the candidate" + (f": {message}" if message else "")


def compare(
    base: RunSide,
    cand: RunSide,
    thresholds: list[Threshold],
    allow_other_machine: bool = False,
    allow_other_python: bool = False,
) -> Comparison:
    """Every cell of either run, for every threshold's metric, with its verdict (the module's rule)."""
    result = Comparison(base.path, cand.path, thresholds, environment=_environment(base, cand))
    result.paired = bool(base.interleaved_with) and base.interleaved_with == cand.interleaved_with
    reasons = []
    if not allow_other_machine and any(base.machine.get(k) != cand.machine.get(k) for k in MACHINE_KEYS):
        reasons.append("the runs are from different machines (CPU model or count)")
    if not allow_other_python and any(base.machine.get(k) != cand.machine.get(k) for k in PYTHON_KEYS):
        reasons.append("the runs are from different interpreters (version, build or GIL)")
    result.not_comparable = "; ".join(reasons)
    _check_machine_speed(result, base, cand)

    ids = list(base.cells) + [i for i in cand.cells if i not in base.cells]
    tests: dict[int, Test] = {}
    for threshold in thresholds:
        metric = threshold.metric
        for cid in ids:
            b_rec, c_rec = base.cells.get(cid), cand.cells.get(cid)
            if not _applies(metric, b_rec or c_rec):
                continue
            row = Row(cid, metric, "not comparable", threshold=threshold.fraction)
            result.rows.append(row)
            if result.not_comparable:
                row.note = result.not_comparable
                continue
            if b_rec is None or c_rec is None:
                row.note = "only in the " + ("candidate" if b_rec is None else "baseline")
                continue
            if b_rec.cell.tasks != c_rec.cell.tasks:
                row.note = f"tasks per batch differ: {b_rec.cell.tasks} vs {c_rec.cell.tasks}"
                continue
            if not base.ok(cid):
                row.note = f"no result in the baseline ({b_rec.status})"
                continue
            if c_rec.status in ("failed", "timeout"):
                row.verdict, row.regression, row.note = FAILED, True, _error(c_rec)
                continue
            if not cand.ok(cid):
                row.note = f"no result in the candidate ({c_rec.status})"
                continue
            bid = cand.baseline_of(cid) if metric == "speedup" else None
            if bid and base.ok(bid) and cand.cells[bid].status in ("failed", "timeout"):
                row.verdict, row.regression, row.note = FAILED, True, f"its baseline cell {bid} {_error(cand.cells[bid])}"
                continue
            (tb, why_b), (tc, why_c) = _terms(base, cid, metric), _terms(cand, cid, metric)
            if tb is None or tc is None:
                row.note = (f"baseline: {why_b}" if tb is None else f"candidate: {why_c}")
                continue
            row.base, row.cand = _point(tb), _point(tc)
            row.n_base, row.n_cand = len(tb[-1][1]), len(tc[-1][1])
            row.between_base, row.n_eff_base = _spread(b_rec, metric)
            row.between_cand, row.n_eff_cand = _spread(c_rec, metric)
            if result.paired:
                test = paired_test(paired_differences(tb, tc), row_seed(cid, metric))
                row.pairs = test.n
                result.rounds = max(result.rounds, test.n)
                if test.n == 0:
                    row.note = "no round present on both sides"
                    continue
            else:
                test = unpaired_test(tb, tc)
            row.ratio = math.exp(test.estimate) if not math.isnan(test.estimate) else row.cand / row.base
            row.ci_low, row.ci_high = (math.exp(x) for x in test.ci)
            row.p_value = test.p
            tests[id(row)] = test
            if b_rec.cell.params != c_rec.cell.params:
                row.note = f"parameters differ: {b_rec.cell.params} vs {c_rec.cell.params}"

    _judge(result, tests)
    result.rows.sort(key=_severity)
    return result


def _judge(result: Comparison, tests: dict[int, Test]) -> None:
    """Holm over the family, the MDE at ALPHA / m, the verdicts."""
    family = [r for r in result.rows if id(r) in tests and not math.isnan(r.p_value)]
    m = result.family = len(family)
    for row, p in zip(family, stats.holm([r.p_value for r in family])):
        row.p_holm = p
    level = ALPHA / max(m, 1)
    for row in result.rows:
        test = tests.get(id(row))
        if test is None:
            continue
        threshold = Threshold(row.metric, row.threshold * 100)
        too_few = ""
        if math.isnan(row.p_value):
            too_few = f"too few processes ({row.n_base} and {row.n_cand}) to test any change"
        elif result.paired and test.min_p >= level:
            too_few = (f"too few rounds ({test.n}) to detect any change: the signed-rank test's smallest p, "
                       f"{test.min_p:.2g}, is not below {ALPHA:g}/{m}")
        row.mde = math.inf if too_few else stats.mde_fraction(test.se, level, test.df, POWER)
        if too_few:
            row.note = "; ".join(x for x in (too_few, row.note) if x)
        row.verdict, row.regression = decide(threshold, row.ratio, row.rejected, row.mde)
        if row.metric == "time" and not result.time_judged and row.verdict in METRICS["time"][1:]:
            row.verdict, row.regression = MACHINE, False
            row.note = "; ".join(x for x in (f"{result.machine_speed_note}; time not judged", row.note) if x)


def _check_machine_speed(result: Comparison, base: RunSide, cand: RunSide) -> None:
    ratio, ci, p, nb, nc = machine_speed(base, cand)
    result.machine_speed_ratio, result.machine_speed_ci, result.machine_speed_p = ratio, ci, p
    if math.isnan(p):
        result.machine_speed_note = (f"machine speed not checked: too few processes with a canary "
                                     f"({nb} and {nc})")
        return
    differs = p < ALPHA and abs(ratio - 1) > MACHINE_TOLERANCE
    change = f"{(ratio - 1) * 100:+.1f} %"
    if differs:
        result.machine_speed_note = f"machine speed differed by {change} (canary)"
        if result.paired:
            result.machine_speed_note += "; paired by round, so time is judged"
    elif p >= ALPHA:
        result.machine_speed_note = f"machine speed the same within the noise (canary {change}, p {p:.2g})"
    else:
        result.machine_speed_note = (f"machine speed the same within {MACHINE_TOLERANCE * 100:g} % "
                                     f"(canary {change})")
    result.machine_speed_differed = differs


VERDICT_ORDER = {FAILED: 0, "slower": 0, "worse": 0, "inconclusive": 1, MACHINE: 2, "not comparable": 2,
                 "no change": 3, "faster": 4, "better": 4}


def _severity(row: Row) -> tuple[int, float]:
    direction = METRICS[row.metric][0]
    worse_by = row.change * direction if not math.isnan(row.ratio) else 0.0
    return VERDICT_ORDER.get(row.verdict, 9), -worse_by

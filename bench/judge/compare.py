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
   ``min``; ``bench.data.query.baseline_of``); ``parallelism`` (the median over batches of CPU / wall);
   ``memory`` (the process tree's peak, PSS where the OS gives it, else RSS: ``ProcessRecord.memory``);
   ``cpu`` (the CPU seconds of each process's least disturbed batch, its workers' included:
   ``ProcessRecord.cpu_best``; a co-tenant inflates it less than wall time).
2. Error budgets. To fail: the family is every row of the comparison; a row's share of ``ALPHA`` is
   ``ALPHA x weight / total weight``, weight 2 for a primary row and 1 for the ``mean`` guard
   (Bonferroni: the chance that two runs differing by at most M fail any row is at most ``ALPHA``).
   To pass: each row has its own ``PASS_ERROR`` (a guard ``GUARD_PASS_ERROR``: the cell's POWER at T
   rests on its primary row). Within a row both are split over the looks of the design
   (``bench.judge.sequential``): a single look for separate runs and short ab runs (fewer than 24 rounds);
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

Where each step lives in ``bench.judge``: 1 ``sides`` (the per-process figures) and ``family`` (the rows),
2 ``family`` and ``sequential``, 3 ``tests`` and ``floor``, 4 ``rule`` (and ``_failure`` here), 5
``refusals`` (and ``family.check_reachable``), 6 ``machine_speed``; this module runs them in order
(``compare``, ``_row``).
"""

from __future__ import annotations

import math
from typing import Mapping

from ..data import query, stats
from ..data.thresholds import METRICS, Threshold, Thresholds, as_thresholds
from ..data.cells import CellRecord
from ..data.failure import Failure
from .family import COUNTED, FLOORED, POWER, PASS_ERROR, RowSpec, check_reachable, row_alpha, row_pass_error, row_specs
from .floor import Floor, run_to_run_floor
from .machine_speed import check_machine_speed
from .refusals import MACHINE_KEYS, PYTHON_KEYS, check_comparable, environment
from .result import Comparison, Row
from .rule import FAILED, INCONCLUSIVE, NOT_COMPARABLE, WITHIN_FLOOR, decided, verdict, worse_fraction, worse_log
from .sequential import Design, single
from .sides import RunSide, paired_differences, row_terms, side_figure, value_spread
from .tests import RowTest, count_se, counted_test, paired_test, unpaired_test


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
    result = Comparison(base.path, cand.path, thresholds.all, environment=environment(base, cand))
    result.paired = bool(base.interleaved_with) and base.interleaved_with == cand.interleaved_with
    reasons = []
    if not allow_other_machine and any(base.machine.get(k) != cand.machine.get(k) for k in MACHINE_KEYS):
        reasons.append("the runs are from different machines (CPU model or count)")
    if not allow_other_python and any(base.machine.get(k) != cand.machine.get(k) for k in PYTHON_KEYS):
        reasons.append("the runs are from different interpreters (version, build or GIL)")
    result.not_comparable = "; ".join(reasons)
    result.scaled = check_comparable(base, cand)
    check_machine_speed(result, base, cand)

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
    (tb, why_b), (tc, why_c) = row_terms(base, cid, metric, spec.summary), row_terms(cand, cid, metric, spec.summary)
    if tb is None or tc is None:
        row.verdict = INCONCLUSIVE if not final else NOT_COMPARABLE
        row.note = (f"baseline: {why_b}" if tb is None else f"candidate: {why_c}")
        return row
    direction = METRICS[metric][0]
    row.base, row.cand = side_figure(tb), side_figure(tc)
    row.n_base, row.n_cand = len(tb[-1][1]), len(tc[-1][1])
    row.between_base, row.n_eff_base = value_spread(b_rec, metric)
    row.between_cand, row.n_eff_cand = value_spread(c_rec, metric)
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


def _error(record: CellRecord) -> str:
    error = record.error or Failure()
    message = error.message or error.how
    what = "timed out" if record.status == "timeout" else record.status
    return f"{what} in the candidate" + (f": {message}" if message else "")


def _sequential(worse: list[float], design: Design, alpha: float, threshold: float, tolerance: float,
                direction: int, pass_error: float = PASS_ERROR) -> RowTest:
    """The row's test at the first look that decides it, else at the last look its rounds reach. Both
    error budgets, ``alpha`` (to fail) and ``pass_error`` (to pass), are split over the looks."""
    last = RowTest()
    for j, look in enumerate(design.looks):
        if look > len(worse):
            break
        last = paired_test(worse[:look], design.level(j, alpha), j + 1, design.level(j, pass_error))
        if decided(last, threshold, tolerance, direction):
            break
    return last


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


#: the rows' order, worst first: regressions, then undecided, not comparable, passes, improvements
VERDICT_ORDER = {FAILED: 0, "slower": 0, "worse": 0, "larger": 0, "more work": 0, "more CPU": 0, INCONCLUSIVE: 1,
                 "open": 1, NOT_COMPARABLE: 2, WITHIN_FLOOR: 2, "no change": 3, "no regression": 3, "faster": 4,
                 "better": 4}


def _severity(row: Row) -> tuple[int, float]:
    """A row's sort key: its verdict's place in ``VERDICT_ORDER``, then the larger change for the worse first."""
    direction = METRICS[row.metric][0]
    worse_by = row.change * direction if not math.isnan(row.ratio) else 0.0
    return VERDICT_ORDER.get(row.verdict, 2), -worse_by

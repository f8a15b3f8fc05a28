"""The gate: statistics on processes with known answers, the family's error budget, the verdict rule,
the sequential looks, the run-to-run floor, the canary, refusals, the threshold syntax, exit codes,
strict JSON and its outputs. Pure: no child processes, no benchmarks."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from gilbench.bench import cli
from gilbench.bench.data import stats
from gilbench.bench.data.thresholds import Threshold, Thresholds, parse_threshold
from gilbench.bench.judge.compare import compare, open_cells
from gilbench.bench.judge.family import ALPHA, PASS_ERROR, POWER, check_reachable
from gilbench.bench.judge.floor import FLOOR_MIN_RUNS, Floor, run_to_run_floor
from gilbench.bench.judge.refusals import Refused
from gilbench.bench.judge.result import Comparison, Row
from gilbench.bench.judge.rule import decided, shown_worse, verdict
from gilbench.bench.judge.sequential import design_for
from gilbench.bench.judge.sides import RunSide, paired_differences
from gilbench.bench.judge.tests import RowTest, Spread, paired_test
from gilbench.bench.data.cells import Cell
from gilbench.bench.data.cells import CellRecord, ProcessRecord
from gilbench.bench.data.results import FORMAT
from gilbench.reports import comparison as show

TIME10 = Threshold("time", 10.0)
SPEEDUP10 = Threshold("speedup", 10.0)
CID = "w/threads/w2/c2"
SEQ = "w/sequential/w1/c2"
MACHINE = {"cpu_model": "x", "logical_cpus": 2, "python_version": "3.11"}
#: separate runs judged with no run-to-run floor (the statistics alone), and with the default one
NO_FLOOR = 0.0


def procs(center: float, n: int, cv: float, seed: int, values: int = 3, within: float = 0.001,
          canary: float | None = 0.05) -> list[ProcessRecord]:
    """``n`` processes: each one's level drawn with ``cv`` around ``center``, its values within."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        level = center * (1 + rng.normal(0, cv))
        out.append(ProcessRecord(index=k, pad=64 * k, values=list(level * (1 + rng.normal(0, within, values))),
                                 canary=math.nan if canary is None else canary))
    return out


def exact(levels: list[float], values: int = 3, canary: float = 0.05) -> list[ProcessRecord]:
    """Processes whose every value is exactly their level."""
    return [ProcessRecord(index=k, values=[x] * values, canary=canary) for k, x in enumerate(levels)]


def record(cid: str, processes: list[ProcessRecord] | None, baseline: bool | None = None, status: str | None = None,
           error: dict | None = None, tasks: int = 4, kind: str = "cpu-bound", params: dict | None = None,
           scale: float = 1.0) -> CellRecord:
    """A cell record from an id ``workload/backend/wW/cC[@python]``."""
    name, _, python = cid.partition("@")
    workload, backend, w, c = name.split("/")
    cell = Cell(workload, backend, int(w[1:]), int(c[1:]), (0, 1), tasks, params or {"units": 100}, scale=scale,
                python=python)
    assert cell.id == cid
    return CellRecord(cell, kind, baseline=(backend == "sequential") if baseline is None else baseline,
                      status=status or ("ok" if processes else "failed"), processes=processes or [], error=error)


def side(cells: dict[str, list[ProcessRecord] | CellRecord], machine: dict | None = None, paired: str = "",
         timing: dict | None = None, version: str = "", design=None) -> RunSide:
    records = {cid: c if isinstance(c, CellRecord) else record(cid, c) for cid, c in cells.items()}
    return RunSide("run", machine or MACHINE, records, paired, timing or {}, version, design)


def floor_of(sd: float, *cids: str, runs: int = 6) -> Floor:
    """The same run-to-run spread (sd of the log figure over ``runs`` earlier runs) for both time rows of
    each cell (never read from sibling folders); 0: the statistics alone."""
    return Floor(by_row={(cid, s): Spread(sd, runs) for cid in cids for s in ("min", "mean")}, runs=runs,
                 source="test")


def rows_of(result: Comparison) -> dict[tuple[str, str], Row]:
    """The rows by (cell, label)."""
    return {(r.id, r.label): r for r in result.rows}


def one_row(base: list[ProcessRecord], cand: list[ProcessRecord], threshold: Threshold = TIME10,
            paired: str = "", floor: float = NO_FLOOR, summary: str = "") -> Row:
    """The cell's row for the threshold's primary summary (time: min), or ``summary``'s."""
    result = compare(side({CID: base}, paired=paired), side({CID: cand}, paired=paired), [threshold],
                     floor=None if paired else floor_of(floor, CID))
    want = summary or {"time": "min", "speedup": "min", "parallelism": "median"}[threshold.metric]
    (row,) = [r for r in result.rows if r.summary == want]
    return row


def level_of(result: Comparison, row: Row) -> float:
    """A row's share of ALPHA: weight over the family's total weight (Bonferroni)."""
    return ALPHA * row.weight / sum(r.weight for r in result.rows)


# --- unpaired: separate runs, Welch t on the processes' logs ---------------------------------------

def test_a_clear_slowdown_is_slower_and_a_regression():
    row = one_row(procs(1.0, 10, 0.01, 1), procs(1.15, 10, 0.01, 2))
    assert row.verdict == "slower" and row.regression and row.label == "time (min)"
    assert row.ratio == pytest.approx(1.15, abs=0.02) and row.ci_low > 1 and row.p_value < row.level
    assert (row.n_base, row.n_cand, row.pairs) == (10, 10, 0)  # processes, not values; unpaired


def test_a_clear_speedup_is_faster_not_a_regression():
    row = one_row(procs(1.0, 10, 0.01, 3), procs(0.8, 10, 0.01, 4))
    assert row.verdict == "faster" and not row.regression


def test_significant_but_tiny_changes_do_not_fail_but_are_not_no_change():
    row = one_row(procs(1.0, 30, 0.001, 5), procs(1.003, 30, 0.001, 6))
    assert row.p_value < row.level and row.ci_low > 1  # detectable...
    assert row.verdict == "slower, under 10 %" and not row.regression  # ...but not shown above the tolerance 5 %


def test_noise_larger_than_the_threshold_is_inconclusive_not_no_change():
    row = one_row(procs(1.0, 5, 0.25, 7), procs(1.0, 5, 0.25, 8))
    assert row.verdict == "inconclusive" and row.mde > 0.10 and not row.regression


def test_unpaired_row_is_welchs_t_on_the_logs_of_process_minima():
    base, cand = procs(1.0, 6, 0.03, 9), procs(1.1, 15, 0.03, 10)
    row = one_row(base, cand)
    lb, lc = np.log([p.best for p in base]), np.log([p.best for p in cand])
    welch = sps.ttest_ind(lc, lb, equal_var=False, alternative="greater")
    assert (row.n_base, row.n_cand) == (6, 15)
    assert row.level == pytest.approx(ALPHA * 2 / 3)  # min weight 2 of 3 (the mean guard 1)
    assert row.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    assert row.ratio == pytest.approx(math.exp(lc.mean() - lb.mean()), rel=1e-12)
    two_sided = sps.ttest_ind(lc, lb, equal_var=False)
    low, _ = two_sided.confidence_interval(1 - 2 * row.level)  # the lower bound one-sided at the row's level
    _, high = two_sided.confidence_interval(1 - 2 * PASS_ERROR)  # the upper at the level a pass must clear
    assert row.pass_level == PASS_ERROR
    assert (row.ci_low, row.ci_high) == (pytest.approx(math.exp(low)), pytest.approx(math.exp(high)))


def test_the_mean_row_is_welchs_t_on_the_logs_of_process_means():
    base, cand = procs(1.0, 6, 0.03, 9, within=0.02), procs(1.1, 8, 0.03, 10, within=0.02)
    row = one_row(base, cand, summary="mean")
    lb, lc = np.log([np.mean(p.values) for p in base]), np.log([np.mean(p.values) for p in cand])
    assert row.label == "time (mean)" and row.level == pytest.approx(ALPHA / 3)
    assert row.ratio == pytest.approx(math.exp(lc.mean() - lb.mean()), rel=1e-12)


def test_many_values_in_few_processes_are_few_samples():
    # 50 values a process, but 2 processes a side: one test sample per process
    base, cand = procs(1.0, 2, 0.05, 11, values=50), procs(1.2, 2, 0.05, 12, values=50)
    row = one_row(base, cand)
    assert (row.n_base, row.n_cand) == (2, 2)
    assert row.between_base > 0.9 and row.n_eff_base < 3  # the values repeat their process
    assert row.verdict == "inconclusive" and row.mde > 0.1


def test_zero_variance_samples():
    same = one_row(exact([1.0] * 6), exact([1.0] * 6))
    assert same.verdict == "no change" and same.p_value == 1.0 and same.mde == 0
    apart = one_row(exact([1.0] * 6), exact([1.2] * 6))
    assert apart.verdict == "slower" and apart.regression and apart.p_value == 0.0


def test_one_process_a_side_cannot_be_tested():
    row = one_row(exact([1.0]), exact([1.5]))
    assert row.verdict == "inconclusive" and math.isnan(row.mde) and math.isnan(row.p_value)
    assert "too few processes (1 and 1)" in row.note and not row.regression


# --- paired: one ab, rounds -------------------------------------------------------------------------

def _rounds(n: int, ratio: float, layout_cv: float, seed: int, noise: float = 0.005
            ) -> tuple[list[ProcessRecord], list[ProcessRecord]]:
    """Rounds whose layout effect is shared by both sides (large) and whose ratio is ``ratio`` x noise."""
    rng = np.random.default_rng(seed)
    layout = 1 + rng.normal(0, layout_cv, n)
    base = exact(list(layout * (1 + rng.normal(0, noise, n))))
    cand = exact(list(ratio * layout * (1 + rng.normal(0, noise, n))))
    return base, cand


def test_pairing_by_round_sees_through_a_layout_spread_that_drowns_separate_runs():
    base, cand = _rounds(14, 1.12, 0.20, 13)
    paired = one_row(base, cand, paired="ab-root")
    assert paired.verdict == "slower" and paired.regression and paired.pairs == 14
    unpaired = one_row(base, cand, floor=0.05)  # runs that move 5 % (sd) from run to run
    assert unpaired.verdict == "inconclusive" and not unpaired.regression


def test_paired_row_is_the_hodges_lehmann_change_with_the_exact_signed_rank_test():
    base, cand = _rounds(12, 1.08, 0.1, 14, noise=0.02)
    row = one_row(base, cand, paired="ab-root")
    d = np.log([c.best for c in cand]) - np.log([b.best for b in base])
    walsh = [(d[i] + d[j]) / 2 for i in range(len(d)) for j in range(i, len(d))]
    assert row.ratio == pytest.approx(math.exp(np.median(walsh)), rel=1e-12)
    assert row.p_value == pytest.approx(sps.wilcoxon(d, alternative="greater").pvalue, rel=1e-12)
    assert row.ci_low == pytest.approx(math.exp(stats.hodges_lehmann_bounds(list(d), row.level)[0]))
    assert row.ci_high == pytest.approx(math.exp(stats.hodges_lehmann_bounds(list(d), row.pass_level)[1]))
    assert row.ci_low < row.ratio < row.ci_high and row.look == 1 and row.pairs == 12


def test_paired_needs_the_same_interleaved_with_on_both_sides():
    base, cand = _rounds(10, 1.0, 0.05, 15)
    result = compare(side({CID: base}, paired="ab-1"), side({CID: cand}, paired="ab-2"), [TIME10],
                     floor=floor_of(0.2, CID))
    assert not result.paired and result.rows[0].pairs == 0
    assert compare(side({CID: base}, paired="ab-1"), side({CID: cand}, paired="ab-1"), [TIME10]).paired


def test_paired_uses_only_rounds_present_on_both_sides():
    base, cand = _rounds(12, 1.0, 0.05, 16)
    row = one_row(base, cand[:9] + cand[10:], paired="ab")
    assert row.pairs == 11 and (row.n_base, row.n_cand) == (12, 11)


def test_paired_speedup_differences_follow_the_formula():
    rng = np.random.default_rng(18)
    seq_b, cell_b, seq_c, cell_c = (list(1 + rng.normal(0, 0.05, 10)) for _ in range(4))
    b = side({SEQ: exact(seq_b), CID: exact(cell_b)}, paired="ab")
    c = side({SEQ: exact(seq_c), CID: exact(cell_c)}, paired="ab")
    (row,) = compare(b, c, [SPEEDUP10]).rows
    d = (np.log(seq_c) - np.log(cell_c)) - (np.log(seq_b) - np.log(cell_b))
    assert row.id == CID and row.ratio == pytest.approx(math.exp(stats.hodges_lehmann(list(d))))
    assert row.p_value == pytest.approx(sps.wilcoxon(d, alternative="less").pvalue)  # lower speedup is worse


# --- the family: one error budget over every row, by weight -------------------------------------------

def test_the_budget_is_split_over_every_row_by_weight():
    cells = {f"w/threads/w{w}/c2": procs(1.0, 8, 0.02, w) for w in range(1, 6)}
    slower = {cid: procs(1.0 if cid != CID else 1.3, 8, 0.02, 100 + i) for i, cid in enumerate(cells)}
    result = compare(side(cells), side(slower), [TIME10], floor=floor_of(NO_FLOOR, *cells))
    assert result.family == 10 and len(result.rows) == 10  # time (min) and time (mean) per cell
    for row in result.rows:
        assert row.weight == (2.0 if row.summary == "min" else 1.0)
        assert row.level == pytest.approx(ALPHA * row.weight / 15)
    hit = rows_of(result)[(CID, "time (min)")]
    assert hit.verdict == "slower" and hit.regression and hit.p_value < hit.level
    assert {r.id for r in result.regressions} == {CID}


def test_the_verdict_rule():
    log = math.log

    def v(metric, ratio_low, ratio_high, threshold=0.10, tolerance=None, pass_high=None, pass_low=None):
        """Bounds as ratios oriented so that above 1 is worse: (low, high) at the row's level, the pass
        bounds (default: the same) at the pass level."""
        low, high = log(ratio_low), log(ratio_high)
        test = RowTest(estimate=(low + high) / 2, low=low, high=high, p=0.5, level=1e-3,
                        pass_low=log(pass_low or ratio_low), pass_high=log(pass_high or ratio_high))
        return verdict(metric, test, threshold, tolerance)

    # time:10%: fails a change shown above M = 5 %, passes one shown below T = 10 %
    assert v("time", 1.06, 1.20) == ("slower", True)
    assert v("time", 1.04, 1.20) == ("inconclusive", False)  # above 0, not above M, not below T
    assert v("time", 1.04, 1.12, pass_high=1.09) == ("slower, under 10 %", False)  # shown below T at its level
    assert v("time", 1.01, 1.04) == ("slower, under 10 %", False)
    assert v("time", 0.80, 0.90) == ("faster", False)
    assert v("time", 0.98, 1.03) == ("no change", False)
    assert v("time", 0.98, 1.09) == ("no change", False)  # +9 % at most: below T, a pass
    assert v("time", 0.88, 1.03) == ("no regression", False)
    assert v("time", 0.98, 1.20) == ("inconclusive", False)
    # the tolerance is the user's: time:10%,tol=2% fails 2.5 %
    assert v("time", 1.025, 1.04, tolerance=0.02) == ("slower", True)
    assert v("time", 1.025, 1.04) == ("slower, under 10 %", False)
    assert v("speedup", 1.06, 1.20) == ("worse", True)  # the speedup 1/1.06 .. 1/1.20 of the baseline's
    assert v("speedup", 0.80, 0.90) == ("better", False)


def test_the_indifference_zone_is_the_rule_not_half_the_threshold():
    """Issue 22: the old rule failed L > 0 and U >= T/2, so a 2 % change failed 99.8 % of time:5% gates.
    A change shown above 0 but not above the tolerance is never a regression."""
    log = math.log
    two_percent = RowTest(estimate=log(1.02), low=log(1.005), high=log(1.035), p=1e-5, level=1e-3,
                           pass_low=log(1.01), pass_high=log(1.03))
    assert verdict("time", two_percent, 0.05) == ("slower, under 5 %", False)
    assert not shown_worse(two_percent, log(1.025))
    assert decided(two_percent, 0.05)  # passes: shown below 5 %


def test_mde_is_at_the_rows_share_of_the_family():
    row = one_row(procs(1.0, 10, 0.02, 21), procs(1.0, 10, 0.02, 22))
    _, se, df = stats.welch([(+1, np.log([p.best for p in procs(1.0, 10, 0.02, 22)])),
                             (-1, np.log([p.best for p in procs(1.0, 10, 0.02, 21)]))])
    assert row.mde == pytest.approx(stats.mde_fraction(se, 2 * ALPHA * 2 / 3, df, POWER))  # at 2/3 ALPHA
    ids = [f"w/threads/w{w}/c2" for w in range(1, 6)]
    five = compare(side({cid: procs(1.0, 10, 0.02, 21) for cid in ids}),
                   side({cid: procs(1.0, 10, 0.02, 22) for cid in ids}), [TIME10], floor=floor_of(NO_FLOOR, *ids))
    same = rows_of(five)[(ids[0], "time (min)")]
    assert same.mde == pytest.approx(stats.mde_fraction(se, 2 * ALPHA * 2 / 15, df, POWER))
    assert same.mde > row.mde


# --- machine speed (the canary): shown, never excusing -------------------------------------------

def _uniformly_slower(factor: float, canary_factor: float, paired: str = "", rounds: int = 10,
                      io_cell: bool = False) -> Comparison:
    """The candidate ran every cell ``factor`` x slower, its canary ``canary_factor`` x slower."""
    ids = {SEQ: 1.0, CID: 1.0, "w/processes/w2/c2": 0.5}

    def cells(f: float, seed: int) -> dict:
        out = {cid: procs(mu * f, rounds, 0.01, seed + i, canary=None) for i, (cid, mu) in enumerate(ids.items())}
        if io_cell:
            out["s/threads/w2/c2"] = record("s/threads/w2/c2", procs(0.2 * f, rounds, 0.01, seed + 9, canary=None),
                                            kind="io-bound", baseline=False)
        return out

    base, cand = side(cells(1.0, 0), paired=paired), side(cells(factor, 50), paired=paired)
    rng = np.random.default_rng(23)
    for run, f in ((base, 1.0), (cand, canary_factor)):
        for rec in run.cells.values():
            for p in rec.processes:
                p.canary = 0.05 * f * (1 + rng.normal(0, 0.01))
    # separate runs: a known run-to-run spread of 0 (the statistics alone), never one read beside the runs
    floor = None if paired else floor_of(NO_FLOOR, *base.cells)
    return compare(base, cand, [TIME10, SPEEDUP10], floor=floor)


def test_the_canary_never_excuses_a_slower_candidate():
    # issue 14: the old gate called this "machine speed differed" and judged no time row
    result = _uniformly_slower(1.5, 1.5, io_cell=True)
    assert result.machine_speed_differed and result.machine_speed_ratio == pytest.approx(1.5, rel=0.02)
    times = [r for r in result.rows if r.metric == "time"]
    assert len(times) == 8 and all(r.verdict == "slower" and r.regression for r in times)
    for row in times:
        if row.kind == "cpu-bound":
            assert "canary" in row.note and "never excuses" in row.note
        else:
            assert row.kind == "io-bound" and "canary" not in row.note  # sleep-bound work: no canary note
    assert {r.verdict for r in result.rows if r.metric == "speedup" and r.id.startswith("w/")} == {"no change"}
    assert "never withdraws a row" in show.text(result)


def test_the_same_machine_speed_leaves_time_judged_without_a_canary_note():
    result = _uniformly_slower(1.3, 1.0)
    assert not result.machine_speed_differed and "same within the noise" in result.machine_speed_note
    times = [r for r in result.rows if r.metric == "time"]
    assert {r.verdict for r in times} == {"slower"} and not any("canary" in r.note for r in times)


def test_paired_comparisons_report_the_canary_and_judge_time():
    result = _uniformly_slower(1.3, 1.3, paired="ab", rounds=16)
    assert result.paired and result.machine_speed_differed
    assert {r.verdict for r in result.rows if r.metric == "time"} == {"slower"}


def test_without_canaries_speed_is_not_checked():
    result = compare(side({CID: procs(1.0, 5, 0.01, 24, canary=None)}),
                     side({CID: procs(1.0, 5, 0.01, 25, canary=None)}), [TIME10], floor=Floor())
    assert math.isnan(result.machine_speed_ratio) and "not checked" in result.machine_speed_note
    assert "not checked" in show.text(result)


# --- gate semantics ---------------------------------------------------------------------------------

def test_a_cell_that_fails_or_times_out_in_the_candidate_is_a_regression():
    base = side({CID: procs(1.0, 4, 0.01, 26), "w/threads/w4/c2": procs(1.0, 4, 0.01, 27)})
    cand = side({CID: record(CID, [], status="failed", error={"how": "exit 1", "message": "ZeroDivisionError"}),
                 "w/threads/w4/c2": record("w/threads/w4/c2", [], status="timeout", error={"message": "after 60 s"})})
    rows = {r.id: r for r in compare(base, cand, [TIME10], floor=Floor()).rows}
    assert rows[CID].verdict == "failed" and rows[CID].regression  # a crash fails, whatever the rounds
    assert "failed in the candidate: ZeroDivisionError" in rows[CID].note
    assert rows["w/threads/w4/c2"].regression and "timed out in the candidate: after 60 s" in rows["w/threads/w4/c2"].note


def _timed(processes: list[ProcessRecord], seconds: float) -> list[ProcessRecord]:
    """The processes, each taking ``seconds`` from start to end."""
    for k, p in enumerate(processes):
        p.started, p.ended = 100.0 * k, 100.0 * k + seconds
    return processes


def test_the_time_limit_rule_one_side_both_sides_and_a_limit_near_the_cells_own_time():
    """Issue 22: a candidate timeout was a regression with no error control, so a flaky limit failed an
    A/A gate. The rule: a hang past a limit well above the baseline's slowest process fails (in any
    round: the rounds before it are no excuse); a limit within T of the cell's own time is
    inconclusive; both sides timing out is inconclusive."""
    timeout = {"how": "timeout", "message": "no result within 60 s", "limit_s": 60.0}
    hang = compare(side({CID: record(CID, _timed(procs(1.0, 8, 0.01, 26), 1.5))}),
                   side({CID: record(CID, procs(1.0, 7, 0.01, 27), status="timeout", error=timeout)}),
                   [TIME10], floor=floor_of(NO_FLOOR, CID))
    assert all(r.verdict == "failed" and r.regression for r in hang.rows)
    tight = {**timeout, "limit_s": 1.6}  # the baseline's slowest took 1.5 s: 1.6 s is within 10 % of it
    near = compare(side({CID: record(CID, _timed(procs(1.0, 8, 0.01, 26), 1.5))}),
                   side({CID: record(CID, procs(1.0, 7, 0.01, 27), status="timeout", error=tight)}),
                   [TIME10], floor=floor_of(NO_FLOOR, CID))
    assert all(r.verdict == "inconclusive" and not r.regression for r in near.rows)
    assert "within 10 % of the baseline's slowest process" in near.rows[0].note and "--timeout" in near.rows[0].note
    both = compare(side({CID: record(CID, procs(1.0, 3, 0.01, 26), status="timeout", error=timeout)}),
                   side({CID: record(CID, procs(1.0, 3, 0.01, 27), status="timeout", error=timeout)}),
                   [TIME10], floor=floor_of(NO_FLOOR, CID))
    assert all(r.verdict == "inconclusive" and "timed out on both sides" in r.note for r in both.rows)
    assert not both.regressions


def test_a_speedup_row_fails_when_its_baseline_cell_fails_in_the_candidate():
    base = side({SEQ: procs(1.0, 4, 0.01, 45), CID: procs(0.6, 4, 0.01, 46)})
    cand = side({SEQ: record(SEQ, [], status="failed", error={"message": "boom"}), CID: procs(0.6, 4, 0.01, 47)})
    (row,) = compare(base, cand, [SPEEDUP10], floor=Floor()).rows
    assert row.id == CID and row.verdict == "failed" and row.regression
    assert row.note == f"its baseline cell {SEQ} failed in the candidate: boom"


def test_cells_in_one_run_only_and_failed_baselines_are_not_comparable():
    base = side({CID: [], "w/threads/w4/c2": procs(1.0, 3, 0.01, 28)})
    cand = side({CID: procs(1.0, 3, 0.01, 29), "w/processes/w2/c2": procs(1.0, 3, 0.01, 30)})
    rows = {r.id: r for r in compare(base, cand, [TIME10], floor=Floor()).rows}
    assert rows["w/threads/w4/c2"].verdict == "not comparable" and "only in the baseline" in rows["w/threads/w4/c2"].note
    assert "only in the candidate" in rows["w/processes/w2/c2"].note
    assert rows[CID].verdict == "not comparable" and "no result in the baseline (failed)" in rows[CID].note


def test_other_machines_and_interpreters_are_not_comparable_unless_allowed():
    cells = {CID: exact([1.0, 1.01, 1.0])}
    base = side(cells)
    other = side(cells, machine={"cpu_model": "y", "logical_cpus": 16, "python_version": "3.13"})
    result = compare(base, other, [TIME10], floor=Floor())
    assert "different machines" in result.not_comparable and "different interpreters" in result.not_comparable
    assert all(r.verdict == "not comparable" for r in result.rows)
    allowed = compare(base, other, [TIME10], allow_other_machine=True, allow_other_python=True, floor=Floor())
    assert not allowed.not_comparable and {r.verdict for r in allowed.rows} == {"no change"}
    assert any(differs for *_, differs in allowed.environment)


def test_the_speedup_baseline_is_found_by_its_flag_not_its_name():
    cells = {"w/serial/w1/c2": record("w/serial/w1/c2", exact([1.0] * 6), baseline=True),
             CID: record(CID, exact([0.5] * 6), baseline=False)}
    rows = compare(side(cells), side(cells), [SPEEDUP10], floor=Floor()).rows
    assert [(r.id, r.base, r.verdict) for r in rows] == [(CID, pytest.approx(2.0), "no change")]


def test_unpaired_speedup_adds_the_four_variances():
    rng = np.random.default_rng(31)
    logs = [rng.normal(0, 0.03, 8) for _ in range(4)]
    b = side({SEQ: exact(list(np.exp(logs[0]))), CID: exact(list(np.exp(logs[1])))})
    c = side({SEQ: exact(list(np.exp(logs[2]))), CID: exact(list(np.exp(logs[3])))})
    (row,) = compare(b, c, [SPEEDUP10], floor=Floor()).rows
    estimate = (logs[2].mean() - logs[3].mean()) - (logs[0].mean() - logs[1].mean())
    assert row.ratio == pytest.approx(math.exp(estimate)) and row.floor == 0  # a ratio inside a run: no floor
    se = math.sqrt(sum(x.var(ddof=1) / 8 for x in logs))
    df = stats.welch([(1, logs[2]), (-1, logs[3]), (-1, logs[0]), (1, logs[1])])[2]
    assert row.p_value == pytest.approx(sps.t.sf(-estimate / se, df))  # one-sided: lower speedup is worse


def test_paired_differences_by_hand():
    base = [(+1, {0: 0.0, 1: 0.1, 2: 0.2}), (-1, {0: 0.0, 1: 0.0, 2: 0.0})]
    cand = [(+1, {0: 0.1, 2: 0.2}), (-1, {0: 0.05, 1: 0.0, 2: 0.1})]
    assert paired_differences(base, cand) == pytest.approx([0.05, -0.1])  # rounds 0 and 2


def test_parallelism_rows_use_each_processes_cpu_over_wall():
    def par(level: float, seed: int) -> list[ProcessRecord]:
        out = procs(1.0, 8, 0.01, seed)
        for p in out:
            p.cpu = [v * level for v in p.values]
        return out
    (row,) = compare(side({CID: par(2.0, 32)}), side({CID: par(1.2, 33)}), [Threshold("parallelism", 10)],
                     floor=Floor()).rows
    assert row.base == pytest.approx(2.0) and row.cand == pytest.approx(1.2) and row.verdict == "worse"
    assert row.label == "parallelism"


def test_cpu_rows_use_each_processes_least_cpu_per_batch_and_see_more_work_not_waiting():
    """--fail-on cpu: the process tree's CPU seconds of its least disturbed batch. Work that waits longer
    (wall up, CPU the same) is no cpu regression; more work per task is."""
    def run(wall: float, cpu: float, seed: int) -> list[ProcessRecord]:
        out = procs(wall, 12, 0.005, seed)
        for p in out:
            p.cpu = [v * cpu / wall for v in p.values]
        return out
    cpu = Threshold("cpu", 5.0)
    waits = rows_of(compare(side({CID: run(1.0, 0.5, 1)}, paired="ab"), side({CID: run(1.3, 0.5, 2)}, paired="ab"),
                            [cpu, TIME10]))
    assert waits[(CID, "cpu")].verdict == "no change" and not waits[(CID, "cpu")].regression
    assert waits[(CID, "time (min)")].verdict == "slower"
    works = rows_of(compare(side({CID: run(1.0, 0.5, 1)}, paired="ab"), side({CID: run(1.1, 0.55, 2)}, paired="ab"),
                            [cpu]))
    row = works[(CID, "cpu")]
    assert row.verdict == "more CPU" and row.regression and row.base == pytest.approx(0.5, rel=0.02)
    # separate runs of cpu are judged beyond the run-to-run spread, like time
    unknown = compare(side({CID: run(1.0, 0.5, 1)}), side({CID: run(1.1, 0.55, 2)}), [cpu], floor=Floor())
    assert unknown.rows[0].verdict == "inconclusive" and "run the baseline" in unknown.rows[0].note


@pytest.mark.parametrize("text, expected", [("time:10%", ("time", 10.0)), (" speedup : 2.5 % ", ("speedup", 2.5)),
                                            ("parallelism:5%", ("parallelism", 5.0))])
def test_threshold_syntax(text, expected):
    t = parse_threshold(text)
    assert (t.metric, t.percent) == expected


@pytest.mark.parametrize("bad", ["time", "time:10", "time:-5%", "latency:10%", "time:0%", "time:ten%"])
def test_bad_threshold_syntax_is_rejected_with_the_accepted_form(bad):
    with pytest.raises(ValueError, match="expected METRIC:PCT%"):
        parse_threshold(bad)


@pytest.mark.parametrize("dropped, why", [("efficiency:10%", "ideal cancels"), ("gil-penalty:5%", "two speedup rows")])
def test_dropped_metrics_say_why_and_what_instead(dropped, why):
    with pytest.raises(ValueError, match=why) as err:
        parse_threshold(dropped)
    assert "use speedup:PCT%" in str(err.value)


# --- outputs ----------------------------------------------------------------------------------------

def _hostile_comparison() -> Comparison:
    name = '<script>alert("x")</script>|*_`'
    row = Row(f"{name}/threads/w2/c2", "time", "slower", summary="min", base=1.0, cand=1.2, ratio=1.2, ci_low=1.1,
              ci_high=1.3, p_value=0.001, level=0.005, mde=0.1, threshold=0.1, n_base=9, n_cand=9, regression=True,
              note="<b>note</b>")
    return Comparison("base<i>", "cand", [TIME10], [row], [("hostname", "<h2 id=evil>", "x", True)], family=1)


def test_markdown_and_html_escape_hostile_names():
    c = _hostile_comparison()
    md = show.markdown(c)
    assert "<script>" not in md and "<b>" not in md and "&lt;script&gt;" in md and "\\|" in md
    html = show.html(c)
    assert "<script>" not in html and "<b>note" not in html and "&lt;script&gt;" in html and "<h2 id=evil>" not in html
    assert "1 regression beyond the thresholds" in md and "1 regression beyond the thresholds" in html


def _mixed() -> Comparison:
    """10 cells (20 rows), 3 cells too noisy to detect 10 %."""
    base = {f"w/threads/w{w}/c2": procs(1.0, 8, 0.25 if w <= 3 else 0.005, w) for w in range(1, 11)}
    cand = {cid: procs(1.0, 8, 0.25 if i < 3 else 0.005, 40 + i) for i, cid in enumerate(base)}
    return compare(side(base), side(cand), [TIME10], floor=floor_of(NO_FLOOR, *base))


def test_the_headline_counts_inconclusive_rows():
    result = _mixed()
    n = len(result.inconclusive)
    assert n >= 3 and {r.id for r in result.inconclusive} == {f"w/threads/w{w}/c2" for w in (1, 2, 3)}
    assert show.summary(result).startswith(f"no regression beyond the thresholds; {n} of 20 rows undecided: "
                                           "neither shown above the tolerance 5 % nor below the threshold 10 %")


def test_the_outputs_show_pairing_labels_processes_spread_and_the_rule():
    base, cand = _rounds(14, 1.0, 0.05, 34)
    paired = compare(side({CID: base}, paired="ab"), side({CID: cand}, paired="ab"), [TIME10])
    text = show.text(paired)
    assert "paired by round: up to 14 rounds" in text and "14 pairs" in text
    assert "time (min)" in text and "time (mean)" in text
    assert "share alpha 0.01" in text and "above its tolerance M" in text and "Guarantees:" in text
    assert "between" in text and "n_eff" in text and "canary time, candidate / baseline" in text
    unpaired = show.markdown(_mixed())
    assert "unpaired: separate runs" in unpaired and "8\\|8" in unpaired and "run-to-run floor: test" not in unpaired
    html = show.html(paired)
    assert "paired by round: up to 14 rounds" in html and "Machine speed" in html


def _reject_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


def test_json_is_strict():
    # one process a side: no MDE, no p-value, no machine speed; all of them null in JSON
    result = compare(side({CID: exact([1.0])}), side({CID: exact([1.0]), "w/threads/w4/c2": exact([1.0])}), [TIME10],
                     floor=Floor())
    assert math.isnan(result.rows[0].mde) and math.isnan(result.machine_speed_ratio)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False), parse_constant=_reject_constant)
    row = next(r for r in data["rows"] if r["id"] == CID)
    assert row["mde"] is None and row["p_value"] is None and data["machine_speed"]["ratio"] is None
    assert {"paired", "family", "rounds", "floor", "scaled"} <= set(data)
    assert {r["label"] for r in data["rows"]} == {"time (min)", "time (mean)"}


# --- the command, on run folders (in this process) --------------------------------------------------

def write_run(path: Path, cells: dict[str, list[ProcessRecord] | CellRecord], interleaved_with: str = "",
              machine: dict | None = None, suite_metadata: bool = True) -> Path:
    """A run folder as the runner writes it: manifest with process records, machine.json, suite.json."""
    import pyperf

    path.mkdir(parents=True)
    records = [c if isinstance(c, CellRecord) else record(cid, c) for cid, c in cells.items()]
    manifest = {"format": FORMAT, "profile": "test", "status": "finished", "cells": [r.to_dict() for r in records],
                "timing": {"processes": 1, "values": 1, "warmups": 0, "loops": 1}}
    if interleaved_with:
        manifest["interleaved_with"] = interleaved_with
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "machine.json").write_text(json.dumps(machine or MACHINE))
    benches = []
    for r in records:
        if r.status == "ok":
            meta = {"name": r.id, **({"gilbench_workload": r.cell.workload} if suite_metadata else {})}
            benches.append(pyperf.Benchmark([pyperf.Run(p.values, metadata=meta, collect_metadata=False)
                                             for p in r.processes]))
    if benches:
        pyperf.BenchmarkSuite(benches).dump(str(path / "suite.json"))
    return path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``gilbench ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_command_exit_codes_outputs_and_strict_json(tmp_path, capsys):
    cells = {SEQ: procs(1.0, 8, 0.01, 35), CID: procs(0.9, 8, 0.01, 36)}
    # each run alone in its folder: the floor is the default (no sibling runs to measure it on)
    base = write_run(tmp_path / "b" / "base", cells)
    slow = write_run(tmp_path / "s" / "slow", {cid: procs(1.5 * p[0].median, 8, 0.01, 60 + i)
                                               for i, (cid, p) in enumerate(cells.items())})
    code, out, err = run_cli(capsys, "compare", str(base), str(base), "--fail-on", "time:10%", "--fail-on",
                             "speedup:10%", "--json", str(tmp_path / "c.json"), "--html", str(tmp_path / "c.html"),
                             "--markdown", str(tmp_path / "c.md"))
    assert code == 0, err
    assert "no regression beyond the thresholds" in out and "unpaired" in out and "not known: 0 earlier" in out
    data = json.loads((tmp_path / "c.json").read_text(), parse_constant=_reject_constant)
    assert len(data["rows"]) == 5 and data["family"] == 5  # time (min), time (mean) per cell; one speedup row
    assert "Change per cell" in (tmp_path / "c.html").read_text()
    assert "## gilbench comparison" in (tmp_path / "c.md").read_text()
    # +50 % with no earlier runs: a run offset cannot be told from a change, so inconclusive, never "floor"
    code, out, _ = run_cli(capsys, "compare", str(base), str(slow), "--fail-on", "time:10%")
    assert code == 0 and "inconclusive" in out and "run the baseline 3 more time(s)" in out and "+5" in out
    assert "floor" not in out.split("unpaired")[0]  # no row is excused by a floor
    code, _, _ = run_cli(capsys, "compare", str(base), str(slow), "--fail-on", "time:10%", "--fail-on-inconclusive")
    assert code == 1


def test_fail_on_inconclusive(tmp_path, capsys):
    base = write_run(tmp_path / "b" / "base", {CID: procs(1.0, 4, 0.3, 37)})
    cand = write_run(tmp_path / "c" / "cand", {CID: procs(1.0, 4, 0.3, 38)})
    code, out, _ = run_cli(capsys, "compare", str(base), str(cand))
    assert code == 0 and "undecided" in out and "10 %" in out
    assert run_cli(capsys, "compare", str(base), str(cand), "--fail-on-inconclusive")[0] == 1


def test_a_candidate_that_fails_fails_the_gate(tmp_path, capsys):
    base = write_run(tmp_path / "b" / "base", {CID: procs(1.0, 4, 0.01, 39)})
    cand = write_run(tmp_path / "c" / "cand", {CID: record(CID, [], status="timeout", error={"message": "hung"})})
    code, out, _ = run_cli(capsys, "compare", str(base), str(cand))
    assert code == 1 and "timed out in the candidate: hung" in out


@pytest.mark.parametrize("args, message", [
    (["--fail-on", "time:ten"], "expected METRIC:PCT%"),
    (["--fail-on", "efficiency:10%"], "ideal cancels"),
])
def test_compare_usage_errors_exit_2(tmp_path, capsys, args, message):
    run = write_run(tmp_path / "r" / "run", {CID: procs(1.0, 3, 0.01, 40)})
    code, _, err = run_cli(capsys, "compare", str(run), str(run), *args)
    assert code == 2 and message in err


def test_compare_unreadable_inputs_exit_2(tmp_path, capsys):
    run = write_run(tmp_path / "r" / "run", {CID: procs(1.0, 3, 0.01, 41)})
    code, _, err = run_cli(capsys, "compare", str(tmp_path / "nope"), str(run))
    assert code == 2 and "no such run folder" in err
    foreign = write_run(tmp_path / "f" / "foreign", {CID: procs(1.0, 3, 0.01, 42)}, suite_metadata=False)
    code, _, err = run_cli(capsys, "compare", str(run), str(foreign))
    assert code == 2 and "without gilbench metadata" in err and "Traceback" not in err
    broken = tmp_path / "x" / "broken"
    write_run(broken, {CID: procs(1.0, 3, 0.01, 43)})
    (broken / "manifest.json").write_text('{"format": %d, "cells": [{"workload": "w"}]}' % FORMAT)
    code, _, err = run_cli(capsys, "compare", str(run), str(broken))
    assert code == 2 and "not readable" in err and "Traceback" not in err


def test_compare_reads_pairing_from_the_manifests(tmp_path, capsys):
    base_p, cand_p = _rounds(14, 1.12, 0.2, 44)
    base = write_run(tmp_path / "ab" / "base", {CID: base_p}, interleaved_with=str(tmp_path / "ab"))
    cand = write_run(tmp_path / "ab" / "cand", {CID: cand_p}, interleaved_with=str(tmp_path / "ab"))
    code, out, _ = run_cli(capsys, "compare", str(base), str(cand))
    assert code == 1 and "paired by round: up to 14 rounds" in out and "slower" in out


def test_compare_refuses_with_exit_2(tmp_path, capsys):
    base_p, cand_p = _rounds(4, 1.5, 0.01, 48)
    base = write_run(tmp_path / "ab" / "base", {CID: base_p}, interleaved_with=str(tmp_path / "ab"))
    cand = write_run(tmp_path / "ab" / "cand", {CID: cand_p}, interleaved_with=str(tmp_path / "ab"))
    code, _, err = run_cli(capsys, "compare", str(base), str(cand))
    assert code == 2 and "cannot reach the gate's level" in err and "Traceback" not in err


# --- issue 14: the old gate's bugs, one test each ---------------------------------------------------

def test_a_paired_interval_that_excludes_zero_is_never_no_change():
    # +11 % with bounds [+7.6 %, +15.6 %], whatever the p-value: slower, a regression at time:10 %
    test = RowTest(math.log(1.11), math.log(1.076), math.log(1.156), p=0.02, level=0.005, n=14, look=1)
    assert verdict("time", test, 0.10) == ("slower", True)
    for low, high in [(0.001, 0.02), (0.01, 0.04), (-0.03, -0.001), (0.02, 0.3), (-0.3, -0.02)]:
        for threshold in (0.05, 0.10, 0.20):
            assert verdict("time", RowTest((low + high) / 2, low, high), threshold)[0] != "no change"
    # and through the comparison: 14 rounds of +11 %, a 2 % round-to-round noise
    base, cand = _rounds(14, 1.11, 0.2, 49, noise=0.01)
    row = one_row(base, cand, paired="ab")
    assert row.ci_low > 1 and row.verdict == "slower" and row.regression


def test_too_few_rounds_for_the_family_are_refused_with_the_rounds_needed():
    base, cand = _rounds(4, 1.3, 0.01, 17)
    with pytest.raises(Refused, match=r"needs at least \d+ rounds") as err:
        compare(side({CID: base}, paired="ab"), side({CID: cand}, paired="ab"), [TIME10])
    needed = int(re.search(r"needs at least (\d+) rounds", str(err.value)).group(1))
    assert needed > 4 and f"--rounds {needed}" in str(err.value)
    base, cand = _rounds(needed, 1.3, 0.01, 17)
    assert compare(side({CID: base}, paired="ab"), side({CID: cand}, paired="ab"), [TIME10]).paired


def test_check_reachable_for_a_plan_of_the_gates_shape():
    # 30 cells, time and speedup: the first look of a 30-round design (15 rounds at a quarter of each share)
    # cannot reach the strictest row's level
    cells = {f"w{k}/threads/w2/c2": record(f"w{k}/threads/w2/c2", exact([1.0])) for k in range(30)}
    cells.update({f"w{k}/sequential/w1/c2": record(f"w{k}/sequential/w1/c2", exact([1.0])) for k in range(30)})
    thresholds = Thresholds((TIME10, SPEEDUP10))
    with pytest.raises(Refused, match=r"needs at least (\d+) rounds") as err:
        check_reachable(cells, thresholds, design_for(30))
    needed = int(re.search(r"needs at least (\d+) rounds", str(err.value)).group(1))
    check_reachable(cells, thresholds, design_for(needed))  # what it names is enough
    check_reachable(cells, thresholds, design_for(400))


def test_the_process_minimum_hides_a_regression_hitting_one_batch_in_three():
    rng = np.random.default_rng(50)
    base, cand = [], []
    for k in range(16):
        layout = 1 + rng.normal(0, 0.05)
        base.append(ProcessRecord(index=k, values=list(layout * (1 + rng.normal(0, 0.002, 3))), canary=0.05))
        values = layout * (1 + rng.normal(0, 0.002, 3))
        values[k % 3] *= 1.3  # one batch in three 30 % slower: the mean +10 %, the minimum unchanged
        cand.append(ProcessRecord(index=k, values=list(values), canary=0.05))
    rows = rows_of(compare(side({CID: base}, paired="ab"), side({CID: cand}, paired="ab"), [TIME10]))
    mean, least = rows[(CID, "time (mean)")], rows[(CID, "time (min)")]
    assert mean.verdict == "slower" and mean.regression and mean.ratio == pytest.approx(1.10, abs=0.02)
    assert not least.regression and least.ratio == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("change, words", [
    ({"timing": {"values": 5}}, "values per process differ (3 and 5)"),
    ({"version": "0.2.0"}, "different gilbench versions (0.1.0 and 0.2.0)"),
    ({"params": {"units": 200}}, "workload parameters differ"),
])
def test_runs_that_differ_in_values_version_or_params_are_refused(change, words):
    def make(timing: dict, version: str, params: dict) -> RunSide:
        return side({CID: record(CID, procs(1.0, 6, 0.01, 51), params=params)}, timing=timing, version=version)

    base = make({"values": 3, "warmups": 1}, "0.1.0", {"units": 100})
    cand = make({"values": 3, "warmups": 1, **change.get("timing", {})}, change.get("version", "0.1.0"),
                change.get("params", {"units": 100}))
    with pytest.raises(Refused) as err:
        compare(base, cand, [TIME10], floor=Floor())
    assert words in str(err.value)


def test_a_different_scale_is_compared_and_said():
    base = side({CID: record(CID, procs(1.0, 6, 0.01, 52))})
    cand = side({CID: record(CID, procs(2.0, 6, 0.01, 53), scale=2.0)})
    result = compare(base, cand, [TIME10], floor=Floor())
    assert result.scaled == "work scaled x2 in the candidate"
    assert all("work scaled x2" in r.note for r in result.rows)


def test_each_interpreters_speedup_uses_its_own_baseline_cell():
    # "" listed first: a lookup by workload and cores alone would take its sequential cell for 3.12's too,
    # and the "" baseline got 30 % faster in the candidate (the "" speedup is worse), 3.12's did not move
    def run(seq_default: float, seed: int) -> RunSide:
        return side({SEQ: procs(seq_default, 8, 0.005, seed), CID: procs(0.5, 8, 0.005, seed + 1),
                     SEQ + "@3.12": procs(2.0, 8, 0.005, seed + 2), CID + "@3.12": procs(1.0, 8, 0.005, seed + 3)})

    rows = {r.id: r for r in compare(run(1.0, 54), run(0.7, 64), [SPEEDUP10], floor=Floor()).rows}
    assert set(rows) == {CID, CID + "@3.12"}
    assert rows[CID].verdict == "worse" and rows[CID].regression
    other = rows[CID + "@3.12"]
    assert other.base == pytest.approx(2.0, rel=0.02) and other.cand == pytest.approx(2.0, rel=0.02)
    assert other.verdict == "no change" and not other.regression


def test_a_run_level_offset_within_the_run_to_run_spread_is_not_a_regression():
    ids = {CID: 1.0, "w/threads/w4/c2": 0.6}
    base = side({cid: procs(mu, 10, 0.002, i) for i, (cid, mu) in enumerate(ids.items())})

    def cand(factor: float) -> RunSide:
        return side({cid: procs(mu * factor, 10, 0.002, 20 + i) for i, (cid, mu) in enumerate(ids.items())})

    spread = Spread(0.01, 6)  # runs of this plan move 1 % (sd) from run to run
    floor = Floor(by_row={(cid, s): spread for cid in ids for s in ("min", "mean")}, runs=6, source="test")
    offset = compare(base, cand(1.04), [TIME10], floor=floor)
    assert len(offset.rows) == 4 and not offset.regressions
    bound = math.expm1(spread.half_width(offset.rows[0].level))
    for row in offset.rows:
        # Welch alone would call +4 % "slower, under 10 %"; the run-to-run prediction bound widens it
        assert row.ci_low < 1 and row.floor == pytest.approx(math.expm1(spread.half_width(row.level)))
        assert "run-to-run prediction bound" in row.note and row.verdict != "within run-to-run floor"
    assert bound > 0.04
    slow = compare(base, cand(1.5), [TIME10], floor=floor)
    assert {r.verdict for r in slow.rows} == {"slower"} and len(slow.regressions) == 4


def test_the_floor_is_a_t_prediction_bound_on_runs_minus_one_degrees_of_freedom():
    spread = Spread(0.02, 6)
    assert spread.half_width(0.001) == pytest.approx(sps.t.ppf(0.999, 5) * 0.02 * math.sqrt(2))
    # issue 22: 4 x sqrt2 x a robust sd was biased low; with few runs the t quantile is wide, not narrow
    assert Spread(0.02, 3).half_width(0.001) > Spread(0.02, 20).half_width(0.001) * 5


def _history_run(offset: float, seed: int, params: dict | None = None, machine: dict | None = None,
                 code: str = "abc", version: str = "1", path: str = "run") -> RunSide:
    cells = {SEQ: record(SEQ, procs(1.0 * offset, 6, 0.002, seed), params=params),
             CID: record(CID, procs(0.6 * offset, 6, 0.002, seed + 1), params=params)}
    run = side(cells, machine=machine, version=version)
    run.code, run.path = code, path
    return run


def test_the_run_to_run_floor_is_measured_over_earlier_runs_of_the_same_plan_and_code():
    offsets = [1.0, 1.03, 0.98, 1.01, 0.99]
    history = [_history_run(f, 70 + 2 * i, path=f"h{i}") for i, f in enumerate(offsets)]
    others = [_history_run(1.0, 90, params={"units": 7}, path="o1"),  # another plan
              _history_run(1.0, 92, machine={**MACHINE, "cpu_model": "y"}, path="o2"),  # another machine
              _history_run(1.3, 94, code="def", path="o3"),  # other code (its workloads' source differs)
              _history_run(1.3, 96, version="2", path="o4")]  # another gilbench
    base, cand = _history_run(1.0, 100, path="base"), _history_run(1.0, 102, path="cand")
    both = [_history_run(1.5, 104, path="base"), _history_run(1.5, 106, path="cand")]  # the two compared: never
    floor = run_to_run_floor(base, cand, history=history + others + both)
    assert floor.runs == 5 and floor.paths == tuple(f"h{i}" for i in range(5))
    assert "over 5 earlier runs" in floor.source and "h0, h1, h2, h3, h4" in floor.source
    assert set(floor.by_row) == {(cid, s) for cid in (SEQ, CID) for s in ("min", "mean")}
    for (cid, summary), spread in floor.by_row.items():
        pick = min if summary == "min" else np.mean
        figures = [float(np.median([math.log(pick(p.values)) for p in h.cells[cid].processes])) for h in history]
        assert spread.sd == pytest.approx(np.std(figures, ddof=1)) and spread.runs == 5  # the ordinary sample sd


def test_runs_without_a_code_hash_never_make_a_floor():
    history = [_history_run(f, 70 + 2 * i, code="", path=f"h{i}") for i, f in enumerate([1.0, 1.03, 0.98, 1.0])]
    base, cand = _history_run(1.0, 100, code="", path="b"), _history_run(1.0, 102, code="", path="c")
    assert run_to_run_floor(base, cand, history=history).runs == 0


def test_with_too_few_earlier_runs_a_change_beyond_the_tolerance_is_inconclusive_never_within_a_floor():
    history = [_history_run(f, 70 + 2 * i, path=f"h{i}") for i, f in enumerate([1.0, 1.03])]
    base, cand = _history_run(1.0, 100, path="b"), _history_run(1.25, 102, path="c")
    floor = run_to_run_floor(base, cand, history=history)
    assert floor.runs == 2 and not floor.by_row and not floor.known and floor.more_runs == FLOOR_MIN_RUNS - 2
    assert "not known: 2 earlier run(s)" in floor.source
    result = compare(base, cand, [TIME10], floor=floor)
    times = [r for r in result.rows if r.metric == "time"]
    assert times and all(r.verdict == "inconclusive" and not r.regression for r in times)
    assert all(f"run the baseline {FLOOR_MIN_RUNS - 2} more time(s)" in r.note for r in times)
    same = compare(base, _history_run(1.0, 104, path="d"), [TIME10], floor=floor)  # no change still passes
    assert not same.regressions and not same.inconclusive


def _sequential_sides(rounds: int) -> tuple[RunSide, RunSide]:
    """A: 30 % slower (decided at the first look), B: unchanged and quiet (decided), C: unchanged and noisy."""
    design = design_for(40)
    cells_b, cells_c = {}, {}
    for name, ratio, noise, seed in (("a", 1.3, 0.003, 80), ("b", 1.0, 0.003, 81), ("c", 1.0, 0.4, 82)):
        cid = f"{name}/threads/w2/c2"
        b, c = _rounds(rounds, ratio, 0.05, seed, noise=noise)
        cells_b[cid], cells_c[cid] = b, c
    return side(cells_b, paired="ab", design=design), side(cells_c, paired="ab", design=design)


def test_a_paired_row_decided_at_the_first_look_stops_there():
    base, cand = _sequential_sides(40)
    assert base.design.looks == (16, 28, 40)
    rows = rows_of(compare(base, cand, [TIME10]))
    for label in ("time (min)", "time (mean)"):
        hit = rows[("a/threads/w2/c2", label)]
        assert hit.verdict == "slower" and hit.regression and (hit.look, hit.pairs) == (1, 16)
        assert hit.level == pytest.approx(ALPHA * hit.weight / 9 * base.design.weights[0])  # its share at look 1
        quiet = rows[("b/threads/w2/c2", label)]
        assert quiet.decided and (quiet.look, quiet.pairs) == (1, 16) and not quiet.regression


def test_open_cells_are_exactly_the_cells_with_undecided_rows():
    base, cand = _sequential_sides(16)
    result = compare(base, cand, [TIME10], final=False)
    undecided = {r.id for r in result.rows if not r.decided}
    assert undecided == {"c/threads/w2/c2"}
    assert {r.verdict for r in result.rows if not r.decided} == {"open"}
    assert open_cells(result, base.cells) == {"c/threads/w2/c2"}
    final = compare(base, cand, [TIME10])  # the rounds are all there will be: open reads inconclusive
    assert {r.verdict for r in final.rows if r.id == "c/threads/w2/c2"} == {"inconclusive"}


def test_the_rule_reads_the_change_not_its_log():
    # bounds are on the log scale; thresholds and tolerances are fractions of the value: +5.05 % clears M = 5 %
    t = RowTest(math.log(1.06), math.log(1.0505), math.log(1.07), p=1e-6, level=1e-3,
                 pass_low=math.log(1.0505), pass_high=math.log(1.07))
    assert verdict("time", t, 0.10) == ("slower", True)
    t = RowTest(math.log(1.06), math.log(1.0495), math.log(1.07), p=1e-6, level=1e-3,
                 pass_low=math.log(1.0495), pass_high=math.log(1.07))
    assert verdict("time", t, 0.10) == ("slower, under 10 %", False)  # 4.95 % is not above M
    # speedup 5.5 % lower (worse: -log(0.945) = 0.0566) against M = 5 % (-log(0.95) = 0.0513)
    t = RowTest(-math.log(0.94), -math.log(0.945), -math.log(0.93), p=1e-6, level=1e-3,
                 pass_low=-math.log(0.945), pass_high=-math.log(0.93))
    assert verdict("speedup", t, 0.10) == ("worse", True)


def test_with_ties_the_exact_p_decides_even_where_the_untied_bound_sits_on_zero():
    d = [-1.0, 0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 2.0, 2.0, 2.5]
    p = stats.signed_rank_p(d)
    test = paired_test(d, level=p)  # at a level the exact test just reaches
    assert test.p <= test.level
    assert verdict("time", test, 0.10, tolerance=0.0)[1]  # with no tolerance a regression: ties do not hide it


def test_the_speedup_baseline_and_the_cells_an_open_row_reads_come_from_the_query_layer():
    from gilbench.bench.data import query

    run = side({SEQ: procs(1.0, 4, 0.005, 1), CID: procs(0.5, 4, 0.005, 2),
                SEQ + "@3.12": procs(2.0, 4, 0.005, 3), CID + "@3.12": procs(1.0, 4, 0.005, 4)})
    for cid, base in ((CID, SEQ), (CID + "@3.12", SEQ + "@3.12")):
        assert run.baseline_of(cid) == base == query.RunQuery(run.cells.values()).baseline_of(cid)
    # an undecided speedup row of 3.12 keeps 3.12's baseline running in ab, not the first interpreter's
    still = Comparison("a", "b", [SPEEDUP10], rows=[Row(CID + "@3.12", "speedup", "open")])
    assert open_cells(still, run.cells) == {CID + "@3.12", SEQ + "@3.12"}


def test_each_cell_is_told_what_it_can_resolve_at_the_first_look_and_named_when_it_cannot():
    """Issue 22: a cell that cannot resolve T was found only in an inconclusive row at the end. At the
    first look ab says, per cell, the change its rounds will resolve by the last look (failing with
    POWER), and names the cells above their threshold; the summary's guarantee line names them too."""
    from gilbench.bench.ab import resolvable_lines

    base, cand = _sequential_sides(16)  # b: quiet, c: 40 % noise
    result = compare(base, cand, [TIME10], final=False, with_mde=True)
    lines = resolvable_lines(result, base.design)
    quiet = next(line for line in lines if "b/threads/w2/c2" in line)
    noisy = next(line for line in lines if "c/threads/w2/c2" in line)
    assert "resolves" in quiet and "by 40 rounds" in quiet and "above its threshold" not in quiet
    assert "above its threshold 10 %" in noisy and "inconclusive" in noisy
    rows = rows_of(result)
    assert rows[("b/threads/w2/c2", "time (min)")].resolvable < 0.10 < rows[("c/threads/w2/c2", "time (min)")].resolvable
    # the resolvable change is above the tolerance: it is what a change must be to fail with POWER
    assert rows[("b/threads/w2/c2", "time (min)")].resolvable > 0.05
    final = compare(base, cand, [TIME10])
    assert "c/threads/w2/c2" in show.guarantees(final) and "cannot resolve" in show.guarantees(final)
    assert "fails at most 1% of gates" in show.guarantees(final)


def test_a_threshold_with_its_own_tolerance():
    threshold = parse_threshold("time:5%,tol=1%")
    assert (threshold.percent, threshold.tolerance, threshold.text) == (5.0, 0.01, "time:5%,tol=1%")
    assert parse_threshold("time:5%").tolerance == 0.025
    for bad in ("time:5%,tol=5%", "time:5%,tol=7%", "time:5%,tol=", "time:5%;tol=1%"):
        with pytest.raises(ValueError):
            parse_threshold(bad)

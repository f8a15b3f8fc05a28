"""The gate: statistics on processes with known answers, Holm over the rows, machine speed, the
threshold syntax, exit codes, strict JSON and its outputs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from gilbench.bench import stats
from gilbench.bench.compare import (ALPHA, Comparison, Row, RunSide, Threshold, compare, decide, paired_differences,
                           parse_threshold, row_seed)
from gilbench.bench.matrix import Cell
from gilbench.bench.model import CellRecord, ProcessRecord
from gilbench.bench.results import FORMAT
from gilbench.reports import comparison as show
from tests.conftest import gilbench

TIME10 = Threshold("time", 10.0)
SPEEDUP10 = Threshold("speedup", 10.0)
CID = "w/threads/w2/c2"
MACHINE = {"cpu_model": "x", "logical_cpus": 2, "python_version": "3.11"}


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
           error: dict | None = None, tasks: int = 4) -> CellRecord:
    workload, backend, w, c = cid.split("/")
    cell = Cell(workload, backend, int(w[1:]), int(c[1:]), (0, 1), tasks, {"units": 100})
    return CellRecord(cell, "cpu-bound", baseline=(backend == "sequential") if baseline is None else baseline,
                      status=status or ("ok" if processes else "failed"), processes=processes or [], error=error)


def side(cells: dict[str, list[ProcessRecord] | CellRecord], machine: dict | None = None, paired: str = "") -> RunSide:
    records = {cid: c if isinstance(c, CellRecord) else record(cid, c) for cid, c in cells.items()}
    return RunSide("run", machine or MACHINE, records, paired)


def one_row(base: list[ProcessRecord], cand: list[ProcessRecord], threshold: Threshold = TIME10,
            paired: str = "") -> Row:
    (row,) = compare(side({CID: base}, paired=paired), side({CID: cand}, paired=paired), [threshold]).rows
    return row


# --- unpaired: separate runs, Welch t on the processes' logs ---------------------------------------

def test_a_clear_slowdown_is_slower_and_a_regression():
    row = one_row(procs(1.0, 10, 0.01, 1), procs(1.15, 10, 0.01, 2))
    assert row.verdict == "slower" and row.regression
    assert row.ratio == pytest.approx(1.15, abs=0.02) and row.ci_low > 1 and row.p_holm < ALPHA
    assert (row.n_base, row.n_cand, row.pairs) == (10, 10, 0)  # processes, not values; unpaired


def test_a_clear_speedup_is_faster_not_a_regression():
    row = one_row(procs(1.0, 10, 0.01, 3), procs(0.8, 10, 0.01, 4))
    assert row.verdict == "faster" and not row.regression


def test_significant_but_tiny_changes_do_not_fail():
    row = one_row(procs(1.0, 30, 0.001, 5), procs(1.003, 30, 0.001, 6))
    assert row.p_value < 0.01 and row.ci_low > 1  # detectable...
    assert row.verdict == "no change" and not row.regression  # ...but 0.3 % is below half of 10 %


def test_noise_larger_than_the_threshold_is_inconclusive_not_no_change():
    row = one_row(procs(1.0, 5, 0.25, 7), procs(1.0, 5, 0.25, 8))
    assert row.verdict == "inconclusive" and row.mde > 0.10 and not row.regression


def test_unpaired_row_is_welchs_t_on_the_logs_of_process_minima():
    base, cand = procs(1.0, 6, 0.03, 9), procs(1.1, 15, 0.03, 10)
    row = one_row(base, cand)
    lb, lc = np.log([p.best for p in base]), np.log([p.best for p in cand])
    welch = sps.ttest_ind(lc, lb, equal_var=False)
    assert (row.n_base, row.n_cand) == (6, 15)
    assert row.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    assert row.ratio == pytest.approx(math.exp(lc.mean() - lb.mean()), rel=1e-12)
    low, high = welch.confidence_interval(1 - ALPHA)
    assert (row.ci_low, row.ci_high) == (pytest.approx(math.exp(low)), pytest.approx(math.exp(high)))


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
    assert row.verdict == "inconclusive" and math.isinf(row.mde) and math.isnan(row.p_value)
    assert "too few processes (1 and 1)" in row.note and not row.regression


# --- paired: one ab, rounds -------------------------------------------------------------------------

def _rounds(n: int, ratio: float, layout_cv: float, seed: int) -> tuple[list[ProcessRecord], list[ProcessRecord]]:
    """Rounds whose layout effect is shared by both sides (large) and whose ratio is ``ratio`` x noise."""
    rng = np.random.default_rng(seed)
    layout = 1 + rng.normal(0, layout_cv, n)
    base = exact(list(layout * (1 + rng.normal(0, 0.005, n))))
    cand = exact(list(ratio * layout * (1 + rng.normal(0, 0.005, n))))
    return base, cand


def test_pairing_by_round_sees_through_a_layout_spread_that_drowns_separate_runs():
    base, cand = _rounds(14, 1.12, 0.20, 13)
    paired = one_row(base, cand, paired="ab-root")
    assert paired.verdict == "slower" and paired.regression and paired.pairs == 14
    unpaired = one_row(base, cand)
    assert unpaired.verdict == "inconclusive" and not unpaired.regression


def test_paired_row_is_the_median_log_ratio_with_the_signed_rank_test():
    base, cand = _rounds(12, 1.08, 0.1, 14)
    row = one_row(base, cand, paired="ab-root")
    d = np.log([c.best for c in cand]) - np.log([b.best for b in base])
    assert row.ratio == pytest.approx(math.exp(np.median(d)), rel=1e-12)
    assert row.p_value == pytest.approx(sps.wilcoxon(d).pvalue, rel=1e-12)
    assert row.ci_low < row.ratio < row.ci_high


def test_paired_needs_the_same_interleaved_with_on_both_sides():
    base, cand = _rounds(10, 1.0, 0.05, 15)
    result = compare(side({CID: base}, paired="ab-1"), side({CID: cand}, paired="ab-2"), [TIME10])
    assert not result.paired and result.rows[0].pairs == 0
    assert compare(side({CID: base}, paired="ab-1"), side({CID: cand}, paired="ab-1"), [TIME10]).paired


def test_paired_uses_only_rounds_present_on_both_sides():
    base, cand = _rounds(12, 1.0, 0.05, 16)
    row = one_row(base, cand[:9] + cand[10:], paired="ab")
    assert row.pairs == 11 and (row.n_base, row.n_cand) == (12, 11)


def test_too_few_rounds_for_the_signed_rank_test_is_an_infinite_mde():
    base, cand = _rounds(6, 1.3, 0.01, 17)  # smallest p 2/2^6 = 0.031, never below 0.01
    row = one_row(base, cand, paired="ab")
    assert row.p_value == pytest.approx(2 / 2 ** 6)
    assert math.isinf(row.mde) and row.verdict == "inconclusive" and "too few rounds (6)" in row.note


def test_paired_speedup_differences_follow_the_formula():
    rng = np.random.default_rng(18)
    seq_b, cell_b, seq_c, cell_c = (list(1 + rng.normal(0, 0.05, 10)) for _ in range(4))
    b = side({"w/sequential/w1/c2": exact(seq_b), CID: exact(cell_b)}, paired="ab")
    c = side({"w/sequential/w1/c2": exact(seq_c), CID: exact(cell_c)}, paired="ab")
    (row,) = [r for r in compare(b, c, [SPEEDUP10]).rows]
    d = (np.log(seq_c) - np.log(cell_c)) - (np.log(seq_b) - np.log(cell_b))
    assert row.id == CID and row.ratio == pytest.approx(math.exp(np.median(d)))
    assert row.p_value == pytest.approx(sps.wilcoxon(d).pvalue)


def test_a_rows_interval_depends_on_its_identity_only():
    base, cand = _rounds(12, 1.05, 0.05, 19)
    alone = one_row(base, cand, paired="ab")
    other = procs(1.0, 12, 0.05, 20)
    rows = compare(side({CID: base, "w/threads/w4/c2": other}, paired="ab"),
                   side({CID: cand, "w/threads/w4/c2": other}, paired="ab"), [TIME10]).rows
    same = next(r for r in rows if r.id == CID)
    assert (same.ci_low, same.ci_high) == (alone.ci_low, alone.ci_high)
    assert row_seed(CID, "time") != row_seed(CID, "speedup")


# --- the gate: Holm over the family, the verdict rule ---------------------------------------------

def test_holm_runs_over_every_tested_row():
    cells = {f"w/threads/w{w}/c2": procs(1.0, 8, 0.02, w) for w in range(1, 6)}
    slower = {cid: procs(1.0 if cid != CID else 1.06, 8, 0.02, 100 + i) for i, cid in enumerate(cells)}
    result = compare(side(cells), side(slower), [TIME10])
    assert result.family == 5
    tested = sorted(result.rows, key=lambda r: r.id)
    assert [r.p_holm for r in tested] == pytest.approx(stats.holm([r.p_value for r in tested]))
    hit = next(r for r in result.rows if r.id == CID)
    assert hit.p_holm >= hit.p_value and hit.verdict == "slower"


def test_decide_uses_half_the_threshold_as_the_effect_floor():
    assert decide(TIME10, 1.06, True, 0.02) == ("slower", True)
    assert decide(TIME10, 1.04, True, 0.02) == ("no change", False)
    assert decide(TIME10, 1.20, False, 0.02) == ("no change", False)  # not rejected by Holm
    assert decide(TIME10, 1.20, False, 0.30) == ("inconclusive", False)
    assert decide(SPEEDUP10, 0.9, True, 0.05) == ("worse", True)
    assert decide(SPEEDUP10, 1.1, True, 0.05) == ("better", False)


def test_mde_is_at_the_family_level():
    row = one_row(procs(1.0, 10, 0.02, 21), procs(1.0, 10, 0.02, 22))
    _, se, df = stats.welch([(+1, np.log([p.best for p in procs(1.0, 10, 0.02, 22)])),
                               (-1, np.log([p.best for p in procs(1.0, 10, 0.02, 21)]))])
    assert row.mde == pytest.approx(stats.mde_fraction(se, ALPHA, df))  # one row: m = 1
    five = compare(side({f"w/threads/w{w}/c2": procs(1.0, 10, 0.02, 21) for w in range(1, 6)}),
                   side({f"w/threads/w{w}/c2": procs(1.0, 10, 0.02, 22) for w in range(1, 6)}), [TIME10])
    assert five.rows[0].mde == pytest.approx(stats.mde_fraction(se, ALPHA / 5, df))
    assert five.rows[0].mde > row.mde


# --- machine speed (the canary) -------------------------------------------------------------------

def _uniformly_slower(factor: float, canary_factor: float, paired: str = "") -> Comparison:
    """The candidate ran every cell ``factor`` x slower, its canary ``canary_factor`` x slower."""
    ids = {"w/sequential/w1/c2": 1.0, CID: 1.0, "w/processes/w2/c2": 0.5}
    base = side({cid: procs(mu, 10, 0.01, i, canary=None) for i, (cid, mu) in enumerate(ids.items())}, paired=paired)
    cand = side({cid: procs(mu * factor, 10, 0.01, 50 + i, canary=None) for i, (cid, mu) in enumerate(ids.items())},
                paired=paired)
    rng = np.random.default_rng(23)
    for run, f in ((base, 1.0), (cand, canary_factor)):
        for rec in run.cells.values():
            for p in rec.processes:
                p.canary = 0.05 * f * (1 + rng.normal(0, 0.01))
    return compare(base, cand, [TIME10, SPEEDUP10])


def test_a_slower_machine_is_not_a_regression_but_scaling_metrics_are_still_judged():
    result = _uniformly_slower(1.3, 1.3)
    assert result.machine_speed_differed and not result.time_judged
    assert result.machine_speed_ratio == pytest.approx(1.3, rel=0.02)
    times = [r for r in result.rows if r.metric == "time"]
    assert {r.verdict for r in times} == {"machine speed differed"} and not result.regressions
    assert all(re.match(r"machine speed differed by \+(29|30)\.\d % \(canary\); time not judged", r.note) for r in times)
    assert {r.verdict for r in result.rows if r.metric == "speedup"} == {"no change"}
    assert "time rows not judged" in show.text(result)
    assert "machine speed differed (canary time" in show.html(result)


def test_the_same_machine_speed_leaves_time_judged():
    result = _uniformly_slower(1.3, 1.0)
    assert not result.machine_speed_differed and "same within the noise" in result.machine_speed_note
    assert {r.verdict for r in result.rows if r.metric == "time"} == {"slower"}


def test_paired_comparisons_report_the_canary_but_judge_time():
    result = _uniformly_slower(1.3, 1.3, paired="ab")
    assert result.paired and result.machine_speed_differed and result.time_judged
    assert "paired by round, so time is judged" in result.machine_speed_note
    assert {r.verdict for r in result.rows if r.metric == "time"} == {"slower"}


def test_without_canaries_speed_is_not_checked():
    result = compare(side({CID: procs(1.0, 5, 0.01, 24, canary=None)}),
                     side({CID: procs(1.0, 5, 0.01, 25, canary=None)}), [TIME10])
    assert math.isnan(result.machine_speed_ratio) and "not checked" in result.machine_speed_note
    assert "not checked" in show.text(result)


# --- gate semantics ---------------------------------------------------------------------------------

def test_a_cell_that_fails_or_times_out_in_the_candidate_is_a_regression():
    base = side({CID: procs(1.0, 4, 0.01, 26), "w/threads/w4/c2": procs(1.0, 4, 0.01, 27)})
    cand = side({CID: record(CID, [], status="failed", error={"how": "exit 1", "message": "ZeroDivisionError"}),
                 "w/threads/w4/c2": record("w/threads/w4/c2", [], status="timeout", error={"message": "after 60 s"})})
    rows = {r.id: r for r in compare(base, cand, [TIME10]).rows}
    assert rows[CID].verdict == "failed" and rows[CID].regression
    assert "failed in the candidate: ZeroDivisionError" in rows[CID].note
    assert rows["w/threads/w4/c2"].regression and "timed out in the candidate: after 60 s" in rows["w/threads/w4/c2"].note


def test_a_speedup_row_fails_when_its_baseline_cell_fails_in_the_candidate():
    seq = "w/sequential/w1/c2"
    base = side({seq: procs(1.0, 4, 0.01, 45), CID: procs(0.6, 4, 0.01, 46)})
    cand = side({seq: record(seq, [], status="failed", error={"message": "boom"}), CID: procs(0.6, 4, 0.01, 47)})
    (row,) = compare(base, cand, [SPEEDUP10]).rows
    assert row.id == CID and row.verdict == "failed" and row.regression
    assert row.note == f"its baseline cell {seq} failed in the candidate: boom"


def test_cells_in_one_run_only_and_failed_baselines_are_not_comparable():
    base = side({CID: [], "w/threads/w4/c2": procs(1.0, 3, 0.01, 28)})
    cand = side({CID: procs(1.0, 3, 0.01, 29), "w/processes/w2/c2": procs(1.0, 3, 0.01, 30)})
    rows = {r.id: r for r in compare(base, cand, [TIME10]).rows}
    assert rows["w/threads/w4/c2"].verdict == "not comparable" and "only in the baseline" in rows["w/threads/w4/c2"].note
    assert "only in the candidate" in rows["w/processes/w2/c2"].note
    assert rows[CID].verdict == "not comparable" and "no result in the baseline (failed)" in rows[CID].note


def test_other_machines_and_interpreters_are_not_comparable_unless_allowed():
    cells = {CID: exact([1.0, 1.01, 1.0])}
    base = side(cells)
    other = side(cells, machine={"cpu_model": "y", "logical_cpus": 16, "python_version": "3.13"})
    result = compare(base, other, [TIME10])
    assert "different machines" in result.not_comparable and "different interpreters" in result.not_comparable
    assert all(r.verdict == "not comparable" for r in result.rows)
    allowed = compare(base, other, [TIME10], allow_other_machine=True, allow_other_python=True)
    assert not allowed.not_comparable and allowed.rows[0].verdict == "no change"
    assert any(differs for *_, differs in allowed.environment)


def test_the_speedup_baseline_is_found_by_its_flag_not_its_name():
    cells = {"w/serial/w1/c2": record("w/serial/w1/c2", exact([1.0] * 6), baseline=True),
             CID: record(CID, exact([0.5] * 6), baseline=False)}
    rows = compare(side(cells), side(cells), [SPEEDUP10]).rows
    assert [(r.id, r.base, r.verdict) for r in rows] == [(CID, pytest.approx(2.0), "no change")]


def test_unpaired_speedup_adds_the_four_variances():
    rng = np.random.default_rng(31)
    logs = [rng.normal(0, 0.03, 8) for _ in range(4)]
    b = side({"w/sequential/w1/c2": exact(list(np.exp(logs[0]))), CID: exact(list(np.exp(logs[1])))})
    c = side({"w/sequential/w1/c2": exact(list(np.exp(logs[2]))), CID: exact(list(np.exp(logs[3])))})
    (row,) = compare(b, c, [SPEEDUP10]).rows
    estimate = (logs[2].mean() - logs[3].mean()) - (logs[0].mean() - logs[1].mean())
    assert row.ratio == pytest.approx(math.exp(estimate))
    se = math.sqrt(sum(x.var(ddof=1) / 8 for x in logs))
    assert row.p_value == pytest.approx(stats.t_p_two_sided(estimate / se, stats.welch(
        [(1, logs[2]), (-1, logs[3]), (-1, logs[0]), (1, logs[1])])[2]))


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
    (row,) = compare(side({CID: par(2.0, 32)}), side({CID: par(1.2, 33)}), [Threshold("parallelism", 10)]).rows
    assert row.base == pytest.approx(2.0) and row.cand == pytest.approx(1.2) and row.verdict == "worse"


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
    row = Row(f"{name}/threads/w2/c2", "time", "slower", 1.0, 1.2, 1.2, 1.1, 1.3, 0.001, 0.02, 0.1, 9, 9, True,
              note="<b>note</b>", p_holm=0.001)
    return Comparison("base<i>", "cand", [TIME10], [row], [("hostname", "<h2 id=evil>", "x", True)])


def test_markdown_and_html_escape_hostile_names():
    c = _hostile_comparison()
    md = show.markdown(c)
    assert "<script>" not in md and "<b>" not in md and "&lt;script&gt;" in md and "\\|" in md
    html = show.html(c)
    assert "<script>" not in html and "<b>note" not in html and "&lt;script&gt;" in html and "<h2 id=evil>" not in html
    assert "1 regression beyond the thresholds" in md and "1 regression beyond the thresholds" in html


def _mixed() -> Comparison:
    """10 rows, 3 of them too noisy to detect 10 %."""
    base = {f"w/threads/w{w}/c2": procs(1.0, 8, 0.25 if w <= 3 else 0.005, w) for w in range(1, 11)}
    cand = {cid: procs(1.0, 8, 0.25 if i < 3 else 0.005, 40 + i) for i, cid in enumerate(base)}
    return compare(side(base), side(cand), [TIME10])


def test_the_headline_counts_inconclusive_rows():
    result = _mixed()
    assert len(result.inconclusive) == 3
    assert show.summary(result).startswith("no regression beyond the thresholds; 3 of 10 rows could not detect 10 %")


def test_the_outputs_show_pairing_processes_spread_and_the_rule():
    base, cand = _rounds(14, 1.0, 0.05, 34)
    paired = compare(side({CID: base}, paired="ab"), side({CID: cand}, paired="ab"), [TIME10])
    text = show.text(paired)
    assert "paired by round: 14 rounds" in text and "14 pairs" in text
    assert "Holm at 0.01 over the 1 tested row" in text and "half its threshold" in text
    assert "between" in text and "n_eff" in text and "canary time, candidate / baseline" in text
    unpaired = show.markdown(_mixed())
    assert "unpaired: separate runs" in unpaired and "8\\|8" in unpaired
    html = show.html(paired)
    assert "paired by round: 14 rounds" in html and "Machine speed" in html


def _reject_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


def test_json_is_strict():
    # one process a side: an infinite MDE, no p-value, no machine speed; all of them null in JSON
    result = compare(side({CID: exact([1.0])}), side({CID: exact([1.0]), "w/threads/w4/c2": exact([1.0])}), [TIME10])
    assert math.isinf(result.rows[0].mde) and math.isnan(result.machine_speed_ratio)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False), parse_constant=_reject_constant)
    row = next(r for r in data["rows"] if r["id"] == CID)
    assert row["mde"] is None and row["p_value"] is None and data["machine_speed"]["ratio"] is None
    assert {"paired", "family", "rounds"} <= set(data)


# --- the command, on run folders --------------------------------------------------------------------

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


def test_compare_command_exit_codes_outputs_and_strict_json(tmp_path):
    cells = {"w/sequential/w1/c2": procs(1.0, 8, 0.01, 35), CID: procs(0.9, 8, 0.01, 36)}
    base = write_run(tmp_path / "base", cells)
    slow = write_run(tmp_path / "slow", {cid: procs(1.2 * p[0].median, 8, 0.01, 60 + i)
                                         for i, (cid, p) in enumerate(cells.items())})
    same = gilbench("compare", str(base), str(base), "--fail-on", "time:10%", "--fail-on", "speedup:10%",
                    "--json", str(tmp_path / "c.json"), "--html", str(tmp_path / "c.html"),
                    "--markdown", str(tmp_path / "c.md"))
    assert same.returncode == 0, same.stderr
    assert "no regression beyond the thresholds" in same.stdout and "unpaired" in same.stdout
    data = json.loads((tmp_path / "c.json").read_text(), parse_constant=_reject_constant)
    assert len(data["rows"]) == 3 and data["family"] == 3
    assert "Change per cell" in (tmp_path / "c.html").read_text()
    assert "## gilbench comparison" in (tmp_path / "c.md").read_text()
    worse = gilbench("compare", str(base), str(slow), "--fail-on", "time:10%")
    assert worse.returncode == 1 and "slower" in worse.stdout and "+2" in worse.stdout


def test_fail_on_inconclusive(tmp_path):
    base = write_run(tmp_path / "base", {CID: procs(1.0, 4, 0.3, 37)})
    cand = write_run(tmp_path / "cand", {CID: procs(1.0, 4, 0.3, 38)})
    plain = gilbench("compare", str(base), str(cand))
    assert plain.returncode == 0 and "could not detect 10 %" in plain.stdout
    strict = gilbench("compare", str(base), str(cand), "--fail-on-inconclusive")
    assert strict.returncode == 1


def test_a_candidate_that_fails_fails_the_gate(tmp_path):
    base = write_run(tmp_path / "base", {CID: procs(1.0, 4, 0.01, 39)})
    cand = write_run(tmp_path / "cand", {CID: record(CID, [], status="timeout", error={"message": "hung"})})
    done = gilbench("compare", str(base), str(cand))
    assert done.returncode == 1 and "timed out in the candidate: hung" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["--fail-on", "time:ten"], "expected METRIC:PCT%"),
    (["--fail-on", "efficiency:10%"], "ideal cancels"),
])
def test_compare_usage_errors_exit_2(tmp_path, args, message):
    run = write_run(tmp_path / "run", {CID: procs(1.0, 3, 0.01, 40)})
    done = gilbench("compare", str(run), str(run), *args)
    assert done.returncode == 2 and message in done.stderr


def test_compare_unreadable_inputs_exit_2(tmp_path):
    run = write_run(tmp_path / "run", {CID: procs(1.0, 3, 0.01, 41)})
    missing = gilbench("compare", str(tmp_path / "nope"), str(run))
    assert missing.returncode == 2 and "no such run folder" in missing.stderr
    foreign = write_run(tmp_path / "foreign", {CID: procs(1.0, 3, 0.01, 42)}, suite_metadata=False)
    done = gilbench("compare", str(run), str(foreign))
    assert done.returncode == 2 and "without gilbench metadata" in done.stderr and "Traceback" not in done.stderr
    broken = tmp_path / "broken"
    write_run(broken, {CID: procs(1.0, 3, 0.01, 43)})
    (broken / "manifest.json").write_text('{"format": %d, "cells": [{"workload": "w"}]}' % FORMAT)
    done = gilbench("compare", str(run), str(broken))
    assert done.returncode == 2 and "not readable" in done.stderr and "Traceback" not in done.stderr


def test_compare_reads_pairing_from_the_manifests(tmp_path):
    base_p, cand_p = _rounds(14, 1.12, 0.2, 44)
    base = write_run(tmp_path / "ab" / "base", {CID: base_p}, interleaved_with=str(tmp_path / "ab"))
    cand = write_run(tmp_path / "ab" / "cand", {CID: cand_p}, interleaved_with=str(tmp_path / "ab"))
    done = gilbench("compare", str(base), str(cand))
    assert done.returncode == 1 and "paired by round: 14 rounds" in done.stdout and "slower" in done.stdout


def test_compare_of_a_real_run_with_itself(smoke_run, tmp_path):
    done = gilbench("compare", str(smoke_run), str(smoke_run), "--json", str(tmp_path / "c.json"))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "c.json").read_text(), parse_constant=_reject_constant)
    manifest = json.loads((smoke_run / "manifest.json").read_text())
    assert len(data["rows"]) == len(manifest["cells"])  # time only: one row per cell
    assert {r["verdict"] for r in data["rows"]} <= {"no change", "inconclusive"}

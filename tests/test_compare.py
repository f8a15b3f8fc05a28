"""The gate: statistics with known answers, the threshold syntax, exit codes, and its outputs."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from bench import stats
from bench.compare import Comparison, Row, RunSide, Threshold, compare, decide, parse_threshold
from reports import comparison as show
from tests.conftest import gilbench

TIME10 = Threshold("time", 10.0)


def side(values: dict[str, list[float]], machine: dict | None = None, **cell_extra) -> RunSide:
    cells = {}
    for cid, vals in values.items():
        workload, backend, w, c = cid.split("/")
        cells[cid] = {"id": cid, "workload": workload, "backend": backend, "workers": int(w[1:]),
                      "cores": int(c[1:]), "tasks": 4, "kind": "cpu-bound", "status": "ok" if vals else "failed",
                      "params": {"units": 100}, **cell_extra}
    return RunSide("run", machine or {"cpu_model": "x", "logical_cpus": 2, "python_version": "3.11"}, cells,
                   {k: v for k, v in values.items() if v})


def noisy(center: float, n: int, cv: float, seed: int) -> list[float]:
    return list(np.random.default_rng(seed).normal(center, center * cv, n))


def verdict_of(base: list[float], cand: list[float], threshold: Threshold = TIME10) -> Row:
    cid = "w/threads/w2/c2"
    (row,) = compare(side({cid: base}), side({cid: cand}), [threshold]).rows
    return row


def test_a_clear_slowdown_is_slower_and_a_regression():
    row = verdict_of(noisy(1.0, 9, 0.01, 1), noisy(1.15, 9, 0.01, 2))
    assert row.verdict == "slower" and row.regression
    assert row.ratio == pytest.approx(1.15, abs=0.02) and row.ci_low > 1 and row.p_value < 0.01


def test_a_clear_speedup_is_faster_not_a_regression():
    row = verdict_of(noisy(1.0, 9, 0.01, 3), noisy(0.8, 9, 0.01, 4))
    assert row.verdict == "faster" and not row.regression


def test_significant_but_tiny_changes_do_not_fail():
    row = verdict_of(noisy(1.0, 30, 0.001, 5), noisy(1.003, 30, 0.001, 6))
    assert row.p_value < 0.01 and row.ci_low > 1  # detectable...
    assert row.verdict == "no change" and not row.regression  # ...but 0.3 % is below half of 10 %


def test_noise_larger_than_the_threshold_is_inconclusive_not_no_change():
    row = verdict_of(noisy(1.0, 5, 0.25, 7), noisy(1.0, 5, 0.25, 8))
    assert row.verdict == "inconclusive" and row.mde > 0.10 and not row.regression


def test_unequal_sample_counts_get_a_valid_test():
    row = verdict_of(noisy(1.0, 6, 0.01, 9), noisy(1.2, 15, 0.01, 10))
    assert (row.n_base, row.n_cand) == (6, 15)
    assert row.verdict == "slower" and 0 < row.p_value < 0.01


def test_zero_variance_samples():
    same = verdict_of([1.0] * 6, [1.0] * 6)
    assert same.verdict == "no change" and same.p_value == 1.0 and same.mde == 0
    apart = verdict_of([1.0] * 6, [1.2] * 6)
    assert apart.verdict == "slower" and apart.regression


def test_cells_in_one_run_only_and_failed_cells_are_not_comparable():
    base = side({"w/threads/w2/c2": [1.0] * 3, "w/threads/w4/c2": [1.0] * 3})
    cand = side({"w/threads/w2/c2": [], "w/processes/w2/c2": [1.0] * 3})
    rows = {r.id: r for r in compare(base, cand, [TIME10]).rows}
    assert rows["w/threads/w4/c2"].verdict == "not comparable" and "only in the baseline" in rows["w/threads/w4/c2"].note
    assert "only in the candidate" in rows["w/processes/w2/c2"].note
    assert "no result in the candidate (failed)" in rows["w/threads/w2/c2"].note


def test_other_machines_and_interpreters_are_not_comparable_unless_allowed():
    cid = {"w/threads/w2/c2": [1.0, 1.01, 1.0] * 3}
    base = side(cid)
    other = side(cid, machine={"cpu_model": "y", "logical_cpus": 16, "python_version": "3.13"})
    result = compare(base, other, [TIME10])
    assert "different machines" in result.not_comparable and "different interpreters" in result.not_comparable
    assert all(r.verdict == "not comparable" for r in result.rows)
    allowed = compare(base, other, [TIME10], allow_other_machine=True, allow_other_python=True)
    assert not allowed.not_comparable and allowed.rows[0].verdict == "no change"
    assert any(differs for *_, differs in allowed.environment)


def test_scaling_metrics_are_measured_inside_each_run():
    # the candidate machine is uniformly 30 % slower: time regresses, speedup and GIL penalty do not
    base = side({"w/sequential/w1/c2": [1.0, 1.01, 0.99] * 3, "w/threads/w2/c2": [1.0, 1.01, 0.99] * 3,
                 "w/processes/w2/c2": [0.5, 0.505, 0.495] * 3})
    cand = side({k: [v * 1.3 for v in vals] for k, vals in
                 {"w/sequential/w1/c2": [1.0, 1.01, 0.99] * 3, "w/threads/w2/c2": [1.0, 1.01, 0.99] * 3,
                  "w/processes/w2/c2": [0.5, 0.505, 0.495] * 3}.items()})
    thresholds = [TIME10, Threshold("speedup", 10), Threshold("efficiency", 10), Threshold("gil-penalty", 10)]
    rows = compare(base, cand, thresholds).rows
    assert {r.verdict for r in rows if r.metric == "time"} == {"slower"}
    assert {r.verdict for r in rows if r.metric != "time"} == {"no change"}
    penalty = next(r for r in rows if r.metric == "gil-penalty")
    assert penalty.base == pytest.approx(2.0, rel=0.01)


def test_decide_uses_half_the_threshold_as_the_effect_floor():
    assert decide(TIME10, 1.06, (1.04, 1.08), 0.001, 0.02) == ("slower", True)
    assert decide(TIME10, 1.04, (1.02, 1.06), 0.001, 0.02) == ("no change", False)
    assert decide(Threshold("efficiency", 10), 0.9, (0.85, 0.95), math.nan, 0.05) == ("worse", True)


@pytest.mark.parametrize("text, expected", [("time:10%", ("time", 10.0)), (" efficiency : 2.5 % ", ("efficiency", 2.5)),
                                            ("gil-penalty:5%", ("gil-penalty", 5.0))])
def test_threshold_syntax(text, expected):
    t = parse_threshold(text)
    assert (t.metric, t.percent) == expected


@pytest.mark.parametrize("bad", ["time", "time:10", "time:-5%", "latency:10%", "time:0%", "time:ten%"])
def test_bad_threshold_syntax_is_rejected_with_the_accepted_form(bad):
    with pytest.raises(ValueError, match="expected METRIC:PCT%"):
        parse_threshold(bad)


def test_mde_and_bootstrap_helpers():
    assert stats.mann_whitney_p([1.0, 2.0, 3.0], []) != stats.mann_whitney_p([1.0, 2.0, 3.0], [])  # nan
    assert stats.bootstrap_ci([1.0] * 10, 0.99) == (1.0, 1.0)
    assert stats.min_detectable_effect((0.9, 1.1), 0.99) == pytest.approx(0.1 * (2.5758 + 0.8416) / 2.5758, rel=1e-3)


def _hostile_comparison() -> Comparison:
    name = '<script>alert("x")</script>|*_`'
    row = Row(f"{name}/threads/w2/c2", "time", "slower", 1.0, 1.2, 1.2, 1.1, 1.3, 0.001, 0.02, 0.1, 9, 9, True,
              note="<b>note</b>")
    return Comparison("base<i>", "cand", [TIME10], [row], [("hostname", "<h2 id=evil>", "x", True)])


def test_markdown_and_html_escape_hostile_names():
    c = _hostile_comparison()
    md = show.markdown(c)
    assert "<script>" not in md and "<b>" not in md and "&lt;script&gt;" in md and "\\|" in md
    html = show.html(c)
    assert "<script>" not in html and "<b>note" not in html and "&lt;script&gt;" in html and "<h2 id=evil>" not in html
    assert "1 regression beyond the thresholds" in md and "1 regression beyond the thresholds" in html


# --- the command, on real runs -----------------------------------------------------------------

def test_compare_of_two_real_runs_exit_codes_and_outputs(smoke_run, tmp_path):
    done = gilbench("compare", str(smoke_run), str(smoke_run), "--fail-on", "time:10%",
                    "--html", str(tmp_path / "c.html"), "--markdown", str(tmp_path / "c.md"),
                    "--json", str(tmp_path / "c.json"))
    assert done.returncode == 0, done.stderr
    assert "no regression beyond the thresholds" in done.stdout
    assert "hello-cpu/processes/w2" in done.stdout
    assert "too few values (2 and 2)" in done.stdout  # the smoke profile cannot gate anything
    assert "Change per cell" in (tmp_path / "c.html").read_text()
    assert "## gilbench comparison" in (tmp_path / "c.md").read_text()
    assert len(json.loads((tmp_path / "c.json").read_text())["rows"]) == 10


def test_a_real_run_made_20_percent_slower_fails_the_gate(tmp_path):
    root = tmp_path / "results"
    done = gilbench("run", "--profile", "smoke", "--workload", "hello-sleep", "--backend", "sequential,threads",
                    "--workers", "2", "--values", "6", "--no-report", "--output", str(root))
    assert done.returncode == 0, done.stderr
    base = (root / "latest").resolve()
    slow = tmp_path / "slow"
    shutil.copytree(base, slow)
    suite = json.loads((slow / "suite.json").read_text())
    for bench in suite["benchmarks"]:
        for run in bench["runs"]:
            run["values"] = [v * 1.2 for v in run.get("values", [])]
    (slow / "suite.json").write_text(json.dumps(suite))
    done = gilbench("compare", str(base), str(slow), "--fail-on", "time:10%")
    assert done.returncode == 1 and "slower" in done.stdout and "+20.0%" in done.stdout
    same = gilbench("compare", str(base), str(base), "--fail-on", "time:10%")
    assert same.returncode == 0


@pytest.mark.parametrize("args, message", [
    (["--fail-on", "time:ten"], "expected METRIC:PCT%"),
])
def test_compare_usage_errors_exit_2(smoke_run, args, message):
    done = gilbench("compare", str(smoke_run), str(smoke_run), *args)
    assert done.returncode == 2 and message in done.stderr


def test_compare_unreadable_inputs_exit_2(smoke_run, tmp_path):
    missing = gilbench("compare", str(tmp_path / "nope"), str(smoke_run))
    assert missing.returncode == 2 and "no such run folder" in missing.stderr
    foreign = tmp_path / "foreign"
    shutil.copytree(smoke_run, foreign)
    suite = json.loads((foreign / "suite.json").read_text())
    for bench in suite["benchmarks"]:
        for run in bench["runs"]:
            run.get("metadata", {}).pop("gilbench_workload", None)
        bench.get("metadata", {}).pop("gilbench_workload", None)
    suite.get("metadata", {}).pop("gilbench_workload", None)
    (foreign / "suite.json").write_text(json.dumps(suite))
    done = gilbench("compare", str(smoke_run), str(foreign))
    assert done.returncode == 2 and "without gilbench metadata" in done.stderr and "Traceback" not in done.stderr

"""Experiments that are not batches of tasks: discovery, the runner's child processes, results on disk,
failures recorded without stopping the run, the report's sections, and a whole `gilbench run`."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from gilbench.bench.plan.experiments import ExperimentJob, plan_jobs
from gilbench.bench.measure.experiment_runner import result_path, run_all, run_one
from gilbench.bench.data.results import RunFolder
from gilbench.experiments import all_experiments, get, sections_for
from gilbench.experiments._stats import log_crossing, percentile
from gilbench.bench.data.experiment import ExperimentResult
from gilbench.experiments.base import gil_enabled
from gilbench.experiments.convoy import Convoy
from gilbench.experiments.crossover import crossover
from tests.conftest import gilbench_here

pytestmark = pytest.mark.xdist_group("experiments")  # its fixtures: made once, on one xdist worker

CONVOY_TINY = {"modes": ["threads", "processes"], "ks": [0, 1], "intervals_ms": [5.0], "seconds": 0.2,
               "warmup_s": 0.02}
CROSSOVER_TINY = {"work_s": 0.02, "sizes_us": [100, 10_000], "workers": 2, "reps": 1, "chunks_per_worker": 4}
CONVOY_KEYS = {"mode", "k", "switch_interval_ms", "n", "per_s", "p50_ms", "p99_ms", "mean_ms", "max_ms", "min_ms",
               "baseline_p50_ms"}
CROSSOVER_KEYS = {"pool", "chunksize", "chunking", "task_us", "iterations", "tasks", "workers", "reps", "seconds",
                  "values", "work_s"}


def job(name: str, params: dict, python: str = sys.executable, estimate: float = 5.0) -> ExperimentJob:
    return ExperimentJob(name=name, label="", python=python, params=params, estimate=estimate)


def group_gone(pgid: int) -> bool:
    """No process of this process group is left (zombies count as left)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunFolder, list[ExperimentResult], list[str]]:
    """Both experiments on tiny parameters through the runner, after one that fails: (folder, results, lines)."""
    folder = RunFolder(tmp_path_factory.mktemp("run"))
    lines: list[str] = []
    done: list[ExperimentResult] = []
    jobs = [job("convoy", {**CONVOY_TINY, "modes": ["bogus"]}, estimate=1.0), job("convoy", CONVOY_TINY),
            job("crossover", CROSSOVER_TINY)]
    jobs[0].label = "broken"  # its own result file, beside the good convoy's
    results = run_all(jobs, folder, lines.append, done=done.append)
    assert done == results
    return folder, results, lines


def test_discovery_finds_both_and_their_parameters_follow_the_profile() -> None:
    found = all_experiments()
    assert {"convoy", "crossover"} <= set(found)
    for name in ("convoy", "crossover"):
        experiment = get(name)()
        assert experiment.title and experiment.name == name
        assert experiment.parameters("gate", 2) == {}  # ab's profile: no experiments
        smoke, default = experiment.parameters("smoke", 2), experiment.parameters("default", 2)
        assert smoke and default and experiment.estimate(smoke) < experiment.estimate(default)
        assert experiment.estimate(experiment.parameters("full", 2)) > experiment.estimate(default)
    assert get("convoy")().parameters("default", 2)["ks"] == [0, 1, 2, 3]  # 0 .. cores + 1
    with pytest.raises(ValueError, match="convoy"):
        get("no-such-experiment")
    jobs = plan_jobs("smoke", 2, [("", sys.executable, {}), ("other", "/usr/bin/python3", {"PYTHON_GIL": "1"})])
    assert [(j.name, j.label) for j in jobs] == [("convoy", ""), ("convoy", "other"), ("crossover", ""),
                                                  ("crossover", "other")]
    assert plan_jobs("gate", 2, [("", sys.executable, {})]) == []
    assert [j.name for j in plan_jobs("smoke", 2, [("", sys.executable, {})], only=["crossover"])] == ["crossover"]


def test_convoy_result_is_well_formed_and_its_server_is_gone(finished) -> None:
    folder, results, _ = finished
    result = results[1]
    assert result.status == "ok", result.error
    data = json.loads(result_path(folder, "convoy").read_text())
    assert ExperimentResult.from_dict(data) == result
    assert len(result.rows) == 4  # 2 modes x k in (0, 1) x one interval
    for row in result.rows:
        assert CONVOY_KEYS <= set(row)
        assert row["n"] > 0 and row["per_s"] > 0
        assert 0 < row["min_ms"] <= row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert row["baseline_p50_ms"] > 0
    context = result.context
    assert context["switch_interval_ms"] == pytest.approx(5.0)  # the child's own, untouched
    assert context["gil_enabled"] in (True, False) and context["start_method"] and context["cpus"] >= 1
    assert result.duration > 0 and result.ended >= result.started
    echo = result.details["echo_pid"]
    assert echo > 0 and group_gone(result.pid)  # the echo server was in the child's group
    assert not Path(f"/proc/{echo}").exists()


@pytest.mark.serial
def test_convoy_one_cpu_thread_makes_a_round_trip_wait_a_switch_interval(tmp_path: Path) -> None:
    """Physics, with a wide margin: with the GIL on and one CPU-bound thread beside it, over a window of
    40 switch intervals the measuring thread waits at least once for the GIL for about an interval."""
    (result,) = run_all([job("convoy", {**CONVOY_TINY, "modes": ["threads"]})], RunFolder(tmp_path), lambda line: None)
    assert result.status == "ok", result.error
    if result.gil_enabled is False:
        pytest.skip("the GIL was off: threads do not convoy")
    row = next(r for r in result.rows if r["mode"] == "threads" and r["k"] == 1)
    alone = next(r for r in result.rows if r["mode"] == "threads" and r["k"] == 0)
    assert row["max_ms"] > 0.5 * 5.0
    assert row["max_ms"] > 3 * alone["p50_ms"]


def test_crossover_result_is_well_formed(finished) -> None:
    result = finished[1][2]
    assert result.status == "ok", result.error
    calibration = result.details["calibration"]
    assert calibration["iterations_per_us"] > 0 and calibration["seconds"] > 0
    for row in result.rows:
        assert CROSSOVER_KEYS <= set(row)
        assert row["seconds"] > 0 and row["tasks"] >= 1 and row["iterations"] >= 1 and len(row["values"]) == 1
        # physics: the work cannot finish faster than on every worker at once (calibrated, wide margin)
        assert row["seconds"] > 0.25 * row["work_s"] / row["workers"]
    small = [(r["pool"], r["chunksize"]) for r in result.rows if r["task_us"] == 100]
    assert small == [("threads", 1), ("processes", 1), ("processes", 25)]  # 200 tasks: ~4 chunks per worker
    big = [(r["pool"], r["chunksize"]) for r in result.rows if r["task_us"] == 10_000]
    assert big == [("threads", 1), ("processes", 1)]  # 2 tasks: one chunk each already
    assert group_gone(result.pid)


def test_a_failing_experiment_is_recorded_and_the_run_goes_on(finished) -> None:
    folder, results, lines = finished
    failed = results[0]
    assert failed.status == "failed" and failed.rows == []
    assert failed.error["error_type"] == "ValueError" and "bogus" in failed.error["message"]
    assert "Traceback" in failed.error["traceback"]
    assert json.loads(result_path(folder, "convoy", "broken").read_text())["status"] == "failed"
    assert [r.status for r in results[1:]] == ["ok", "ok"]  # the next ones ran
    assert lines[0].startswith("gilbench: 3 experiment runs") and "estimated" in lines[0]
    assert "[exp 1/3] convoy@broken" in lines[1] and "failed" in lines[1] and "bogus" in lines[1]
    assert all("left" in line for line in lines[1:])
    assert not list(folder.experiments.glob("*.out"))  # the children's scratch files are gone


def test_a_child_that_dies_without_a_result_is_recorded(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    result = run_one(job("convoy", CONVOY_TINY, python="/bin/false"), folder)
    assert result.status == "failed" and result.error["exitcode"] == 1
    assert "wrote no result" in result.error["message"]
    assert json.loads(result_path(folder, "convoy").read_text())["status"] == "failed"


@pytest.mark.slow
def test_an_experiment_past_its_time_limit_is_ended_with_everything_it_started(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    params = {**CONVOY_TINY, "seconds": 30.0}
    result = run_one(job("convoy", params), folder, timeout=1.5)
    assert result.status == "timeout" and "time limit" in result.error["message"]
    assert group_gone(result.pid)  # the child, its echo server and its CPU-bound workers
    assert json.loads(result_path(folder, "convoy").read_text())["status"] == "timeout"


def test_sections_render_with_the_numbers_in_words(finished) -> None:
    _, results, _ = finished
    run = SimpleNamespace(experiments=[*results, ExperimentResult(name="gone-experiment", rows=[{"x": 1}])])
    sections = {s.key: s for s in sections_for(run)}
    convoy, crossover_section = sections["experiment-convoy"], sections["experiment-crossover"]
    for section in (convoy, crossover_section):
        assert section.figure is not None and section.table is not None and not section.table.empty
        assert section.rule and section.method and section.verdicts
    assert any("convoy on broken" in n and "bogus" in n for n in convoy.notes)  # the failed one, said
    ok = results[1]
    row = next(r for r in ok.rows if r["mode"] == "threads" and r["k"] == 1)
    assert f"{row['p50_ms']:.3g} ms at p50" in convoy.verdicts[0]
    assert f"{row['p99_ms']:.3g} ms at p99" in convoy.verdicts[0]
    assert "5 ms switch interval" in convoy.verdicts[0] and "1 process" in convoy.verdicts[0]
    assert "fewer than 100" in convoy.rule and "p99" in convoy.rule
    t = next(r for r in results[2].rows if r["pool"] == "threads" and r["task_us"] == 100)
    assert any(f"{t['seconds']:.3g} s" in v for v in crossover_section.verdicts)
    assert "Processes overtake threads" in crossover_section.verdicts[0]
    assert "ignores" in crossover_section.rule
    assert "no experiment named 'gone-experiment'" in sections["experiment-gone-experiment"].verdicts[0]


def test_free_threaded_results_are_told_apart() -> None:
    rows = [{"mode": "threads", "k": k, "switch_interval_ms": 5.0, "n": 100, "per_s": 1000.0, "p50_ms": p50,
             "p99_ms": 2 * p50, "max_ms": 3 * p50, "baseline_p50_ms": 0.01} for k, p50 in ((0, 0.01), (2, 0.012))]
    result = ExperimentResult(name="convoy", python="3.14t", rows=rows, params=CONVOY_TINY,
                              context={"gil_enabled": False, "usable_cpus": 2})
    [section] = Convoy().sections([result])
    assert "GIL was off" in " ".join(section.verdicts)
    failed = ExperimentResult(name="convoy", status="timeout", error={"how": "timeout", "message": "no result"})
    [alone] = Convoy().sections([failed])
    assert alone.figure is None and "Not measured" in alone.verdicts[0] and "no result" in alone.verdicts[0]


def test_crossover_point_and_percentiles() -> None:
    # threads' time / processes' time: below 1 at small tasks, above at large ones
    where, size = crossover([(10, 0.25), (100, 0.5), (1000, 2.0)])
    assert where == "between" and size == pytest.approx(10 ** 2.5)  # ratio 0.5 -> 2: 1 is halfway, on log scales
    assert crossover([(10, 1.5), (100, 3.0)]) == ("processes", 10)
    assert crossover([(10, 0.2), (100, 0.9)]) == ("threads", 100)
    assert log_crossing(1, 0.5, 100, 2.0) == pytest.approx(10.0)
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([5.0], 0.99) == 5.0
    assert percentile(list(range(50)), 0.99) > 48  # fewer than 100 samples: p99 lies next to the max
    assert math.isnan(percentile([], 0.5))


def test_convoy_restores_the_switch_interval() -> None:
    before = sys.getswitchinterval()
    rows = Convoy().measure({"modes": ["threads"], "ks": [1], "intervals_ms": [0.5, 50.0], "seconds": 0.05,
                             "warmup_s": 0.0})
    assert sys.getswitchinterval() == before
    assert [r["switch_interval_ms"] for r in rows] == [0.5, 50.0]
    assert gil_enabled() in (True, False)


@pytest.mark.slow
def test_gilbench_run_writes_the_experiments_and_their_sections(smoke) -> None:
    """The session's `gilbench run --profile smoke` (tests/conftest.py), which runs both experiments."""
    done = smoke
    assert done.returncode == 0, done.stderr
    run = done.folder
    manifest = json.loads((run / "manifest.json").read_text())
    listed = {(e["name"], e["status"]) for e in manifest["experiments"]}
    assert listed == {("convoy", "ok"), ("crossover", "ok")}
    for entry in manifest["experiments"]:
        assert (run / entry["file"]).is_file()
    assert "[exp 2/2]" in done.stderr
    html = (run / "report.html").read_text()
    for name in ("convoy", "crossover"):
        assert get(name).title in html
    from gilbench.reports.frame import load

    assert sorted(r.name for r in load(run).experiments) == ["convoy", "crossover"]


def test_cli_refuses_an_unknown_experiment(tmp_path: Path) -> None:
    done = gilbench_here("run", "--profile", "smoke", "--experiment", "nope", "--output", str(tmp_path))
    assert done.returncode == 2 and "convoy" in done.stderr and "nope" in done.stderr

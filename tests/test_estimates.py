"""The estimate against what recorded runs took (bench/plan/progress.py, bench/plan/budget.py, the experiments' estimate).

`make bench` once took 11 min 24 s against an estimate of 7 min 47 s: the estimate counted the cells alone,
with 0.2 s of start per process and no worker process's start, while the run also ran the experiments and
built the report. The recorded run folders keep each process's start and end: here the estimate, made as the
run makes it but from one task's time as the run's own baseline measured it (where the run had the probe's),
is held to within 25 % of what they took."""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from pathlib import Path

import pytest

from gilbench import workloads
from gilbench.bench.plan import budget
from gilbench.bench.plan.experiments import plan_jobs
from gilbench.bench.data.cells import Cell, Timing
from gilbench.bench.plan.progress import estimate_cell_seconds

FIXTURES = Path(__file__).parent / "fixtures"
WITHIN = 0.25


def manifest(name: str) -> dict:
    return json.loads((FIXTURES / name / "manifest.json").read_text())


def task_seconds(m: dict) -> dict[str, float]:
    """One task's seconds per workload, as the run's sequential baseline measured it (median batch / tasks)."""
    return {c["workload"]: statistics.median(v for p in c["processes"] for v in p["values"]) / c["tasks"]
            for c in m["cells"] if c["backend"] == "sequential" and c["status"] == "ok"}


def cell_estimates(m: dict) -> list[tuple[float, float]]:
    """(estimate, recorded seconds from its first process's start to its last one's end) per finished cell."""
    timing, task_s = Timing(**m["timing"]), task_seconds(m)
    return [(estimate_cell_seconds(Cell.from_dict(c), c["kind"], task_s[c["workload"]], timing), c["ended"] - c["started"])
            for c in m["cells"] if c["status"] == "ok"]


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


@pytest.mark.parametrize("name", ["run-1cpu", "run-16cpu-device"])
def test_the_cells_estimate_is_within_a_quarter_of_what_they_took(name):
    pairs = cell_estimates(manifest(name))
    estimated, took = sum(e for e, _ in pairs), sum(t for _, t in pairs)
    assert abs(estimated / took - 1) <= WITHIN, (estimated, took)


def test_the_worker_process_starts_are_counted():
    """Cells that start 16 processes a batch took up to twice their batches' share of the work and their own
    processes' start (the estimate without worker starts: 0.55x of hello-cpu's); with each worker process's
    start counted, every one of them is within a quarter."""
    m = manifest("run-16cpu-device")
    timing, task_s = Timing(**m["timing"]), task_seconds(m)
    cells = [c for c in m["cells"] if c["backend"] == "processes" and c["workers"] == 16]
    assert len(cells) == 8
    for c in cells:
        cell = Cell.from_dict(c)
        estimated = estimate_cell_seconds(cell, c["kind"], task_s[c["workload"]], timing)
        in_threads = estimate_cell_seconds(Cell.from_dict({**c, "backend": "threads"}), "io-bound",
                                           task_s[c["workload"]], timing)  # the same batches, no process started
        assert estimated > in_threads
        assert abs(estimated / (c["ended"] - c["started"]) - 1) <= WITHIN, c["id"]


def test_what_the_run_says_up_front_counts_the_experiments_and_the_report():
    """The line before the first cell: the cells, every experiment the run will do, the start and the report."""
    from gilbench.bench.plan.matrix import PROFILES, available_cpus, expand
    from gilbench.bench.measure.run import RunOptions, _run_estimate

    plan = expand(PROFILES["quick"], cpus=[0])
    cells = [1.0] * len(plan.cells)
    whole = _run_estimate(plan, RunOptions(), {}, cells, list(range(len(plan.cells))))
    jobs = plan_jobs("quick", len(available_cpus()), [("", "", {})])
    assert whole.cells_s == len(plan.cells) and whole.experiments_s > 0
    assert whole.experiments_s == pytest.approx(sum(j.estimate for j in jobs))
    assert whole.report_s > 0 and whole.total_s > whole.cells_s + whole.experiments_s
    done = {"experiments": [{"name": jobs[0].name, "python": "", "status": "ok"}]}  # a resumed run's finished one
    assert _run_estimate(plan, RunOptions(), done, cells, [0]).experiments_s == pytest.approx(
        sum(j.estimate for j in jobs[1:]))
    bare = _run_estimate(plan, RunOptions(experiments=(), report=False), {}, cells, [0])
    assert (bare.cells_s, bare.experiments_s, bare.report_s) == (1.0, 0.0, 0.0)


def test_the_whole_run_estimate_is_within_a_quarter_of_the_recorded_run():
    """From the manifest's creation to its last write: the start, the cells and the experiments (the report
    comes after). The convoy is set apart: it was recorded before its workers started at a gate (each thread
    started behind k spinning ones, ~k^2 switch intervals; experiments/convoy.py), so its 90 s then are not
    what it takes now; the crossover is in."""
    m = manifest("run-16cpu-device")
    cpus = len(m["cells"][0]["cpus"])
    took = seconds(m["finished"]) - seconds(m["created"])
    recorded = {e["name"]: e["duration"] for e in m["experiments"]}
    jobs = {j.name: j.estimate for j in plan_jobs(m["profile"], cpus, [("", "", {})])}
    assert set(jobs) == set(recorded)
    assert abs(jobs["crossover"] / recorded["crossover"] - 1) <= WITHIN
    estimate = budget.RunEstimate(sum(e for e, _ in cell_estimates(m)), jobs["crossover"], budget.RUN_START_S)
    assert abs(estimate.total_s / (took - recorded["convoy"]) - 1) <= WITHIN, (estimate, took)


def test_the_convoy_estimate_counts_its_windows_and_the_waits_behind_threads():
    from gilbench.experiments.convoy import Convoy

    params = Convoy().parameters("default", 16)
    windows = len(params["ks"]) * len(params["modes"]) * len(params["intervals_ms"])
    assert Convoy().estimate(params) > windows * (params["seconds"] + params["warmup_s"])
    # its threads mode waits up to a switch interval per spinning thread, twice a window
    no_threads = Convoy().estimate({**params, "modes": ["processes"]})
    threads = Convoy().estimate({**params, "modes": ["threads"]})
    assert threads - no_threads == pytest.approx(
        sum(2 * k * i / 1e3 for k in params["ks"] for i in params["intervals_ms"])
        - sum(0.03 * k for k in params["ks"]) * len(params["intervals_ms"]))


def test_every_workload_of_the_recorded_runs_has_a_kind():
    """The estimate reads each cell's kind; the recordings' workloads are still registered with theirs."""
    for name in ("run-1cpu", "run-16cpu-device"):
        for c in manifest(name)["cells"]:
            assert workloads.get(c["workload"]).kind == c["kind"]

"""A plan fitted to the machine and a time budget (bench/plan/budget.py): planned for fake machines of 2 to 128 CPUs,
nothing run. Task times come from the recorded 16-CPU run (what its baselines took a batch), so the plans are
those of a machine like that one, the same on every test machine."""

from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path

import pytest

from gilbench import workloads
from gilbench.bench.plan import budget
from gilbench.bench.backends import get_backend
from gilbench.bench.plan.matrix import PROFILES, Plan, expand
from gilbench.bench.plan.plans import thinning_for
from gilbench.bench.plan.request import Matrix
from tests.conftest import gilbench_here

DEVICE = Path(__file__).parent / "fixtures" / "run-16cpu-device"
FIFTEEN_MINUTES = 15 * 60
#: the default profile's whole grid by CPU count, as expand() made it before thinning existed
FULL_COUNTS = {2: 127, 16: 223, 64: 323, 128: 385}


def recorded_batch_seconds() -> dict[str, float]:
    """Each workload's batch as the 16-CPU run's baseline measured it (median value of its sequential cell)."""
    cells = json.loads((DEVICE / "manifest.json").read_text())["cells"]
    return {c["workload"]: statistics.median(v for p in c["processes"] for v in p["values"])
            for c in cells if c["backend"] == "sequential"}


def device_costs(plan: Plan) -> budget.Costs:
    """The plan's costs on a machine like the recorded 16-CPU one: a batch of each workload as its baseline took
    it, split into the plan's tasks (the mixed workloads as mixed-50, others 0.1 s); experiments at this CPU count."""
    batch = recorded_batch_seconds()
    tasks = {c.workload: c.tasks for c in plan.cells}
    task_s = {w: batch.get(w, batch["mixed-50"] if w.startswith("mixed-") else 0.1) / n for w, n in tasks.items()}
    task_s["noop"] = 0.0
    cpus = max(c.cores for c in plan.cells)
    return budget.Costs(task_s, budget.experiments_seconds(plan.profile, cpus, [""], None))


def full_plan(cpus: int) -> Plan:
    listed, topology = budget.fake_machine(cpus, 2 if cpus >= 4 else 1)
    return expand(PROFILES["default"], cpus=listed, topology=topology)


def diagonal(plan: Plan) -> set[str]:
    return {c.id for c in plan.cells if c.workers == c.cores}


@pytest.mark.parametrize("cpus", sorted(FULL_COUNTS))
def test_the_whole_grid_is_what_expand_gives(cpus):
    plan = full_plan(cpus)
    assert len(plan.cells) == FULL_COUNTS[cpus]
    fitted = budget.fit(plan, device_costs(plan), None, budget.FULL)
    assert fitted.plan == plan and fitted.dropped == () and fitted.record() == {}


def test_two_cpus_plan_is_unchanged_by_thinning_and_the_budget():
    plan = expand(PROFILES["default"], cpus=[0, 1])
    fitted = budget.fit(plan, device_costs(plan), FIFTEEN_MINUTES)
    assert [c.id for c in fitted.plan.cells] == [c.id for c in plan.cells]
    assert fitted.plan.timing == plan.timing and fitted.steps == () and not fitted.over_budget
    assert fitted.plan.skipped == plan.skipped and fitted.record() == {}
    for cpus in (4, 8):  # up to 8 CPUs the first step drops nothing either
        assert budget.thin(full_plan(cpus), budget.POWERS_OF_FOUR)[1] == ()


@pytest.mark.parametrize("cpus", [16, 64, 128])
def test_a_fifteen_minute_budget_fits_and_keeps_every_models_diagonal(cpus):
    plan = full_plan(cpus)
    costs = device_costs(plan)
    fitted = budget.fit(plan, costs, FIFTEEN_MINUTES)
    # 16 CPUs: every count is on the axis and the whole grid fits; from 64 the budget has work to do
    assert (costs.estimate(plan).total_s > FIFTEEN_MINUTES) == (cpus > 16) == bool(fitted.dropped)
    assert fitted.estimate.total_s <= FIFTEEN_MINUTES and not fitted.over_budget
    kept = {c.id for c in fitted.plan.cells}
    assert diagonal(plan) <= kept
    # at every core count, each model's diagonal and baseline, and every start cost
    for cores in {c.cores for c in plan.cells}:
        for model in ("sequential", "threads", "processes"):
            for workload in ("hello-cpu", "hello-sleep"):
                workers = 1 if model == "sequential" else cores
                assert f"{workload}/{model}/w{workers}/c{cores}" in kept
    assert {c.id for c in plan.cells if c.workload == "noop"} <= kept
    # oversubscription stays where the question needs it
    most = max(c.workers for c in plan.cells)
    for cores in (1, 4, cpus // 2):
        assert f"hello-cpu/processes/w{2 * cores}/c{cores}" in kept
        assert f"hello-sleep/threads/w{most}/c{cores}" in kept
    if cpus == 16:
        return
    # what was left out is off the diagonal, each cell said in a step, and the run says it can get it back
    assert all(c.workers != c.cores for c in fitted.dropped)
    assert len(fitted.dropped) + len(fitted.plan.cells) == len(plan.cells)
    lines = budget.describe(fitted, len(plan.cells), f"{cpus} CPUs")
    assert f"{len(fitted.plan.cells)} cells of the full grid's {len(plan.cells)}" in lines[0]
    assert any(f"{len(fitted.dropped)} of {len(plan.cells)} cells left out" in line for line in lines)
    assert "--full-grid" in lines[-1]
    assert fitted.record()["cells_left_out"] == len(fitted.dropped)


def test_thinning_past_eight_keeps_powers_of_four_and_the_machines_own_count():
    plan = full_plan(128)
    thinned, dropped = budget.thin(plan, budget.POWERS_OF_FOUR)
    assert dropped and budget.axis(budget.POWERS_OF_FOUR, 128, 128) == {1, 2, 4, 8, 16, 64, 128}
    kinds = {c.workload: workloads.get(c.workload).kind for c in plan.cells}
    for cell in dropped:  # each left out has a count off the axis, and none is a cell that is always kept
        assert 32 in (cell.workers, cell.cores)
        assert budget.why_kept(cell, kinds[cell.workload], 128) == ""
    assert "hello-cpu/threads/w32/c32" in {c.id for c in thinned.cells}  # the diagonal at 32 cores stays


def test_steps_go_from_fewer_cells_to_fewer_processes_down_to_the_floor_and_say_when_still_over():
    plan = full_plan(64)
    fitted = budget.fit(plan, device_costs(plan), 60.0)
    assert fitted.level == budget.DIAGONAL and fitted.plan.timing.processes == budget.PROCESS_FLOOR
    assert fitted.over_budget and "still over the budget" in fitted.steps[-1]
    thinned = [step for step in fitted.steps if "thinned (" in step]  # one line per level, in order
    assert [level for level in budget.LEVELS[1:] for step in thinned if f"thinned ({level})" in step] == \
        [budget.POWERS_OF_FOUR, budget.SPARSE, budget.DIAGONAL] and len(thinned) == 3
    assert all(step.startswith("over the budget") for step in thinned[1:])
    assert sum("processes per cell instead of 4" in s for s in fitted.steps) == 4 - budget.PROCESS_FLOOR
    assert diagonal(plan) <= {c.id for c in fitted.plan.cells}  # never a diagonal cell, even over the budget
    assert fitted.record()["processes_asked"] == 4


def test_full_grid_and_explicit_grids_are_not_thinned():
    matrix = Matrix(profile="default")
    assert thinning_for(matrix, None, False) == (budget.POWERS_OF_FOUR, PROFILES["default"].budget_s)
    assert thinning_for(matrix, 600.0, False) == (budget.POWERS_OF_FOUR, 600.0)
    assert thinning_for(matrix, None, True) == (budget.FULL, None)
    assert thinning_for(Matrix(profile="default", workers=(1, 32)), None, False) == (budget.FULL, None)
    assert thinning_for(Matrix(profile="quick"), None, False) == (budget.FULL, PROFILES["quick"].budget_s)
    assert thinning_for(Matrix(profile="quick", workers=(1, 2)), None, False) == (budget.FULL, None)
    plan = full_plan(64)
    level, limit = thinning_for(matrix, None, True)
    assert len(budget.fit(plan, device_costs(plan), limit, level).plan.cells) == FULL_COUNTS[64]


def test_every_thinned_cell_is_off_the_diagonal_at_every_level():
    plan = full_plan(128)
    counts = []
    for level in budget.LEVELS:
        thinned, dropped = budget.thin(plan, level)
        counts.append(len(thinned.cells))
        assert diagonal(plan) <= {c.id for c in thinned.cells}
        assert all(get_backend(c.backend).fixed_workers is None for c in dropped)
    assert counts == sorted(counts, reverse=True) and counts[0] == FULL_COUNTS[128] and counts[-1] < counts[1]


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400),
                                           ("2m30s", 150), ("1.5h", 5400), (" 10M ", 600)])
def test_durations_parse(text, seconds):
    assert budget.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "ten minutes", "10x", "0s", "30s1m", "1m1m", ""])
def test_bad_durations_name_the_accepted_forms(text):
    with pytest.raises(ValueError, match="--budget must be .*90s, 10m, 1h or 1h30m|--budget must be above 0"):
        budget.parse_duration(text)


def test_a_fake_machine_has_the_topology_asked_for():
    cpus, topology = budget.parse_fake_machine("64:2")
    assert cpus == list(range(64)) and topology.physical_cores == 32 and topology.smt
    assert topology.core_of(3) == topology.core_of(35) and topology.source == "fake"
    assert topology.pick(cpus, 32) == tuple(range(32))  # physical placement: one CPU per core first
    assert not budget.parse_fake_machine("16")[1].smt
    for bad in ("0", "sixty", "63:2", "-4"):
        with pytest.raises(ValueError):
            budget.parse_fake_machine(bad)


@pytest.mark.parametrize("args, message", [
    (["--budget", "10"], "--budget must be a duration such as 90s, 10m, 1h or 1h30m, not '10'"),
    (["--budget", "10m", "--full-grid"], "drop one of it and --budget"),
    (["--fake-cpus", "64"], "add --dry-run"),
    (["--dry-run", "--fake-cpus", "64:3"], "a multiple of its threads per core"),
])
def test_budget_options_misused_are_one_clear_line(args, message, tmp_path):
    done = gilbench_here("run", "--no-config", "--output", str(tmp_path / "r"), *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


def test_dry_run_on_a_fake_machine_prints_the_plan_and_writes_nothing(tmp_path):
    """The one test that probes: each workload's task timed once here, then nothing run."""
    common = ("run", "--no-config", "--dry-run", "--fake-cpus", "64:2", "--no-experiments", "--output", str(tmp_path))
    thinned = gilbench_here(*common, "--budget", "1000h")  # a budget no probe reaches, even on a loaded machine
    assert thinned.returncode == 0, thinned.stderr
    cells = [line for line in thinned.stdout.splitlines() if not line.startswith("gilbench:")]
    assert len(cells) == FULL_COUNTS[64] - 38  # powers of four past 8: the 32s off the diagonal left out
    assert "hello-cpu/threads/w32/c32" in cells and "hello-cpu/threads/w2/c32" not in cells
    assert "thinned (powers-of-four)" in thinned.stdout and "fake machine of 64 CPUs" in thinned.stdout
    whole = gilbench_here(*common, "--full-grid")
    assert whole.returncode == 0, whole.stderr
    assert len([line for line in whole.stdout.splitlines() if not line.startswith("gilbench:")]) == FULL_COUNTS[64]
    assert not any(tmp_path.iterdir())


def test_resume_keeps_its_plan_and_refuses_the_budget_options(tmp_path):
    from gilbench.bench.cli import build_parser
    from gilbench.bench.plan.request import RunRequest

    parsed = RunRequest.from_args(build_parser().parse_args(["run", "--resume", str(tmp_path)]))
    assert parsed.resume == tmp_path and parsed.matrix is None and not parsed.full_grid and parsed.budget is None
    for option in (["--budget", "10m"], ["--full-grid"]):
        with pytest.raises(ValueError, match=f"drop {option[0]}"):
            RunRequest.from_args(build_parser().parse_args(["run", "--resume", str(tmp_path), *option]))


def test_the_manifest_keeps_what_was_left_out_and_a_resume_reads_it_back():
    from gilbench.bench.measure.run import RunOptions, new_manifest
    from gilbench.bench.plan.plans import plan_of

    plan = full_plan(64)
    fitted = budget.fit(plan, device_costs(plan), FIFTEEN_MINUTES)
    thinned = dataclasses.replace(fitted.plan, thinning=fitted.record())
    again = plan_of(json.loads(json.dumps(new_manifest(thinned, RunOptions()))))
    assert again.thinning == fitted.record() and again.timing == fitted.plan.timing
    assert [c.id for c in again.cells] == [c.id for c in fitted.plan.cells]
    assert "thinning" not in new_manifest(plan, RunOptions())  # nothing left out: the manifest as before


def test_run_help_names_the_budget_options_and_the_profiles_budget():
    from gilbench.bench.data.durations import format_duration

    done = gilbench_here("run", "--help")
    text = " ".join(done.stdout.split())
    for option in ("--budget DURATION", "--full-grid", "--dry-run", "--fake-cpus N[:T]"):
        assert option in text
    assert f"default {format_duration(PROFILES['default'].budget_s)}" in text


@pytest.mark.slow  # a report of 168 cells: ~13 s of CPU
def test_a_run_of_a_thinned_plan_makes_a_whole_report(tmp_path):
    """The report reads whatever cells a run has: a run of the 64-CPU plan thinned to its diagonal (every
    cell finished, times from the estimate's model) builds every output, with a verdict per core count."""
    from markupsafe import escape

    from gilbench.bench.data.cells import CellRecord, ProcessRecord
    from gilbench.bench.data.results import RunFolder
    from gilbench.bench.data.stats import ideal_speedup
    from gilbench.reports import build

    plan = full_plan(64)
    costs = device_costs(plan)
    fitted = budget.fit(plan, costs, None, budget.DIAGONAL)
    assert fitted.level == budget.DIAGONAL and fitted.dropped
    folder = RunFolder.create(tmp_path, "thinned", latest=False)
    records, start = [], 1_750_000_000.0
    for cell in fitted.plan.cells:
        backend, kind = get_backend(cell.backend), workloads.get(cell.workload).kind
        record = CellRecord(cell, kind, baseline=bool(backend.fixed_workers), family=backend.family,
                            in_process=backend.in_process)
        if cell.id in fitted.plan.skipped:
            record.status, record.note = "skipped", fitted.plan.skipped[cell.id]
        else:
            serial = cell.backend == "threads" and kind == "cpu-bound"
            parallel = 1.0 if serial else ideal_speedup(kind, cell.workers, cell.cores, cell.tasks)
            batch = max(1e-4, costs.task_s[cell.workload] * cell.tasks / parallel)
            record.status, record.started, record.ended = "ok", start, start + 1
            record.processes = [ProcessRecord(index=k, pad=16 * k, pid=100 + k, values=[batch * f for f in (1, 1.01, 0.99)],
                                              cpu=[batch * parallel] * 3, canary=0.03, canary_cpu=0.03,
                                              started=start, ended=start + 1) for k in range(2)]
        records.append(record.to_dict())
        start += 1
    folder.write_manifest({"profile": "default", "timing": {"processes": 2, "values": 3, "warmups": 0, "loops": 1},
                           "created": "2026-01-01T00:00:00", "finished": "2026-01-01T00:15:00", "status": "complete",
                           "noise_threshold": 0.10, "gilbench_version": "test", "sample_interval": None,
                           "cells": records, "thinning": fitted.record()})
    folder.write_json(folder.machine, {"hostname": "fake-64", "logical_cpus": 64, "physical_cores": 32,
                                       "affinity": list(range(64)), "python_version": "3.11.7",
                                       "python_implementation": "CPython", "python_build": "gil", "gil_enabled": True,
                                       "default_start_method": "fork"})
    written = {path.name for path in build(folder.path)}
    assert {"report.html", "results.csv"} <= written
    import pandas as pd

    table = pd.read_csv(folder.path / "results.csv")
    ran = [c for c in fitted.plan.cells if c.id not in fitted.plan.skipped]
    assert set(table["id"]) >= {c.id for c in ran}
    diagonal_speedups = table[(table["workload"] == "hello-cpu") & (table["backend"] == "processes")
                              & (table["workers"] == table["cores"])].set_index("cores")["speedup"]
    assert list(diagonal_speedups.index) == sorted({c.cores for c in plan.cells})  # the diagonal, every core count
    assert (diagonal_speedups.diff().dropna() > 0).all()  # and its speedup grows with the cores
    html = (folder.path / "report.html").read_text(encoding="utf-8")
    assert f"<strong>A thinned grid</strong>: {len(fitted.dropped)} cells" in html and "--full-grid" in html
    assert all(str(escape(step)) in html for step in fitted.steps)  # each step, as the page escapes it

"""Instructions per task (bench.measure.counters): the counters this machine has, found and never assumed; counts that
do not move between equal runs and follow the work; the ``instructions`` metric through the gate; ``ab``
refusing it where nothing can count. The counts under Valgrind skip where Valgrind is absent."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gilbench.bench.measure import counters
from gilbench.bench.ab import counted_cells, timed
from gilbench.bench.data.thresholds import Threshold, Thresholds
from gilbench.bench.judge.compare import compare
from gilbench.bench.judge.rule import shown_worse
from gilbench.bench.judge.sides import RunSide
from gilbench.bench.judge.tests import counted_test
from gilbench.bench.data.cells import Cell
from gilbench.bench.data.cells import CellRecord, ProcessRecord
from gilbench.bench.measure.lifecycle import Lane
from gilbench.reports import comparison as show
from tests.conftest import gilbench, gilbench_here

ROOT = Path(__file__).resolve().parent.parent
VALGRIND = counters.valgrind_version()[0]
#: .ci/run installs Valgrind, or says in GILBENCH_VALGRIND_MISSING why it could not
needs_valgrind = pytest.mark.skipif(not VALGRIND, reason=os.environ.get("GILBENCH_VALGRIND_MISSING") or (
    f"no usable Valgrind ({counters.valgrind_version()[1]}): {counters.INSTALL_HINT}"))
INSTRUCTIONS1 = Threshold("instructions", 1.0)


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _valgrind_only() -> counters.CounterInfo:
    """This machine's Valgrind, whether or not it also has hardware counters (they are tried first)."""
    ok, found = counters.valgrind_version()
    return counters.CounterInfo("valgrind" if ok else None, "not asked", found, aslr_off=counters._setarch_works())


def _cell(backend: str = "sequential", workers: int = 1, tasks: int = 2, units: int = 5) -> Cell:
    return Cell("hello-cpu", backend, workers, 2, (0, 1), tasks, {"units": units})


# --- finding the counters -----------------------------------------------------------------------

def test_perf_stat_output_gives_a_count_only_where_the_event_was_counted():
    assert counters._perf_value("1234567,,instructions:u,812345,100.00,,\n") == 1234567
    assert counters._perf_value("<not supported>,,instructions:u,0,100.00,,\n") is None
    assert counters._perf_value("<not counted>,,instructions,0,0.00,,\n") is None
    assert counters._perf_value("Error:\nAccess to performance monitoring and observability operations is limited.\n") is None


def test_with_neither_counter_on_path_there_is_none_and_the_install_line_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(counters.SELECT_VARIABLE, raising=False)
    info = counters.available()
    assert info.backend is None
    assert "apt-get install valgrind" in info.missing() and "\n" not in info.missing()
    assert "no perf on PATH" in info.missing() and "not found" in info.missing()


def test_hardware_counters_are_detected_from_what_perf_reports_not_from_perf_being_there(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(counters.SELECT_VARIABLE, raising=False)
    # a virtual machine's perf: it runs, exits 0, and counts nothing
    _script(tmp_path, "perf", 'echo "<not supported>,,instructions:u,0,100.00,," >&2')
    assert counters.hardware_counters() == (False, "perf stat: instructions <not supported>")
    assert counters.available().backend is None
    _script(tmp_path, "perf", 'echo "183042,,instructions:u,401113,100.00,," >&2')
    assert counters.hardware_counters()[0] and counters.available().backend == "perf"


def test_valgrind_is_used_from_its_minimum_version(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(counters.SELECT_VARIABLE, raising=False)
    _script(tmp_path, "valgrind", "echo valgrind-3.10.1")
    ok, found = counters.valgrind_version()
    assert not ok and "older than 3.13" in found and counters.available().backend is None
    _script(tmp_path, "valgrind", "echo valgrind-3.19.0")
    assert counters.valgrind_version() == (True, "valgrind-3.19.0") and counters.available().backend == "valgrind"
    _script(tmp_path, "perf", 'echo "183042,,instructions:u,401113,100.00,," >&2')
    assert counters.available().backend == "perf"  # hardware first: native speed
    monkeypatch.setenv(counters.SELECT_VARIABLE, "valgrind")
    assert counters.available().backend == "valgrind"


def test_the_counted_environment_has_one_size_whatever_the_paths_and_arguments():
    short = counters.fixed_environment({"PATH": "/bin", "HOME": "/h", "SECRET": "x" * 500}, ["python", "-m", "x"])
    long = counters.fixed_environment({"PATH": "/usr/local/bin:" * 40, "HOME": "/home/someone"},
                                      ["/a/much/longer/python", "-m", "x", "--cell", "{" + "y" * 900 + "}"])

    def size(env: dict[str, str], argv: list[str]) -> int:
        return sum(len(f"{k}={v}") + 1 for k, v in env.items()) + sum(len(a) + 1 for a in argv)

    assert size(short, ["python", "-m", "x"]) == counters.ENVIRONMENT_BYTES
    assert size(long, ["/a/much/longer/python", "-m", "x", "--cell", "{" + "y" * 900 + "}"]) == counters.ENVIRONMENT_BYTES
    assert short["PYTHONHASHSEED"] == "0" and "SECRET" not in short  # the measured processes' variables only


def test_a_counted_process_starts_with_only_what_its_cell_needs():
    # a count's two processes each start an interpreter and gilbench under the counter (most of a count's
    # cost): the cell's workload and model are looked up by name, and the other workloads' and models'
    # modules (multiprocessing, asyncio, socket) stay unimported, as do statistics and importlib.abc
    probe = ("import sys; from gilbench.bench.measure.cell import _set_up; from gilbench.bench.data.cells import Cell; "
             "_set_up(Cell('hello-cpu', 'threads', 2, 2, (0, 1), 2).to_json()); "
             "print(sorted(m for m in ('asyncio', 'multiprocessing', 'socket', 'statistics', 'importlib.abc', "
             "'gilbench.workloads.tcp', 'gilbench.bench.backends.processes') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
    from gilbench import workloads

    for name, workload in workloads.all_workloads(installed=False).items():
        assert workloads.get(name) is workload  # the lookup by name finds what discovery finds


def test_models_that_start_processes_are_counted_by_callgrind_the_others_by_cachegrind():
    info = counters.CounterInfo("valgrind")
    assert counters.tool(info, _cell("sequential")) == counters.tool(info, _cell("threads", 2)) == "cachegrind"
    assert counters.tool(info, _cell("processes", 2)) == counters.tool(info, _cell("process-pool", 2)) == "callgrind"
    assert counters.tool(counters.CounterInfo("perf"), _cell("processes", 2)) == "perf"


# --- the record and the gate -------------------------------------------------------------------

def test_a_process_keeps_its_count_and_a_manifest_from_before_counts_reads_as_none():
    p = ProcessRecord(index=0, values=[0.1], instructions=4.25e8)
    assert ProcessRecord.from_dict(json.loads(json.dumps(p.to_dict()))).instructions == 4.25e8
    old = {k: v for k, v in p.to_dict().items() if k != "instructions"}
    assert ProcessRecord.from_dict(old).instructions is None


def _side(counts: list[float | None], kind: str = "cpu-bound", cid: str = "hello-cpu/threads/w2/c2") -> RunSide:
    workload, backend, w, c = cid.split("/")
    cell = Cell(workload, backend, int(w[1:]), int(c[1:]), (0, 1), 4, {"units": 50})
    procs = [ProcessRecord(index=k, values=[0.1, 0.1, 0.1], canary=0.05, instructions=n) for k, n in enumerate(counts)]
    record = CellRecord(cell, kind, status="ok", processes=procs)
    return RunSide("run", {"cpu_model": "x", "logical_cpus": 2}, {cell.id: record}, "ab", {}, "", None)


def _instruction_row(base: RunSide, cand: RunSide):
    (row,) = compare(base, cand, [INSTRUCTIONS1]).rows
    assert row.metric == "instructions" and row.label == "instructions"
    return row


def test_instruction_counts_are_judged_by_the_gates_rule_paired_by_round():
    # 20 rounds, one look (counted_test). The counts' own spread is a few parts per million, as Valgrind
    # counts them
    base = [4.25e8 * (1 + 3e-6 * ((k * 7) % 5 - 2)) for k in range(20)]
    more = _instruction_row(_side(base), _side([b * 1.02 for b in base]))
    assert more.verdict == "more work" and more.regression and more.ratio == pytest.approx(1.02, rel=1e-4)
    same = _instruction_row(_side(base), _side(list(reversed(base))))
    assert same.verdict == "no change" and not same.regression
    less = _instruction_row(_side(base), _side([b * 0.97 for b in base]))
    assert less.verdict == "less work" and not less.regression
    text = show.text(compare(_side(base), _side([b * 1.02 for b in base]), [INSTRUCTIONS1]))
    assert "425.00 M instr" in text and "433.50 M instr" in text


def _counted(base: list[float], ratios: list[float]):
    return _instruction_row(_side(base), _side([b * r for b, r in zip(base, ratios)]))


@pytest.mark.parametrize("rounds", sorted({2, 3, counters.COUNT_ROUNDS}))
def test_two_or_three_counted_rounds_decide_an_instructions_row(rounds):
    # COUNT_ROUNDS pairs: the rank test's smallest p is 1/4 or 1/8, so it could never fail (or pass) a row;
    # the counts' t bounds can, because counts of equal code differ by parts per million
    base = [4.25e8 * (1 + 3e-6 * d) for d in (-1, 0, 2)][:rounds]
    more = _counted(base, [1.0102, 1.0100, 1.0101][:rounds])  # 1 % more loop steps: +1.003 % per task
    assert (more.verdict, more.regression, more.pairs) == ("more work", True, rounds)
    same = _counted(base, [1 + 2e-6, 1 - 1e-6, 1 + 1e-6][:rounds])
    assert (same.verdict, same.regression, same.decided) == ("no change", False, True)
    assert same.resolvable < 0.01  # this cell can resolve the 1 % threshold, and says so
    within = _counted(base, [1.003] * rounds)  # shown, but under the tolerance (M = 0.5 %): a pass
    assert (within.verdict, within.regression) == ("more work, under 1 %", False)


def test_a_stray_count_widens_an_instructions_row_to_inconclusive_it_never_fails_it():
    base = [4.25e8] * 3
    stray = _counted(base, [1.0, 1.0, 1.02])
    assert (stray.verdict, stray.regression) == ("inconclusive", False)
    assert _counted(base[:2], [1.0, 1.02]).verdict == "inconclusive"  # of COUNT_ROUNDS = 2 pairs too
    assert "resolves" in stray.note
    one = _instruction_row(_side(base[:1]), _side(base[:1]))
    assert one.verdict == "inconclusive" and "at least 2" in one.note


def test_the_count_test_holds_its_level_on_heavy_tailed_and_skewed_counts():
    # A/A pairs of COUNT_ROUNDS drawn from a Cauchy and a shifted lognormal, both scaled to the
    # tolerance: the share of rows shown worse than M stays below the row's level (t is conservative for
    # such tails; measured at 2 pairs: 0.0011 and 0.0001 against 0.002)
    rng, level, m = random.Random(7), 0.002, math.log1p(0.005)
    draws = {"cauchy": lambda: math.tan(math.pi * (rng.random() - 0.5)) * m * 5,
             "lognormal": lambda: (rng.lognormvariate(0, 1.5) - math.exp(1.125)) * m}
    for name, draw in draws.items():
        pairs = counters.COUNT_ROUNDS
        fails = sum(shown_worse(counted_test([draw() for _ in range(pairs)], level), m) for _ in range(20000))
        assert fails / 20000 <= level, (name, pairs, fails)


def test_a_cell_without_counts_says_so_instead_of_passing():
    row = _instruction_row(_side([None] * 20, kind="io-bound"), _side([None] * 20, kind="io-bound"))
    assert row.verdict == "not comparable" and not row.regression
    assert row.note.startswith("baseline: no instruction counts: io-bound (only CPU-bound cells are counted")
    cpu = _instruction_row(_side([None] * 20), _side([None] * 20))  # a CPU-bound cell counted nowhere
    assert cpu.verdict == "not comparable" and cpu.note == "baseline: no instruction counts"


def test_ab_counts_only_cpu_bound_cells_asked_for_and_its_looks_leave_instructions_to_the_counts():
    cells = {"hello-cpu": "cpu-bound", "hello-sleep": "io-bound", "json": "cpu-bound"}
    records = [CellRecord(Cell(w, "sequential", 1, 2, (0, 1), 4), kind) for w, kind in cells.items()]
    lane = Lane("base", None, None, {}, records)  # type: ignore[arg-type]
    asked = Thresholds((Threshold("time", 10.0), INSTRUCTIONS1), {"json": (Threshold("time", 5.0),)})
    assert counted_cells(lane, asked) == [0]  # hello-sleep waits; json has its own list, without instructions
    looks = timed(asked)
    assert looks.default == (Threshold("time", 10.0),) and looks.of("json") == (Threshold("time", 5.0),)


def test_an_ab_asked_only_for_counts_times_only_the_rounds_they_attach_to():
    from gilbench.bench.ab import gate_design
    from gilbench.bench.plan.matrix import PROFILES, expand

    plan = expand(PROFILES["gate"], cpus=[0, 1])
    assert gate_design(plan, Thresholds((INSTRUCTIONS1,))).looks == (counters.COUNT_ROUNDS,)
    both = gate_design(plan, Thresholds((Threshold("time", 5.0), INSTRUCTIONS1)))
    assert both.looks == gate_design(plan, Thresholds((Threshold("time", 5.0),))).looks and len(both.looks) == 3


def test_ab_refuses_instructions_where_nothing_can_count_naming_the_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind, no perf
    monkeypatch.delenv(counters.SELECT_VARIABLE, raising=False)
    done = gilbench_here("ab", str(ROOT), str(ROOT), "--fail-on", "instructions:1%", "--output", str(tmp_path / "r"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install valgrind" in lines[0] and "instructions" in lines[0]
    assert not (tmp_path / "r").exists()  # refused before anything ran


def test_list_says_which_counters_this_machine_has(monkeypatch, tmp_path):
    done = gilbench_here("list")
    assert done.returncode == 0 and "instruction counters" in done.stdout
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(counters.SELECT_VARIABLE, raising=False)
    hidden = gilbench_here("list")
    assert "no instruction counter" in hidden.stdout and "apt-get install valgrind" in hidden.stdout


# --- counting under Valgrind (counts do not care about load: none of these is serial) -------------
# A count starts two interpreters under Valgrind (seconds each, most of it the start and imports), so each
# test makes only the counts it reads: equal counts and twice the work are read from the counts that
# `gilbench ab` makes of its two sides (test_ab_with_an_instructions_threshold_...).

@pytest.mark.slow
@needs_valgrind
def test_threads_and_processes_count_the_tasks_work_not_the_parents_once_per_worker():
    # under Valgrind threads run one at a time, and a forked worker's counts start at zero (callgrind's
    # --zero-before=PyOS_AfterFork_Child): per task, both are the sequential count plus their own start costs
    info = _valgrind_only()
    sequential, threads, processes = (counters.count_cell(_cell(backend, workers), info, sys.executable, 600)
                                      for backend, workers in (("sequential", 1), ("threads", 2), ("processes", 2)))
    assert 1e7 < sequential.per_task < 1e9  # 50,000 loop steps of a few dozen instructions each
    assert processes.tool == "callgrind" and processes.processes >= 3  # the measured process and its 2 workers
    assert 0.99 < threads.per_task / sequential.per_task < 1.05, (sequential, threads)
    # the parent's start-up and imports alone are several times a task: counted once per worker, they would show
    assert 0.99 < processes.per_task / sequential.per_task < 1.25, (sequential, processes)


@pytest.mark.slow
@needs_valgrind
def test_a_longer_sleep_fails_time_and_counts_the_same_instructions():
    # hello_sleep sleeping 5 % more (the "waits longer" regression): its time, taken here over 20
    # paired rounds, is slower beyond the tolerance; its count, made by this machine's counter, is the
    # same: a wait executes nothing, which is why `gilbench ab` counts only CPU-bound cells. One count a
    # side (the gate's rule on counted rounds is checked on ab's own counts below and on given counts above)
    from gilbench.workloads.hello import hello_sleep

    info, python = _valgrind_only(), sys.executable
    seconds = {"base": 0.05, "cand": 0.0525}

    def count(s: float) -> float:
        cell = Cell("hello-sleep", "sequential", 1, 2, (0, 1), 2, {"seconds": s})
        return counters.count_cell(cell, info, python, 600).per_task

    made = {side: [count(s)] for side, s in seconds.items()}
    if abs(made["cand"][0] / made["base"][0] - 1) > 0.001:
        # a stray count (once in a loaded suite here: one count 100,000 instructions off, 65,104 a task
        # against 14,859) is told from a real difference by counting both sides again
        for side, s in seconds.items():
            made[side].append(count(s))
    closest = min(abs(c / b - 1) for b in made["base"] for c in made["cand"])
    assert closest < 0.001, made
    assert 1e3 < made["base"][0] < 1e6, made  # the call and the sleep's system call: no loop runs while it waits

    def sleep_times(s: float) -> list[float]:
        out = []
        for _ in range(3):
            t0 = time.perf_counter()
            hello_sleep(0, s)
            out.append(time.perf_counter() - t0)
        return out

    rounds = [(sleep_times(seconds["base"]), sleep_times(seconds["cand"])) for _ in range(20)]
    sides = {}
    for i, side in enumerate(("base", "cand")):
        cell = Cell("hello-sleep", "sequential", 1, 2, (0, 1), 2, {"seconds": 0.05})  # a commit, not a parameter
        procs = [ProcessRecord(index=k, values=r[i], instructions=made[side][0] if k == 0 else None)
                 for k, r in enumerate(rounds)]
        sides[side] = RunSide(side, {"cpu_model": "x", "logical_cpus": 2},
                              {"sleep": CellRecord(cell, "io-bound", status="ok", processes=procs)}, "ab")
    rows = compare(sides["base"], sides["cand"], [Threshold("time", 3.0), INSTRUCTIONS1]).rows
    by = {(r.metric, r.summary): r for r in rows}
    assert by["time", "min"].regression and by["time", "min"].verdict == "slower", by["time", "min"]
    assert not by["instructions", "count"].regression, (made, by["instructions", "count"])  # never fails a wait


@pytest.mark.slow
@needs_valgrind
def test_ab_with_an_instructions_threshold_counts_the_first_rounds_of_both_sides(tmp_path):
    # the candidate does twice the base's work (hello-cpu units 100 against 50, about 40 M instructions a
    # task for the base): a count's two processes then spend most of their instructions starting, not in 3
    # batches of 200 units. Equal counts (a side's two rounds) agree; twice the work counts twice, and fails.
    done = gilbench("ab", ".", ".", "--profile", "smoke", "--workload", "hello-cpu", "--backend", "sequential",
                    "--base-scale", "0.25", "--cand-scale", "0.5",
                    "--rounds", "9", "--fail-on", "instructions:1%", "--seed", "3", "--no-report",
                    "--output", str(tmp_path / "r"), cwd=ROOT, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr  # an instructions regression
    assert "counting instructions" in done.stderr and "instructions per task" in done.stderr
    (run,) = (tmp_path / "r").glob("2*")
    for side in ("base", "cand"):
        manifest = json.loads((run / side / "manifest.json").read_text())
        (cell,) = manifest["cells"]
        counts = [p["instructions"] for p in cell["processes"]]
        assert all(c is None for c in counts[counters.COUNT_ROUNDS:])
        counted = counts[:counters.COUNT_ROUNDS]
        assert all(c is not None for c in counted)
        assert (max(counted) - min(counted)) / min(counted) <= 0.01, counted  # measured: 0 to a few parts per million
        assert "Valgrind" in manifest["instruction_counter"] or "hardware" in manifest["instruction_counter"]
    (row,) = json.loads((run / "compare.json").read_text())["rows"]
    assert row["metric"] == "instructions" and 1e7 < row["base"] < 1e9
    assert 1.8 < row["cand"] / row["base"] < 2.2, row
    assert row["regression"] and row["decided"], row



class _FakeLane:
    """What ``count_instructions`` reads of a lane: its plan's cells, records, interpreter and saves."""

    def __init__(self, name: str, cells: list[Cell], rounds: int) -> None:
        self.name, self.cwd, self.env, self.saves = name, None, {}, 0
        self.plan = type("P", (), {"cells": cells})()
        self.records = [CellRecord(c, "cpu-bound", status="ok",
                                   processes=[ProcessRecord(index=k, values=[1.0]) for k in range(rounds)])
                        for c in cells]

    def python_for(self, cell: Cell) -> tuple[str, dict[str, str]]:
        return sys.executable, {}

    def save(self) -> None:
        self.saves += 1


def test_counts_run_side_by_side_each_saved_and_a_failed_one_said_and_left_out(monkeypatch):
    import threading

    from gilbench.bench import ab

    cells = [Cell("hello-cpu", b, w, 2, (0, 1), 4) for b, w in (("sequential", 1), ("threads", 2))]
    lanes = [_FakeLane("base", cells, 5), _FakeLane("cand", cells, 5)]
    lock, running, most = threading.Lock(), [0], [0]

    def fake_count(cell, info, python, timeout, *, cwd=None, env=None, extra_env=None):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if cell.backend == "threads" and env is lanes[1].env and fake_count.failed < 1:
            fake_count.failed += 1
            raise counters.CountFailed("the counted process exited with code 1")
        return counters.Count(1e6 if cell.backend == "sequential" else 2e6, 1, 2, 1, 0.05, "cachegrind")

    fake_count.failed = 0
    monkeypatch.setattr(ab, "count_cell", fake_count)
    said: list[str] = []
    info = counters.CounterInfo("valgrind", valgrind="valgrind-3.19.0")
    ab.count_instructions(lanes, [0, 1], [1.0, 1.0], info, random.Random(1), said.append, rounds=3, width=3)
    assert most[0] == 3  # 12 counts, 3 at a time
    for lane in lanes:
        seq, thr = ([p.instructions for p in r.processes] for r in lane.records)
        assert seq == [1e6] * 3 + [None] * 2  # the first `rounds` rounds only
        assert thr[3:] == [None, None]
    thr_cand = [p.instructions for p in lanes[1].records[1].processes[:3]]
    assert thr_cand.count(None) == 1 and thr_cand.count(2e6) == 2
    assert [p.instructions for p in lanes[0].records[1].processes[:3]] == [2e6] * 3
    assert lanes[0].saves + lanes[1].saves == 11  # every count that ended with a figure, saved as it ended
    assert sum("not counted: the counted process exited" in s for s in said) == 1
    assert any(s.startswith("gilbench ab: hello-cpu") and "instructions per task" in s for s in said)
    # a resumed run keeps its counts: nothing left to count, nothing counted
    ab.count_instructions(lanes[:1], [0, 1], [1.0, 1.0], info, random.Random(1), said.append, rounds=3, width=2)
    assert lanes[0].saves == 6

"""What models cost: memory per process tree (bench/measure/memory.py, reports/analyses/memory.py), the worker threads'
wait share (Backend.thread_times, reports/analyses/waiting.py), and the CPU placement section, on the
synthetic run of tests/fixtures/make_runs.py (known figures) and on small real process trees."""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from gilbench import workloads
from gilbench.bench.backends import get_backend
from gilbench.bench.measure.memory import TreeMemory, descendants
from gilbench.bench.data.cells import ProcessRecord
from gilbench.reports import frame
from gilbench.reports.analyses.memory import MemoryAnalysis, per_worker_text
from gilbench.reports.analyses.placement import PlacementAnalysis
from gilbench.reports.analyses.waiting import WaitingAnalysis
from gilbench.reports.frame import GIB
from tests.fixtures import make_runs as fx

MIB = 1024 ** 2


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> frame.RunData:
    return frame.load(fx.write_run(tmp_path_factory.mktemp("costs")))


# --- the records ------------------------------------------------------------------------------

def test_process_record_memory_and_wait_share_round_trip() -> None:
    p = ProcessRecord(index=0, values=[1.0, 1.0], mem_rss=300, mem_uss=100, mem_pss=150, mem_polls=3,
                      thread_cpu=[1.0, 1.2], thread_wall=[2.0, 2.0])
    again = ProcessRecord.from_dict(p.to_dict())
    assert again.memory == 150 and again.memory_measure == "PSS"
    assert again.wait_share == pytest.approx(0.45)
    assert math.isnan(ProcessRecord(index=0).memory) and math.isnan(ProcessRecord(index=0).wait_share)
    assert ProcessRecord(index=0, mem_rss=300, mem_polls=1).memory_measure == "RSS"


# --- the frame and the sections ---------------------------------------------------------------------

def test_frame_has_memory_per_worker_and_speedup_per_gib(run: frame.RunData) -> None:
    cells = run.cells.set_index("id")
    procs = cells.loc[fx.cell_id(fx.GIL, "processes", 2)]
    assert procs["memory"] == pytest.approx((32 + 24) * MIB)  # median over processes: LAYOUT's middle is 1.00
    assert procs["memory_per_worker"] == pytest.approx((56 - 30) / 2 * MIB)
    assert procs["speedup_per_gib"] == pytest.approx(procs["speedup"] / (procs["memory"] / GIB))
    assert procs["memory_per_worker_spread"] == pytest.approx((56 * 1.02 - 56 * 0.98) / 2 * MIB, rel=1e-3)
    assert math.isnan(cells.loc[fx.cell_id(fx.GIL, "sequential", 1), "memory_per_worker"])
    threads = cells.loc[fx.cell_id(fx.GIL, "threads", 2)]  # 1 MiB above the baseline, processes 1.24 MiB apart
    assert math.isnan(threads["memory_per_worker"]) and threads["memory_per_worker_spread"] > 0
    assert cells.loc[fx.cell_id(fx.GIL, "threads", 2), "wait_share"] == pytest.approx(0.5)
    assert cells.loc[fx.cell_id(fx.FT_OFF, "threads", 2), "wait_share"] == pytest.approx(0.0)
    assert math.isnan(cells.loc[fx.cell_id(fx.GIL, "processes", 2), "wait_share"])
    assert "memory" in frame.csv_frame(run).columns  # the export carries it


def test_memory_section_names_the_cheapest_model_within_10_percent(run: frame.RunData) -> None:
    (section,) = MemoryAnalysis().sections(run)
    on_gil = next(v for v in section.verdicts if v.startswith("hello-cpu on 3.14,"))
    # processes x2 is the fastest (0.53 s, 56 MiB); subinterpreters x2 (0.555 s, within 10 %) costs 42 MiB
    assert "fastest was processes (forkserver) x2" in on_gil
    assert "cheapest within 10% of its time was subinterpreters x2" in on_gil
    per_worker = next(v for v in section.verdicts if "one worker cost" in v and "on 3.14," in v)
    # threads add 0.5 MiB a worker, less than two processes of one cell differ by (2 % of 31 MiB): not a cost
    order = [per_worker.index(m) for m in ("threads below the resolution (± 0.6", "subinterpreters 6.",
                                           "processes (forkserver) 13.")]
    assert order == sorted(order)  # cheapest first
    assert {"peak memory (MiB)", "per worker", "speedup per GiB"} <= set(section.table.columns)
    assert section.figure is not None


def _mem_cells(base: list[float], cell: list[float], workers: int = 2) -> pd.DataFrame:
    """A baseline and one cell whose processes' memory peaks (MiB) are given."""
    rows = []
    for cid, peaks, w, is_base in (("b", base, 1, True), ("c", cell, workers, False)):
        rows.append({"id": cid, "python": "", "workload": "w", "cores": 2, "workers": w, "baseline": is_base,
                     "status": "ok", "speedup": 1.0, "n_processes": len(peaks),
                     **{k: v * MIB for k, v in (("memory", statistics.median(peaks)), ("memory_low", min(peaks)),
                                                 ("memory_high", max(peaks)))}})
    return frame.add_memory(pd.DataFrame(rows)).set_index("id")


def test_memory_per_worker_within_the_spread_over_processes_is_no_cost() -> None:
    """Threads' trees differ from the baseline's by less than two processes of one cell differ: the figure is
    below the resolution, never a negative (or positive) cost read from noise."""
    c = _mem_cells([24.45, 24.46, 24.47, 24.52], [24.40, 24.44, 24.46, 24.49]).loc["c"]
    assert math.isnan(c["memory_per_worker"])
    assert c["memory_per_worker_spread"] == pytest.approx(0.09 / 2 * MIB, rel=1e-6)
    text = per_worker_text(SimpleNamespace(**c))
    assert text == "below the resolution (± 0.045 MiB)" and "-" not in text


def test_memory_per_worker_beyond_the_spread_is_shown_with_it() -> None:
    c = _mem_cells([24.45, 24.46, 24.47, 24.52], [28.60, 28.61, 28.67, 28.70]).loc["c"]
    assert c["memory_per_worker"] == pytest.approx((28.64 - 24.465) / 2 * MIB, rel=1e-6)
    assert per_worker_text(SimpleNamespace(**c)) == "2.1 MiB ± 0.05"


def test_a_tree_smaller_than_the_baseline_is_no_cost_per_worker() -> None:
    c = _mem_cells([30.0, 30.1, 30.2], [23.0, 23.1, 23.2]).loc["c"]
    assert c["memory_per_worker"] < 0  # the data keeps the measured difference
    text = per_worker_text(SimpleNamespace(**c))
    assert text == "none: the tree was 7.0 MiB smaller than the baseline's"


def test_one_process_a_side_has_no_spread() -> None:
    c = _mem_cells([30.0], [31.0]).loc["c"]
    assert math.isnan(c["memory_per_worker_spread"]) and c["memory_per_worker"] == pytest.approx(0.5 * MIB)
    assert per_worker_text(SimpleNamespace(**c)) == "0.5 MiB (one process: spread unknown)"


def test_waiting_section_reports_the_gil_serializing_threads(run: frame.RunData) -> None:
    (section,) = WaitingAnalysis().sections(run)
    gil = next(v for v in section.verdicts if v.startswith("hello-cpu on 3.14, 2 cores, threads"))
    assert "0% at x1, 50% at x2" in gil
    free = next(v for v in section.verdicts if v.startswith(f"hello-cpu on {run.interpreter(fx.FT_OFF)['display']}")
                and ", threads:" in v)
    assert "0% at x2" in free


def test_placement_section_on_an_unknown_and_a_recorded_topology(run: frame.RunData) -> None:
    (section,) = PlacementAnalysis().sections(run)
    assert "records no CPU topology" in section.verdicts[0]  # the synthetic machine.json has none
    assert run.cells["shared_core"].isna().all()  # not known: neither yes nor no
    siblings = {"known": True, "cores": {"0": [0, 0], "1": [0, 0]}}
    smt = dataclasses.replace(run, machine={**run.machine, "topology": siblings})
    (section,) = PlacementAnalysis().sections(smt)
    assert "SMT siblings 0+1" in section.verdicts[0]


# --- real trees, small ----------------------------------------------------------------------------

def test_tree_memory_sees_a_child_that_allocates() -> None:
    code = ("import sys, time; b = bytearray(60 * 1024 * 1024); sys.stdout.write('x\\n'); sys.stdout.flush(); "
            "time.sleep(30)")
    launcher = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"
    parent = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not descendants(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert parent.stdout is not None and parent.stdout.readline() == b"x\n"
        tree = TreeMemory()
        tree.poll(parent.pid)
        assert tree.processes == 2 and tree.polls == 1
        assert tree.rss > 60 * MIB  # the child's bytearray is resident (bytearray(n) writes its n zero bytes)
        if tree.pss is not None:
            assert 60 * MIB < tree.pss <= tree.rss
    finally:
        for pid in descendants(parent.pid):
            os.kill(pid, 9)
        parent.kill()
        parent.wait()


@pytest.mark.parametrize("backend", ["threads", "thread-pool", "sequential"])
def test_worker_threads_report_their_clocks(backend: str) -> None:
    cls = get_backend(backend)
    task = cls.task_for(workloads.get("hello-sleep"), {"seconds": 0.05})
    with cls(None) as b:
        b.prepare(2, task)
        b.run_batch(task, 2, 2)
    assert b.thread_times
    cpu = sum(c for c, _ in b.thread_times)
    wall = sum(w for _, w in b.thread_times)
    assert wall >= 0.09 and 1 - cpu / wall > 0.8  # sleeping threads wait nearly all the time


@pytest.mark.parametrize("backend", ["sequential", "threads", "thread-pool"])
def test_cpu_bound_batches_give_wait_shares_within_0_and_1(backend: str) -> None:
    """Each thread's CPU interval lies inside its wall interval (base.thread_clocks), so 1 - CPU / wall is a
    share: never below 0 (beyond clock granularity) nor above 1."""
    cls = get_backend(backend)
    task = cls.task_for(workloads.get("hello-cpu"), {"units": 5})
    with cls(None) as b:
        b.prepare(2, task)
        for _ in range(3):
            b.run_batch(task, 2, 2)
            assert b.thread_times
            for cpu, wall in b.thread_times:
                assert wall > 0 and -1e-6 <= 1 - cpu / wall <= 1


def test_sequential_cpu_work_waits_only_while_the_process_was_off_the_cpu() -> None:
    """One thread doing CPU work waits only when the OS runs something else (on a machine measuring a
    benchmark, this niced test often is not running): its wait share is the process's own off-CPU share,
    and about 0 where the process got its CPU."""
    cls = get_backend("sequential")
    task = cls.task_for(workloads.get("hello-cpu"), {"units": 10})
    with cls(None) as b:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        b.run_batch(task, 2, 1)
        off_cpu = 1 - (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    (cpu, wall), = b.thread_times
    share = ProcessRecord(index=0, thread_cpu=[cpu], thread_wall=[wall]).wait_share
    assert 0.0 <= share <= 1.0
    assert share == pytest.approx(max(0.0, off_cpu), abs=0.05)
    if off_cpu < 0.02:
        assert share < 0.05


def test_the_wait_share_is_rounded_where_it_is_made_and_shown() -> None:
    """A tiny share (4.7e-05, one thread that hardly waited) is 0.0 in the record, the CSV and the table,
    never a figure whose exponent a reader misses (it once read as 4.68)."""
    p = ProcessRecord(index=0, thread_cpu=[0.39998129], thread_wall=[0.4])
    assert p.wait_share == 0.0


def test_the_waiting_table_shows_shares_in_percent_within_0_and_100(run: frame.RunData) -> None:
    (section,) = WaitingAnalysis().sections(run)
    shares = section.table["wait share (%)"]
    assert ((shares >= 0) & (shares <= 100)).all()
    assert list(shares) == [round(x, 1) for x in shares]


def test_process_models_report_no_thread_clocks() -> None:
    cls = get_backend("processes")
    task = cls.task_for(workloads.get("hello-sleep"), {"seconds": 0.01})
    with cls(None) as b:
        b.run_batch(task, 2, 2)
    assert b.thread_times == []


def test_fail_on_memory_flags_a_larger_tree(tmp_path: Path) -> None:
    """The minimal ``--fail-on memory:PCT%`` hook: a process's figure is ProcessRecord.memory."""
    import json

    from gilbench.bench.data.thresholds import parse_threshold
    from gilbench.bench.judge.compare import compare
    from gilbench.bench.judge.sides import RunSide

    base = fx.write_run(tmp_path / "base")
    cand = fx.write_run(tmp_path / "cand")
    manifest = json.loads((cand / "manifest.json").read_text())
    grown = fx.cell_id(fx.GIL, "processes", 2)
    for cell in manifest["cells"]:
        if cell["id"] == grown:
            for p in cell["processes"]:
                p["mem_pss"] = int(p["mem_pss"] * 1.5)
    (cand / "manifest.json").write_text(json.dumps(manifest))
    result = compare(RunSide.load(str(base)), RunSide.load(str(cand)), [parse_threshold("memory:10%")])
    rows = {r.id: r for r in result.rows if r.metric == "memory"}
    assert rows[grown].ratio == pytest.approx(1.5, rel=0.01) and rows[grown].verdict == "larger"
    assert not any(r.regression for cid, r in rows.items() if cid != grown)


def test_the_runner_polls_while_it_waits_and_still_times_out() -> None:
    from gilbench.bench.measure.child import wait_polling

    tree = TreeMemory()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.4)"])
    assert wait_polling(proc, 30, tree.poll, 0.05) == 0
    assert tree.polls >= 3 and tree.rss > 1 * MIB
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            wait_polling(slow, 0.3, TreeMemory().poll, 0.05)
    finally:
        slow.kill()
        slow.wait()


# --- a run of two placements -------------------------------------------------------------------------

#: 2 cores x 2 threads: CPUs 0 and 2 share core 0, 1 and 3 core 1
SMT_4 = {"known": True, "cores": {"0": [0, 0], "1": [0, 1], "2": [0, 0], "3": [0, 1]}}


def write_two_placement_run(root: Path) -> Path:
    """The synthetic run measured again under ``siblings`` (CPUs 0 and 2, one core): every cell of 3.14 with
    the GIL, the scaled ones 1.6x slower (two workers on one core's hardware threads), the baseline not."""
    import json

    path = fx.write_run(root)
    manifest = json.loads((path / "manifest.json").read_text())
    again = []
    for entry in manifest["cells"]:
        if entry["python"] != fx.GIL or entry["status"] != "ok" or entry["workload"] != fx.WORKLOAD:
            continue
        twin = json.loads(json.dumps(entry))
        twin["placement"], twin["cpus"] = "siblings", [0, 2]
        slower = 1.0 if entry["backend"] == "sequential" else 1.6
        for p in twin["processes"]:
            p["values"] = [v * slower for v in p["values"]]
        again.append(twin)
    manifest["cells"] += again
    manifest.update(placement="physical", placements=["physical", "siblings"],
                    placement_skipped={"siblings/c1": "siblings picks the same CPUs (0) as physical at 1 core: "
                                                      "measured once"})
    (path / "manifest.json").write_text(json.dumps(manifest))
    machine = json.loads((path / "machine.json").read_text())
    (path / "machine.json").write_text(json.dumps({**machine, "topology": SMT_4}))
    return path


def test_a_run_of_two_placements_shows_them_side_by_side(tmp_path: Path) -> None:
    from gilbench import reports

    path = write_two_placement_run(tmp_path)
    run = frame.load(path)
    assert set(run.other_placements["placement"]) == {"siblings"}
    assert (run.other_placements["id"].str.contains("/c2-siblings@")).all()
    assert set(run.cells["placement"]) == {"physical"}  # the first placement's cells, one per model and workers
    assert not run.cells["id"].duplicated().any()
    placement, compared = PlacementAnalysis().sections(run)
    words = " ".join(placement.verdicts)
    assert "Not measured twice: siblings picks the same CPUs (0) as physical" in words
    assert "no cell's workers shared a physical core" in words  # physical: CPUs 0 and 1, two cores
    assert "Measured again with CPUs taken by every SMT sibling of a core before the next core (--placement " \
           "siblings): 9 of 9 ran with workers on SMT siblings of one core (2 cores; CPUs 0+2)." in words
    assert compared.key == "placement-compare" and compared.figure is not None
    (sentence,) = [v for v in compared.verdicts if v.startswith("hello-cpu, 2 cores:")]
    assert "under physical (CPUs 0,1, 2 physical cores) against siblings (CPUs 0,2, 1 physical core, workers " \
           "shared a core (0+2))" in sentence
    assert "processes x2 1.89x against 1.18x" in sentence and "sequential" not in sentence
    row = compared.table[(compared.table["model"] == "processes") & (compared.table["workers"] == 2)].iloc[0]
    assert row["speedup, siblings"] == pytest.approx(row["speedup, physical"] / 1.6)
    written = reports.build(path)
    html = (path / "report.html").read_text()
    assert "Speedup under each CPU placement" in html and "speedup, siblings" in html
    csv = pd.read_csv(path / "results.csv")
    assert {"physical", "siblings"} <= set(csv["placement"]) and len(written) > 1


@pytest.mark.slow  # ~5 s, a smoke run: make test runs it, make check (the fast tier) does not
def test_a_smoke_run_asking_for_two_placements_here_adds_no_cell(tmp_path: Path) -> None:
    """On this machine (no SMT) logical picks the CPUs physical does: the run measures each cell once, records
    why, and its report says so; every wait share is a share, to 0.01 %."""
    import json

    from gilbench.bench.data.topology import read_topology
    from tests.conftest import gilbench

    if read_topology().smt:
        pytest.skip("this machine has SMT siblings: logical may pick other CPUs")
    done = gilbench("run", "--profile", "smoke", "--workload", "hello-cpu", "--placement", "physical,logical",
                    "--no-experiments", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    folder = (tmp_path / "latest").resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert all("placement" not in c and "-logical" not in c["id"] for c in manifest["cells"])
    assert manifest["placements"] == ["physical", "logical"] and set(manifest["placement_skipped"]) == {
        f"logical/c{c['cores']}" for c in manifest["cells"]}
    assert "Not measured twice: logical picks the same CPUs" in (folder / "report.html").read_text()
    shares = pd.read_csv(folder / "results.csv")["wait_share"].dropna()
    assert len(shares) and ((shares >= 0) & (shares <= 1)).all() and (shares == shares.round(4)).all()


def test_logical_cpus_is_placement_logical() -> None:
    import argparse

    from gilbench.bench.plan.request import placement_of as _placement

    assert _placement(argparse.Namespace(placement=None, logical_cpus=True)) == "logical"
    assert _placement(argparse.Namespace(placement="physical,siblings", logical_cpus=False)) == "physical,siblings"
    assert _placement(argparse.Namespace(placement=None, logical_cpus=False)) is None
    with pytest.raises(ValueError, match="--logical-cpus is --placement logical"):
        _placement(argparse.Namespace(placement="physical", logical_cpus=True))

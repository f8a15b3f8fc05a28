"""The report's figures from a synthetic run folder whose processes have known values.

No benchmark runs here: the run folder is written by hand (manifest through RunFolder.write_manifest,
machine.json, no suite.json), then read back by reports.frame and rendered by the outputs.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from gilbench.bench.data import stats
from gilbench.bench.data.cells import Cell
from gilbench.bench.measure.process import flag_noise
from gilbench.bench.data.cells import CellRecord, ProcessRecord
from gilbench.bench.data.results import FORMAT, RunFolder
from gilbench.reports import frame
from gilbench.reports.outputs.csv import CsvOutput
from gilbench.reports.outputs.html import HtmlOutput
from gilbench.reports.verdicts import OWN_SCALING, BASELINE, verdicts

PADS = (0, 512, 1024)
T0 = 1_700_000_000.0
CANARY = 0.010


def _values(*medians: float) -> list[list[float]]:
    """Three values per process around each median (-0.01, 0, +0.01 s)."""
    return [[m - 0.01, m, m + 0.01] for m in medians]


#: hello-cpu on 2 cores: the main thread (sequential) is 15 % slower than one thread at the median
#: layout (10 to 20 % depending on the pad), threads do not scale, processes do. Against the baseline,
#: threads x2 reach 1.13x, which the old rule ("thread speedup below 1.1") did not call serialized.
CPU_CELLS = {
    ("sequential", 1): _values(1.15, 1.20, 1.10),
    ("threads", 1): _values(1.00, 1.00, 1.00),
    ("threads", 2): _values(1.02, 1.02, 1.02),
    ("threads", 4): _values(1.03, 1.03, 1.03),
    ("processes", 1): _values(1.16, 1.18, 1.14),
    ("processes", 2): _values(0.60, 0.61, 0.59),
    ("processes", 4): _values(0.62, 0.63, 0.61),
}
#: hello-sleep on 2 cores without a threads x1 cell: no main-thread gap, threads judged on the baseline
IO_CELLS = {
    ("sequential", 1): _values(0.80, 0.80, 0.80),
    ("threads", 2): _values(0.41, 0.42, 0.40),
    ("processes", 2): _values(0.45, 0.46, 0.44),
}


def _record(workload: str, kind: str, backend: str, workers: int, per_process: list[list[float]], start: float,
            slow_canary: int | None = None) -> CellRecord:
    cell = Cell(workload, backend, workers, 2, (0, 1), 4, {"units": 100} if backend == "sequential" else {},
                start_method="fork" if backend == "processes" else None)
    processes = []
    for k, values in enumerate(per_process):
        canary = CANARY * (1.3 if k == slow_canary else 1.0)
        processes.append(ProcessRecord(
            index=k, pad=PADS[k], pid=1000 + k, values=values, cpu=[v * (2 if backend == "processes" and workers > 1 else 1)
                                                                      for v in values],
            canary=canary, canary_cpu=canary, started=start + 5 * k, ended=start + 5 * k + 4, noise_share=0.01,
        ))
    record = CellRecord(cell, kind, baseline=backend == "sequential",
                        family="baseline" if backend == "sequential" else backend,
                        in_process=backend != "processes", status="ok", started=start, ended=start + 15,
                        processes=processes)
    flag_noise(record, [CANARY] * 9)  # as the runner does: against the canaries of the run before it
    return record


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory):
    folder = RunFolder.create(tmp_path_factory.mktemp("results"), "synthetic", latest=False)
    records, start = [], T0
    for (backend, workers), per_process in CPU_CELLS.items():
        slow = 1 if (backend, workers) == ("processes", 4) else None  # one process on a slower machine
        records.append(_record("hello-cpu", "cpu-bound", backend, workers, per_process, start, slow))
        start += 20
    for (backend, workers), per_process in IO_CELLS.items():
        records.append(_record("hello-sleep", "io-bound", backend, workers, per_process, start))
        start += 20
    folder.write_manifest({
        "profile": "quick", "timing": {"processes": 3, "values": 3, "warmups": 0, "loops": 1},
        "created": "2025-01-01T00:00:00", "finished": "2025-01-01T00:05:00", "status": "complete",
        "noise_threshold": 0.10, "gilbench_version": "test", "sample_interval": None,
        "cells": [r.to_dict() for r in records],
    })
    folder.write_json(folder.machine, {"hostname": "synthetic", "gil_enabled": True, "logical_cpus": 2})
    return folder


@pytest.fixture(scope="module")
def run(run_folder):
    return frame.load(run_folder.path)


def _cell(run, cell_id: str) -> pd.Series:
    return run.cells.set_index("id").loc[cell_id]


def test_manifest_is_the_current_format_and_suite_json_is_not_needed(run_folder, run):
    assert run.manifest["format"] == FORMAT
    assert not run_folder.suite.exists()
    assert len(run.cells) == len(CPU_CELLS) + len(IO_CELLS)
    assert (run.cells["status"] == "ok").all()


def test_values_frame_has_one_row_per_batch_with_its_process_and_pad(run):
    assert list(run.values.columns) == ["id", "process", "pad", "value"]
    assert len(run.values) == (len(CPU_CELLS) + len(IO_CELLS)) * 3 * 3
    seq = run.values[run.values["id"] == "hello-cpu/sequential/w1/c2"]
    assert seq.groupby("process")["pad"].first().tolist() == list(PADS)
    assert seq[seq["process"] == 1]["value"].tolist() == pytest.approx([1.19, 1.20, 1.21])


def test_time_is_the_median_of_process_medians_and_statistics_cover_all_values(run):
    seq = _cell(run, "hello-cpu/sequential/w1/c2")
    assert seq["time"] == pytest.approx(1.15)
    assert seq["n_processes"] == 3 and seq["n"] == 9
    assert seq["median"] == pytest.approx(1.15)  # over all nine values
    assert seq["min"] == pytest.approx(1.09) and seq["max"] == pytest.approx(1.21)
    assert seq["pads"] == "0 512 1024"
    # speedups are on time against the flagged baseline: the baseline itself is exactly 1
    assert seq["speedup"] == 1.0 and bool(seq["baseline"])
    t2 = _cell(run, "hello-cpu/threads/w2/c2")
    assert t2["speedup"] == pytest.approx(1.15 / 1.02)
    assert t2["scaling"] == pytest.approx(1.00 / 1.02)
    p2 = _cell(run, "hello-cpu/processes/w2/c2")
    assert p2["speedup"] == pytest.approx(1.15 / 0.60)
    assert p2["ideal"] == 2 and p2["efficiency"] == pytest.approx(1.15 / 0.60 / 2)
    assert p2["parallelism"] == pytest.approx(2.0)


def test_between_process_share_effective_n_and_layout_spread(run):
    seq = _cell(run, "hello-cpu/sequential/w1/c2")
    # by hand: within-process variance 1e-4, process means 1.10/1.15/1.20 -> MS_between 7.5e-3, n0 = 3
    var_between = (7.5e-3 - 1e-4) / 3
    icc = var_between / (var_between + 1e-4)
    assert seq["between_share"] == pytest.approx(icc)
    assert seq["between_share"] > 0.95
    assert seq["n_eff"] == pytest.approx(9 / (1 + 2 * icc))
    assert 3.0 < seq["n_eff"] < 3.2  # about one sample per process, not nine
    assert seq["layout_spread"] == pytest.approx((1.20 - 1.10) / 1.15)
    # identical processes: no variance between them, every value counts
    t1 = _cell(run, "hello-cpu/threads/w1/c2")
    assert t1["between_share"] == 0.0 and t1["n_eff"] == 9.0
    assert t1["layout_spread"] == pytest.approx(0.0)
    assert (seq["between_share"], seq["n_eff"]) == pytest.approx(stats.variance_components(CPU_CELLS[("sequential", 1)]))


def test_canary_summary_and_flagged_process(run):
    p4 = _cell(run, "hello-cpu/processes/w4/c2")
    assert p4["canary_ms"] == pytest.approx(CANARY * 1e3)
    assert p4["canary_spread"] == pytest.approx(0.3)
    assert _cell(run, "hello-cpu/threads/w2/c2")["canary_spread"] == 0.0
    flagged = run.processes[run.processes["flagged"]]
    assert flagged[["id", "process"]].values.tolist() == [["hello-cpu/processes/w4/c2", 1]]
    assert "canary +30% against the run's median" in flagged["flag"].iloc[0]
    assert len(run.processes) == (len(CPU_CELLS) + len(IO_CELLS)) * 3


def test_main_thread_gap_with_its_range_over_layouts(run):
    gaps = run.gaps.set_index(["workload", "cores"])
    cpu = gaps.loc[("hello-cpu", 2)]
    assert cpu["thread_id"] == "hello-cpu/threads/w1/c2" and cpu["baseline_id"] == "hello-cpu/sequential/w1/c2"
    assert cpu["gap"] == pytest.approx(1.15)
    assert (cpu["gap_low"], cpu["gap_high"]) == pytest.approx((1.10, 1.20))
    assert cpu["layouts"] == 3
    assert [(x["pad"], round(x["ratio"], 6)) for x in cpu["per_layout"]] == [(0, 1.15), (512, 1.2), (1024, 1.1)]
    io_ = gaps.loc[("hello-sleep", 2)]
    assert io_["thread_id"] == "" and math.isnan(io_["gap"]) and "not measured" in io_["note"]
    assert _cell(run, "hello-cpu/processes/w2/c2")["main_thread_gap"] == pytest.approx(1.15)
    assert math.isnan(_cell(run, "hello-sleep/threads/w2/c2")["main_thread_gap"])


def test_verdicts_judge_threads_on_their_own_scaling(run):
    found = {(v.workload, v.workers): v for v in verdicts(run.cells, True, run.gaps)}
    v = found[("hello-cpu", 2)]
    t = v.model("threads")
    assert t.basis == OWN_SCALING and t.scaling == pytest.approx(1.0 / 1.02)
    assert t.speedup > 1.1  # the old rule, on the baseline-relative speedup, missed this
    assert v.reason.startswith("the GIL serializes threads; processes run in parallel")
    assert v.best.backend == "processes" and v.model("processes").speedup == pytest.approx(1.15 / 0.60)
    assert (t.gap, t.gap_low, t.gap_high, t.layouts) == pytest.approx((1.15, 1.10, 1.20, 3))
    assert "main-thread gap 1.15x" in v.sentence and "sequential, every task in the process's main thread" in v.sentence
    assert found[("hello-cpu", 4)].reason.startswith("the GIL serializes threads")
    io_ = found[("hello-sleep", 2)]
    assert io_.model("threads").basis == BASELINE and io_.reason.startswith("both scale: waiting releases the GIL")
    assert "no threads x1 cell" in io_.sentence


def test_report_renders_the_layout_section_and_the_gil_verdict(run):
    html = HtmlOutput().render(run)
    for section in ("Verdicts", "Memory layout and the baseline", "Machine speed during the run", "All cells",
                    "Every timed batch", "How these numbers were taken"):
        assert section in html, section
    assert "the GIL serializes threads; processes run in parallel" in html
    assert "threads 1.15x (1.10&ndash;1.20)" in html  # the main-thread gap and its range over layouts, once
    assert "pad 0: 1.150x, pad 512: 1.200x, pad 1024: 1.100x" in html
    assert "no 1-worker cell runs these tasks in a thread: the gap was not measured" in html
    assert "between-process share" in html and "effective n" in html and "layout spread" in html
    assert "8.7 %" in html  # the baseline's layout spread
    assert "1 process flagged" in html and "canary +30% against" in html
    assert "Processes are the unit." in html and "0, 512, 1024" in html
    assert html.count("data:image/png;base64,") >= 3  # speedup, distribution by process, canary
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_results_csv_has_the_process_level_columns(run):
    table = pd.read_csv(io.StringIO(CsvOutput().render(run)))
    for column in ("n_processes", "python", "family", "in_process", "time", "between_share", "n_eff", "layout_spread", "canary_ms", "canary_spread",
                   "scaling", "main_thread_gap", "main_thread_gap_low", "main_thread_gap_high", "baseline", "speedup"):
        assert column in table.columns, column
    seq = table[table["id"] == "hello-cpu/sequential/w1/c2"].iloc[0]
    assert seq["time"] == pytest.approx(1.15) and seq["n_processes"] == 3
    assert "error_detail" not in table.columns


def test_failed_and_pending_cells_have_no_figures_and_the_report_still_renders(tmp_path):
    folder = RunFolder.create(tmp_path, "partial", latest=False)
    ok = _record("hello-cpu", "cpu-bound", "sequential", 1, CPU_CELLS[("sequential", 1)], T0)
    failed = _record("hello-cpu", "cpu-bound", "threads", 1, [[1.0]], T0 + 20)
    failed.status, failed.error = "failed", {"how": "raised", "message": "ValueError: boom"}
    pending = CellRecord(Cell("hello-cpu", "processes", 2, 2, (0, 1), 4, start_method="fork"), "cpu-bound",
                         family="processes", in_process=False)
    folder.write_manifest({"profile": "quick", "timing": {"processes": 3, "values": 3, "warmups": 0, "loops": 1},
                           "status": "interrupted",
                           "cells": [r.to_dict() for r in (ok, failed, pending)]})
    run = frame.load(folder.path)
    cells = run.cells.set_index("id")
    assert cells.loc["hello-cpu/threads/w1/c2", "error"] == "raised: ValueError: boom"
    assert cells.loc["hello-cpu/threads/w1/c2", "n_processes"] == 0
    assert math.isnan(cells.loc["hello-cpu/threads/w1/c2", "time"])
    assert math.isnan(cells.loc["hello-cpu/processes/w2/c2", "speedup"])
    assert set(run.values["id"]) == {"hello-cpu/sequential/w1/c2"}  # only finished cells' values
    assert run.gaps["thread_id"].tolist() == [""]  # the threads x1 cell failed: no gap
    html = HtmlOutput().render(run)
    assert "Incomplete run" in html and "raised: ValueError: boom" in html
    assert "no 1-worker cell runs these tasks in a thread: the gap was not measured" in html

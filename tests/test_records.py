"""The run folder's typed records (bench.data.records) read and write its JSON, old run folders included, and
the query layer (bench.data.query) answers one way for records and report rows alike."""

from __future__ import annotations

import json
import math
from collections import namedtuple
from pathlib import Path

import pytest

from gilbench.bench.data import query
from gilbench.bench.data.cells import Cell
from gilbench.bench.data.cells import CellRecord, ProcessRecord
from gilbench.bench.data.failure import Failure
from gilbench.bench.data.records import InterpreterDescription
from gilbench.bench.data.manifest import RunManifest
from gilbench.bench.data.results import RunFolder
from gilbench.reports import frame

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUNS = ["run-16cpu-device", "run-1cpu"]


# --- Failure -------------------------------------------------------------------------------------

def test_a_failure_round_trips_and_leaves_out_what_it_does_not_know():
    failure = Failure("raised", "bad input", error_type="ValueError", traceback="Traceback ...", worker=0)
    data = failure.to_dict()
    assert data == {"how": "raised", "message": "bad input", "error_type": "ValueError", "traceback": "Traceback ...",
                    "worker": 0}
    assert Failure.from_dict(data) == failure
    assert failure.head == "ValueError: bad input" and failure.detail == "Traceback ..."


def test_a_failure_reads_every_spelling_a_writer_used():
    # experiment results before one spelling wrote "type"; TaskFailed wrote empty fields and None
    assert Failure.from_dict({"how": "raised", "type": "KeyError", "message": "x"}).error_type == "KeyError"
    old = Failure.from_dict({"how": "exited", "error_type": "", "message": "m", "traceback": "", "exitcode": None,
                             "log_tail": "last line", "detail": "never written"})
    assert old == Failure("exited", "m", log_tail="last line")
    assert old.head == "exited: m" and old.detail == "last line"
    assert Failure.of(None) is None and Failure.of({}) is None and Failure.of(old) is old


def test_a_cell_record_holds_its_error_as_a_failure_and_writes_it_as_before():
    cell = Cell("w", "threads", 2, 2, (0, 1), 4, {})
    record = CellRecord(cell, "cpu-bound", status="failed", error={"how": "timeout", "message": "hung"})
    assert record.error == Failure("timeout", "hung")
    data = record.to_dict()
    assert data["error"] == {"how": "timeout", "message": "hung"}
    assert CellRecord.from_dict(data).error == record.error
    record.error = {"how": "fixture", "message": "no port"}  # a dict assigned later is written all the same
    assert record.to_dict()["error"] == {"how": "fixture", "message": "no port"}


def test_a_cell_entry_from_before_models_recorded_in_process_reads_it_from_the_start_method():
    entry = CellRecord(Cell("w", "processes", 2, 2, (0, 1), 4, {}, start_method="fork"), "cpu-bound").to_dict()
    del entry["in_process"]
    assert CellRecord.from_dict(entry).in_process is False
    entry.update(start_method=None)
    assert CellRecord.from_dict(entry).in_process is True


# --- RunManifest ---------------------------------------------------------------------------------

@pytest.mark.parametrize("run", RUNS)
def test_the_fixture_manifests_load_and_keep_every_key(run):
    raw = json.loads((FIXTURES / run / "manifest.json").read_text())
    manifest = RunManifest.from_dict(raw)
    assert len(manifest.records) == len(raw["cells"]) and manifest.complete
    written = manifest.to_dict()
    assert {k: written[k] for k in raw} == raw
    # keys these older runs did not write come back as their defaults
    assert {k: written[k] for k in set(written) - set(raw)} == {
        k: v for k, v in {"memory_interval": None, "placement": "logical", "config": None}.items() if k not in raw}
    assert RunManifest.from_dict(written).to_dict() == written
    assert RunFolder(FIXTURES / run).load_manifest() == manifest


def test_a_manifest_keeps_keys_it_does_not_know_and_reads_by_key_as_written():
    raw = {"format": 2, "cells": [], "status": "complete", "profile": "quick", "a_later_key": {"x": 1},
           "interleaved_with": "/r", "gate_design": {"looks": [4, 8]}}
    manifest = RunManifest.from_dict(raw)
    assert manifest.extra == {"a_later_key": {"x": 1}} and manifest.to_dict()["a_later_key"] == {"x": 1}
    assert manifest.interleaved_with == "/r" and manifest.gate_design == {"looks": [4, 8]}
    assert manifest["status"] == "complete" and manifest.get("canary_slow", math.nan) is not None
    assert math.isnan(manifest.get("canary_slow", math.nan))  # absent as read: the default, as from the dict
    assert "resumed" not in manifest.to_dict() and "side" not in manifest.to_dict()


def test_the_experiments_a_run_asked_for_are_kept_none_included():
    base = {"format": 2, "cells": [], "status": "running"}
    for asked in ([], ["convoy"]):
        manifest = RunManifest.from_dict({**base, "experiments_asked": asked})
        assert manifest.experiments_asked == tuple(asked) and manifest.to_dict()["experiments_asked"] == asked
    before = RunManifest.from_dict(base)  # the profile's, and every run from before it was recorded
    assert before.experiments_asked is None and "experiments_asked" not in before.to_dict()


def test_write_manifest_goes_through_the_record(tmp_path):
    folder = RunFolder.create(tmp_path, "r", latest=False)
    folder.write_manifest({"cells": [], "status": "running", "finished": None, "resumed": ["t"], "extra_key": 3})
    written = json.loads(folder.manifest.read_text())
    assert written["format"] == 2 and written["resumed"] == ["t"] and written["extra_key"] == 3
    assert written["finished"] is None and written["placement"] == "logical"
    assert folder.load_manifest().resumed == ("t",)


# --- InterpreterDescription ----------------------------------------------------------------------

def test_an_interpreter_description_from_machine_json():
    machine = json.loads((FIXTURES / "run-1cpu" / "machine.json").read_text())
    harness = InterpreterDescription.from_machine(machine, "")
    assert harness.label == "" and harness.version == machine["python_version"]
    assert harness.display == query_short(machine) and harness.gil_enabled == machine["gil_enabled"]
    assert harness["display"] == harness.display and harness.get("missing", 7) == 7  # read as the dict it was
    again = InterpreterDescription.from_dict(harness.to_dict())
    assert again == harness


def query_short(machine: dict) -> str:
    version = ".".join(machine["python_version"].split(".")[:2])
    return version + ("t" if machine["python_build"] == "free-threading" else "")


def test_the_gil_off_comes_from_the_description_else_from_python_gil():
    ft = {"label": "3.14t", "version": "3.14.0", "build": "free-threading", "settings": {"PYTHON_GIL": "0"}}
    assert InterpreterDescription.from_dict(ft).gil_off is True
    assert InterpreterDescription.from_dict({**ft, "gil_enabled": True}).gil_off is False
    assert InterpreterDescription.from_dict({**ft, "settings": {}}).gil_off is None
    assert InterpreterDescription.from_dict(ft).settings_text == "PYTHON_GIL=0"
    assert InterpreterDescription.from_dict(ft).free_threaded


def test_the_report_describes_interpreters_as_records():
    run = frame.load(FIXTURES / "run-16cpu-device")
    assert all(isinstance(d, InterpreterDescription) for d in run.interpreters.values())
    assert run.interpreter("").display == run.interpreters[""].display


# --- the query layer -----------------------------------------------------------------------------

def _record(backend: str, python: str = "", cores: int = 2, workers: int = 1, baseline: bool = False,
            medians: tuple[float, ...] = (1.0,), gil: bool | None = None, status: str = "ok") -> CellRecord:
    cell = Cell("w", backend, workers, cores, (0, 1), 4, {}, python=python)
    processes = [ProcessRecord(index=k, values=[m * 0.9, m, m * 1.2], cpu=[m, m, m], gil_enabled=gil)
                 for k, m in enumerate(medians)]
    return CellRecord(cell, "cpu-bound", baseline=baseline, status=status, processes=processes)


def test_the_baseline_is_the_flagged_cell_of_the_same_interpreter_workload_and_cores():
    cells = [_record("sequential", "", baseline=True), _record("sequential", "3.12", baseline=True),
             _record("sequential", "", cores=4, baseline=True), _record("threads", "3.12", workers=2),
             _record("threads", "", cores=4, workers=4)]
    ask = query.RunQuery(cells)
    assert ask.baseline_of(cells[3].id) == cells[1].id and ask.baseline_of(cells[4].id) == cells[2].id
    # the same rule for a report's table rows (anything with python, workload, cores, baseline)
    Row = namedtuple("Row", "id python workload cores baseline")
    rows = [Row(c.id, c.cell.python, "w", c.cell.cores, c.baseline) for c in cells]
    assert query.baseline_of(rows, rows[3]).id == cells[1].id
    assert query.baseline_key(rows[3]) == query.baseline_key(cells[3]) == query.baseline_key(cells[3].cell)
    Bare = namedtuple("Bare", "id python workload cores")  # a frame without a baseline column: no baseline
    assert query.baselines([Bare("x", "", "w", 2)]) == {}


def test_process_summaries_and_medians():
    record = _record("threads", medians=(1.0, 2.0), status="ok")
    p = record.processes[0]
    assert query.process_summary(p, "median") == 1.0 and query.process_summary(p, "min") == 0.9
    assert query.process_summary(p, "mean") == pytest.approx((0.9 + 1.0 + 1.2) / 3)
    assert query.process_summaries(record) == {0: 1.0, 1: 2.0}
    assert query.RunQuery([record]).process_medians(record.id) == {0: 1.0, 1: 2.0}
    failed = _record("threads", workers=2, status="failed")
    assert query.RunQuery([failed]).process_medians(failed.id) == {}
    assert math.isnan(query.process_summary(ProcessRecord(index=0), "median"))
    with pytest.raises(ValueError):
        query.process_summary(p, "mode")


def test_the_gil_state_is_what_the_processes_saw_else_the_description():
    assert query.gil_state([False, None, True], False) is True  # on in any counts as on
    assert query.gil_state([None, float("nan")], False) is False
    assert query.gil_state([], None) is None and query.gil_on(None) is True
    described = {"3.14t": InterpreterDescription.from_dict({"label": "3.14t", "gil_enabled": False})}
    ask = query.RunQuery([_record("threads", "3.14t"), _record("threads", "3.14t", workers=2, gil=True)], described)
    quiet, seen = ask.cells
    assert ask.cell_gil(quiet) is False and ask.cell_gil(seen) is True
    assert ask.gil_on("3.14t") is True and ask.gil_on("other") is True


def test_a_models_family_is_the_recorded_one_else_its_name():
    record = _record("toy")
    assert query.family_of(record) == "toy"
    record.family = "threads"
    assert query.family_of(record) == "threads"


def test_the_cores_measured_again_under_another_placement_have_their_own_baseline():
    def cell(backend: str, workers: int, placement: str = "") -> CellRecord:
        c = Cell("w", backend, workers, 2, (0, 2), 4, {}, placement=placement)
        return CellRecord(c, "cpu-bound", baseline=backend == "sequential", status="ok")

    cells = [cell("sequential", 1), cell("threads", 2), cell("sequential", 1, "logical"), cell("threads", 2, "logical")]
    ask = query.RunQuery(cells)
    assert ask.baseline_of(cells[1].id) == cells[0].id and ask.baseline_of(cells[3].id) == cells[2].id


def test_a_cell_records_whether_it_measures_a_start_cost_and_older_folders_infer_it() -> None:
    """``start_cost`` is recorded as ``kind`` is; a run folder from before it infers the built-in no-op's."""
    from gilbench.bench.data.cells import START_COST_WORKLOAD

    mine = CellRecord(Cell("my-start", "threads", 1, 1, (0,), 1), "io-bound", start_cost=True)
    assert CellRecord.from_dict(mine.to_dict()).start_cost is True
    older = CellRecord(Cell(START_COST_WORKLOAD, "threads", 1, 1, (0,), 1), "io-bound").to_dict()
    del older["start_cost"]
    assert CellRecord.from_dict(older).start_cost is True
    older["workload"] = "hello-cpu"
    assert CellRecord.from_dict(older).start_cost is False

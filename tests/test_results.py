import json
import os

import pyperf
import pytest

from gilbench.bench.data.results import RunFolder, RunFolderError, new_run_name, write_json_atomic


def test_write_json_atomic_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "x.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["x.json"]


def test_create_points_latest_at_the_new_folder(tmp_path):
    first = RunFolder.create(tmp_path, "a")
    second = RunFolder.create(tmp_path, "a")
    assert first.path != second.path
    assert (tmp_path / "latest").resolve() == second.path.resolve()


def test_run_name_is_safe():
    assert "/" not in new_run_name(host="a/b c")


def test_manifest_round_trip_and_clear_errors(tmp_path):
    folder = RunFolder.create(tmp_path)
    folder.write_manifest({"cells": [], "status": "complete"})
    assert folder.read_manifest()["status"] == "complete"
    folder.manifest.write_text("{ not json")
    with pytest.raises(RunFolderError, match="not readable JSON"):
        folder.read_manifest()
    folder.manifest.write_text(json.dumps({"other": "tool"}))
    with pytest.raises(RunFolderError, match="not a gilbench manifest"):
        folder.read_manifest()
    with pytest.raises(RunFolderError, match="no such run folder"):
        RunFolder(tmp_path / "missing").read_manifest()


def _pyperf_file(path, name, values):
    run = pyperf.Run(values, metadata={"name": name, "unit": "second"}, collect_metadata=False)
    pyperf.Benchmark([run]).dump(str(path))


def test_suite_merges_cells_and_replaces_a_rerun(tmp_path):
    folder = RunFolder.create(tmp_path)
    _pyperf_file(tmp_path / "a.json", "a", [1.0, 2.0])
    _pyperf_file(tmp_path / "b.json", "b", [3.0])
    _pyperf_file(tmp_path / "a2.json", "a", [5.0])
    folder.add_to_suite(tmp_path / "a.json")
    folder.add_to_suite(tmp_path / "b.json")
    folder.add_to_suite(tmp_path / "a2.json")
    suite = pyperf.BenchmarkSuite.load(str(folder.suite))
    assert sorted(suite.get_benchmark_names()) == ["a", "b"]
    assert suite.get_benchmark("a").get_values() == (5.0,)

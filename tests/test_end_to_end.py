"""One real `gilbench run --profile smoke`, read back the ways a user would."""

import json
import subprocess
import sys

import pandas as pd
import pyperf
import pytest

from tests.conftest import gilbench

pytestmark = pytest.mark.slow  # every test reads the session's real smoke run

SMOKE_CELLS = 2 * (1 + 2 + 2)  # 2 workloads x (sequential + threads x1,x2 + processes x1,x2)


def test_run_folder_is_complete(smoke_run):
    for name in ("manifest.json", "suite.json", "samples.csv", "machine.json", "lesson.json", "results.csv", "report.html"):
        assert (smoke_run / name).is_file(), name
    manifest = json.loads((smoke_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [c["status"] for c in manifest["cells"]] == ["ok"] * SMOKE_CELLS


def test_pyperf_reads_the_suite_with_gilbench_metadata(smoke_run):
    suite = pyperf.BenchmarkSuite.load(str(smoke_run / "suite.json"))
    assert len(suite.get_benchmarks()) == SMOKE_CELLS
    meta = suite.get_benchmark("hello-cpu/processes/w2/c%d" % json.loads(
        (smoke_run / "machine.json").read_text())["logical_cpus"]).get_metadata()
    assert meta["gilbench_backend"] == "processes" and meta["gilbench_workers"] == 2
    assert meta["gilbench_start_method"] in ("fork", "spawn", "forkserver")
    assert meta["gilbench_gil"] in ("enabled", "disabled") and meta["gilbench_python_build"] in ("gil", "free-threading")
    done = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(smoke_run / "suite.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "hello-sleep/threads/w2" in done.stdout
    done = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(smoke_run / "suite.json"),
                           str(smoke_run / "suite.json")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_every_sample_count_matches_the_profile(smoke_run):
    suite = pyperf.BenchmarkSuite.load(str(smoke_run / "suite.json"))
    assert {b.get_nvalue() for b in suite.get_benchmarks()} == {4}  # smoke: 2 processes x 2 values
    assert {len(b.get_runs()) for b in suite.get_benchmarks()} == {2}  # one pyperf run per process


def test_each_process_is_kept_apart_with_its_layout_pad_and_canary(smoke_run):
    import json

    from gilbench.bench.plan.matrix import layout_pad

    cells = json.loads((smoke_run / "manifest.json").read_text())["cells"]
    for cell in cells:
        procs = cell["processes"]
        assert [p["index"] for p in procs] == [0, 1]
        assert [p["pad"] for p in procs] == [layout_pad(0), layout_pad(1)] and layout_pad(0) != layout_pad(1)
        assert all(len(p["values"]) == len(p["cpu"]) == 2 for p in procs)
        assert all(0 < p["canary_cpu"] <= p["canary"] * 1.05 for p in procs)  # CPU time cannot exceed wall time
        assert len({p["pid"] for p in procs}) == 2  # two processes, not one process twice


def test_csv_has_one_row_per_cell_with_scaling_columns(smoke_run):
    table = pd.read_csv(smoke_run / "results.csv")
    assert len(table) == SMOKE_CELLS
    for column in ("median", "speedup", "ideal", "efficiency", "parallelism", "busy_cores"):
        assert column in table.columns
    seq = table[table["backend"] == "sequential"]
    assert (seq["speedup"] == 1.0).all()
    # the GIL bounds CPU-bound threads to about one core of CPU time per wall second
    threads = table[(table["workload"] == "hello-cpu") & (table["backend"] == "threads")]
    assert (threads["parallelism"] < 1.3).all()
    sleepers = table[(table["workload"] == "hello-sleep") & (table["backend"] == "threads")]
    assert (sleepers["parallelism"] < 0.5).all()


def test_report_has_every_section_and_no_external_resource(smoke_run):
    html = (smoke_run / "report.html").read_text()
    for section in ("Verdicts", "Speedup against workers", "Per-core utilization", "All cells", "Every timed batch",
                    "The lesson, checked", "Environment", "How these numbers were taken"):
        assert section in html, section
    assert html.count("data:image/png;base64,") >= 3
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "Incomplete run" not in html
    # the method text states the profile's real sample counts (smoke: 2 processes, 0 warmup, 2 values)
    assert "2 worker processes, each timing\n0 warmup and 2 measured batches" in html
    assert "built-in method" not in html and "object at 0x" not in html


def test_report_rebuilds_from_the_folder_alone(smoke_run, tmp_path):
    import shutil

    copy = tmp_path / "copied"
    shutil.copytree(smoke_run, copy)
    (copy / "report.html").unlink()
    done = gilbench("report", str(copy))
    assert done.returncode == 0, done.stderr
    assert "Verdicts" in (copy / "report.html").read_text()

"""Failing, hanging, killed, interrupted, noisy and hostile runs, with real processes throughout."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.conftest import gilbench, gilbench_here

FAULTS = str(Path(__file__).with_name("fault_workloads.py"))

pytestmark = pytest.mark.slow  # every test here starts real runs or real process trees


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def cells_by_id(run: Path) -> dict[str, dict]:
    return {c["id"]: c for c in manifest(run)["cells"]}


def leftovers(marker: str) -> list[psutil.Process]:
    """Processes whose command line mentions ``marker`` (a test's own results folder), each with the command
    line read once in ``info`` (a process can end between the listing and a second read)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) or proc.info["status"] == psutil.STATUS_ZOMBIE and \
                    proc.ppid() == os.getpid():
                found.append(proc)
        except psutil.Error:
            pass
    return found


def faulty_run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    root = tmp_path / "results"
    done = gilbench("run", "--profile", "smoke", "--no-experiments", "--workload-module", FAULTS, "--output", str(root),
                    *args)
    return done, (root / "latest").resolve()


def test_a_raising_workload_fails_its_cells_and_the_run_goes_on(tmp_path):
    done, run = faulty_run(tmp_path, "--workload", "fault-raise,hello-sleep", "--workers", "2")
    assert done.returncode == 1, done.stderr
    assert "3 failed, 3 ok" in done.stderr.splitlines()[-1]
    cells = cells_by_id(run)
    for backend in ("sequential", "threads", "processes"):
        cell = next(c for c in cells.values() if c["workload"] == "fault-raise" and c["backend"] == backend)
        assert cell["status"] == "failed"
        error = cell["error"]
        assert error["error_type"] == "RuntimeError" and error["message"] == "task 1 broke on purpose", error
        assert "raise_on" in error["traceback"]
    assert all(c["status"] == "ok" for c in cells.values() if c["workload"] == "hello-sleep")
    html = (run / "report.html").read_text()
    assert "3 cells did not produce a timing" in html and "task 1 broke on purpose" in html
    import pyperf

    names = pyperf.BenchmarkSuite.load(str(run / "suite.json")).get_benchmark_names()
    assert not any(n.startswith("fault-raise") for n in names)  # no timing for work that did not complete


def test_a_hanging_cell_is_ended_whole_and_the_run_goes_on(tmp_path):
    t0 = time.monotonic()
    done, run = faulty_run(tmp_path, "--no-report", "--workload", "fault-hang,hello-sleep", "--backend", "processes",
                           "--workers", "2", "--timeout", "2")
    assert time.monotonic() - t0 < 60
    assert done.returncode == 1, done.stderr
    cells = cells_by_id(run)
    hung = [c for c in cells.values() if c["workload"] == "fault-hang"]
    assert [c["status"] for c in hung] == ["timeout"]
    assert "time limit of 2 s" in hung[0]["error"]["message"]
    assert all(c["status"] == "ok" for c in cells.values() if c["workload"] == "hello-sleep")
    assert leftovers(str(run)) == []


def test_a_probe_that_hangs_is_killed_at_its_limit_keeping_what_it_timed():
    """The estimate's one-task probe runs user code in a child: one that hangs is killed at the limit, and
    the workloads timed before it keep their figures (fault-hang itself does not hang in the probe)."""
    from gilbench.bench.measure.probe import probe

    t0 = time.monotonic()
    found = probe({"hello-sleep": {"params": {"seconds": 0.01}, "module": None},
                   "fault-hang-always": {"params": {"seconds": 3600.0, "in_probe": True}, "module": FAULTS}},
                  limit=3.0)
    assert time.monotonic() - t0 < 3.0 + 10
    assert set(found) == {"hello-sleep"} and found["hello-sleep"] >= 0.01


@pytest.mark.parametrize("backend, how", [("processes", "killed by signal 9"), ("threads", "killed by signal 9")])
def test_a_killed_worker_is_recorded_with_its_signal(tmp_path, backend, how):
    done, run = faulty_run(tmp_path, "--no-report", "--workload", "fault-kill", "--backend", backend, "--workers", "2")
    assert done.returncode == 1
    (cell,) = cells_by_id(run).values()
    assert cell["status"] == "failed" and cell["error"]["how"] == "signal", cell["error"]
    assert how in cell["error"]["message"] or how in json.dumps(cell["error"])
    assert leftovers(str(run)) == []


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_interrupt_keeps_finished_cells_and_resume_finishes_the_rest(tmp_path, signum, status):
    """Each signal stops the run alike: its exit status, the run marked interrupted with its finished cells,
    an incomplete report, the resume command, nothing left running. What a stop leaves does not depend on
    the signal, so one of them (SIGTERM: what a CI runner sends on cancel) is resumed to the end."""
    root = tmp_path / "results"
    # sleeps of 30 ms (smoke's 10 ms x 3): each of the 5 cells still takes about a second (2 pyperf processes),
    # so the signal, sent within 0.2 s of the first cell's end, finds the next one running
    cmd = [sys.executable, "-m", "gilbench", "run", "--profile", "smoke", "--no-experiments", "--workload",
           "hello-sleep", "--workers", "1,2", "--scale", "3", "--output", str(root)]
    # a shell's background job inherits SIGINT ignored (and Python keeps it so): restore it for the test
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = [p for p in root.glob("2*") if (p / "manifest.json").exists()] if root.exists() else []
        if runs and any(c["status"] == "ok" for c in manifest(runs[0])["cells"]):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("no cell finished in time")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    run = runs[0]
    first = manifest(run)
    assert first["status"] == "interrupted"
    finished = {c["id"]: c["started"] for c in first["cells"] if c["status"] == "ok"}
    assert finished and any(c["status"] == "pending" for c in first["cells"])
    assert "Incomplete run" in (run / "report.html").read_text()
    assert f"--resume {run}" in err
    assert leftovers(str(run)) == []
    if signum != signal.SIGTERM:
        return

    done = gilbench("run", "--resume", str(run))
    assert done.returncode == 0, done.stderr
    again = manifest(run)
    assert again["status"] == "complete" and all(c["status"] == "ok" for c in again["cells"])
    assert again["experiments_asked"] == [] and not again.get("experiments")  # --no-experiments kept by --resume
    assert {c["id"]: c["started"] for c in again["cells"] if c["id"] in finished} == finished
    assert "Incomplete run" not in (run / "report.html").read_text()


def test_resume_refuses_matrix_options(smoke_run):
    done = gilbench_here("run", "--resume", str(smoke_run), "--workers", "2")
    assert done.returncode == 2 and "drop --workers" in done.stderr


def test_hostile_names_are_escaped_end_to_end(tmp_path):
    done, run = faulty_run(tmp_path, "--workload", '<script>alert("x")</script> \'héllo\' & <b>', "--workers", "2")
    assert done.returncode == 0, done.stderr
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &#39;héllo&#39; &amp; &lt;b&gt;" in html
    table = pd.read_csv(run / "results.csv")
    assert table["workload"].eq('<script>alert("x")</script> \'héllo\' & <b>').all()
    assert all("/" not in p.name and "<" not in p.name for p in (run / "cells").iterdir())


def test_cells_run_beside_a_cpu_hog_are_flagged_noisy(tmp_path):
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(psutil.cpu_count())]
    try:
        time.sleep(0.5)
        root = tmp_path / "results"
        done = gilbench("run", "--profile", "smoke", "--no-experiments", "--no-report", "--workload", "hello-sleep",
                        "--backend", "sequential", "--scale", "5", "--output", str(root))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert done.returncode == 0, done.stderr
    # the report is built once the hogs are gone: it reads what the run recorded, not the machine now
    assert gilbench("report", str(root / "latest")).returncode == 0
    (cell,) = manifest((root / "latest").resolve())["cells"]
    assert cell["noisy"] and cell["noise_share"] > 0.3, cell
    assert "noisy" in done.stderr
    page = ((root / "latest") / "report.html").read_text()
    assert "1 of 1 finished cells flagged" in page and "others&#39; CPU share: 1" in page


def test_a_full_disk_mid_run_stops_with_a_clear_message_and_keeps_what_finished(tmp_path):
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))  # writes past 16 kB fail: a full disk

    root = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "gilbench", "run", "--profile", "smoke", "--no-experiments", "--workers", "1,2,3,4",
         "--output", str(root)],
        capture_output=True, text=True, timeout=300, preexec_fn=small_files,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot write to" in done.stderr and "File too large" in done.stderr
    assert "Traceback" not in done.stderr
    run = (root / "latest").resolve()
    state = manifest(run)  # still whole JSON: every write was atomic
    ok = {c["id"] for c in state["cells"] if c["status"] == "ok"}
    assert ok and len(ok) < len(state["cells"])
    import pyperf

    assert ok <= set(pyperf.BenchmarkSuite.load(str(run / "suite.json")).get_benchmark_names())


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawned_children_start_cleanly_and_leak_nothing(tmp_path, method):
    root = tmp_path / "results"
    done = gilbench("run", "--profile", "smoke", "--no-experiments", "--no-report", "--workload", "hello-sleep",
                    "--backend", "processes", "--workers", "2", "--start-method", method, "--output", str(root))
    assert done.returncode == 0, done.stderr
    run = (root / "latest").resolve()
    (cell,) = manifest(run)["cells"]
    assert cell["start_method"] == method
    logs = sorted((run / "cells").glob(f"{cell['slug']}.p*.log"))
    assert len(logs) == len(cell["processes"]) == 2  # one log per pyperf process
    for log in logs:
        assert "leaked" not in log.read_text() and "Traceback" not in log.read_text()
    assert leftovers(str(run)) == []


def test_a_runner_killed_with_sigkill_leaves_nothing_running(tmp_path):
    """kill -9 cannot be caught: the measured process and the sampler must notice by themselves."""
    root = tmp_path / "results"
    cmd = [sys.executable, "-m", "gilbench", "run", "--profile", "smoke", "--workload", "hello-sleep",
           "--backend", "processes", "--workers", "2", "--scale", "100", "--output", str(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a measured process (python -m gilbench.bench.measure.cell) is running
        running = [p for p in leftovers(str(root)) if "bench.measure.cell" in " ".join(p.info["cmdline"] or [])]
        if running:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("no measured process started")
    assert any("bench.measure.sampler" in " ".join(p.info["cmdline"] or []) for p in leftovers(str(root)))
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while leftovers(str(root)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(str(root)) == []

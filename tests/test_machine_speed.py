"""A slower host is invisible from inside a cell; the canary every measured process times shows it.

A CPU quota (cgroup v1 ``cpu.cfs_quota_us``) stands in for a busy host: the same benchmark run once
normally and once inside the quota. The canary never excuses a time row (code that slows the
interpreter would excuse itself), so the throttled run's time rows are never "no change": they are
slower, and each says that the candidate's machine ran slower by the canary.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cgroup
from tests.conftest import gilbench

MATRIX = ["--profile", "smoke", "--workload", "hello-cpu", "--backend", "sequential,processes", "--workers", "2",
          "--processes", "5", "--scale", "2", "--no-report", "--no-sampler", "--no-experiments"]


def _run(root: Path, quota: float | None) -> Path:
    cmd = [sys.executable, "-m", "gilbench", "run", *MATRIX, "--output", str(root)]
    if quota is None:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    else:
        with cgroup.cpu_quota(quota) as group:
            done = group.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return (root / "latest").resolve()


@pytest.mark.slow
@pytest.mark.serial
def test_a_run_under_a_cpu_quota_is_never_no_change_and_says_the_machine_was_slower(tmp_path):
    ok, reason = cgroup.available()
    if not ok:
        pytest.skip(reason)
    normal = _run(tmp_path / "normal", None)
    # a quota is spent in 100 ms periods: a short canary that starts early in one can finish unthrottled, and
    # with the smoke profile's few processes the canary's change then falls short of its level; a second
    # throttled run (seen needed once in many) keeps the test about the gate, not the quota's phase
    for attempt in range(2):
        throttled = _run(tmp_path / f"throttled{attempt}", 0.4)
        done = gilbench("compare", str(normal), str(throttled), "--json", str(tmp_path / "c.json"))
        assert done.returncode in (0, 1), done.stdout + done.stderr
        if "machine speed differed" in done.stdout:
            break
    # inside the quota, processes' canaries lost CPU time: flagged in the run itself
    cells = json.loads((throttled / "manifest.json").read_text())["cells"]
    assert any(c["noisy"] for c in cells)
    assert "machine speed differed" in done.stdout
    rows = json.loads((tmp_path / "c.json").read_text())["rows"]
    time_rows = [r for r in rows if r["metric"] == "time"]
    assert time_rows and not any(r["verdict"] == "no change" for r in time_rows)
    for row in time_rows:
        if row["verdict"] in ("slower", "inconclusive"):  # inconclusive: no earlier runs to know the run-to-run spread
            assert "canary" in row["note"] and "slower" in row["note"], row

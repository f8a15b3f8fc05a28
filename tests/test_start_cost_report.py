"""A user's start-cost workload is drawn as one from what the run folder recorded (``CellRecord.start_cost``):
``gilbench report`` runs in a fresh process that never imported the workload, so nothing live may be asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.make_runs import write_run

ROOT = Path(__file__).resolve().parent.parent


def _renamed(folder: Path, old: str, new: str) -> None:
    """The run's start-cost cells as if a user's workload ``new`` (declared with start_cost) had made them."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    for cell in manifest["cells"]:
        if cell["workload"] == old:
            cell["workload"], cell["start_cost"] = new, True
            cell["id"] = cell["id"].replace(f"{old}/", f"{new}/", 1)
            cell["slug"] = cell["slug"].replace(f"{old}__", f"{new}__", 1)
    path.write_text(json.dumps(manifest))


@pytest.mark.slow  # a real `gilbench report` in a process of its own
def test_a_users_start_cost_workload_is_drawn_by_report_in_a_fresh_process(tmp_path: Path) -> None:
    folder = write_run(tmp_path)
    _renamed(folder, "noop", "my-start")
    done = subprocess.run([sys.executable, "-m", "gilbench", "report", str(folder)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (folder / "report.html").read_text()
    assert "Start cost = time of the my-start workload" in html
    assert "Not measured: the run has no" not in html
    rows = (folder / "results.csv").read_text()
    assert "my-start/" in rows  # its cells are there, as cells, beside the start-cost table

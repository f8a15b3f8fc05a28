"""bench.plan.progress: a cell's estimate, and the progress line whose time left follows what cells really took."""

from __future__ import annotations

import io

from gilbench.bench.data.cells import Cell, Timing
from gilbench.bench.plan.progress import Progress, estimate_cell_seconds

CELL = Cell("hello-cpu", "threads", 2, 2, (0, 1), 8)


def test_an_estimate_grows_with_the_processes_and_the_task() -> None:
    small = estimate_cell_seconds(CELL, "cpu-bound", 0.01, Timing(processes=2, values=3, warmups=1))
    more = estimate_cell_seconds(CELL, "cpu-bound", 0.01, Timing(processes=4, values=3, warmups=1))
    longer = estimate_cell_seconds(CELL, "cpu-bound", 0.02, Timing(processes=2, values=3, warmups=1))
    assert 0 < small < more and small < longer


def test_the_time_left_is_scaled_by_what_the_finished_cells_took() -> None:
    out = io.StringIO()
    progress = Progress([10.0, 10.0, 10.0], out)
    progress.cell_done(0, CELL, "ok", 20.0)  # twice its estimate: the rest is taken to be twice theirs
    line = out.getvalue()
    assert line.startswith("[1/3] hello-cpu/threads/w2/c2") and "ok" in line and "~40 s left" in line

"""What a long run shows on the terminal: the plan up front, then cell i of N, elapsed, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..data.cells import Cell, Timing
from ..data.durations import format_duration
from ..data.stats import ideal_speedup

#: what one measured process costs besides its batches: the interpreter's start and imports, the canary, the
#: runner's accounting around it and the gap to the next (the recordings: 0.18 s a process on the 2-core
#: development VM, tests/fixtures/run-1cpu; 0.29 s on a 16-CPU VM, run-16cpu-device)
WORKER_START_S = 0.2
#: what starting one worker process costs, by start method (measured on the 2-core VM: docs/results.md)
PROCESS_START_S = {"fork": 0.004, "forkserver": 0.02, "spawn": 0.05}
#: what a warm pool's warm-up adds once per measured process (bench.backends._pools: every worker answers a call
#: that holds it 20 ms)
POOL_WARMUP_S = 0.02
#: between two cells: the fixture started, the processes merged into the suite, the manifest written
CELL_GAP_S = 0.03


def estimate_cell_seconds(cell: Cell, kind: str, task_s: float, timing: Timing, gil: bool = True) -> float:
    """A rough duration of one cell from one task's measured time: for the plan, the budget and the ETA.

    Besides the batches it counts what the recordings showed them to leave out: each process's own start
    (``WORKER_START_S``), and for models that start processes, each worker's start: every batch for the
    models that start them per batch (processes, cold pools), once per process for warm pools.
    """
    from ..backends import get_backend

    parallel = 1.0 if (cell.backend == "threads" and kind == "cpu-bound" and gil) else ideal_speedup(
        kind, cell.workers, cell.cores, cell.tasks
    )
    batch = task_s * cell.tasks / max(1.0, parallel)
    per_process, per_batch = WORKER_START_S, 0.0
    try:
        backend = get_backend(cell.backend)
    except ValueError:  # a model this installation has not (a resumed run's): its batches only
        backend = None
    if backend is not None and backend.uses_processes:
        start = PROCESS_START_S.get(cell.start_method or "fork", PROCESS_START_S["forkserver"])
        if getattr(backend, "warm", False):
            per_process += cell.workers * start + POOL_WARMUP_S
        else:
            per_process += start  # prepare: one no-op child (bench.backends.processes)
            per_batch = cell.workers * start
    batches = (timing.warmups + timing.values) * timing.loops
    return timing.processes * (per_process + batches * (batch + per_batch)) + CELL_GAP_S


class Progress:
    """Prints one line per finished cell; the estimate of time left is corrected as cells finish."""

    def __init__(self, estimates: list[float], stream: TextIO | None = None, total: int = 0, offset: int = 0) -> None:
        self.estimates = estimates
        self.total = total or len(estimates)
        self.offset = offset  # cells finished before (a resumed run)
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.done_estimate = 0.0
        self.done_actual = 0.0

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def cell_done(self, index: int, cell: Cell, status: str, seconds: float, note: str = "") -> None:
        self.done_estimate += self.estimates[index]
        self.done_actual += seconds
        remaining = sum(self.estimates[index + 1 :])
        if self.done_estimate > 0:
            remaining *= self.done_actual / self.done_estimate
        width = len(str(self.total))
        elapsed = time.monotonic() - self.started
        self.say(
            f"[{self.offset + index + 1:>{width}}/{self.total}] {cell.id:<34} {status:<7} {seconds:5.1f} s"
            f"{'  ' + note if note else ''}  | elapsed {format_duration(elapsed)}, ~{format_duration(remaining)} left"
        )

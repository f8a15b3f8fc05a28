"""What a long run shows on the terminal: the plan up front, then cell i of N, elapsed, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .matrix import Cell, Timing
from .stats import ideal_speedup

#: rough cost of starting one measured process (interpreter, imports, canary), for estimates only
WORKER_START_S = 0.2


def estimate_cell_seconds(cell: Cell, kind: str, task_s: float, timing: Timing, gil: bool = True) -> float:
    """A rough duration of one cell from one task's measured time: for the plan and the ETA."""
    parallel = 1.0 if (cell.backend == "threads" and kind == "cpu-bound" and gil) else ideal_speedup(
        kind, cell.workers, cell.cores, cell.tasks
    )
    batch = task_s * cell.tasks / max(1.0, parallel)
    batches = (timing.warmups + timing.values) * timing.loops
    return timing.processes * (WORKER_START_S + batches * batch)


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


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

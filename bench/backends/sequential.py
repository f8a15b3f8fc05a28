"""The baseline every speedup is divided by: all tasks, one after another, in the calling thread."""

from __future__ import annotations

from typing import Any, Callable

from .base import Backend, TaskFailed, thread_clocks


class Sequential(Backend):
    name = "sequential"
    description = "every task in turn in the calling thread (the speedup baseline)"
    family = "baseline"
    in_process = True
    fixed_workers = 1

    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        self.children_cpu = 0.0  # no child processes: all CPU time is the caller's own
        cpu0, wall0 = thread_clocks()
        try:
            return [task(i) for i in range(tasks)]
        except Exception as exc:
            raise TaskFailed.from_exception(0, exc) from exc
        finally:
            cpu1, wall1 = thread_clocks(end=True)
            self.thread_times = [(cpu1 - cpu0, wall1 - wall0)]

"""threading.Thread workers: shared memory, and in CPython with the GIL one runs Python at a time."""

from __future__ import annotations

import threading
from typing import Any, Callable

from .base import Backend, TaskFailed, assignments, thread_clocks


class Threads(Backend):
    name = "threads"
    description = "one threading.Thread per worker, tasks split statically, results in a shared list"
    family = "threads"
    in_process = True

    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        self.children_cpu = 0.0  # no child processes: all CPU time is the caller's own
        results: list[Any] = [None] * tasks
        failures: list[TaskFailed] = []
        clocks: list[tuple[float, float]] = []

        def work(worker: int, indices: list[int]) -> None:
            cpu0, wall0 = thread_clocks()
            try:
                for i in indices:
                    results[i] = task(i)
            except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
                failures.append(TaskFailed.from_exception(worker, exc))
            cpu1, wall1 = thread_clocks(end=True)
            clocks.append((cpu1 - cpu0, wall1 - wall0))

        threads = [
            threading.Thread(target=work, args=(w, idx), name=f"gilbench-worker-{w}")
            for w, idx in enumerate(assignments(tasks, workers))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.thread_times = clocks
        if failures:
            raise failures[0]
        return results

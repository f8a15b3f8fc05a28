"""The canary: a fixed reference loop every measured process times outside its timed region.

A host that got slower (other guests, a CPU quota, a lower clock) is invisible from inside a cell's
own figures; the same fixed work timed in every process shows it. The wall time says how fast the
machine ran the reference work; its CPU time below the wall time says the process was kept off the
CPU (throttled or preempted) while it ran.
"""

from __future__ import annotations

import statistics
import time

#: steps of the reference loop in one repetition (about 10 ms on a 2020s x86-64 core, CPython 3.11)
ITERATIONS = 200_000
#: repetitions; the median is recorded, so one interrupted repetition does not move it
REPEATS = 3


def _reference(iterations: int) -> int:
    x = 0
    for i in range(iterations):
        x = (x * 31 + i) % 1_000_003
    return x


def measure(iterations: int = ITERATIONS, repeats: int = REPEATS) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) of ``repeats`` runs of the reference loop."""
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        _reference(iterations)
        t1, c1 = time.perf_counter(), time.process_time()
        walls.append(t1 - t0)
        cpus.append(c1 - c0)
    return statistics.median(walls), statistics.median(cpus)

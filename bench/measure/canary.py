"""The canary: a fixed reference loop every measured process times outside its timed region.

A host that got slower (other guests, a CPU quota, a lower clock) is invisible from inside a cell's
own figures; the same fixed work timed in every process shows it. The wall time says how fast the
machine ran the reference work; its CPU time below the wall time says the process was kept off the
CPU (throttled or preempted) while it ran.

The readings are totals over the repetitions, not a median: a CPU quota (cgroup ``cpu.cfs_quota_us``)
stalls a single thread only now and then (here, under a 0.7-CPU quota, about half of fresh processes
lost 30 ms in their canary and the others nothing), and a median of the repetitions hid every
stall, while totals show them and, over a run's processes, show the slowdown.
"""

from __future__ import annotations

import time

#: steps of the reference loop in one repetition (about 10 ms on a 2020s x86-64 core, CPython 3.11)
ITERATIONS = 200_000
#: repetitions, timed as one (about 30 ms in all)
REPEATS = 3


def _reference(iterations: int) -> int:
    x = 0
    for i in range(iterations):
        x = (x * 31 + i) % 1_000_003
    return x


def measure(iterations: int = ITERATIONS, repeats: int = REPEATS) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``repeats`` runs of the reference loop, in all."""
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        _reference(iterations)
    t1, c1 = time.perf_counter(), time.process_time()
    return t1 - t0, c1 - c0

"""mixed-0 ... mixed-100: a task that computes for a set fraction of its time and waits for the rest.

A task of nominal duration ``ms`` first spins pure-Python arithmetic (holding the GIL) until its own
thread has used ``cpu_fraction * ms`` of CPU time (``time.thread_time()``, read every 1,000 loop
steps, ~40 us), then sleeps ``(1 - cpu_fraction) * ms`` (releasing it). Counting the CPU part in the
thread's own CPU time makes the fraction exact on any machine and under contention: a thread waiting
for the GIL, or for a core, uses no CPU time, so it computes exactly as long as it would alone.

What to expect, and what the report can check: N tasks on N threads under the GIL serialise their CPU
parts and overlap their sleeps, so a batch takes about N * f * ms + (1 - f) * ms, which is Amdahl's
law with serial fraction f: the fitted serial fraction should come out close to ``cpu_fraction``
(0 for mixed-0, 1 for mixed-100). In processes, or threads without a GIL, nothing is serial but the
cores: about 0 up to as many tasks as cores. The report reads ``cpu_fraction`` from the cell's params.

Sizing: ``ms`` is the size (default 40 ms, exact by construction; the CPU part overshoots by at most
one check interval). The async variant spins the same way (blocking the loop) and awaits the sleep.
"""

from __future__ import annotations

import time

from .workload import Workload

#: loop steps between two reads of the thread's CPU clock (~40 us on a 2020s x86-64 core, CPython 3.11)
CHECK_EVERY = 1000


def spin(seconds: float) -> int:
    """Pure-Python arithmetic until this thread has used ``seconds`` more CPU time; the loop steps run."""
    deadline = time.thread_time() + seconds
    x, steps = 0, 0
    while time.thread_time() < deadline:
        for i in range(CHECK_EVERY):
            x = (x * 31 + i) % 1_000_003
        steps += CHECK_EVERY
    return steps


def mixed(n: int, cpu_fraction: float = 0.5, ms: float = 40.0) -> str:
    """Compute for ``cpu_fraction * ms`` of this thread's CPU time, then sleep for the rest of ``ms``."""
    if not 0.0 <= cpu_fraction <= 1.0:
        raise ValueError(f"cpu_fraction must be between 0 and 1, not {cpu_fraction}")
    spin(cpu_fraction * ms / 1000)
    wait = (1.0 - cpu_fraction) * ms / 1000
    if wait > 0:
        time.sleep(wait)
    return f"mixed {n}: {cpu_fraction:.0%} of {ms:g} ms on the CPU"


async def mixed_async(n: int, cpu_fraction: float = 0.5, ms: float = 40.0) -> str:
    """mixed for an event loop: the CPU part blocks the loop, the waiting part lets other tasks run."""
    import asyncio  # here, not at the top: a spawned child importing this module should not pay for it

    if not 0.0 <= cpu_fraction <= 1.0:
        raise ValueError(f"cpu_fraction must be between 0 and 1, not {cpu_fraction}")
    spin(cpu_fraction * ms / 1000)
    wait = (1.0 - cpu_fraction) * ms / 1000
    if wait > 0:
        await asyncio.sleep(wait)
    return f"mixed {n}: {cpu_fraction:.0%} of {ms:g} ms on the CPU"


def _declare(percent: int) -> Workload:
    fraction = percent / 100
    return Workload(
        name=f"mixed-{percent}",
        kind="io-bound" if percent == 0 else "cpu-bound",
        func=mixed,
        params={"cpu_fraction": fraction, "ms": 40.0},
        size_param="ms",
        description=f"a task of ms: {percent} % of it pure-Python arithmetic on the thread's own CPU clock "
        f"(holds the GIL), the rest a sleep (releases it); Amdahl's serial fraction should come out ~{fraction:g} "
        "in threads with the GIL, ~0 in processes",
        async_func=mixed_async,
    )


MIXED_0 = _declare(0)
MIXED_25 = _declare(25)
MIXED_50 = _declare(50)
MIXED_75 = _declare(75)
MIXED_100 = _declare(100)

"""The lesson's ``hello(n)``, made measurable: a sleep-bound and a CPU-bound variant.

The lesson slept a random 1-3 s; a harness needs deterministic work, so the sleep is a fixed,
configurable time and the CPU variant does a fixed number of work units (pure-Python arithmetic
that holds the GIL). One unit's duration on a machine is measured by the sequential baseline and
shown in the report, not assumed.
"""

from __future__ import annotations

import time

from .workload import Workload

#: iterations of the inner loop in one CPU work unit (about 0.5 ms on a 2020s x86-64 core, CPython 3.11)
UNIT_ITERATIONS = 10_000


def hello_sleep(n: int, seconds: float = 0.1) -> str:
    """Sleep ``seconds`` (releasing the GIL, like waiting on I/O), then greet."""
    time.sleep(seconds)
    return f"Hello from {n}"


async def hello_sleep_async(n: int, seconds: float = 0.1) -> str:
    """hello_sleep for an event loop: ``await asyncio.sleep(seconds)`` lets other tasks run meanwhile."""
    import asyncio  # here, not at the top: a spawned child importing this module should not pay for it

    await asyncio.sleep(seconds)
    return f"Hello from {n}"


def hello_cpu(n: int, units: int = 200) -> str:
    """Compute ``units`` work units of integer arithmetic, holding the GIL throughout, then greet."""
    x = n
    for _ in range(units):
        for i in range(UNIT_ITERATIONS):
            x = (x * 31 + i) % 1_000_003
    return f"Hello from {n} ({x})"


SLEEP = Workload(
    name="hello-sleep",
    kind="io-bound",
    func=hello_sleep,
    params={"seconds": 0.1},
    size_param="seconds",
    description="hello(n) that sleeps a fixed time: waiting releases the GIL",
    async_func=hello_sleep_async,
)

CPU = Workload(
    name="hello-cpu",
    kind="cpu-bound",
    func=hello_cpu,
    params={"units": 200},
    size_param="units",
    description=f"hello(n) that computes: units x {UNIT_ITERATIONS:,} pure-Python loop steps, holding the GIL",
)

"""A task that does nothing: what a model costs to start one worker and join it.

Run with tasks=1 and workers=1 under each execution model, its time is that model's start cost
(worker start, hand-off of one task and its result, join or shut-down) plus one call; the same cell
under the sequential baseline is the call alone, so start cost = time(noop, model) - time(noop,
baseline). It has an async variant, so that asyncio's cost (a new event loop) is measured too.
"""

from __future__ import annotations

from .workload import Workload


def noop(n: int) -> int:
    """Return at once."""
    return n


async def noop_async(n: int) -> int:
    """Return at once, as a coroutine."""
    return n


NOOP = Workload(
    name="noop",
    kind="cpu-bound",
    func=noop,
    description="a task that returns at once: with tasks=1, workers=1, a model's start cost over the baseline's",
    async_func=noop_async,
    start_cost=True,
)

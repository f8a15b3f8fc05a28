"""asyncio: every task a coroutine in one event loop, in the calling thread; ``workers`` = how many at once.

A batch is ``asyncio.run`` of one ``asyncio.gather`` over all tasks (a new event loop per batch, as
a program that calls ``asyncio.run`` per fan-out gets), each task entering an ``asyncio.Semaphore``
of ``workers`` places first. Tasks overlap only while they await: this model runs a workload's async
variant (``Workload.async_func``, e.g. ``await asyncio.sleep`` for hello-sleep), and a workload that
has none cannot run under it (``cannot_run``): its cells are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Mapping

from .base import Backend, TaskFailed, thread_clocks


class AsyncioLoop(Backend):
    name = "asyncio"
    description = (
        "each task's async variant as a coroutine, all gathered in one event loop (asyncio.run per "
        "batch) in the calling thread, at most `workers` at once (asyncio.Semaphore)"
    )
    family = "asyncio"
    in_process = True

    @classmethod
    def cannot_run(cls, workload: Any) -> str:
        if getattr(workload, "async_func", None) is not None:
            return ""
        work = "CPU work" if getattr(workload, "kind", "") == "cpu-bound" else "its blocking calls"
        return f"{workload.name} has no async variant: asyncio runs coroutines, and {work} would block the loop"

    @classmethod
    def task_for(cls, workload: Any, params: Mapping[str, Any]) -> Callable[[int], Any]:
        return workload.async_task(params)

    def prepare(self, workers: int | None = None, task: Callable[[int], Any] | None = None) -> None:
        """One empty event loop: the first batch does not pay for asyncio's lazily loaded parts."""
        asyncio.run(asyncio.sleep(0))

    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        """``task(i)`` should return an awaitable (an async variant); a plain function's result is
        taken as it is, the loop blocked while it ran (so such a task runs strictly in turn)."""
        self.children_cpu = 0.0  # no child processes: all CPU time is the caller's own
        cpu0, wall0 = thread_clocks()
        outcomes = asyncio.run(_gather(task, tasks, workers))
        cpu1, wall1 = thread_clocks(end=True)
        self.thread_times = [(cpu1 - cpu0, wall1 - wall0)]  # the loop's one thread
        for outcome in outcomes:
            if isinstance(outcome, _Failed):
                raise TaskFailed.from_exception(0, outcome.exc) from outcome.exc
        return outcomes


class _Failed:
    """A task's exception, told apart from a task that returns an exception object."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _gather(task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
    limit = asyncio.Semaphore(max(1, workers))

    async def one(i: int) -> Any:
        async with limit:
            try:
                value = task(i)
                if inspect.isawaitable(value):
                    value = await value
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure fails the batch
                return _Failed(exc)
            return value

    # every task runs to its end, then the first failure (in task order) is raised
    return await asyncio.gather(*(one(i) for i in range(tasks)))

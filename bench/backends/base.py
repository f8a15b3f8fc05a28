"""The one interface every execution model implements, and the error it raises."""

from __future__ import annotations

import time
import traceback
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Mapping


class TaskFailed(Exception):
    """A batch did not complete: a task raised, or a worker died or was killed.

    ``how`` is "raised", "exited" (non-zero exit code) or "signal" (killed, e.g. out of memory).
    """

    def __init__(
        self,
        how: str,
        worker: int,
        error_type: str = "",
        message: str = "",
        tb: str = "",
        exitcode: int | None = None,
    ) -> None:
        self.how, self.worker, self.error_type = how, worker, error_type
        self.message, self.tb, self.exitcode = message, tb, exitcode
        super().__init__(self.summary())

    def summary(self) -> str:
        if self.how == "raised":
            return f"worker {self.worker}: {self.error_type}: {self.message}"
        if self.how == "signal":
            return f"worker {self.worker} killed by signal {-(self.exitcode or 0)}"
        return f"worker {self.worker} exited with code {self.exitcode} {self.message}".rstrip()

    @classmethod
    def from_exception(cls, worker: int, exc: BaseException) -> "TaskFailed":
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls("raised", worker, type(exc).__name__, str(exc), tb)

    def as_dict(self) -> dict[str, Any]:
        return {
            "how": self.how,
            "worker": self.worker,
            "error_type": self.error_type,
            "message": self.message if self.how == "raised" else self.summary(),
            "traceback": self.tb,
            "exitcode": self.exitcode,
        }


def assignments(tasks: int, workers: int) -> list[list[int]]:
    """The static split of task indices over workers: task i goes to worker i mod workers."""
    return [list(range(w, tasks, workers)) for w in range(workers)]


class Backend(ABC):
    """An execution model: runs one batch of tasks on ``workers`` workers and returns when all ended.

    Subclasses set ``name`` (what users type), ``description``, ``family`` (how reports group
    models: "baseline", "threads", "processes", "pool", "asyncio", "subinterpreters") and
    ``in_process`` (whether the workers share the calling process: threads, thread pools, asyncio,
    subinterpreters). A backend that starts processes sets ``uses_processes`` so that its start
    method is recorded; one tied to a start method names it in ``fixed_start_method``.

    Two class-level questions let the harness skip a cell with a reason instead of running it:
    ``unavailable(interpreter)`` (can this model run on that interpreter at all? answered from the
    interpreter's description, without importing anything there) and ``cannot_run(workload)``.

    ``prepare(workers, task)`` runs once per measured process before any timed batch (warm pools are
    built there); ``close()`` ends what it built. A backend is also a context manager that closes.

    ``children_cpu`` is the CPU seconds (user + system) that the last batch's child processes
    reported for themselves: for a backend that starts processes per batch, whole processes from
    their start to the end of their tasks; for a warm process pool, what its workers used since
    their previous report. 0.0 for a backend that runs in the calling process. ``run_batch`` resets
    it. A batch's CPU time is the caller's own CPU time (RUSAGE_SELF) over the batch plus this:
    RUSAGE_CHILDREN cannot be used, as it misses children that are not the caller's own
    (forkserver's are the server's) and those not yet waited for.

    ``thread_times`` is, for a model whose work runs in threads of the calling process, one (CPU
    seconds, wall seconds) pair per worker thread (or per task, for a pool) of the last batch: each
    thread reads its own CPU clock (``time.thread_time``) and the wall clock when it starts its work
    and when it ends it, and hands both back with its results, so nothing is read across threads while
    the batch runs. Their CPU share of the wall time says how long the threads ran; the rest they
    waited (for the GIL, for I/O, for a core). Empty for models whose work runs in other processes.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    #: how reports group models: baseline, threads, processes, pool, asyncio, subinterpreters
    family: ClassVar[str] = "other"
    #: whether the workers run inside the calling process (threads, asyncio, subinterpreters)
    in_process: ClassVar[bool] = True
    uses_processes: ClassVar[bool] = False
    #: the start method this model always uses (processes-fork, ...); None: the one it is given
    fixed_start_method: ClassVar[str | None] = None
    #: a backend with a fixed worker count (the sequential baseline) lists it here
    fixed_workers: ClassVar[int | None] = None
    #: CPU seconds the last batch's child processes reported for themselves (see above)
    children_cpu: float = 0.0

    def __init__(self, start_method: str | None = None) -> None:
        # a model tied to a start method keeps it whatever it is given
        self.start_method = self.fixed_start_method or start_method
        self.children_cpu: float = 0.0
        #: (CPU seconds, wall seconds) of each worker thread of the last batch (see above)
        self.thread_times: list[tuple[float, float]] = []

    @classmethod
    def unavailable(cls, interpreter: dict[str, Any]) -> str:
        """"" if this model can run on the interpreter ``interpreter`` describes, else why not.

        ``interpreter`` is a description (keys: version "3.14.0", build "gil"/"free-threading",
        gil_enabled, default_start_method, start_methods, subinterpreters); a missing key is not
        held against the model.
        """
        method = cls.fixed_start_method
        methods = interpreter.get("start_methods")
        if method and methods is not None and method not in methods:
            version = interpreter.get("version", "")
            return (
                f"start method {method!r} is not available on this platform"
                f"{' with Python ' + version if version else ''} (it has: {', '.join(methods) or 'none'})"
            )
        return ""

    @classmethod
    def cannot_run(cls, workload: Any) -> str:
        """"" if this model can run ``workload`` (a workloads.Workload), else why not."""
        return ""

    @classmethod
    def task_for(cls, workload: Any, params: Mapping[str, Any]) -> Callable[[int], Any]:
        """The callable this model runs for one task of ``workload`` with ``params`` (picklable)."""
        return workload.task(params)

    def prepare(self, workers: int | None = None, task: Callable[[int], Any] | None = None) -> None:
        """Once per measured process, before any timed batch: set up what a program pays for once
        (e.g. a forkserver, lazily imported machinery, a warm pool of ``workers`` workers that has
        already loaded ``task``'s module), so that no batch, the first included, pays it.

        A warm pool that was not prepared (or prepared for another worker count) is made by the
        first batch that needs it, which then pays for it."""

    def close(self) -> None:
        """End what ``prepare`` or the batches left running (warm pools). Safe to call twice."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @abstractmethod
    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        """Run ``task(i)`` for i in range(tasks) on ``workers`` workers; results in index order.

        Raises TaskFailed if any task raised or any worker did not end cleanly: a batch that did
        not complete must never yield a timing. Sets ``children_cpu`` for this batch (0.0 first), and
        ``thread_times`` where its work runs in threads of this process.
        """


def thread_clocks(end: bool = False) -> tuple[float, float]:
    """(this thread's CPU seconds, the wall clock) now: read by a worker thread at its start and (``end``)
    at its end. The wall clock is read first at the start and last at the end, so the wall interval holds
    the CPU interval and CPU seconds never exceed wall seconds: the wait share stays within [0, 1]."""
    if end:
        cpu = time.thread_time()
        return cpu, time.perf_counter()
    wall = time.perf_counter()
    return time.thread_time(), wall

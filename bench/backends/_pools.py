"""What the pool models share: warm or cold pools, one submission per task, results in task order.

A *cold* pool is created inside ``run_batch`` and shut down (its workers ended and waited for)
before it returns: the batch pays the pool's start-up and shut-down. A *warm* pool is created in
``prepare(workers, task)``, its workers started and the task's module loaded in each, reused by
every batch, and ended by ``close()``: a batch pays only the work and the hand-offs.

Every task is wrapped (``call_in_process``, or ``_calls.call_in_thread``) so that what comes back is data:
(ok, result or failure, worker id, CPU seconds, thread clocks); a thread worker reads its own CPU
clock and the wall clock around each task (``Backend.thread_times``). A task that raised is reported
with its type, message and traceback as formatted where it ran; the worker id (a pid, or a thread's ident) gives
the failure a worker number. A process worker reads its own CPU time (``own_cpu_seconds``) after
each task, so a batch's ``children_cpu`` is, per worker, its last reading in this batch minus its
last reading before it (the whole reading for a worker new in this batch): what the workers used
for this batch, whichever start method made them.

A worker that dies (killed by a signal, ``os._exit``) breaks the batch, never hangs it:
ProcessPoolExecutor marks itself broken (BrokenProcessPool), and for multiprocessing.Pool, which
would silently replace the worker and leave its task's result pending for ever, the wait watches
the workers' sentinels. The pool is then ended and the batch raises TaskFailed naming the worker
and its exit code. This module is no model itself (``bench.data.plugins.discover`` skips ``_`` modules).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from abc import abstractmethod
from typing import Any, Callable, ClassVar

from .base import Backend, TaskFailed
from .processes import own_cpu_seconds

#: how often a wait on a multiprocessing.Pool checks that its workers are alive; results are not delayed
POLL_S = 0.05
#: how long each warm-up call holds its worker at first (doubled each round), so that every worker
#: of the pool gets one; and the most rounds tried
WARMUP_HOLD_S = 0.02
WARMUP_ROUNDS = 8

#: (ok, result or TaskFailed.as_dict(), worker id: pid or thread ident, CPU seconds or None,
#: (the task's thread CPU seconds, its wall seconds) or None)
Outcome = tuple[bool, Any, Any, "float | None", "tuple[float, float] | None"]


def call_in_process(task: Callable[[int], Any], index: int) -> Outcome:
    """Run one task in a pool's worker process: its result or failure, pid and CPU reading."""
    try:
        value = task(index)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
        return False, TaskFailed.from_exception(-1, exc).as_dict(), os.getpid(), own_cpu_seconds(), None
    return True, value, os.getpid(), own_cpu_seconds(), None


def hello_in_process(task: Any, hold: float) -> tuple[int, float]:
    """Warm-up call: ``task`` arrived (so its module is imported here); hold the worker a while."""
    time.sleep(hold)
    return os.getpid(), own_cpu_seconds()


def failed_outcome(exc: BaseException) -> Outcome:
    """A task that the pool itself could not run (e.g. it could not be pickled)."""
    return False, TaskFailed.from_exception(-1, exc).as_dict(), None, None, None


def has_ended(process: Any) -> bool:
    """Whether a worker process has ended, without reaping it (its sentinel is readable)."""
    try:
        return bool(multiprocessing.connection.wait([process.sentinel], 0))
    except (ValueError, OSError):  # closed: it ended long ago
        return True


class PoolBackend(Backend):
    """A pool model: subclasses say how to open, feed and end their pool; ``warm`` says when."""

    family = "pool"
    #: True: made in prepare() and reused by every batch; False: made and ended by each batch
    warm: ClassVar[bool] = True
    #: the wrappers that run in a worker (module-level, so that they pickle by reference)
    worker_call: ClassVar[Callable[..., Outcome]] = staticmethod(call_in_process)
    worker_hello: ClassVar[Callable[..., Any]] = staticmethod(hello_in_process)

    def __init__(self, start_method: str | None = None) -> None:
        super().__init__(start_method)
        self._pool: Any = None
        self._pool_workers = 0
        self._numbers: dict[Any, int] = {}  # worker id -> worker number, in order of first appearance
        self._cpu: dict[Any, float] = {}  # worker pid -> its last CPU reading

    # --- what each pool kind says ---------------------------------------------------------------
    @abstractmethod
    def _open(self, workers: int) -> Any:
        """A new pool of ``workers`` workers."""

    @abstractmethod
    def _call_all(self, pool: Any, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        """``fn(*args)`` for each args in ``calls`` on the pool, their results in order."""

    @abstractmethod
    def _execute(self, pool: Any, task: Callable[[int], Any], tasks: int) -> list[Outcome]:
        """One outcome per task, in order. If the pool broke (a worker died), it ends the pool and
        raises TaskFailed."""

    @abstractmethod
    def _shutdown(self, pool: Any) -> None:
        """End the pool once its work is done: its workers exit and are waited for."""

    def _abandon(self, pool: Any) -> None:
        """End the pool after a failure, at once (by default as ``_shutdown``)."""
        self._shutdown(pool)

    # --- the Backend interface ----------------------------------------------------------------------
    def prepare(self, workers: int | None = None, task: Callable[[int], Any] | None = None) -> None:
        """Warm: the pool, every worker started and holding ``task``'s module. Cold: a one-worker pool
        made and ended once, so that lazily imported machinery (and a forkserver) is no batch's cost."""
        if self.warm:
            if workers:
                self._start(workers, task)
            return
        pool = self._open(1)
        try:
            self._warm_up(pool, 1, task)
        finally:
            self._shutdown(pool)
            self._forget()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            self._shutdown(pool)
        self._forget()

    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        self.children_cpu = 0.0
        self.thread_times = []
        if self.warm:
            if self._pool is None or self._pool_workers != workers:
                self._start(workers, task)  # not prepared for this worker count: this batch pays
            pool = self._pool
        else:
            self._forget()  # new workers: a pid may repeat one of a previous batch's
            pool = self._open(workers)
        try:
            outcomes = self._execute(pool, task, tasks)
        except BaseException:
            if self.warm:
                self._pool = None
                self._forget()
            self._abandon(pool)
            raise
        if not self.warm:
            self._shutdown(pool)
        return self._settle(outcomes)

    # --- shared machinery -----------------------------------------------------------------------
    def _forget(self) -> None:
        self._numbers.clear()
        self._cpu.clear()

    def _number(self, worker_id: Any) -> int:
        if worker_id is None:
            return -1
        return self._numbers.setdefault(worker_id, len(self._numbers))

    def _start(self, workers: int, task: Callable[[int], Any] | None) -> None:
        self.close()
        pool = self._open(workers)
        try:
            self._warm_up(pool, workers, task)
        except BaseException:
            self._abandon(pool)
            self._forget()
            raise
        self._pool, self._pool_workers = pool, workers

    def _warm_up(self, pool: Any, workers: int, task: Any) -> None:
        """Rounds of ``workers`` calls, each holding its worker a while, until every worker answered:
        all started, each with ``task`` unpickled (its module imported) and a first CPU reading."""
        seen: set[Any] = set()
        hold = WARMUP_HOLD_S
        for _ in range(WARMUP_ROUNDS):
            for worker_id, cpu in self._call_all(pool, self.worker_hello, [(task, hold)] * workers):
                seen.add(worker_id)
                self._number(worker_id)
                if cpu is not None:
                    self._cpu[worker_id] = cpu
            if len(seen) >= workers:
                return
            hold *= 2  # a worker still starting (spawn): hold the others longer

    def _settle(self, outcomes: list[Outcome]) -> list[Any]:
        """The results in order; ``children_cpu`` from the workers' readings; the first failure raised."""
        readings: dict[Any, float] = {}
        results: list[Any] = []
        failure: TaskFailed | None = None
        clocks: list[tuple[float, float]] = []
        for ok, payload, worker_id, cpu, clock in outcomes:
            if clock is not None:
                clocks.append((clock[0], clock[1]))
            if cpu is not None:
                readings[worker_id] = max(cpu, readings.get(worker_id, 0.0))
            if not ok and failure is None:
                failure = TaskFailed(
                    "raised", self._number(worker_id), payload["error_type"], payload["message"], payload["traceback"]
                )
            results.append(payload if ok else None)
        self.children_cpu = sum(cpu - self._cpu.get(pid, 0.0) for pid, cpu in readings.items())
        self.thread_times = clocks
        self._cpu.update(readings)
        if failure is not None:
            raise failure
        return results

    def _dead_worker(self, processes: dict[int, Any], what: str) -> TaskFailed:
        """The failure for a pool that broke: the worker that died (not one the pool then terminated)."""
        codes = [(pid, proc.exitcode) for pid, proc in processes.items()]
        for pid, code in sorted(codes, key=lambda pc: pc[1] == -signal.SIGTERM):
            if code:
                how = "signal" if code < 0 else "exited"
                return TaskFailed(how, self._number(pid), exitcode=code, message=f"({what})")
        return TaskFailed("exited", -1, message=f"({what}; no worker's exit code could be read)")


class FuturesPool(PoolBackend):
    """A concurrent.futures executor as a pool: one ``submit`` per task."""

    def _call_all(self, pool: Any, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        futures = [pool.submit(fn, *args) for args in calls]
        return [future.result() for future in futures]

    def _shutdown(self, pool: Any) -> None:
        pool.shutdown(wait=True)

    def _abandon(self, pool: Any) -> None:
        pool.shutdown(wait=True, cancel_futures=True)

    def _broken(self, pool: Any, exc: BaseException, processes: dict[int, Any]) -> TaskFailed | None:
        """The failure for a pool that ``exc`` says is broken (having ended the pool); None if it is not."""
        return None

    def _processes(self, pool: Any) -> dict[int, Any]:
        return {}

    def _execute(self, pool: Any, task: Callable[[int], Any], tasks: int) -> list[Outcome]:
        futures: list[concurrent.futures.Future] = []
        processes: dict[int, Any] = {}
        try:
            for i in range(tasks):
                futures.append(pool.submit(self.worker_call, task, i))
        except BaseException as exc:  # the pool broke while tasks were going out
            processes.update(self._processes(pool))
            failure = self._broken(pool, exc, processes)
            if failure is None:
                raise
            raise failure from exc
        processes.update(self._processes(pool))  # before any shut-down forgets them
        concurrent.futures.wait(futures)  # a broken pool fails every pending future: no hang
        processes.update(self._processes(pool))
        outcomes: list[Outcome] = []
        for future in futures:
            exc = future.exception()
            if exc is None:
                outcomes.append(future.result())
                continue
            failure = self._broken(pool, exc, processes)
            if failure is not None:
                raise failure from exc
            outcomes.append(self._failed_outcome(exc))
        return outcomes

    def _failed_outcome(self, exc: BaseException) -> Outcome:
        """The outcome of a task whose future raised although the wrapper catches everything: the
        pool could not run it (it did not pickle, ...)."""
        return failed_outcome(exc)

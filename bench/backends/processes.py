"""multiprocessing.Process workers: real processes, results handed back through a Queue.

Process start-up is inside the timed batch: it is the price a user pays for each batch here.
The start method is explicit (the interpreter's default when none is given) and recorded.
Every child's exit code is checked: a child that died or was killed fails the batch.

Each child reports its own CPU time with its results (``Backend.children_cpu``): the parent's
RUSAGE_CHILDREN would see fork's and spawn's children once reaped, but never forkserver's, which are
the server's children. Self-reported, the figure means the same under every start method.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from typing import Any, Callable

from .base import Backend, TaskFailed, assignments

#: how often the parent checks for children that died without reporting; arrivals are not delayed
POLL_S = 0.05


def own_cpu_seconds() -> float:
    """CPU seconds (user + system) of this whole process since it started, all its threads, and of
    the children it has waited for (a task's own subprocesses)."""
    try:
        import resource
    except ImportError:  # not POSIX: os.times
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _child(results: Any, worker: int, task: Callable[[int], Any], indices: list[int]) -> None:
    # messages are (worker, ok, payload, cpu seconds): the CPU time is read after the tasks, so it
    # covers the process's start-up (interpreter, imports, unpickling under spawn) and its work
    try:
        done = [(i, task(i)) for i in indices]
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
        results.put((worker, False, TaskFailed.from_exception(worker, exc).as_dict(), own_cpu_seconds()))
    else:
        results.put((worker, True, done, own_cpu_seconds()))


def _hello(results: Any) -> None:
    results.put(None)


class Processes(Backend):
    name = "processes"
    description = "one multiprocessing.Process per worker, started per batch, results through a Queue"
    family = "processes"
    in_process = False
    uses_processes = True

    def prepare(self, workers: int | None = None, task: Callable[[int], Any] | None = None) -> None:
        """One no-op child and a Queue round trip: starts the forkserver (if that is the method) and
        imports multiprocessing's lazily loaded parts, which otherwise made the first batch ~10 % slower."""
        ctx = multiprocessing.get_context(self.start_method)
        results_queue = ctx.Queue()
        proc = ctx.Process(target=_hello, args=(results_queue,), name="gilbench-prepare")
        proc.start()
        try:
            results_queue.get(timeout=120)
        finally:
            proc.join()
            results_queue.close()
            results_queue.join_thread()

    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        self.children_cpu = 0.0
        ctx = multiprocessing.get_context(self.start_method)
        results_queue = ctx.Queue()
        procs = [
            ctx.Process(target=_child, args=(results_queue, w, task, idx), name=f"gilbench-worker-{w}")
            for w, idx in enumerate(assignments(tasks, workers))
        ]
        for proc in procs:
            proc.start()
        try:
            results = self._collect(results_queue, procs, tasks)
        except BaseException:
            for proc in procs:  # the batch has failed: stop the rest now rather than wait for them
                if proc.is_alive():
                    proc.kill()
            raise
        finally:
            for proc in procs:
                proc.join()
            results_queue.close()
            results_queue.join_thread()
        for w, proc in enumerate(procs):
            if proc.exitcode:
                how = "signal" if proc.exitcode < 0 else "exited"
                raise TaskFailed(how, w, exitcode=proc.exitcode)
        return results

    def _collect(self, results_queue: Any, procs: list[Any], tasks: int) -> list[Any]:
        results: list[Any] = [None] * tasks
        pending = set(range(len(procs)))
        silent_dead: set[int] = set()  # exited with no message yet: given one more poll
        while pending:
            try:
                worker, ok, payload, cpu = results_queue.get(timeout=POLL_S)
            except queue_module.Empty:
                dead = {w for w in pending if procs[w].exitcode is not None}
                if dead & silent_dead:
                    w = min(dead & silent_dead)
                    code = procs[w].exitcode
                    how = "signal" if code < 0 else "exited"
                    raise TaskFailed(how, w, exitcode=code, message="before reporting a result") from None
                silent_dead = dead
                continue
            self.children_cpu += cpu
            if not ok:
                raise TaskFailed("raised", worker, payload["error_type"], payload["message"], payload["traceback"])
            for i, value in payload:
                results[i] = value
            pending.discard(worker)
        return results

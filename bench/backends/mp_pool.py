"""multiprocessing.Pool, warm (``mp-pool``) and cold (``mp-pool-cold``).

Worker processes made with the interpreter's default start method, or the one the backend is given.
One ``apply_async`` per task; tasks and results pickled both ways. multiprocessing.Pool replaces a
worker that dies and leaves its task's result pending for ever, so the wait never blocks on a result
alone: while a result is pending it checks, every ``POLL_S``, whether any of the pool's workers has
ended (its sentinel is readable), and if one has, ends the pool and raises TaskFailed with that
worker's exit code. A result that arrives is seen at once. See ``bench.backends._pools``.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any, Callable

from ._pools import POLL_S, Outcome, PoolBackend, call_in_process, failed_outcome, has_ended


#: how long Pool.terminate() may take before its workers are killed outright
TERMINATE_S = 10.0


def terminate(pool: Any, limit: float = TERMINATE_S) -> None:
    """``pool.terminate()``, bounded: it joins the pool's handler threads, which a worker that died at
    the wrong moment can leave waiting for ever (seen once in ~50 test runs of a worker exiting
    mid-batch). Past ``limit`` the workers are sent SIGKILL and reaped, so a batch fails instead of
    hanging; the stuck handler thread is a daemon and dies with the process."""
    done = threading.Thread(target=pool.terminate, name="gilbench-pool-terminate", daemon=True)
    done.start()
    done.join(limit)
    if not done.is_alive():
        return
    for proc in list(getattr(pool, "_pool", ())):
        try:
            proc.kill()
            proc.join(1.0)
        except (OSError, ValueError, AssertionError):
            pass


class MpPool(PoolBackend):
    name = "mp-pool"
    description = (
        "a warm multiprocessing.Pool: worker processes started before the batches and reused by each; "
        "one apply_async per task, tasks and results pickled"
    )
    in_process = False
    uses_processes = True
    warm = True

    def _open(self, workers: int) -> Any:
        return multiprocessing.get_context(self.start_method).Pool(workers)

    def _shutdown(self, pool: Any) -> None:
        pool.close()
        pool.join()

    def _abandon(self, pool: Any) -> None:
        terminate(pool)  # ends and joins the workers

    def _call_all(self, pool: Any, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        workers = self._workers(pool)
        pending = [pool.apply_async(fn, args) for args in calls]
        self._wait(pool, pending, workers)
        return [result.get() for result in pending]

    def _execute(self, pool: Any, task: Callable[[int], Any], tasks: int) -> list[Outcome]:
        workers = self._workers(pool)
        pending = [pool.apply_async(call_in_process, (task, i)) for i in range(tasks)]
        self._wait(pool, pending, workers)
        outcomes: list[Outcome] = []
        for result in pending:
            try:
                outcomes.append(result.get())
            except BaseException as exc:  # noqa: BLE001 - the pool could not run or return it
                outcomes.append(failed_outcome(exc))
        return outcomes

    @staticmethod
    def _workers(pool: Any) -> dict[int, Any]:
        """The pool's worker processes now, by pid (taken before tasks go out: the pool drops a dead
        worker from its own list within ~0.1 s)."""
        return {proc.pid: proc for proc in list(getattr(pool, "_pool", ()))}

    def _wait(self, pool: Any, pending: list[Any], workers: dict[int, Any]) -> None:
        """Until every result is in; TaskFailed (the pool ended) as soon as a worker is seen dead.

        ``workers``: the pool's workers when the tasks went out; any that ends is a failure, as a
        pool without ``maxtasksperchild`` never ends a worker while it runs."""
        for result in pending:
            while True:
                result.wait(POLL_S)
                if result.ready():
                    break
                # replacement workers appear in the pool's list: they are watched too
                for proc in list(getattr(pool, "_pool", ())):
                    workers.setdefault(proc.pid, proc)
                dead = {pid: proc for pid, proc in workers.items() if has_ended(proc)}
                if dead:
                    terminate(pool)  # ends and joins every worker: the exit codes are known
                    raise self._dead_worker(dead, "multiprocessing.Pool lost a worker")


class MpPoolCold(MpPool):
    name = "mp-pool-cold"
    description = (
        "a multiprocessing.Pool created and shut down inside each batch (worker start-up and exit "
        "included); one apply_async per task, tasks and results pickled"
    )
    warm = False

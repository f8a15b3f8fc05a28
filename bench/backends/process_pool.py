"""concurrent.futures.ProcessPoolExecutor, warm (``process-pool``) and cold (``process-pool-cold``).

Worker processes made with the interpreter's default start method, or the one the backend is given
(recorded like ``processes``'). One ``submit`` per task; tasks and results are pickled both ways.
A worker that dies breaks the executor (BrokenProcessPool): the batch ends the pool and raises
TaskFailed with the dead worker's exit code. See ``bench.backends._pools`` for warm, cold and the
CPU accounting.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ._pools import FuturesPool
from .base import TaskFailed


class ProcessPool(FuturesPool):
    name = "process-pool"
    description = (
        "a warm concurrent.futures.ProcessPoolExecutor: worker processes started before the batches "
        "and reused by each; one submit per task, tasks and results pickled"
    )
    in_process = False
    uses_processes = True
    warm = True

    def _open(self, workers: int) -> Any:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(self.start_method))

    def _processes(self, pool: Any) -> dict[int, Any]:
        return dict(getattr(pool, "_processes", None) or {})

    def _broken(self, pool: Any, exc: BaseException, processes: dict[int, Any]) -> TaskFailed | None:
        if not isinstance(exc, BrokenProcessPool):
            return None
        pool.shutdown(wait=True, cancel_futures=True)  # joins the workers: their exit codes are known
        return self._dead_worker(processes, "the process pool broke")


class ProcessPoolCold(ProcessPool):
    name = "process-pool-cold"
    description = (
        "a concurrent.futures.ProcessPoolExecutor created and shut down inside each batch (worker "
        "start-up and exit included); one submit per task, tasks and results pickled"
    )
    warm = False

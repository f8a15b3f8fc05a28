"""concurrent.futures.ThreadPoolExecutor, warm (``thread-pool``) and cold (``thread-pool-cold``).

Threads of the calling process, as ``threads``, but fed one ``submit`` per task through the
executor's queue instead of a static split, and (warm) started once instead of per batch. See
``bench.backends._pools`` for warm and cold.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._calls import call_in_thread, hello_in_thread
from ._pools import FuturesPool


class ThreadPool(FuturesPool):
    name = "thread-pool"
    description = (
        "a warm concurrent.futures.ThreadPoolExecutor: threads started before the batches and reused "
        "by each; one submit per task"
    )
    in_process = True
    warm = True
    worker_call = staticmethod(call_in_thread)
    worker_hello = staticmethod(hello_in_thread)

    def _open(self, workers: int) -> Any:
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gilbench-pool")


class ThreadPoolCold(ThreadPool):
    name = "thread-pool-cold"
    description = (
        "a concurrent.futures.ThreadPoolExecutor created and shut down inside each batch (thread "
        "start-up and join included); one submit per task"
    )
    warm = False

"""The wrappers that run a pool's task inside a worker thread or a worker subinterpreter.

Kept apart, with the fewest imports, because each worker interpreter of ``subinterpreters``
imports this module (the wrapper is pickled by reference) before its first task.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from gilbench.bench.backends.base import TaskFailed


def call_in_thread(task: Callable[[int], Any], index: int) -> tuple[bool, Any, int, None]:
    """Run one task in a pool's worker thread: (ok, result or TaskFailed.as_dict(), thread ident, None)."""
    try:
        value = task(index)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
        return False, TaskFailed.from_exception(-1, exc).as_dict(), threading.get_ident(), None
    return True, value, threading.get_ident(), None


def hello_in_thread(task: Any, hold: float) -> tuple[int, None]:
    """Warm-up call: ``task`` arrived (in a subinterpreter: its module is imported); hold the worker."""
    time.sleep(hold)
    return threading.get_ident(), None

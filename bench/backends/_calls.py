"""The wrappers that run a pool's task inside a worker thread or a worker subinterpreter.

Kept apart, with the fewest imports, because each worker interpreter of ``subinterpreters``
imports this module (the wrapper is pickled by reference) before its first task.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from .base import TaskFailed


def call_in_thread(task: Callable[[int], Any], index: int) -> tuple[bool, Any, int, None, tuple[float, float]]:
    """Run one task in a pool's worker thread: (ok, result or TaskFailed.as_dict(), thread ident, None,
    (this thread's CPU seconds during the task, the task's wall seconds)), both clocks read here."""
    wall0 = time.perf_counter()  # the wall interval holds the CPU interval (see base.thread_clocks)
    cpu0 = time.thread_time()
    try:
        value = task(index)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
        cpu1 = time.thread_time()
        clock = (cpu1 - cpu0, time.perf_counter() - wall0)
        return False, TaskFailed.from_exception(-1, exc).as_dict(), threading.get_ident(), None, clock
    cpu1 = time.thread_time()
    return True, value, threading.get_ident(), None, (cpu1 - cpu0, time.perf_counter() - wall0)


def hello_in_thread(task: Any, hold: float) -> tuple[int, None]:
    """Warm-up call: ``task`` arrived (in a subinterpreter: its module is imported); hold the worker."""
    time.sleep(hold)
    return threading.get_ident(), None

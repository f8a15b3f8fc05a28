"""Subinterpreters: a warm concurrent.futures.InterpreterPoolExecutor (Python 3.14+).

Each worker is a thread of the calling process running its own interpreter, with its own GIL (PEP
684): CPU-bound tasks can run in parallel on a GIL build, without processes. Tasks and results are
pickled between interpreters, as between processes, but nothing is copied by fork and no process
starts. The pool is made in ``prepare`` (each interpreter created and ``task``'s module imported in
it) and reused by every batch, like ``thread-pool``; ``close`` ends it.

Each worker interpreter first gets the caller's ``sys.path`` (a new interpreter has only the
default one, not the script folder or ``--workload-module`` folders) through an initializer that is
the builtin ``exec``, the one callable every interpreter can unpickle before anything is importable.
A task that raises comes back as data from this module's wrapper, with its error type, message and
traceback; an error the wrapper could not catch (a task that cannot be unpickled there) comes back
from the executor as the original exception with a ``concurrent.interpreters.ExecutionFailed``
cause, or as ExecutionFailed itself, whose ``excinfo`` names the error.

On an interpreter without ``concurrent.interpreters`` (before 3.14) the model is unavailable.
"""

from __future__ import annotations

import sys
from typing import Any

from ._calls import call_in_thread, hello_in_thread
from ._pools import FuturesPool
from .base import TaskFailed


def _path_script() -> str:
    """Source run in each new worker interpreter: the caller's sys.path entries, in front."""
    return (
        "import sys\n"
        f"sys.path[:0] = [p for p in {list(sys.path)!r} if p not in sys.path]\n"
    )


class Subinterpreters(FuturesPool):
    name = "subinterpreters"
    description = (
        "a warm concurrent.futures.InterpreterPoolExecutor: one subinterpreter (its own GIL) per worker "
        "thread, made before the batches and reused by each; one submit per task, tasks and results pickled"
    )
    family = "subinterpreters"
    in_process = True
    warm = True
    # run inside the worker interpreters, which import their module (bench.backends._calls)
    worker_call = staticmethod(call_in_thread)
    worker_hello = staticmethod(hello_in_thread)

    @classmethod
    def unavailable(cls, interpreter: dict[str, Any]) -> str:
        if interpreter.get("subinterpreters"):
            return ""
        version = interpreter.get("version", "")
        return (
            "subinterpreters need Python 3.14+ (concurrent.interpreters, InterpreterPoolExecutor)"
            + (f"; this is Python {version}" if version else "")
        )

    def _open(self, workers: int) -> Any:
        try:
            from concurrent.futures import InterpreterPoolExecutor
        except ImportError:
            version = ".".join(map(str, sys.version_info[:3]))
            raise RuntimeError(self.unavailable({"version": version})) from None
        return InterpreterPoolExecutor(
            max_workers=workers, thread_name_prefix="gilbench-interp", initializer=exec, initargs=(_path_script(), {})
        )

    def _broken(self, pool: Any, exc: BaseException, processes: dict[int, Any]) -> TaskFailed | None:
        """A pool whose initializer failed is broken (BrokenThreadPool): end it, name the cause."""
        from concurrent.futures.thread import BrokenThreadPool  # BrokenInterpreterPool's base

        if not isinstance(exc, BrokenThreadPool):
            return None
        pool.shutdown(wait=True, cancel_futures=True)
        return TaskFailed("exited", -1, message=f"(the interpreter pool broke: {exc})")

    def _failed_outcome(self, exc: BaseException) -> Any:
        return False, failure_of(exc).as_dict(), None, None, None


def failure_of(exc: BaseException) -> TaskFailed:
    """TaskFailed for an exception the executor raised: the original error's type and message,
    found on ExecutionFailed's ``excinfo`` when the original could not be brought back."""
    info = getattr(exc, "excinfo", None)
    if info is None:
        failure = TaskFailed.from_exception(-1, exc)
        root, depth = exc.__cause__, 0
        while root is not None and root.__cause__ is not None and depth < 20:
            root, depth = root.__cause__, depth + 1
        if root is not None and getattr(root, "excinfo", None) is None:
            # e.g. NotShareableError("args not shareable") caused, down its chain, by what unpickling
            # raised; a cause that carries a whole traceback as its text is named by its last line
            lines = [line for line in str(root).splitlines() if line.strip()]
            text = lines[-1].strip() if lines else ""
            named = text if ": " in text and " " not in text.split(": ", 1)[0] else f"{type(root).__name__}: {text}"
            failure.message = f"{failure.message} ({named})"
        return failure
    kind = getattr(getattr(info, "type", None), "__name__", "") or type(exc).__name__
    message = getattr(info, "msg", "") or str(exc)
    formatted = getattr(info, "formatted", "") or str(exc)
    return TaskFailed("raised", -1, kind, message, formatted)

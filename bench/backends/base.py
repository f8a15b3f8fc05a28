"""The one interface every execution model implements, and the error it raises."""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar


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

    Subclasses set ``name`` (what users type) and ``description``; a backend that starts processes
    sets ``uses_processes`` so that its start method is recorded.

    ``children_cpu`` is the CPU seconds (user + system) that the last batch's child processes
    reported for themselves, whole processes from their start to the end of their tasks; 0.0 for a
    backend that runs in the calling process. ``run_batch`` resets it. A batch's CPU time is the
    caller's own CPU time (RUSAGE_SELF) over the batch plus this: RUSAGE_CHILDREN cannot be used,
    as it misses children that are not the caller's own (forkserver's are the server's) and those
    not yet waited for.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    uses_processes: ClassVar[bool] = False
    #: a backend with a fixed worker count (the sequential baseline) lists it here
    fixed_workers: ClassVar[int | None] = None
    #: CPU seconds the last batch's child processes reported for themselves (see above)
    children_cpu: float = 0.0

    def __init__(self, start_method: str | None = None) -> None:
        self.start_method = start_method
        self.children_cpu: float = 0.0

    def prepare(self) -> None:
        """Once per measured process, before any timed batch: set up what a program pays for once
        (e.g. a forkserver, lazily imported machinery), so that no batch, the first included, pays it."""

    @abstractmethod
    def run_batch(self, task: Callable[[int], Any], tasks: int, workers: int) -> list[Any]:
        """Run ``task(i)`` for i in range(tasks) on ``workers`` workers; results in index order.

        Raises TaskFailed if any task raised or any worker did not end cleanly: a batch that did
        not complete must never yield a timing. Sets ``children_cpu`` for this batch (0.0 first).
        """

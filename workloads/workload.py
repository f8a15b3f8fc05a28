"""The workload declaration: what one kind of task is, its kind, its parameters.

Why a module of its own: the registry, function workloads and entry points all build ``Workload`` objects,
and the registry loads the other two; the declaration below them keeps the imports one way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, ContextManager, Mapping

#: io-bound work waits (sleep, I/O) and so can overlap in any number of threads;
#: cpu-bound work computes and needs a core (and, in CPython with the GIL, the GIL) to progress.
KINDS = ("io-bound", "cpu-bound")


@dataclass(frozen=True)
class Workload:
    """One kind of task: ``func(index, **params)`` does one task's work and returns its result.

    ``async_func`` is the same task as a coroutine function (``async def``, same arguments), for
    models that run coroutines (asyncio); None where the work cannot be awaited (CPU work).
    """

    name: str
    kind: str
    func: Callable[..., Any]
    params: Mapping[str, float] = field(default_factory=dict)
    size_param: str = ""
    description: str = ""
    async_func: Callable[..., Awaitable[Any]] | None = None
    #: measures a model's start cost (one task on one worker per model), not scaling
    start_cost: bool = False
    #: entered by the harness around a cell's processes (outside every measured process); yields the
    #: environment variables the tasks read (e.g. the port of a server it started). Never part of the
    #: params: what it yields may change every run.
    fixture: Callable[[], ContextManager[Mapping[str, str]]] | None = None
    #: builds the data the tasks share (a corpus, a document), once per process: called by ``task`` and
    #: ``async_task``, so before any timed batch, never at import (a measured process imports every workload
    #: module to find its one, and building them all cost it ~40 ms of start and a count half its
    #: instructions)
    prepare: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"workload {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.size_param and self.size_param not in self.params:
            raise ValueError(f"workload {self.name!r}: size_param {self.size_param!r} is not a parameter")

    def resolve(self, overrides: Mapping[str, Any] | None = None, scale: float = 1.0) -> dict[str, Any]:
        """Defaults, then ``overrides``, then the size parameter multiplied by ``scale``."""
        params = dict(self.params)
        for key, value in (overrides or {}).items():
            if key not in params:
                raise ValueError(
                    f"workload {self.name!r} has no parameter {key!r} (accepted: {', '.join(params) or 'none'})"
                )
            params[key] = type(params[key])(value)
        if self.size_param and scale != 1.0:
            size = params[self.size_param] * scale
            is_int = isinstance(params[self.size_param], int)
            params[self.size_param] = max(1, round(size)) if is_int else round(size, 9)
        return params

    def task(self, params: Mapping[str, Any]) -> Callable[[int], Any]:
        """A picklable callable running one task with ``params`` (spawned children can import it); the shared
        data built first (``prepare``)."""
        if self.prepare is not None:
            self.prepare()
        return functools.partial(self.func, **params)

    def async_task(self, params: Mapping[str, Any]) -> Callable[[int], Awaitable[Any]]:
        """Like ``task``, for the async variant: calling it with an index returns a coroutine."""
        if self.async_func is None:
            raise ValueError(f"workload {self.name!r} has no async variant")
        if self.prepare is not None:
            self.prepare()
        return functools.partial(self.async_func, **params)

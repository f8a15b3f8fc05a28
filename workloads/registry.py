"""The workload declaration and the registry that finds every declared workload.

A workload module declares one or more module-level ``Workload`` objects; the registry imports
every module of this package and collects them, so adding a workload is one new module.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
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
        """A picklable callable running one task with ``params`` (spawned children can import it)."""
        return functools.partial(self.func, **params)

    def async_task(self, params: Mapping[str, Any]) -> Callable[[int], Awaitable[Any]]:
        """Like ``task``, for the async variant: calling it with an index returns a coroutine."""
        if self.async_func is None:
            raise ValueError(f"workload {self.name!r} has no async variant")
        return functools.partial(self.async_func, **params)


def _discover() -> dict[str, Workload]:
    from .. import workloads

    found: dict[str, Workload] = {}
    for info in pkgutil.iter_modules(workloads.__path__):
        if info.name.startswith("_") or info.name == "registry":
            continue
        module = importlib.import_module(f"gilbench.workloads.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Workload):
                if value.name in found and found[value.name] is not value:
                    raise ValueError(f"two workloads are named {value.name!r}")
                found[value.name] = value
    return dict(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, Workload]:
    return _discover()


#: workloads from users' own modules, with the spec each was loaded from
_loaded: dict[str, tuple[Workload, str]] = {}


def load_module(spec: str) -> list[Workload]:
    """Import a user's workload module (a dotted name, or a path to a .py file) and register its workloads.

    A file's folder is put on ``sys.path`` so that spawned children can import its functions too.
    Raises ValueError when the module cannot be imported or declares no Workload. A function
    workload's source (``workloads.functions``, what ``Cell.module`` carries for it) is loaded too.
    """
    if spec.startswith("{"):
        from .functions import load_source

        return [load_source(spec)]
    name = spec
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise ValueError(f"--workload-module {spec}: no such file")
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        name, spec = path.stem, str(path)
    elif os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a dotted name is the current directory's, as `python -m` finds it
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a user's module can fail in any way while importing
        raise ValueError(f"--workload-module {spec}: cannot import it ({type(exc).__name__}: {exc})") from None
    found = [v for v in vars(module).values() if isinstance(v, Workload)]
    if not found:
        raise ValueError(f"--workload-module {spec}: declares no Workload")
    for workload in found:
        if workload.name in _registry():
            raise ValueError(f"--workload-module {spec}: {workload.name!r} is already a built-in workload")
        _loaded[workload.name] = (workload, spec)
    return found


def register(workload: Workload, source: str) -> None:
    """Add a user's workload, with the source the measured processes load it from (``load_module``)."""
    if workload.name in _registry():
        raise ValueError(f"workload {workload.name!r} ({source}): the name of a built-in workload")
    known = _loaded.get(workload.name)
    if known and known[0] != workload:
        raise ValueError(f"two workloads are named {workload.name!r} ({known[1][:80]} and {source[:80]})")
    _loaded[workload.name] = (workload, source)


def source(name: str) -> str | None:
    """The module spec a user's workload was loaded from; None for a built-in one."""
    return _loaded[name][1] if name in _loaded else None


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[str, ...]:
    """The entry points' workloads, registered once (not cached on failure: the error comes again)."""
    from .entrypoints import load_entry_points

    return tuple(w.name for w in load_entry_points())


def all_workloads(installed: bool = True) -> dict[str, Workload]:
    """Every declared workload, by name: the built-in ones, those of loaded modules and functions, and
    (``installed``) those of installed distributions' entry points (``workloads.entrypoints``)."""
    if installed:
        _installed()
    return {**_registry(), **{name: w for name, (w, _) in _loaded.items()}}


def get(name: str) -> Workload:
    """The workload called ``name``; a ValueError naming the accepted names otherwise.

    Entry points are loaded only for a name not found without them (a measured process never needs them).
    """
    registry = all_workloads(installed=name not in _registry() and name not in _loaded)
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown workload {name!r} (accepted: {', '.join(registry)}), or a function of yours "
                         "as package.module:function") from None

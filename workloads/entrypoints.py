"""Workloads of installed distributions: the ``gilbench.workloads`` entry-point group.

A project that is installed (``pip install -e .``) can name its workloads in its packaging metadata
instead of on every command line::

    [project.entry-points."gilbench.workloads"]
    mybench = "mypkg.benchmarks"          # a module declaring Workload objects
    crunch = "mypkg.work:crunch"          # a function (its @workload declaration; named "crunch")

They join the registry (``registry.load_entry_points``) the first time a name is not found among the built-in ones or a listing asks
for every workload. Each registers with a source the workers load directly (the module's name, or
the function's source), so a measured process never scans the entry points itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importlib.metadata costs a measured process ~13 ms at start, which never needs it
    from importlib.metadata import EntryPoint

from .functions import Declaration, from_function
from .workload import Workload

GROUP = "gilbench.workloads"


def _distribution(point: EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    name = dist.metadata["Name"] if dist is not None else None
    return f"distribution {name!r}" if name else "an unknown distribution"


def _load(point: EntryPoint) -> list[tuple[Workload, str]]:
    if point.attr:  # module:function (or module:WORKLOAD)
        workload, source = from_function(point.value, Declaration(), default_name=point.name)
        return [(workload, source)]
    try:
        module = importlib.import_module(point.module)
    except Exception as exc:  # a distribution's module can fail in any way while importing
        raise ValueError(f"cannot import {point.module!r} ({type(exc).__name__}: {exc})") from None
    found = [v for v in vars(module).values() if isinstance(v, Workload)]
    if not found:
        raise ValueError(f"module {point.module!r} declares no Workload")
    return [(w, point.module) for w in found]


def declared() -> list[tuple[str, str, list[tuple[Workload, str]]]]:
    """Each installed entry point as (who declares it, its value, its workloads with their sources), not
    registered yet (``registry.load_entry_points`` does that).

    Raises ValueError naming the entry point and its distribution when one cannot be loaded.
    """
    found = []
    from importlib.metadata import entry_points

    for point in entry_points(group=GROUP):
        where = f"entry point '{point.name} = {point.value}' (group {GROUP}) of {_distribution(point)}"
        try:
            found.append((where, point.value, _load(point)))
        except Exception as exc:  # noqa: BLE001 - whatever it was, say whose entry point it is
            message = str(exc).removeprefix(f"workload {point.value!r}: ")
            raise ValueError(f"{where}: {message}") from None
    return found

"""Execution backends: one module each, one ``Backend`` subclass per module, found by discovery.

Adding an execution model (a start method, a pool, asyncio, subinterpreters) is one new module here.
"""

from __future__ import annotations

import functools

from .base import Backend, TaskFailed, assignments
from ..data.plugins import discover, find, lookup

__all__ = ["Backend", "TaskFailed", "assignments", "all_backends", "get_backend"]


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, type[Backend]]:
    return discover(__name__, __path__, Backend)


def all_backends() -> dict[str, type[Backend]]:
    """Every backend class, by name."""
    return dict(_registry())


@functools.lru_cache(maxsize=None)
def get_backend(name: str) -> type[Backend]:
    """The backend class called ``name``, importing only its module (``find``); a ValueError naming the
    accepted names otherwise."""
    return find(__name__, __path__, Backend, name) or lookup(_registry(), name, "backend")

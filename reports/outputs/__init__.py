"""Report outputs: one module each, one ``Output`` subclass per module, found by discovery."""

from __future__ import annotations

import functools

from ...bench.plugins import discover, lookup
from .base import Output

__all__ = ["Output", "all_outputs", "get_output"]


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, type[Output]]:
    return discover(__name__, __path__, Output)


def all_outputs() -> dict[str, type[Output]]:
    return dict(_registry())


def get_output(name: str) -> type[Output]:
    return lookup(_registry(), name, "output")

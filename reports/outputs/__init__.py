"""Outputs: one module each, ``Output`` subclasses found by discovery; a run's are written into its folder,
a comparison's and a merge's where their command says."""

from __future__ import annotations

import functools

from ...bench.data.plugins import discover, lookup
from .base import READS, Output

__all__ = ["Output", "all_outputs", "get_output"]


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, type[Output]]:
    return discover(__name__, __path__, Output)


def all_outputs(reads: str = "run") -> dict[str, type[Output]]:
    """The outputs that read ``reads`` (one of ``READS``): by default a run's, the ones its folder gets."""
    if reads not in READS:
        raise ValueError(f"unknown kind of output {reads!r} (accepted: {', '.join(READS)})")
    return {name: cls for name, cls in _registry().items() if cls.reads == reads}


def get_output(name: str) -> type[Output]:
    return lookup(_registry(), name, "output")

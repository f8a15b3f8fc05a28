"""Analyses of a run's cells, one module each, each turning the cells into report sections.

An analysis subclasses ``Analysis`` (in ``base``); discovery finds it, so a new analysis is one
module here and nothing else changes.
"""

from __future__ import annotations

import functools

from ...bench.data.plugins import discover
from .base import Analysis


@functools.lru_cache(maxsize=1)
def all_analyses() -> dict[str, type[Analysis]]:
    """Every analysis class, by name."""
    return discover(__name__, __path__, Analysis)

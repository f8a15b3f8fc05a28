"""The one interface every output implements: a run's (HTML, CSV, ...), a comparison's, a merge's."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

#: what an output reads (``Output.reads``): a run (``reports.frame.RunData``, written into the run folder by
#: ``reports.build``), a comparison (``bench.judge.result.Comparison``: ``compare`` and ``ab``) or merged runs (the
#: ``reports.merge.MergedRun`` list of ``gilbench merge``)
READS = ("run", "comparison", "merge")


class Output(ABC):
    """Renders what it reads into one file. Subclasses set ``name`` and ``filename`` (the file's name where
    the command does not name it), and ``reads`` when they read something other than a run."""

    name: ClassVar[str]
    filename: ClassVar[str]
    reads: ClassVar[str] = "run"

    @abstractmethod
    def render(self, data: Any) -> str:
        """The file's whole content."""

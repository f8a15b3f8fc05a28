"""Experiments that are not batches of tasks, one module each, each with its own report section.

An experiment subclasses ``Experiment`` (in ``base``); discovery finds it, the runner
(``gilbench.bench.measure.experiment_runner``) runs it for every interpreter of a run in a child process
(``python -m gilbench.experiments NAME``), and the report asks it for its section. A new experiment
is one module here and nothing else changes.

This package is imported by measured interpreters: nothing at module level may import the report
stack (pandas, matplotlib); sections import it when they are built.
"""

from __future__ import annotations

import functools
from typing import Any

from ..bench.data.plugins import discover, lookup
from .base import Experiment
from ..bench.data.experiment import ExperimentResult

__all__ = ["Experiment", "ExperimentResult", "all_experiments", "get", "sections_for"]


@functools.lru_cache(maxsize=1)
def all_experiments() -> dict[str, type[Experiment]]:
    """Every experiment class, by name."""
    return discover(__name__, __path__, Experiment)


def get(name: str) -> type[Experiment]:
    """The experiment class named ``name``; ValueError naming the accepted names."""
    return lookup(all_experiments(), name, "experiment")


def sections_for(run: Any) -> list[Any]:
    """The report sections of a run's experiment results (``run.experiments``), one per experiment,
    its interpreters in the run's order (``run.interpreters``).

    Results of an experiment this gilbench no longer has are listed, not explained.
    """
    from ..reports.sections import Section

    order = {label: i for i, label in enumerate(getattr(run, "interpreters", None) or {})}
    by_name: dict[str, list[ExperimentResult]] = {}
    for result in sorted(getattr(run, "experiments", None) or [], key=lambda r: order.get(r.python, len(order))):
        by_name.setdefault(result.name, []).append(result)
    known = all_experiments()
    sections = []
    for name, results in by_name.items():
        if name in known:
            sections.extend(known[name]().sections(results))
        else:
            sections.append(Section(key=f"experiment-{name}", title=f"Experiment {name}", order=900, verdicts=[
                f"This gilbench has no experiment named {name!r}: its results "
                f"({', '.join(r.display for r in results)}) are in the run folder's experiments/ but not explained."]))
    return sections

"""A report section: a result explained in words next to its chart, and where sections come from.

The GIL-effect report has fixed parts (verdicts, speedup curves, layout, machine speed) and open-ended
ones: an analysis of the run's cells (``reports/analyses/``, one module each) or an experiment's own
results (``experiments/``, one module each, which owns its section). Both hand back ``Section``
records, and the outputs render every section the same way, so a new analysis or experiment is one
module and no output changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
from matplotlib.figure import Figure


@dataclass
class Section:
    """One titled part of the report.

    ``verdicts`` answer the question in sentences; ``rule`` gives the thresholds behind them;
    ``method`` says how the numbers were taken and what they mean. ``table`` holds the figures the
    chart draws (columns already named for a reader), ``figure`` the chart.
    """

    key: str
    title: str
    verdicts: list[str] = field(default_factory=list)
    rule: str = ""
    method: str = ""
    figure: Figure | None = None
    table: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    order: int = 100


def collect(run: Any, providers: list[Callable[[Any], list[Section]]] | None = None) -> list[Section]:
    """Every section for ``run``: the analyses' and the experiments', by ``order`` then title.

    A provider that fails does not take the report down: its section says what went wrong.
    """
    if providers is None:
        from .analyses import all_analyses

        providers = [a().sections for a in all_analyses().values()] + [_experiment_sections]
    found: list[Section] = []
    for provider in providers:
        try:
            found.extend(provider(run))
        except Exception as exc:  # noqa: BLE001  a report with one broken section beats no report
            name = getattr(provider, "__qualname__", repr(provider))
            found.append(Section(key=f"error-{len(found)}", title=f"Section failed: {name}",
                                 verdicts=[f"{type(exc).__name__}: {exc}"], order=999))
    return sorted(found, key=lambda s: (s.order, s.title))


def _experiment_sections(run: Any) -> list[Section]:
    """The experiments' sections; imported here, so that a failing import is a failed section like any other."""
    from ..experiments import sections_for

    return sections_for(run)

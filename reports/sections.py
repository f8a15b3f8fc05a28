"""A report section: a result explained in words next to its chart.

The GIL-effect report has fixed parts (verdicts, speedup curves, layout, machine speed) and open-ended
ones: an analysis of the run's cells (``reports/analyses/``, one module each) or an experiment's own
results (``experiments/``, one module each, which owns its section). Both hand back ``Section``
records, and the outputs render every section the same way, so a new analysis or experiment is one
module and no output changes. Where they are gathered: ``reports.outputs.html.collect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # light at import: experiments/ name a Section without the report stack
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

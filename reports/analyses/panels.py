"""The grid the cost sections draw on: one panel per workload (and interpreter, where the cells span several),
titled and gridded the same way, so their figures read alike and the setup lives in one place."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..curves import panel_title
from ..frame import RunData


def workload_panels(run: RunData, cells: pd.DataFrame, width: float,
                    height: float) -> tuple[Figure, list[tuple[Any, pd.DataFrame]]] | None:
    """A row of ``width`` x ``height`` inch panels, one per workload and interpreter of ``cells`` (which need
    a ``python`` column), each with its cells; None where there are none. The caller draws and lays out."""
    groups = list(cells.groupby(["workload", "python"], sort=False))
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(width * len(groups) + 0.4, height), squeeze=False)
    panels = []
    for ax, ((workload, python), group) in zip(axes[0], groups):
        ax.set_title(panel_title(run, cells, str(workload), str(python)), fontsize=9)
        ax.grid(alpha=0.3)
        panels.append((ax, group))
    return fig, panels

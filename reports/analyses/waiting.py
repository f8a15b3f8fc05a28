"""Where the time went in models whose work runs in threads of the measured process: running or waiting.

Each worker thread read its own CPU clock (``time.thread_time``) and the wall clock when it started its
work and when it ended it (a pool's thread: around each task), outside the timing of anything else, and
handed both back after the batch (``Backend.thread_times``). The wait share of a batch is 1 - the
threads' CPU seconds / their wall seconds, summed over the threads; a cell's is the median over its
batches and processes. A thread off the CPU was waiting: for the GIL, for I/O (a sleep, a socket), or
for a core when there are more threads than cores. Work serialized by the GIL on N threads waits about
1 - 1/N of the time; work that releases the GIL on as many cores as threads waits about 0; work that
sleeps about 1. On a free-threaded build the same figure shows what is left without the GIL.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from .base import Analysis
from .panels import workload_panels
from ..curves import interpreter_name
from ..figures import STYLES, backend_colors
from ..frame import RunData, python_of, scaled_workloads
from ..sections import Section

RULE = ("wait share = 1 - (worker threads' CPU seconds / their wall seconds), per batch; a GIL that lets one "
        "thread run at a time gives about 1 - 1/N on N threads, parallel work about 0, sleeping about 1")
METHOD = __doc__.split("\n\n", 1)[1].strip().replace("\n", " ")


def measured(run: RunData) -> pd.DataFrame:
    """The finished cells of scaled workloads with a wait share."""
    cells = run.cells
    if cells.empty or "wait_share" not in cells:
        return cells.iloc[0:0] if not cells.empty else cells
    cells = cells.assign(python=python_of(cells))
    ok = cells[(cells["status"] == "ok") & cells["workload"].isin(scaled_workloads(cells))
               & cells["wait_share"].notna()]
    return ok.sort_values(["python", "workload", "cores", "backend", "workers"])


def sentences(run: RunData, cells: pd.DataFrame) -> list[str]:
    """One sentence per interpreter, workload, cores and model: the wait share at each worker count."""
    out = []
    several = cells["python"].nunique() > 1
    for (python, workload, cores, backend), group in cells.groupby(["python", "workload", "cores", "backend"],
                                                                    sort=False):
        inter = f" on {interpreter_name(run, python)}" if several else ""
        shares = ", ".join(f"{r.wait_share:.0%} at x{r.workers}" for r in group.itertuples())
        serial = ", ".join(f"{1 - 1 / r.workers:.0%}" for r in group.itertuples() if r.workers > 1)
        tail = f" (one thread at a time would wait {serial})" if serial else ""
        out.append(f"{workload}{inter}, {cores} core{'s' if cores > 1 else ''}, {backend}: its threads were off the "
                   f"CPU {shares} of their time{tail}.")
    return out


def table(run: RunData, cells: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{
        "workload": r.workload, "interpreter": interpreter_name(run, r.python), "cores": r.cores, "model": r.backend,
        "workers": r.workers, "wait share (%)": round(r.wait_share * 100, 1),
        "one at a time (%)": (1 - 1 / r.workers) * 100, "parallelism": r.parallelism, "time (s)": r.time,
    } for r in cells.itertuples()])


def figure(run: RunData, cells: pd.DataFrame) -> Figure | None:
    """Wait share against workers, a line per model, a panel per workload (and interpreter)."""
    grid = workload_panels(run, cells, 4.0, 3.4)
    if grid is None:
        return None
    fig, panels = grid
    colors = backend_colors(list(dict.fromkeys(cells["backend"])))
    for ax, group in panels:
        for backend, line in group.groupby("backend", sort=False):
            line = line.sort_values("workers")
            ax.plot(line["workers"], line["wait_share"] * 100, STYLES[True], color=colors[backend], label=backend)
        n = sorted(set(group["workers"]))
        ax.plot(n, [(1 - 1 / k) * 100 for k in n], ":", color="0.4", label="one at a time")
        ax.set_xscale("log", base=2)
        ax.set_ylim(-5, 105)
        ax.set_xlabel("workers")
        ax.set_ylabel("threads off the CPU (%)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


class WaitingAnalysis(Analysis):
    """How much of a batch the worker threads spent off the CPU, by worker count."""

    name = "waiting"

    def sections(self, run: RunData) -> list[Section]:
        cells = measured(run)
        if cells.empty:
            return []
        notes = []
        if any(math.isnan(x) for x in cells["parallelism"]):
            notes.append("Cells without CPU accounting show no parallelism.")
        return [Section(
            key="waiting", title="Where the time went: threads running or waiting", verdicts=sentences(run, cells),
            rule=RULE, method=METHOD, figure=figure(run, cells), table=table(run, cells), notes=notes, order=72,
        )]

"""What each model costs in memory, next to what it buys in speed.

Per interpreter, workload and cores, every finished cell's peak memory: the largest sum over the measured
process and all its workers (worker processes, a forkserver, a pool) that the runner polled from outside
while the cell ran (``bench.measure.memory``): PSS where the OS gives it (pages shared between processes, as
fork's copy-on-write pages, counted once), RSS otherwise. Next to it the speedup, the speedup per GiB,
and what one worker costs above the baseline cell's tree (same interpreter, workload and cores).

The verdict names, per interpreter, workload and cores, the fastest cell and the cheapest one whose
time is within ``WITHIN`` of it; and, at the most workers every model ran, what one more worker costs
in each model (where start methods differ, that compares them; where a model's workers share the process,
it shows what a worker of its own interpreter or thread costs against a process).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .base import Analysis
from .panels import workload_panels
from ..curves import interpreter_name
from ..figures import backend_colors
from ..frame import RunData, python_of, scaled_workloads
from ..sections import Section

MIB = 1024 ** 2
#: "about as fast": a cell whose time is at most this much above the fastest cell's
WITHIN = 0.10

RULE = (f"cheapest within {WITHIN:.0%} of the fastest: of the cells (any model, any worker count) of one interpreter, "
        f"workload and cores whose time is at most {WITHIN:.0%} above the fastest one's, the one with the smallest "
        "peak memory")
METHOD = (
    "peak memory: the largest sum, over the measured pyperf process and every process it started (worker processes, a "
    "forkserver, a pool, multiprocessing's resource tracker), that the runner read with psutil every 50 ms from "
    "outside "
    "while the process ran, median over the cell's processes. PSS (proportional set size: a page shared by k processes "
    "counts 1/k in each) where the OS gives it, so fork's copy-on-write pages count once; RSS (every resident page of "
    "every process) otherwise, which counts shared pages once per process. USS: pages private to each process. The "
    "poll misses an allocation that lives less than 50 ms; the measured process's own peak RSS (getrusage after its "
    "batches, exact) is shown beside it. Per worker: (the cell's peak - the baseline cell's peak) / workers, "
    "± the larger of the two cells' ranges over their processes / workers (how far the peak moves from one process "
    "to the next); a difference within that range is below the measurement's resolution and shown as such, not as a "
    "cost, and a tree smaller than the baseline's is shown as less than the baseline. Speedup per GiB: speedup / "
    "peak in GiB."
)


def _mib(x: Any) -> float:
    return float(x) / MIB if isinstance(x, (int, float)) and not math.isnan(x) else math.nan


def _label(row: Any) -> str:
    method = f" ({row.start_method})" if isinstance(row.start_method, str) and row.start_method else ""
    return f"{row.backend}{method} x{row.workers}"


def measured(run: RunData) -> pd.DataFrame:
    """The finished cells of scaled workloads with a memory figure."""
    cells = run.cells
    if cells.empty or "memory" not in cells:
        return cells.iloc[0:0] if not cells.empty else cells
    cells = cells.assign(python=python_of(cells))
    ok = cells[(cells["status"] == "ok") & cells["workload"].isin(scaled_workloads(cells))
               & cells["memory"].notna() & (cells["memory"] > 0)]
    return ok.sort_values(["python", "workload", "cores", "family", "backend", "workers"])


def _where(run: RunData, python: str, workload: str, cores: int, several: bool) -> str:
    inter = f" on {interpreter_name(run, python)}" if several else ""
    return f"{workload}{inter}, {cores} core{'s' if cores > 1 else ''}"


def cheapest_sentences(run: RunData, cells: pd.DataFrame) -> list[str]:
    """Per interpreter, workload and cores: the fastest cell and the cheapest one within ``WITHIN`` of it."""
    out = []
    several = cells["python"].nunique() > 1
    for (python, workload, cores), group in cells.groupby(["python", "workload", "cores"], sort=False):
        timed = group[group["time"].notna()]
        if timed.empty:
            continue
        fastest = timed.loc[timed["time"].idxmin()]
        close = timed[timed["time"] <= fastest.time * (1 + WITHIN)]
        cheapest = close.loc[close["memory"].idxmin()]
        measure = fastest.memory_measure or "memory"
        head = (f"{_where(run, python, workload, int(cores), several)}: the fastest was {_label(fastest)} "
                f"({fastest.time:.3g} s, {_mib(fastest.memory):.0f} MiB {measure})")
        if cheapest.id == fastest.id:
            out.append(f"{head}, also the cheapest of the cells within {WITHIN:.0%} of its time.")
        else:
            out.append(f"{head}; the cheapest within {WITHIN:.0%} of its time was {_label(cheapest)} "
                       f"({cheapest.time:.3g} s, {_mib(cheapest.memory):.0f} MiB, "
                       f"{fastest.memory / cheapest.memory:.1f}x less memory).")
    return out


def _size(mib: float) -> str:
    return f"{mib:.2g}" if abs(mib) < 1 else f"{mib:.1f}"


def per_worker_text(row: Any) -> str:
    """What one worker of ``row``'s cell costs above the baseline, honestly: within the spread over processes
    it is below the resolution, and a tree smaller than the baseline's is no cost."""
    estimate, spread = _mib(row.memory_per_worker), _mib(getattr(row, "memory_per_worker_spread", math.nan))
    if math.isnan(estimate):
        return f"below the resolution (± {_size(spread)} MiB)" if not math.isnan(spread) else "–"
    if estimate < 0:
        return f"none: the tree was {_size(-estimate * row.workers)} MiB smaller than the baseline's"
    spread_text = f" ± {_size(spread)}" if not math.isnan(spread) else " (one process: spread unknown)"
    return f"{_size(estimate)} MiB{spread_text}"


def _order(row: Any) -> float:
    """Cheapest first; a cost below the resolution counts as none."""
    x = row.memory_per_worker
    return 0.0 if isinstance(x, float) and math.isnan(x) else float(x)


def per_worker_sentences(run: RunData, cells: pd.DataFrame) -> list[str]:
    """Per interpreter, workload and cores, at the most workers that more than one model ran: each
    model's memory per worker above the baseline, cheapest first."""
    out = []
    several = cells["python"].nunique() > 1
    shown = cells["memory_per_worker"].notna() | cells["memory_per_worker_spread"].notna()
    scaled = cells[~cells["baseline"].fillna(False).astype(bool) & shown]
    for (python, workload, cores), group in scaled.groupby(["python", "workload", "cores"], sort=False):
        counts = group.groupby("workers")["backend"].nunique()
        shared = counts[counts > 1]
        if shared.empty:
            continue
        n = int(shared.index.max())
        at = sorted(group[group["workers"] == n].itertuples(), key=_order)
        parts = ", ".join(f"{_label(r)[: -len(f' x{n}')]} {per_worker_text(r)}" for r in at)
        out.append(f"{_where(run, python, workload, int(cores), several)}, {n} workers: one worker cost, above the "
                   f"baseline's {at[0].memory_measure or 'memory'}, {parts}.")
    return out


def table(run: RunData, cells: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{
        "workload": r.workload, "interpreter": interpreter_name(run, r.python), "cores": r.cores,
        "model": r.backend, "start method": r.start_method if isinstance(r.start_method, str) else "–",
        "workers": r.workers, "time (s)": r.time, "speedup": r.speedup,
        "peak memory (MiB)": _mib(r.memory), "measure": r.memory_measure,
        "per worker": per_worker_text(r), "speedup per GiB": r.speedup_per_gib,
        "RSS sum (MiB)": _mib(r.memory_rss), "USS sum (MiB)": _mib(r.memory_uss), "PSS sum (MiB)": _mib(r.memory_pss),
        "processes in the tree": r.memory_processes, "own peak RSS (MiB)": _mib(r.peak_rss_self),
    } for r in cells.itertuples()])


def figure(run: RunData, cells: pd.DataFrame) -> Figure | None:
    """Speedup against peak memory, one point per cell, a panel per workload (and interpreter)."""
    grid = workload_panels(run, cells, 4.4, 3.8)
    if grid is None:
        return None
    fig, panels = grid
    colors = backend_colors(list(dict.fromkeys(cells["backend"])))
    for ax, group in panels:
        for r in group.itertuples():
            y = r.speedup if isinstance(r.speedup, float) and not math.isnan(r.speedup) else 1.0
            ax.scatter(_mib(r.memory), y, color=colors[r.backend], s=18 + 8 * r.workers, alpha=0.8)
            ax.annotate(f"{r.backend} x{r.workers}", (_mib(r.memory), y), fontsize=6, xytext=(3, 2),
                        textcoords="offset points")
        ax.set_xlabel(f"peak memory of the process tree (MiB, {group.iloc[0].memory_measure or 'memory'})")
        ax.set_ylabel("speedup")
    fig.tight_layout()
    return fig


class MemoryAnalysis(Analysis):
    """Peak memory per model and worker count, next to the speedup."""

    name = "memory"

    def sections(self, run: RunData) -> list[Section]:
        cells = measured(run)
        if cells.empty:
            return []
        return [Section(
            key="memory", title="Memory per model",
            verdicts=cheapest_sentences(run, cells) + per_worker_sentences(run, cells),
            rule=RULE, method=METHOD, figure=figure(run, cells), table=table(run, cells), order=70,
        )]

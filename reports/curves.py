"""A model's speedup curve as the run measured it: its cells by worker count, the cell its speedups are
against, and the process medians behind every cell, for analyses that put an interval on a speedup
(``reports/fits.py`` resamples the processes).

The reference follows ``reports/verdicts.py``: a model whose workers share the process is measured
against its own 1-worker cell (both sides off the main thread, so the main-thread gap cannot move it),
any other model against the baseline of the same interpreter, workload and cores. Models are known only
by the ``baseline``, ``family`` and ``in_process`` the run recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..bench.data import query
from .frame import RunData, flag, python_of, scaled_workloads
from .verdicts import BASELINE, OWN_SCALING


@dataclass(frozen=True)
class Curve:
    """One model's cells at one interpreter, workload and core count, by worker count."""

    python: str
    workload: str
    kind: str
    backend: str
    family: str
    in_process: bool
    cores: int
    gil: bool  # the interpreter's GIL was on while its cells ran
    basis: str  # OWN_SCALING or BASELINE: what the speedups are against
    reference: str  # the id of the cell the speedups are against
    points: tuple[tuple[int, str], ...]  # (workers, cell id), by workers

    @property
    def workers(self) -> tuple[int, ...]:
        return tuple(w for w, _ in self.points)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(cid for _, cid in self.points)

    def at(self, workers: int) -> str | None:
        """The id of the cell with ``workers`` workers, None where the model has none."""
        return next((cid for w, cid in self.points if w == workers), None)

    @property
    def key(self) -> str:
        """A stable text naming the curve (seeds its bootstrap)."""
        return f"{self.python}|{self.workload}|{self.cores}|{self.backend}"


def process_medians(run: RunData) -> dict[str, list[float]]:
    """Each finished cell's process medians (the unit of analysis); a cell without per-process rows gets
    its time alone (a figure without an interval)."""
    found: dict[str, list[float]] = {}
    for r in run.cells[run.cells["status"] == "ok"].itertuples():
        medians = list(run.query.process_medians(str(r.id)).values())
        if medians:
            found[str(r.id)] = medians
        elif not math.isnan(getattr(r, "time", math.nan)):
            found[str(r.id)] = [float(r.time)]
    return found


def gil_states(run: RunData) -> dict[str, bool]:
    """Per interpreter label: whether its GIL was on, as its cells saw it (on in any counts as on), else as
    its description says; unknown counts as on."""
    cells = run.cells.assign(python=python_of(run.cells))
    states = {}
    for label in dict.fromkeys(cells["python"]):
        seen = cells.loc[cells["python"] == label, "gil_enabled"] if "gil_enabled" in cells else []
        states[label] = query.gil_on(query.gil_state(seen, run.interpreter(label).gil_enabled))
    return states


def cell_params(run: RunData) -> dict[str, dict[str, Any]]:
    """Each cell's workload parameters as the manifest recorded them (typed, unlike the frame's text)."""
    return run.manifest.params()


def curves(run: RunData) -> list[Curve]:
    """Every model's curve (the baseline excepted) per interpreter, workload and cores, over its finished
    cells, with its reference; a model with neither its own 1-worker cell (workers in the process) nor a
    baseline has none."""
    cells = run.cells
    if cells.empty:
        return []
    ok = cells[(cells["status"] == "ok") & cells["workload"].isin(scaled_workloads(cells))].copy()
    ok["python"] = python_of(ok)
    ok["in_process"] = flag(ok, "in_process")
    is_base = flag(ok, "baseline")
    baselines = query.baselines(ok.itertuples())
    gil = gil_states(run)
    found = []
    keys = ["python", "workload", "cores", "backend"]
    for (label, workload, cores, backend), group in ok[~is_base].groupby(keys, sort=True):
        group = group.sort_values("workers")
        first = group.iloc[0]
        in_process = bool(first["in_process"])
        ones = group[group["workers"] == 1]
        if in_process and not ones.empty:
            basis, reference = OWN_SCALING, str(ones.iloc[0]["id"])
        elif query.baseline_key(first) in baselines:
            basis, reference = BASELINE, str(baselines[query.baseline_key(first)].id)
        else:
            continue
        found.append(Curve(
            str(label), str(workload), str(first["kind"]), str(backend), str(first.get("family") or backend),
            in_process, int(cores), gil.get(label, True), basis, reference,
            tuple((int(r.workers), str(r.id)) for r in group.itertuples()),
        ))
    return found


def interpreter_name(run: RunData, label: str) -> str:
    """How the report names an interpreter."""
    return run.interpreter(label).display


def panel_title(run: RunData, cells: "pd.DataFrame", workload: str, python: str) -> str:
    """A per-workload panel's title: the workload, and its interpreter when the cells span several."""
    return workload if cells["python"].nunique() == 1 else f"{workload}, {interpreter_name(run, python)}"

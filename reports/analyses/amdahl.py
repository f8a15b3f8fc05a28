"""Amdahl's law fitted to every model's speedup curve: what share of the work ran one at a time.

For a workload whose tasks spend a known share of their time on CPU work that holds the GIL (a
``cpu_fraction`` parameter), the GIL predicts the answer: in a model whose workers share one GIL the
CPU part runs serially (s near that share), in worker processes nothing does while there are cores
(s near 0). The fitted s sits next to the parameter, and a curve Amdahl's law does not describe (more
workers than cores, a start cost that grows with the workers) is said to be one. The fitting itself is
``reports/fits.py``; here only which cells make a curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import fits
from .base import Analysis
from ..curves import Curve, cell_params, curves, interpreter_name, process_medians
from ..figures import STYLES, backend_colors
from ..frame import RunData
from ..sections import Section

#: the workload parameter that says what share of each task is CPU work holding the GIL
PARAMETER = "cpu_fraction"
#: a fit whose curve misses a measured speedup by more than this (relative) is not Amdahl's law
FIT_TOLERANCE = 0.10
#: s at most this: the work runs in parallel; at least FULLY_SERIAL: one at a time
PARALLEL_BELOW = 0.10
FULLY_SERIAL = 0.90
#: s "is the CPU share" within this share of the parameter (or with the parameter inside its interval):
#: relative, because worker processes have a serial floor of their own (start-up against a short batch,
#: ~0.15-0.2 here) that an absolute margin would mistake for a CPU share of 0.25
MATCH = 0.20

RULE = (
    f"Amdahl's law S(N) = 1 / (s + (1 - s) / N) fitted with s in [0, 1]; it does not fit where the fitted curve misses "
    f"a measured speedup by more than {FIT_TOLERANCE * 100:.0f} %. s at most {PARALLEL_BELOW}: runs in parallel; at least "
    f"{FULLY_SERIAL}: one at a time; with a {PARAMETER} parameter, s within {MATCH * 100:.0f} % of it (or it inside the interval): "
    "the CPU part runs serially."
)
METHOD = (
    "Per interpreter, workload and model, the model's cells at the most cores where it ran at least two worker "
    "counts; speedups against the model's own x1 cell where its workers share the process, else against the "
    "baseline (as the verdicts judge them), each cell's time the median of its process medians. The fit is least "
    "squares on 1 / speedup (linear in s) with each point's residual relative to its measured value (timing "
    "noise is proportional to the time), s clipped to [0, 1]: the same s as scipy's curve_fit with those weights "
    f"and bounds. Interval: 95 % percentile bootstrap, {fits.RESAMPLES} resamples of each cell's process medians "
    "(with replacement, independently per cell, seeded per curve), refitted each time; none where a cell had one "
    "process."
)


@dataclass(frozen=True)
class ModelFit:
    """Amdahl's law fitted to one model's curve."""

    curve: Curve
    fit: fits.AmdahlFit
    cpu_fraction: float  # nan where the workload has no such parameter
    interpreter: str

    @property
    def described(self) -> bool:
        """Whether Amdahl's law describes the curve (within FIT_TOLERANCE at every point)."""
        return self.fit.fits(FIT_TOLERANCE)

    @property
    def reading(self) -> str:
        """What the fitted s says, in words."""
        s = self.fit.serial
        if not self.described:
            return f"Amdahl does not fit (max residual {self.fit.residual * 100:.0f} %)"
        f = self.cpu_fraction
        if not math.isnan(f) and (abs(s.value - f) <= MATCH * f or (s.has_interval and s.low <= f <= s.high)) \
                and f > PARALLEL_BELOW:
            why = ": the GIL serializes it" if self.curve.gil and self.curve.in_process else ""
            return "the CPU part runs serially" + why
        if s.value <= PARALLEL_BELOW:
            return "it runs in parallel"
        if s.value >= FULLY_SERIAL:
            return "it runs one at a time"
        if not math.isnan(f):
            return f"{'more' if s.value > f else 'less'} serial than its CPU share"
        return "partly serial"


def _fraction(params: dict[str, Any]) -> float:
    try:
        return float(params[PARAMETER])
    except (KeyError, TypeError, ValueError):
        return math.nan


def model_fits(run: RunData) -> list[ModelFit]:
    """One fit per interpreter, workload and model with at least two worker counts (at the most cores it
    has them), in the run's interpreter order."""
    medians = process_medians(run)
    params = cell_params(run)
    found = [c for c in curves(run) if len(c.points) >= 2]
    several = len({c.python for c in found}) > 1
    most = {}
    for c in found:
        key = (c.python, c.workload, c.backend)
        if key not in most or c.cores > most[key].cores:
            most[key] = c
    order = {label: i for i, label in enumerate(run.interpreters)}
    out = []
    for c in sorted(most.values(), key=lambda c: (c.workload, order.get(c.python, len(order)), not c.in_process,
                                                   c.family, c.backend)):
        fit = fits.fit_curve(c.workers, medians.get(c.reference, []), [medians.get(cid, []) for cid in c.ids],
                             seed=fits.seed_of(c.key))
        if math.isnan(fit.serial.value):
            continue
        out.append(ModelFit(c, fit, _fraction(params.get(c.ids[-1], {})),
                            interpreter_name(run, c.python) if c.python or several else ""))
    return out


def sentences(found: list[ModelFit]) -> list[str]:
    """One sentence per interpreter and workload."""
    out = []
    groups: dict[tuple[str, str, int], list[ModelFit]] = {}
    for m in found:
        groups.setdefault((m.curve.workload, m.curve.python, m.curve.cores), []).append(m)
    for (workload, _, cores), group in groups.items():
        where = f" on {group[0].interpreter}" if group[0].interpreter else ""
        place = f"{workload}{where}, {cores} core{'s' if cores > 1 else ''}"
        parts = "; ".join(f"{m.fit.serial.text()} in {m.curve.backend} — {m.reading}" for m in group)
        f = group[0].cpu_fraction
        if math.isnan(f):
            out.append(f"{place}: the fitted serial fraction was {parts}.")
        else:
            out.append(f"With {f * 100:.0f} % of each task on the CPU ({place}), the fitted serial fraction was {parts}.")
    return out


def table(found: list[ModelFit]) -> pd.DataFrame:
    return pd.DataFrame([{
        "workload": m.curve.workload, "interpreter": m.interpreter or "–", "cores": m.curve.cores,
        "model": m.curve.backend, "speedup against": m.curve.basis,
        "workers": ", ".join(map(str, m.fit.workers)),
        "speedups": ", ".join(f"{s:.2f}" for s in m.fit.speedups),
        PARAMETER: m.cpu_fraction, "serial fraction s": m.fit.serial.value,
        "s low (95 %)": m.fit.serial.low, "s high (95 %)": m.fit.serial.high,
        "max residual (%)": m.fit.residual * 100, "reading": m.reading,
    } for m in found])


def figure(found: list[ModelFit]) -> Figure | None:
    """Fitted s against the ``cpu_fraction`` parameter, a panel per interpreter, a colour per model, with
    the line s = cpu_fraction (the GIL serializes the CPU part) and s = 0 (all in parallel); fits Amdahl's
    law does not describe drawn hollow."""
    shown = [m for m in found if not math.isnan(m.cpu_fraction)]
    if not shown:
        return None
    labels = list(dict.fromkeys(m.curve.python for m in shown))
    colors = backend_colors([m.curve.backend for m in found])
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels) + 0.6, 3.9), squeeze=False)
    handles: dict[str, Any] = {}
    for ax, label in zip(axes[0], labels):
        mine = [m for m in shown if m.curve.python == label]
        for backend in dict.fromkeys(m.curve.backend for m in mine):
            line = sorted((m for m in mine if m.curve.backend == backend), key=lambda m: m.cpu_fraction)
            x = np.array([m.cpu_fraction for m in line])
            y = np.array([m.fit.serial.value for m in line])
            style = STYLES[line[0].curve.in_process]
            handle = ax.errorbar(x, y, yerr=fits.whiskers([m.fit.serial for m in line]), fmt=style, color=colors[backend], capsize=3, label=backend)
            bad = [m for m in line if not m.described]
            if bad:
                ax.plot([m.cpu_fraction for m in bad], [m.fit.serial.value for m in bad], "o", ms=11, mfc="none",
                        mec="tab:red")
            handles.setdefault(backend, handle)
        (diagonal,) = ax.plot([0, 1], [0, 1], ":", color="0.3", lw=1.2, zorder=3)
        handles.setdefault(f"s = {PARAMETER}", diagonal)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel(f"{PARAMETER} (share of each task on the CPU)")
        ax.set_ylabel("fitted serial fraction s")
        ax.set_title(mine[0].interpreter or "fitted s against the CPU share", fontsize=9)
        ax.grid(alpha=0.3)
    fig.legend(list(handles.values()), list(handles.keys()), fontsize=7, loc="upper center", ncol=min(len(handles), 5),
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


class AmdahlAnalysis(Analysis):
    """Amdahl's law fitted to each model's speedup curve, set against the work's CPU share."""

    name = "amdahl"

    def sections(self, run: RunData) -> list[Section]:
        found = model_fits(run) if not run.cells.empty else []
        if not found:
            return []
        notes = []
        if any(not m.described for m in found):
            notes.append("A curve Amdahl's law does not describe is most often one with more workers than cores for "
                         "CPU work (the speedup stops at the cores), or one whose start cost grows with the workers.")
        return [Section(
            key="amdahl", title="Serial fraction (Amdahl's law)", verdicts=sentences(found), rule=RULE, method=METHOD,
            figure=figure(found), table=table(found), notes=notes, order=65,
        )]

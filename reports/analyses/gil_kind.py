"""Which work holds the GIL, read from the measurements: a model whose workers share the process scales
only as far as its work lets go of the GIL, while worker processes scale whatever the work does.

Per workload and interpreter, at the most cores where both ran with workers = cores > 1: the scaling of
a model whose workers share the process (its own x1 time / its xN time, as ``reports/verdicts.py`` judges
it) next to the speedup of a model with worker processes (against the baseline) at the same N. Where
several in-process models ran, the one that scales least is judged: a model whose workers each have an
interpreter of their own escapes the GIL and can only scale more, so the least scaling one is the one
the GIL binds. Of the worker-process models the best is taken: it shows what the work allows.
Every figure carries a bootstrap interval over the processes of its cells; a verdict that an interval
could flip is called unclear.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import fits
from .base import Analysis
from ..curves import Curve, curves, interpreter_name, process_medians
from ..frame import RunData
from ..sections import Section
from ..verdicts import KIND_LABELS

#: the work releases the GIL: in-process scaling at least this, and at least RELEASES_SHARE of the processes'
RELEASES_ABOVE = 1.3
RELEASES_SHARE = 0.8
#: the work holds the GIL: in-process scaling at most this
HOLDS_BELOW = 1.15
#: below this speedup of worker processes nothing runs in parallel, and the question has no answer
PROCESSES_SCALE = 1.3

RELEASES, PARTLY, HOLDS, NO_ANSWER = "releases the GIL", "partly holds the GIL", "holds the GIL", "cannot tell"
#: from holding to releasing, the order an unclear verdict lists its candidates in
ORDER = (NO_ANSWER, HOLDS, PARTLY, RELEASES)

RULE = (
    f"releases the GIL: the in-process model's own scaling (x1 time / xN time) at least {RELEASES_ABOVE} and at least "
    f"{RELEASES_SHARE:.0%} of the worker processes' speedup at the same N; holds the GIL: that scaling at most "
    f"{HOLDS_BELOW}; partly: in between; cannot tell where worker processes stay below {PROCESSES_SCALE} (nothing runs "
    "in parallel); unclear where a 95 % interval of either scaling or of their ratio straddles a threshold that "
    "decides it. With the GIL off the same thresholds say whether the work scales in the in-process model."
)


def classify(in_process: float, processes: float, share: float) -> str:
    """The verdict for an in-process scaling, a worker-process speedup and their ratio (``share``)."""
    if processes < PROCESSES_SCALE:
        return NO_ANSWER
    if in_process <= HOLDS_BELOW:
        return HOLDS
    if in_process >= RELEASES_ABOVE and share >= RELEASES_SHARE:
        return RELEASES
    return PARTLY


def candidates(in_process: fits.Estimate, processes: fits.Estimate, share: fits.Estimate) -> list[str]:
    """Every verdict the figures' intervals allow, in ``ORDER``: one for a clear verdict."""
    def corners(e: fits.Estimate) -> list[float]:
        return [e.value, e.low, e.high] if e.has_interval else [e.value]

    grid = itertools.product(corners(in_process), corners(processes), corners(share))
    found = {classify(a, b, c) for a, b, c in grid}
    return [v for v in ORDER if v in found]


@dataclass(frozen=True)
class GilKind:
    """One workload's answer on one interpreter."""

    workload: str
    python: str
    interpreter: str
    kind: str
    workers: int  # = cores
    gil: bool
    model: str  # the in-process model judged
    other: str  # the worker-process model it is set against
    in_process: fits.Estimate  # its own scaling, x1 / xN
    processes: fits.Estimate  # the worker-process model's speedup against the baseline
    share: fits.Estimate  # in_process / processes
    found: tuple[str, ...]  # the verdicts the intervals allow (one: clear)

    @property
    def clear(self) -> bool:
        return len(self.found) == 1

    def word(self, verdict: str) -> str:
        """A verdict in words: of the GIL where it is on, of scaling where it is off."""
        if self.gil or verdict == NO_ANSWER:
            return verdict
        return {RELEASES: f"scales in {self.model}", PARTLY: f"scales partly in {self.model}",
                HOLDS: f"does not scale in {self.model}"}[verdict]

    @property
    def verdict(self) -> str:
        if self.clear:
            return self.word(self.found[0])
        return "unclear: " + " or ".join(self.word(v) for v in self.found)

    @property
    def remark(self) -> str:
        """What the declared kind of the work would not have predicted, "" where it agrees."""
        if not self.clear:
            return ""
        verdict, kind = self.found[0], KIND_LABELS.get(self.kind, self.kind)
        if self.gil and self.kind == "cpu-bound" and verdict == RELEASES:
            return f"{kind}, yet {self.model} scale: it releases the GIL"
        if self.gil and self.kind == "io-bound" and verdict == HOLDS:
            return f"{kind}, yet {self.model} do not scale: it holds the GIL while it works"
        if not self.gil and verdict == HOLDS:
            return f"{self.model} do not scale although the GIL is off: look for contention"
        return ""

    @property
    def sentence(self) -> str:
        """The answer in words; its figures (the scalings with their intervals) are in the section's table,
        once, next to the verdict table's own."""
        where = f" on {self.interpreter}" if self.interpreter else ""
        n = self.workers
        head = f"{self.workload}{where}, {n} workers on {n} cores"
        if self.verdict == NO_ANSWER:
            return f"{head}: {NO_ANSWER}, worker processes do not scale either."
        said = self.remark or self.verdict
        if not self.clear:
            said += " (an interval straddles a threshold)"
        return f"{head}: {said}."


def _judge(group: list[Curve], medians: dict[str, list[float]], interpreter: str) -> GilKind | None:
    """The answer for one interpreter and workload, at the most cores where both kinds of model ran x cores."""
    for cores in sorted({c.cores for c in group if c.cores > 1}, reverse=True):
        inside = [c for c in group if c.cores == cores and c.in_process and c.at(1) and c.at(cores)
                  and c.reference == c.at(1)]
        outside = [c for c in group if c.cores == cores and not c.in_process and c.at(cores)]
        if not inside or not outside:
            continue
        scaled = {}
        for c in inside + outside:
            scaled[c.backend] = fits.speedup_estimate(medians.get(c.reference, []), medians.get(c.at(cores), []),
                                                      seed=fits.seed_of(f"{c.key}|{cores}"))
        inside = [c for c in inside if not math.isnan(scaled[c.backend][0].value)]
        outside = [c for c in outside if not math.isnan(scaled[c.backend][0].value)]
        if not inside or not outside:
            continue
        judged = min(inside, key=lambda c: (scaled[c.backend][0].value, c.backend))
        best = max(outside, key=lambda c: (scaled[c.backend][0].value, c.backend))
        (own, own_reps), (other, other_reps) = scaled[judged.backend], scaled[best.backend]
        share = fits.estimate(own.value / other.value, own_reps / other_reps,
                              enough=own.has_interval and other.has_interval)
        return GilKind(judged.workload, judged.python, interpreter, judged.kind, cores, judged.gil,
                       judged.backend, best.backend, own, other, share, tuple(candidates(own, other, share)))
    return None


def gil_kinds(run: RunData) -> list[GilKind]:
    """Every workload's answer, per interpreter (in the run's order), by workload."""
    found = curves(run)
    medians = process_medians(run)
    order = {label: i for i, label in enumerate(run.interpreters)}
    answers = []
    keys = sorted({(c.workload, c.python) for c in found}, key=lambda k: (k[0], order.get(k[1], len(order)), k[1]))
    several = len({c.python for c in found}) > 1
    for workload, python in keys:
        name = interpreter_name(run, python) if python or several else ""
        answer = _judge([c for c in found if c.workload == workload and c.python == python], medians, name)
        if answer is not None:
            answers.append(answer)
    return answers


def table(answers: list[GilKind]) -> pd.DataFrame:
    return pd.DataFrame([{
        "workload": a.workload, "interpreter": a.interpreter or "–", "kind": a.kind, "N (workers = cores)": a.workers,
        "in-process model": a.model, "its scaling x1/xN (95 % CI)": a.in_process.text(),
        "worker-process model": a.other, "its speedup (95 % CI)": a.processes.text(),
        "ratio (95 % CI)": a.share.text(), "verdict": a.verdict,
    } for a in answers])


def figure(answers: list[GilKind]) -> Figure:
    """In-process scaling next to the worker processes' speedup per workload, with the intervals as
    whiskers, a line at 1 (no gain) and one at N (every worker busy)."""
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(answers) + 2.5), 3.8))
    x = np.arange(len(answers))
    width = 0.38
    bars = ((-width / 2, [a.in_process for a in answers], "workers in the process (own x1 / xN)", "tab:orange"),
            (width / 2, [a.processes for a in answers], "worker processes (baseline / xN)", "tab:blue"))
    for offset, est, label, color in bars:
        ax.bar(x + offset, [e.value for e in est], width, color=color, label=label, yerr=fits.whiskers(est),
               ecolor="0.2", capsize=3)
    for i, a in enumerate(answers):
        ax.hlines(a.workers, i - width, i + width, colors="0.3", linestyles="--", lw=1,
                  label="N" if i == 0 else None)
    ax.axhline(1.0, color="0.5", lw=0.8)
    labels = [f"{a.workload}\n{a.interpreter}" if a.interpreter else a.workload for a in answers]
    ax.set_xticks(x, labels=labels, fontsize=7)
    ax.set_ylabel("scaling at N = cores workers")
    ax.set_ylim(0, max(a.workers for a in answers) * 1.12)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


class GilKindAnalysis(Analysis):
    """Does the work hold the GIL? From threads' own scaling against worker processes'."""

    name = "gil-kind"

    def sections(self, run: RunData) -> list[Section]:
        answers = gil_kinds(run) if not run.cells.empty else []
        if not answers:
            return []
        return [Section(
            key="gil-kind", title="Which work holds the GIL",
            verdicts=[a.sentence for a in answers], rule=RULE,
            method=("At workers = cores on the most cores both ran: the in-process model's time x1 / its time xN, and "
                    "the worker-process model's speedup against the baseline, each cell's time the median of its "
                    "process medians. Intervals: 95 % percentile bootstrap, each cell's process medians resampled "
                    f"with replacement, independently per cell, {fits.RESAMPLES} times (seeded per model, so they do not "
                    "depend on the rest of the report); none for a cell with one process. Where several in-process "
                    "models ran, the least scaling one is judged (a model whose workers each have their own "
                    "interpreter escapes the GIL and only scales more); of the worker-process models, the best."),
            figure=figure(answers), table=table(answers), order=60,
        )]

"""A run's scaling results in words: the best execution model per interpreter, workload, cores and workers.

Every model is compared on its speedup against the baseline of the same interpreter, workload and
cores (the cell with the ``baseline`` flag: every task in its process's main thread). Between two models
the baseline cancels (the ratio of their speedups is the ratio of their times), so the ranking is fair.
Whether a model *scales* or is *serialized* is a different question: the same code can run several
percent faster or slower in the main thread than in a freshly started thread depending only on the
memory layout (Mytkowicz et al., "Producing wrong data without doing anything obviously wrong", ASPLOS
2009), so a model whose workers share the process (``in_process``) is judged on its OWN scaling: the
model x N against the same model x 1, same interpreter, workload and cores, where both sides run off the
main thread. The baseline-relative speedup is the fallback when there is no x 1 cell, and the verdict
says which was used. Models are named only as the manifest names them: nothing here knows one.
The thresholds are constants here and are printed in the report next to the verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from ..bench.data import query
from .frame import flag, python_of

#: a model "scales" when its efficiency (speedup / ideal; in-process models: own scaling / ideal) reaches this
SCALES = 0.7
#: one model "wins" when its speedup is at least this factor above every other's
WINS_BY = 1.25
#: an in-process model "is serialized" when its own scaling (x N against x 1) stays below this while the
#: ideal is above 1
SERIAL = 1.1

KIND_LABELS = {"cpu-bound": "CPU-bound", "io-bound": "I/O-bound"}

#: what ``ModelResult.basis`` says a model was judged on
OWN_SCALING = "own x1"
BASELINE = "baseline"

THRESHOLDS = [
    f"scales: efficiency (speedup / ideal) >= {SCALES}; a model whose workers share the process on its own scaling",
    f"wins: speedup at least {WINS_BY}x every other model's",
    f"serialized: a model whose workers share the process, with its own scaling (time of the model x1 / time of the "
    f"model xN, same interpreter, workload and cores) below {SERIAL} where the ideal is above 1, on an interpreter "
    "whose GIL is on; the speedup against the baseline only where the model has no x1 cell",
]


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def names(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_gap(gap: float, low: float = math.nan, high: float = math.nan, layouts: int = 0,
                 model: str = "") -> str:
    """"main-thread gap 1.15x (the main thread took 15 % longer than one fresh thread; 1.08x to 1.27x over 3 layouts)"."""
    if _nan(gap):
        return f"no main-thread gap measured (no {model or 'in-process'} x1 cell)"
    if gap >= 1:
        how = f"the main thread took {(gap - 1) * 100:.0f} % longer than one fresh thread"
    else:
        how = f"the main thread took {(1 - gap) * 100:.0f} % less time than one fresh thread"
    if not _nan(low) and not _nan(high) and layouts > 1:
        how += f"; {low:.2f}x to {high:.2f}x over {layouts} layouts"
    return f"main-thread gap {gap:.2f}x ({how})"


@dataclass(frozen=True)
class ModelResult:
    """One model's cell in a verdict."""

    backend: str
    family: str
    in_process: bool
    speedup: float  # against the baseline of the same interpreter, workload and cores
    ideal: float
    scaling: float = math.nan  # in-process models: time of the model x1 / time of the model xN
    gap: float = math.nan  # baseline time / the model x1 time (in-process models)
    gap_low: float = math.nan
    gap_high: float = math.nan
    layouts: int = 0
    id: str = ""

    @property
    def basis(self) -> str:
        """What the model is judged on: its own scaling (in-process with an x1 cell) or the baseline."""
        return OWN_SCALING if self.in_process and not _nan(self.scaling) else BASELINE

    @property
    def judged(self) -> float:
        """The figure that says whether the model scales: own scaling where that is the basis, else the speedup."""
        return float(self.scaling) if self.basis == OWN_SCALING else self.speedup

    @property
    def scales(self) -> bool:
        return self.ideal > 1 and self.judged / self.ideal >= SCALES

    @property
    def serial(self) -> bool:
        """An in-process model whose workers do not run in parallel (the ideal is above 1)."""
        return self.in_process and self.ideal > 1 and self.judged < SERIAL

    @property
    def text(self) -> str:
        """"threads 1.13x (0.98x its 1-worker time)"."""
        out = f"{self.backend} {self.speedup:.2f}x"
        if self.basis == OWN_SCALING:
            out += f" ({self.scaling:.2f}x its 1-worker time)"
        elif self.in_process:
            out += f" (no {self.backend} x1 cell: judged against the baseline)"
        return out

    @property
    def gap_text(self) -> str:
        return f"{self.backend}: " + describe_gap(self.gap, self.gap_low, self.gap_high, self.layouts, self.backend)


@dataclass(frozen=True)
class Verdict:
    workload: str
    kind: str
    cores: int
    workers: int
    ideal: float
    models: tuple[ModelResult, ...]  # fastest first
    reason: str
    python: str = ""  # the interpreter's label
    interpreter: str = ""  # how the report names the interpreter ("" for a run on one unnamed interpreter)
    gil: bool = True  # the interpreter's GIL was on while its cells ran
    baseline: str = "the baseline"  # the baseline model's name

    @property
    def best(self) -> ModelResult:
        return self.models[0]

    def model(self, backend: str) -> ModelResult | None:
        return next((m for m in self.models if m.backend == backend), None)

    @property
    def serialized(self) -> list[str]:
        return [m.backend for m in self.models if m.serial]

    @property
    def baseline_text(self) -> str:
        return f"baseline: {self.baseline}, every task in the process's main thread"

    @property
    def gap_texts(self) -> list[str]:
        return [m.gap_text for m in self.models if m.in_process]

    @property
    def head(self) -> str:
        """"CPU-bound hello-cpu on 3.14, 2 cores, 2 workers"."""
        where = f" on {self.interpreter}" if self.interpreter else ""
        return (f"{KIND_LABELS.get(self.kind, self.kind)} {self.workload}{where}, {self.cores} "
                f"core{'s' if self.cores > 1 else ''}, {self.workers} worker{'s' if self.workers > 1 else ''}")

    @property
    def sentence(self) -> str:
        tail = "; ".join([self.baseline_text] + self.gap_texts)
        return (f"{self.head}: {', '.join(m.text for m in self.models)} (against the baseline; ideal "
                f"{self.ideal:.0f}x): {self.reason}. The {tail}.")


def explain(kind: str, models: list[ModelResult], ideal: float, gil: bool = True) -> str:
    """Why the models reached these speedups, by the thresholds above (``models`` fastest first)."""
    if ideal <= 1:
        return "nothing to run in parallel here; any difference is overhead"
    if not models:
        return "no model to judge"
    clauses = []
    serial = [m.backend for m in models if m.serial]
    parallel = [m.backend for m in models if m.scales and not m.serial]
    if serial:
        clauses.append(f"the GIL serializes {names(serial)}" if gil
                       else f"{names(serial)} do not scale although the GIL is off: look for contention")
    if parallel and len(parallel) == len(models):
        why = ("waiting releases the GIL" if kind == "io-bound" else "the GIL is off" if not gil
               else "the work releases the GIL or runs outside it")
        clauses.append(f"{'both scale' if len(models) == 2 else 'all scale' if len(models) > 2 else parallel[0] + ' scales'}: {why}")
    elif parallel:
        clauses.append(f"{names(parallel)} run in parallel")
    best = models[0]
    if len(models) > 1:
        second = models[1]
        if best.speedup >= WINS_BY * second.speedup:
            clauses.append(f"fastest: {best.backend}, {best.speedup / second.speedup:.2f}x the next ({second.backend})")
        else:
            close = [m.backend for m in models if best.speedup < WINS_BY * m.speedup]
            clauses.append(f"no clear winner between {names(close)} (within {WINS_BY}x of each other)")
    elif not clauses:
        clauses.append(f"{best.backend} does not scale")
    return "; ".join(clauses)


def _gap_range(gaps: pd.DataFrame | None, thread_id: str) -> tuple[float, float, int]:
    if gaps is None or gaps.empty or "thread_id" not in gaps:
        return math.nan, math.nan, 0
    row = gaps[gaps["thread_id"] == thread_id]
    if row.empty:
        return math.nan, math.nan, 0
    r = row.iloc[0]
    return float(r["gap_low"]), float(r["gap_high"]), int(r["layouts"])


def _time_ratio(one: pd.Series, many: pd.Series) -> float:
    """time(x1) / time(xN); from the speedups (same baseline, it cancels) when there is no time column."""
    if "time" in one and "time" in many and not _nan(one["time"]) and not _nan(many["time"]) and many["time"] > 0:
        return float(one["time"]) / float(many["time"])
    if not _nan(one.get("speedup")) and not _nan(many.get("speedup")) and one["speedup"] > 0:
        return float(many["speedup"]) / float(one["speedup"])
    return math.nan


def _gil_of(group: pd.DataFrame, label: str, gil: bool | Mapping[str, Any]) -> bool:
    """The interpreter's GIL state: the cells' ``gil_enabled`` where known, else ``gil`` (one bool, or
    one per interpreter label); unknown counts as on (``bench.data.query.gil_state``)."""
    seen = group["gil_enabled"] if "gil_enabled" in group else []
    return query.gil_on(query.gil_state(seen, gil.get(label) if isinstance(gil, Mapping) else gil))


def verdicts(cells: pd.DataFrame, gil: bool | Mapping[str, Any] = True, gaps: pd.DataFrame | None = None,
             interpreters: Mapping[str, str] | None = None) -> list[Verdict]:
    """Verdicts per interpreter, workload and cores, at workers = cores (above 1) and at the most workers,
    over every model with a finished cell there (the baseline excepted).

    ``gil``: whether the GIL was on, where the cells do not say (``gil_enabled`` column); ``gaps``
    (``RunData.gaps``) adds each in-process model's main-thread gap range over layouts;
    ``interpreters``: label -> the name the sentences use (default: the label itself).
    """
    ok_all = cells[cells["status"] == "ok"].copy()
    ok_all["python"] = python_of(ok_all)
    ok_all["in_process"] = flag(ok_all, "in_process")
    if "family" not in ok_all:
        ok_all["family"] = ok_all["backend"]
    is_base = flag(ok_all, "baseline")
    base_names = sorted(set(ok_all.loc[is_base, "backend"]))
    baseline_name = ", ".join(base_names) or "the baseline"
    ok = ok_all[~is_base]
    several = ok_all["python"].nunique() > 1
    found: list[Verdict] = []
    for (label, workload, cores), group in ok.groupby(["python", "workload", "cores"], sort=False):
        worker_counts = sorted(set(group["workers"]))
        chosen = sorted({w for w in worker_counts if w == cores and w > 1} | {max(worker_counts)} - {1})
        ones = {r["backend"]: r for _, r in group[group["workers"] == 1].iterrows()}
        gil_on = _gil_of(ok_all[ok_all["python"] == label], label, gil)
        for workers in chosen:
            results = []
            for _, row in group[group["workers"] == workers].iterrows():
                if _nan(row.get("speedup")):
                    continue
                one = ones.get(row["backend"])
                in_process = bool(row["in_process"])
                scaling = _time_ratio(one, row) if one is not None and in_process else math.nan
                gap = float(one["speedup"]) if in_process and one is not None and not _nan(one.get("speedup")) else math.nan
                low, high, layouts = (_gap_range(gaps, one["id"]) if in_process and one is not None and "id" in one
                                      else (math.nan, math.nan, 0))
                results.append(ModelResult(
                    str(row["backend"]), str(row["family"] or row["backend"]), in_process, float(row["speedup"]),
                    float(row["ideal"]), scaling=scaling, gap=gap, gap_low=low, gap_high=high, layouts=layouts,
                    id=str(row.get("id", "")),
                ))
            if not results:
                continue
            results.sort(key=lambda m: (-m.speedup, m.backend))
            first = group[group["workers"] == workers].iloc[0]
            ideal = float(first["ideal"])
            display = (interpreters or {}).get(label, label) if (label or several or interpreters) else ""
            found.append(Verdict(
                workload, str(first["kind"]), int(cores), int(workers), ideal, tuple(results),
                explain(str(first["kind"]), results, ideal, gil_on), python=label, interpreter=display,
                gil=gil_on, baseline=baseline_name,
            ))
    return sorted(found, key=lambda v: (v.workload, _order(ok_all, v.python), v.cores, v.workers))


def _order(cells: pd.DataFrame, label: str) -> int:
    """The interpreter's position in the run (the order its cells first appear)."""
    labels = list(dict.fromkeys(cells["python"]))
    return labels.index(label) if label in labels else len(labels)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _headline_clause(v: Verdict, figures: bool = True) -> str:
    """Which model won at this verdict's workers and cores and by how much, and which the GIL serialized:
    by the same thresholds as ``explain``, so it says what the verdict table says. Without ``figures``
    only the words: a page that shows the figures elsewhere says each once."""
    at = f"at {_plural(v.workers, 'worker')} on {_plural(v.cores, 'core')}"
    if v.ideal <= 1:
        return f"nothing can run in parallel {at} (ideal 1x)"
    best = v.best
    if not figures:
        return _headline_words(v, at)
    if len(v.models) == 1:
        lead = f"{best.backend} reached {best.speedup:.2f}x {at}"
    elif best.speedup >= WINS_BY * v.models[1].speedup:
        second = v.models[1]
        lead = f"{best.backend} won, {best.speedup:.2f}x {at} ({best.speedup / second.speedup:.2f}x the next, {second.backend})"
    else:
        close = [m for m in v.models if best.speedup < WINS_BY * m.speedup]
        shared = {m.in_process for m in close}
        who = ("" if len(shared) > 1 else " (all with workers in the process)" if shared == {True}
               else " (all with worker processes)")
        lead = (f"no clear winner {at}: {_few([f'{m.backend} {m.speedup:.2f}x' for m in close])} are within "
                f"{WINS_BY}x of each other{who}")
    serial = [f"{m.backend} ({m.judged:.2f}x{' its 1-worker time' if m.basis == OWN_SCALING else ''})"
              for m in v.models if m.serial]
    if not serial:
        return lead
    tail = f"the GIL serialized {_few(serial)}" if v.gil else f"{_few(serial)} did not scale although the GIL was off"
    return f"{lead}, while {tail}"


def _headline_words(v: Verdict, at: str) -> str:
    """``_headline_clause`` in words only."""
    best = v.best
    if len(v.models) == 1:
        lead = f"{best.backend} is the only model {at}"
    elif best.speedup >= WINS_BY * v.models[1].speedup:
        lead = f"{best.backend} won {at}"
    else:
        close = [m.backend for m in v.models if best.speedup < WINS_BY * m.speedup]
        lead = f"no clear winner {at} between {_few(close)}"
    serial = [m.backend for m in v.models if m.serial]
    if not serial:
        return lead
    tail = f"the GIL serialized {_few(serial)}" if v.gil else f"{_few(serial)} did not scale although the GIL was off"
    return f"{lead}, while {tail}"


def _few(items: list[str], limit: int = 3) -> str:
    """At most ``limit`` items named, the rest counted: a headline stays one readable sentence."""
    if len(items) <= limit:
        return names(items)
    return names(items[:limit] + [f"{len(items) - limit} more"])


def _most_informative(found: list[Verdict]) -> Verdict:
    """The verdict at the most cores, with workers = cores where there is one, else the most workers."""
    cores = max(v.cores for v in found)
    at = [v for v in found if v.cores == cores]
    return next((v for v in at if v.workers == cores), max(at, key=lambda v: v.workers))


def headline(found: list[Verdict], figures: bool = True) -> list[str]:
    """One sentence per workload that answers "which model wins here, by how much": from the verdicts
    themselves (at the most cores, workers = cores where measured), per interpreter where there are
    several, so the top of the report can never disagree with its verdict table. ``figures=False``: which
    model, without how much (for a page whose overview figure and verdict table give the figures)."""
    lines = []
    for workload in dict.fromkeys(v.workload for v in found):
        mine = [v for v in found if v.workload == workload]
        labels = list(dict.fromkeys(v.python for v in mine))
        chosen = [_most_informative([v for v in mine if v.python == label]) for label in labels]
        if len(chosen) == 1 and not chosen[0].interpreter:
            lines.append(f"{workload}: {_headline_clause(chosen[0], figures)}.")
            continue
        parts = [f"on {v.interpreter or v.python}{'' if v.gil else ' (GIL off)'}, {_headline_clause(v, figures)}" for v in chosen]
        lines.append(f"{workload}: {'; '.join(parts)}.")
    return lines

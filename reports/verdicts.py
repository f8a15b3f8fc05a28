"""A run's scaling results in words: threads against processes, per workload, cores and workers.

The baseline of every speedup runs all tasks in its process's main thread; the threads backend runs
them on freshly started threads. The same code can run several percent faster or slower in the main
thread than in a fresh thread depending only on the memory layout (Mytkowicz et al., "Producing wrong
data without doing anything obviously wrong", ASPLOS 2009), so threads are judged on their OWN
scaling: threads x N against threads x 1, same workload and cores, where both sides run on threads.
The baseline-relative speedup is the fallback when there is no threads x 1 cell, and the verdict
says which was used. Processes are compared with threads directly (their speedups' ratio, where the
baseline cancels). The thresholds are constants here and are printed in the report next to the verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: a backend "scales" when its efficiency (speedup / ideal) reaches this
SCALES = 0.7
#: one backend "wins" when its speedup is at least this factor above the other's
WINS_BY = 1.25
#: threads "are serialized" when their own scaling (x N against x 1) stays below this while the ideal is above 1
SERIAL = 1.1

#: the backends a verdict compares (named here only: the frame finds the baseline by its flag)
THREADS, PROCESSES = "threads", "processes"

KIND_LABELS = {"cpu-bound": "CPU-bound", "io-bound": "I/O-bound"}

#: what ``Verdict.basis`` says threads were judged on
OWN_SCALING = "threads x1"
BASELINE = "baseline"

THRESHOLDS = [
    f"scales: efficiency (speedup / ideal) >= {SCALES}, threads on their own scaling",
    f"wins: speedup at least {WINS_BY}x the other backend's",
    f"serialized: thread scaling (time of threads x1 / time of threads xN, same workload and cores) below "
    f"{SERIAL} where the ideal is above 1; the speedup against the baseline only where there is no threads x1 cell",
]


def _nan(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def describe_gap(gap: float, low: float = math.nan, high: float = math.nan, layouts: int = 0) -> str:
    """"main-thread gap 1.15x (the main thread took 15 % longer than one fresh thread; 1.08x to 1.27x over 3 layouts)"."""
    if _nan(gap):
        return "no main-thread gap measured (no threads x1 cell)"
    if gap >= 1:
        how = f"the main thread took {(gap - 1) * 100:.0f} % longer than one fresh thread"
    else:
        how = f"the main thread took {(1 - gap) * 100:.0f} % less time than one fresh thread"
    if not _nan(low) and not _nan(high) and layouts > 1:
        how += f"; {low:.2f}x to {high:.2f}x over {layouts} layouts"
    return f"main-thread gap {gap:.2f}x ({how})"


@dataclass(frozen=True)
class Verdict:
    workload: str
    kind: str
    cores: int
    workers: int
    threads: float  # threads' speedup against the baseline
    processes: float  # processes' speedup against the baseline
    ideal: float
    reason: str
    thread_scaling: float = math.nan  # threads x1 time / threads xN time
    basis: str = OWN_SCALING  # OWN_SCALING or BASELINE: what the threads were judged on
    gap: float = math.nan  # baseline time / threads x1 time
    gap_low: float = math.nan
    gap_high: float = math.nan
    layouts: int = 0
    baseline: str = "the baseline"  # the baseline backend's name

    @property
    def gap_text(self) -> str:
        return describe_gap(self.gap, self.gap_low, self.gap_high, self.layouts)

    @property
    def baseline_text(self) -> str:
        return f"baseline: {self.baseline}, every task in the process's main thread"

    @property
    def threads_text(self) -> str:
        if self.basis == OWN_SCALING:
            return f"threads {self.thread_scaling:.2f}x their 1-worker time ({self.threads:.2f}x the baseline)"
        return f"threads {self.threads:.2f}x the baseline (no threads x1 cell: judged against the baseline)"

    @property
    def sentence(self) -> str:
        return (
            f"{KIND_LABELS.get(self.kind, self.kind)} {self.workload}, {self.cores} core{'s' if self.cores > 1 else ''}, "
            f"{self.workers} worker{'s' if self.workers > 1 else ''}: {self.threads_text}, "
            f"processes {self.processes:.2f}x the baseline (ideal {self.ideal:.0f}x): {self.reason}. "
            f"The {self.baseline_text}; {self.gap_text}."
        )


def explain(kind: str, threads: float, processes: float, ideal: float, gil: bool = True,
            thread_scaling: float | None = None) -> str:
    """Why threads and processes reached these speedups, by the thresholds above.

    ``threads`` and ``processes`` are speedups against the same baseline (their ratio compares the two
    backends); ``thread_scaling`` is threads' own scaling (x1 time / xN time), which judges whether
    the threads are serialized and whether they scale; without it the baseline-relative ``threads``.
    """
    if ideal <= 1:
        return "nothing to run in parallel here; any difference is overhead"
    own = threads if _nan(thread_scaling) else float(thread_scaling)
    t_scales, p_scales = own / ideal >= SCALES, processes / ideal >= SCALES
    if own < SERIAL and processes >= WINS_BY * threads:
        return (
            "the GIL serializes the threads; processes run in parallel and win"
            if gil
            else "the threads do not scale although the GIL is off: look for contention"
        )
    if t_scales and p_scales:
        why = "waiting releases the GIL" if kind == "io-bound" else "the work releases the GIL"
        return f"both scale: {why}"
    if threads >= WINS_BY * processes:
        return "threads win: starting processes and moving data costs more than it saves"
    if processes >= WINS_BY * threads:
        return "processes win" + (": the threads do not scale (serialized)" if own < SERIAL else "")
    return "no clear winner (within the thresholds)"


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


def verdicts(cells: pd.DataFrame, gil: bool = True, gaps: pd.DataFrame | None = None) -> list[Verdict]:
    """Verdicts per workload and core count, at workers = cores (above 1) and at the most workers.

    ``gaps`` (``RunData.gaps``) adds the main-thread gap's range over layouts to each verdict.
    """
    ok_all = cells[cells["status"] == "ok"]
    base_names = sorted(set(ok_all.loc[ok_all["baseline"].fillna(False).astype(bool), "backend"])) \
        if "baseline" in ok_all else []
    baseline_name = ", ".join(base_names) or "the baseline"
    ok = ok_all[ok_all["backend"].isin([THREADS, PROCESSES])]
    found: list[Verdict] = []
    for (workload, cores), group in ok.groupby(["workload", "cores"], sort=True):
        worker_counts = sorted(set(group["workers"]))
        chosen = sorted({w for w in worker_counts if w == cores and w > 1} | {max(worker_counts)} - {1})
        one = group[(group["backend"] == THREADS) & (group["workers"] == 1)]
        t1 = one.iloc[0] if not one.empty else None
        for workers in chosen:
            rows = group[group["workers"] == workers].set_index("backend")
            if not {THREADS, PROCESSES} <= set(rows.index):
                continue
            t, p = rows.loc[THREADS], rows.loc[PROCESSES]
            if any(_nan(x) for x in (t.speedup, p.speedup)):
                continue
            scaling = _time_ratio(t1, t) if t1 is not None else math.nan
            basis = BASELINE if _nan(scaling) else OWN_SCALING
            gap = float(t1["speedup"]) if t1 is not None and not _nan(t1["speedup"]) else math.nan
            low, high, layouts = _gap_range(gaps, t1["id"]) if t1 is not None and "id" in t1 else (math.nan, math.nan, 0)
            found.append(
                Verdict(workload, t.kind, int(cores), int(workers), float(t.speedup), float(p.speedup),
                        float(t.ideal), explain(t.kind, t.speedup, p.speedup, t.ideal, gil, scaling),
                        thread_scaling=scaling, basis=basis, gap=gap, gap_low=low, gap_high=high,
                        layouts=layouts, baseline=baseline_name)
            )
    return found

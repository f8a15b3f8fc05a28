"""A run's scaling results in words: threads against processes, per workload, cores and workers.

The thresholds are constants here and are printed in the report next to the verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: a backend "scales" when its efficiency (speedup / ideal) reaches this
SCALES = 0.7
#: one backend "wins" when its speedup is at least this factor above the other's
WINS_BY = 1.25
#: threads "are serialized" when their speedup stays below this while the ideal is above 1
SERIAL = 1.1

KIND_LABELS = {"cpu-bound": "CPU-bound", "io-bound": "I/O-bound"}

THRESHOLDS = [
    f"scales: efficiency (speedup / ideal) >= {SCALES}",
    f"wins: speedup at least {WINS_BY}x the other backend's",
    f"serialized: thread speedup below {SERIAL} where the ideal is above 1",
]


@dataclass(frozen=True)
class Verdict:
    workload: str
    kind: str
    cores: int
    workers: int
    threads: float
    processes: float
    ideal: float
    reason: str

    @property
    def sentence(self) -> str:
        return (
            f"{KIND_LABELS.get(self.kind, self.kind)} {self.workload}, {self.cores} core{'s' if self.cores > 1 else ''}, "
            f"{self.workers} worker{'s' if self.workers > 1 else ''}: threads {self.threads:.1f}x, "
            f"processes {self.processes:.1f}x (ideal {self.ideal:.0f}x): {self.reason}"
        )


def explain(kind: str, threads: float, processes: float, ideal: float, gil: bool = True) -> str:
    """Why threads and processes reached these speedups, by the thresholds above."""
    if ideal <= 1:
        return "nothing to run in parallel here; any difference is overhead"
    t_scales, p_scales = threads / ideal >= SCALES, processes / ideal >= SCALES
    if threads < SERIAL and processes >= WINS_BY * threads:
        return (
            "the GIL serializes the threads; processes run in parallel"
            if gil
            else "the threads do not scale although the GIL is off: look for contention"
        )
    if t_scales and p_scales:
        why = "waiting releases the GIL" if kind == "io-bound" else "the work releases the GIL"
        return f"both scale: {why}"
    if threads >= WINS_BY * processes:
        return "threads win: starting processes and moving data costs more than it saves"
    if processes >= WINS_BY * threads:
        return "processes win"
    return "no clear winner (within the thresholds)"


def verdicts(cells: pd.DataFrame, gil: bool = True) -> list[Verdict]:
    """Verdicts per workload and core count, at workers = cores (above 1) and at the most workers."""
    ok = cells[(cells["status"] == "ok") & cells["backend"].isin(["threads", "processes"])]
    found: list[Verdict] = []
    for (workload, cores), group in ok.groupby(["workload", "cores"], sort=True):
        worker_counts = sorted(set(group["workers"]))
        chosen = sorted({w for w in worker_counts if w == cores and w > 1} | {max(worker_counts)})
        for workers in chosen:
            rows = group[group["workers"] == workers].set_index("backend")
            if not {"threads", "processes"} <= set(rows.index):
                continue
            t, p = rows.loc["threads"], rows.loc["processes"]
            if any(math.isnan(x) for x in (t.speedup, p.speedup)):
                continue
            found.append(
                Verdict(workload, t.kind, int(cores), int(workers), float(t.speedup), float(p.speedup),
                        float(t.ideal), explain(t.kind, t.speedup, p.speedup, t.ideal, gil))
            )
    return found

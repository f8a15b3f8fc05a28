"""The threshold vocabulary: the metrics a gate can judge and ``--fail-on METRIC:T%[,tol=M%]``, parsed.

Why here and not in the judge: the options and the config file (``bench.plan.config``, ``bench.plan.request``) parse
thresholds before anything is judged, and the gate (``bench.judge``) reads them; both import this leaf, so
planning never imports judging. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

#: metric -> (direction: +1 if a higher value is worse, words for worse/better)
METRICS: dict[str, tuple[int, str, str]] = {
    "time": (+1, "slower", "faster"),
    "speedup": (-1, "worse", "better"),
    "parallelism": (-1, "worse", "better"),
    "memory": (+1, "larger", "smaller"),  # a process tree's peak memory (ProcessRecord.memory: PSS, else RSS)
    "cpu": (+1, "more CPU", "less CPU"),  # the process tree's CPU seconds per batch (ProcessRecord.cpu_best)
    "instructions": (+1, "more work", "less work"),  # instructions per task (ProcessRecord.instructions)
}
#: metrics that were dropped, and why: parse_threshold says so
DROPPED_METRICS = {
    "efficiency": "efficiency is speedup / ideal and the ideal cancels between runs: it gives the same verdict "
                  "as speedup; use speedup:PCT% instead",
    "gil-penalty": "gil-penalty is the ratio of two cells' times, i.e. of two speedup rows of one workload; "
                   "use speedup:PCT%, which judges each of them",
}


@dataclass(frozen=True)
class Threshold:
    """``--fail-on METRIC:T%[,tol=M%]``: fail a change shown above the tolerance M, pass one shown below
    T. M defaults to T/2; between M and T either outcome is allowed (the indifference zone)."""

    metric: str
    percent: float
    tolerance_percent: float | None = None

    @property
    def fraction(self) -> float:
        return self.percent / 100

    @property
    def tolerance(self) -> float:
        """M as a fraction: the largest change the gate tolerates (a change of M or less fails at most
        ALPHA of gates)."""
        return (self.percent / 2 if self.tolerance_percent is None else self.tolerance_percent) / 100

    @property
    def text(self) -> str:
        tol = "" if self.tolerance_percent is None else f",tol={self.tolerance_percent:g}%"
        return f"{self.metric}:{self.percent:g}%{tol}"


def parse_threshold(text: str) -> Threshold:
    """"time:10%" -> Threshold("time", 10.0); "time:5%,tol=1%" sets the tolerance M to 1 %; ValueError
    with the accepted syntax otherwise."""
    match = re.fullmatch(r"\s*([a-z-]+)\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*"
                         r"(?:,\s*tol\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*)?", text)
    if match and match.group(1) in DROPPED_METRICS:
        raise ValueError(f"--fail-on {text!r}: {DROPPED_METRICS[match.group(1)]}")
    if not match or match.group(1) not in METRICS or float(match.group(2)) <= 0:
        raise ValueError(
            f"--fail-on {text!r}: expected METRIC:PCT%[,tol=PCT%], e.g. time:10% or time:5%,tol=1%, with METRIC "
            f"one of {', '.join(METRICS)} and PCT above 0"
        )
    tolerance = None if match.group(3) is None else float(match.group(3))
    if tolerance is not None and not 0 <= tolerance < float(match.group(2)):
        raise ValueError(f"--fail-on {text!r}: the tolerance must be at least 0 and below the threshold "
                         f"({match.group(2)} %): the gate fails a change shown above it and passes one shown below "
                         "the threshold")
    return Threshold(match.group(1), float(match.group(2)), tolerance)


@dataclass(frozen=True)
class Thresholds:
    """The thresholds of a comparison: the default list, and a workload's own list where it has one."""

    default: tuple[Threshold, ...]
    per_workload: Mapping[str, tuple[Threshold, ...]] = field(default_factory=dict)

    def of(self, workload: str) -> tuple[Threshold, ...]:
        return self.per_workload.get(workload, self.default)

    @property
    def all(self) -> list[Threshold]:
        seen = dict.fromkeys(list(self.default) + [t for ts in self.per_workload.values() for t in ts])
        return list(seen)


def as_thresholds(thresholds: "Thresholds | list[Threshold] | tuple[Threshold, ...]") -> Thresholds:
    return thresholds if isinstance(thresholds, Thresholds) else Thresholds(tuple(thresholds))

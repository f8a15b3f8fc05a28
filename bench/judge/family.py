"""The family of rows a comparison judges, fixed before any value is read, and each row's error budgets.

Why apart: the budgets (``ALPHA`` split over every row by weight, ``PASS_ERROR`` per row) are the gate's
promise (steps 0 and 2 of the rule in ``bench.judge.compare``); ``gilbench ab`` asks for them before any
round runs (``row_specs``, ``check_reachable``), so they depend on the plan and thresholds, never on values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..data import stats
from ..data.thresholds import Threshold, Thresholds
from ..data.cells import CellRecord
from .refusals import Refused
from .sequential import Design, design_for

#: the family's false-alarm rate: a change of the tolerance M or less (no change included) fails at most
#: this share of gates
ALPHA = 0.01
#: a row's chance of passing a change of its threshold T or more (split over the looks, as ALPHA is)
PASS_ERROR = 0.05
#: a guard row's (weight 1: ``SUMMARIES``) chance of passing a change of T: the cell's POWER at T rests on
#: its primary row; the guard only adds the catches the primary summary hides (a slowdown of one batch
#: in three), so it passes on weaker evidence instead of holding the gate inconclusive on its noise
GUARD_PASS_ERROR = 0.20
#: the power a cell's resolvable change is stated at: a change that large fails at least this share
#: of gates (1 - PASS_ERROR)
POWER = 0.95
#: a primary row's weight in the family; a guard's is less
PRIMARY_WEIGHT = 2.0
#: metrics whose separate runs carry a run-level offset (the machine's speed): judged beyond the
#: run-to-run prediction bound
FLOORED = ("time", "cpu")
#: metrics counted, not timed: near-deterministic figures from a few rounds after the timed ones, judged by
#: ``counted_test`` at one look (the exact rank test cannot reach a row's level with so few pairs)
COUNTED = ("instructions",)
#: metric -> its summaries of one process, each with its weight in the family (primary 2, guard 1)
SUMMARIES: dict[str, tuple[tuple[str, float], ...]] = {
    "time": (("min", 2.0), ("mean", 1.0)),
    "speedup": (("min", 2.0),),
    "parallelism": (("median", 2.0),),
    "memory": (("peak", 2.0),),
    "cpu": (("cpu", 2.0),),
    "instructions": (("count", 2.0),),
}


@dataclass(frozen=True)
class RowSpec:
    """A row the comparison will have: fixed before any value is seen, so that its budget is too."""

    id: str
    metric: str
    summary: str
    threshold: Threshold
    weight: float


def row_specs(cells: Mapping[str, CellRecord], thresholds: Thresholds) -> list[RowSpec]:
    """Every row of a comparison of runs with these cells (the family), in order."""
    specs = []
    for cid, record in cells.items():
        for threshold in thresholds.of(record.cell.workload):
            if threshold.metric == "speedup" and record.baseline:
                continue
            for summary, weight in SUMMARIES[threshold.metric]:
                specs.append(RowSpec(cid, threshold.metric, summary, threshold, weight))
    return specs


def row_alpha(spec: RowSpec, total_weight: float) -> float:
    """The row's share of ALPHA: its weight over the family's total (Bonferroni)."""
    return ALPHA * spec.weight / total_weight if total_weight else ALPHA


def row_pass_error(spec: RowSpec) -> float:
    """The row's chance of passing a change of its threshold: PASS_ERROR for a primary row,
    GUARD_PASS_ERROR for a guard."""
    return PASS_ERROR if spec.weight >= PRIMARY_WEIGHT else GUARD_PASS_ERROR


def check_reachable(cells: Mapping[str, CellRecord], thresholds: Thresholds, design: Design) -> None:
    """Refused when the design's first look cannot reach its level with the exact signed-rank test:
    the gate would pass every change forever. The message gives the rounds it needs."""
    specs = row_specs(cells, thresholds)
    if not specs or _first_level(design, specs) >= stats.min_signed_rank_p(design.looks[0]):
        return
    needed = next(r for r in range(design.looks[0] + 1, 1000)
                  if _first_level(design_for(r), specs) >= stats.min_signed_rank_p(design_for(r).looks[0]))
    raise Refused(
        f"{design.looks[0]} rounds cannot reach the gate's level: {len(specs)} rows share alpha {ALPHA:g}, so the "
        f"strictest row tests at {_first_level(design, specs):.2g} at the first look, and the exact signed-rank "
        f"test's smallest p with {design.looks[0]} rounds is {stats.min_signed_rank_p(design.looks[0]):.2g}. It "
        f"needs at least {needed} rounds: give --rounds {needed} (or the gate profile), or fewer cells or thresholds")


def _first_level(design: Design, specs: list[RowSpec]) -> float:
    """The strictest level any rank-tested row (all but ``COUNTED``) tests at, at the design's first look;
    1 when there is none."""
    total = sum(s.weight for s in specs)
    return min((design.level(0, row_alpha(s, total)) for s in specs if s.metric not in COUNTED), default=1.0)

"""Each finished cell's figures with an interval over its pyperf processes: what the export formats publish.

Dashboards (Bencher, github-action-benchmark) draw a value with a band around it, and the band should
say how far the same cell moved between its processes, the unit of analysis (values inside one process
share its memory layout and clock, see ``frame.py``). So every interval here is the range over
processes, not a bootstrap: a cell has 2 to 6 processes, too few for a percentile interval to mean
anything, and a range is what a reader can recompute from the manifest.

* time: the frame's ``time`` (median of the process medians); interval: the lowest and highest process
  median.
* speedup: the frame's ``speedup`` (the baseline cell's time / this cell's time, same interpreter,
  workload and cores); interval: process k of the baseline cell against process k of this cell (both
  ran with layout pad k), lowest and highest of those ratios. The ratio of two medians always lies
  between them. None for the baseline cell itself (1 by definition).
* efficiency: speedup / ideal, its interval scaled alike.
* parallelism: the frame's ``parallelism`` (median over processes); interval: lowest and highest process.

Nothing here knows a model: the baseline is the cell with the ``baseline`` flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..bench.data import query
from .fits import Estimate
from .frame import RunData, flag, python_of


@dataclass(frozen=True)
class CellFigures:
    """One finished cell's exported figures."""

    id: str
    cell: dict[str, Any]  # the cell's row of ``RunData.cells``
    time: Estimate  # seconds
    speedup: Estimate | None = None
    efficiency: Estimate | None = None
    parallelism: Estimate | None = None
    baseline_id: str = ""


def _is_finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def around(value: float, samples: Iterable[float]) -> Estimate:
    """``value`` with the range of the finite ``samples``, widened to hold ``value`` (rounding aside,
    it always does); no range without samples."""
    xs = [float(x) for x in samples if _is_finite_number(x)]
    if not _is_finite_number(value) or not xs:
        return Estimate(float(value) if _is_finite_number(value) else math.nan)
    return Estimate(float(value), min(min(xs), value), max(max(xs), value))


def cell_figures(run: RunData) -> list[CellFigures]:
    """Every cell that finished (status ok, with a time), in the manifest's order."""
    cells = run.cells
    if cells.empty:
        return []
    cells = cells.assign(python=python_of(cells), baseline=flag(cells, "baseline"))
    ok = cells[(cells["status"] == "ok") & cells["time"].notna()]
    baselines = query.baselines(ok.itertuples())
    found = []
    for row, r in zip(ok.to_dict("records"), ok.itertuples()):
        cid = row["id"]
        mine = run.query.process_medians(cid)
        time = around(row["time"], mine.values())
        speedup = efficiency = None
        base = baselines.get(query.baseline_key(r))
        base_id = "" if row["baseline"] or base is None else str(base.id)
        if base_id and _is_finite_number(row.get("speedup")):
            base = run.query.process_medians(base_id)
            ratios = [base[k] / mine[k] for k in sorted(set(base) & set(mine)) if mine[k] > 0]
            speedup = around(row["speedup"], ratios)
            ideal = row.get("ideal")
            if _is_finite_number(ideal) and ideal > 0:
                efficiency = speedup.scaled(1 / ideal)
        parallel = [query.process_summary(p, "parallelism") for p in run.query.cells[cid].processes if p.values]
        parallelism = around(row["parallelism"], parallel) if _is_finite_number(row.get("parallelism")) else None
        found.append(CellFigures(cid, row, time, speedup, efficiency, parallelism, base_id))
    return found

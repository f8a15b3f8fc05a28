"""bencher.json: the run in Bencher Metric Format (BMF), for ``bencher run --adapter json --file``.

BMF (https://bencher.dev/docs/reference/bencher-metric-format) is one JSON object: benchmark name ->
measure slug -> ``{"value", "lower_value", "upper_value"}`` (the bounds optional), all numbers. Here a
benchmark is one finished cell, named by its id (``hello-cpu/threads/w2/c2``, with ``@<label>``
for another interpreter), and its measures are

* ``latency``: the cell's time in nanoseconds (Bencher's built-in Latency measure is in ns): the median
  of its pyperf processes' medians, bounded by the lowest and highest process median;
* ``speedup``: the baseline's time / the cell's time (not for the baseline cell itself), bounded by the
  per-process ratios (process k of both cells ran with layout pad k);
* ``efficiency``: speedup / ideal, bounded alike;
* ``parallelism``: CPU seconds / wall seconds per batch, median over processes, bounded by the
  lowest and highest process.

Bencher creates a measure the first time it sees its slug. Bounds are ranges over processes, not
confidence intervals (``reports/intervals.py`` says why). A figure that is not finite is left out:
BMF has no NaN. The machine is Bencher's testbed (``--testbed``), not part of the name.
"""

from __future__ import annotations

import json
from typing import Any

from ..frame import RunData
from ..intervals import Estimate, cell_figures
from .base import Output

#: nanoseconds per second: Bencher's built-in latency measure is in ns
NS = 1e9


def metric(estimate: Estimate, factor: float = 1.0) -> dict[str, float]:
    """One BMF metric: the value, with lower and upper values where the range is known."""
    e = estimate.scaled(factor)
    out = {"value": e.value}
    if e.bounded:
        out.update(lower_value=e.low, upper_value=e.high)
    return out


def bmf(run: RunData) -> dict[str, dict[str, dict[str, float]]]:
    """The run as BMF data: cell id -> measure slug -> metric."""
    data: dict[str, dict[str, Any]] = {}
    for cell in cell_figures(run):
        measures = {"latency": metric(cell.time, NS)}
        for slug, estimate in (("speedup", cell.speedup), ("efficiency", cell.efficiency),
                               ("parallelism", cell.parallelism)):
            if estimate is not None and estimate.finite:
                measures[slug] = metric(estimate)
        data[cell.id] = measures
    return data


class BencherOutput(Output):
    name = "bencher"
    filename = "bencher.json"

    def render(self, run: RunData) -> str:
        return json.dumps(bmf(run), indent=1, allow_nan=False) + "\n"

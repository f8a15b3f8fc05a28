"""github-benchmark-time.json and github-benchmark-speedup.json: the run for github-action-benchmark.

github-action-benchmark (https://github.com/benchmark-action/github-action-benchmark) reads, for its
``customSmallerIsBetter`` and ``customBiggerIsBetter`` tools, a JSON array of
``{"name", "unit", "value", "range"?, "extra"?}``: name, unit, range and extra are strings, value a
number, range a ``"± <number>"`` it parses for its charts. One tool per file, so two outputs:

* time (``customSmallerIsBetter``): one entry per finished cell, named by its id, in ms: the median of
  its pyperf processes' medians; range: ± the larger distance to the lowest or highest process median;
* speedup (``customBiggerIsBetter``): one entry per finished cell but the baseline, unit ``x``: the
  baseline's time / the cell's time; range: ± the larger distance to the lowest or highest per-process
  ratio (process k of both cells ran with layout pad k).

``extra`` says what the figure is and what it rests on. Ranges are over processes (``reports/intervals.py``).
"""

from __future__ import annotations

import json
from typing import Any

from ..frame import RunData
from ..intervals import CellFigures, Estimate, cell_figures
from .base import Output


def entry(name: str, unit: str, estimate: Estimate, extra: str) -> dict[str, Any]:
    """One benchmark result; ``range`` only where the range is known. The number in ``range`` always
    has a decimal point: the action's parser wants a digit and at least one more character."""
    out: dict[str, Any] = {"name": name, "unit": unit, "value": estimate.value}
    if estimate.bounded:
        out["range"] = f"± {estimate.half_width:#.4g}"
    out["extra"] = extra
    return out


def _where(cell: dict[str, Any]) -> str:
    return f"{cell['family']} family, workers {cell['workers']}, cores {cell['cores']}, {cell['tasks']} tasks a batch"


def time_entries(run: RunData) -> list[dict[str, Any]]:
    out = []
    for c in cell_figures(run):
        ms = c.time.scaled(1e3)
        extra = (f"median of {c.cell['n_processes']} pyperf processes' medians ({int(c.cell['n'])} batches)"
                 + (f"; processes {ms.low:.4g} to {ms.high:.4g} ms" if ms.bounded else "")
                 + f"\n{_where(c.cell)}" + _noisy(c))
        out.append(entry(c.id, "ms", ms, extra))
    return out


def speedup_entries(run: RunData) -> list[dict[str, Any]]:
    out = []
    for c in cell_figures(run):
        if c.speedup is None or not c.speedup.finite:
            continue
        s, cell = c.speedup, c.cell
        extra = (f"time of {c.baseline_id} / time of this cell"
                 + (f"; per-process ratios {s.low:.3f}x to {s.high:.3f}x" if s.bounded else "")
                 + f"\nideal {cell['ideal']:g}x" + (f", efficiency {c.efficiency.value:.2f}" if c.efficiency else "")
                 + f"; {_where(cell)}" + _noisy(c))
        out.append(entry(c.id, "x", s, extra))
    return out


def _noisy(c: CellFigures) -> str:
    return f"\nnoisy: {c.cell.get('note') or 'flagged by the runner'}" if c.cell.get("noisy") else ""


class GithubBenchmarkTime(Output):
    """For ``tool: customSmallerIsBetter``."""

    name = "github-benchmark-time"
    filename = "github-benchmark-time.json"

    def render(self, run: RunData) -> str:
        return json.dumps(time_entries(run), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


class GithubBenchmarkSpeedup(Output):
    """For ``tool: customBiggerIsBetter``."""

    name = "github-benchmark-speedup"
    filename = "github-benchmark-speedup.json"

    def render(self, run: RunData) -> str:
        return json.dumps(speedup_entries(run), indent=1, ensure_ascii=False, allow_nan=False) + "\n"

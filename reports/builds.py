"""Free-threaded against GIL builds, and the GIL's own effect on one free-threaded binary.

Two questions a run over several interpreters can answer (no interpreter or model is known by name:
builds, versions, GIL states and settings come from machine.json's interpreter descriptions):

* **The free-threaded build's trade.** Where a free-threaded build and a GIL build of the same version
  both ran a workload: the free-threaded build's *single-thread cost* (its baseline time / the GIL
  build's baseline time, same workload and cores) next to its *scaling gain* (a model's best speedup on
  the free-threaded build / its best speedup on the GIL build, for each model whose workers share the
  process), and the net answer: the fastest model's time on each.
* **The GIL's own effect.** Where one free-threaded binary ran with the GIL off and with it on
  (``PYTHON_GIL=0`` / ``PYTHON_GIL=1``): each in-process model's best speedup with the GIL off / with it
  on, and the baseline's time with it off / on. The build is the same on both sides, so this isolates
  the GIL from the build's cost.

Speedups are within one interpreter (against its own baseline), so they compare across interpreters;
times are compared directly only where the same work ran on both (the baselines, the fastest cells).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from ..bench.data import query
from ..bench.data.records import InterpreterDescription
from .frame import RunData, flag, python_of, scaled_workloads


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def settings_text(described: "InterpreterDescription | Mapping[str, Any]") -> str:
    """"PYTHON_GIL=0" or "" for an interpreter's environment settings."""
    if not isinstance(described, InterpreterDescription):
        described = InterpreterDescription.from_dict(described)
    return described.settings_text


def paired_range(run: RunData, num_id: str, den_id: str) -> tuple[float, float, int]:
    """The range over layouts of time(num) / time(den): process k of both cells ran with layout pad k."""
    num, den = run.query.process_medians(num_id), run.query.process_medians(den_id)
    ratios = [num[k] / den[k] for k in sorted(set(num) & set(den)) if den[k] > 0]
    return (min(ratios), max(ratios), len(ratios)) if ratios else (math.nan, math.nan, 0)


def _ok(run: RunData) -> pd.DataFrame:
    cells = run.cells
    if cells.empty:
        return cells
    ok = cells[cells["status"] == "ok"].copy()
    ok["python"] = python_of(ok)
    return ok


def _baseline(ok: pd.DataFrame, label: str, workload: str, cores: int) -> pd.Series | None:
    """The baseline row of ``label``, ``workload`` and ``cores`` (``bench.data.query``; the run's cells hold one placement)."""
    found = query.baselines(r for _, r in ok.iterrows())
    return next((row for key, row in found.items() if key[:3] == (label, workload, int(cores))), None)


def _best_per_model(ok: pd.DataFrame, label: str, workload: str, cores: int) -> dict[str, pd.Series]:
    """Each in-process, non-baseline model's cell with the highest speedup (over its worker counts)."""
    rows = ok[(ok["python"] == label) & (ok["workload"] == workload) & (ok["cores"] == cores)
              & ~flag(ok, "baseline") & flag(ok, "in_process")
              & ok["speedup"].notna()]
    return {b: g.sort_values(["speedup", "workers"], ascending=[False, True]).iloc[0] for b, g in rows.groupby("backend")}


def _fastest(ok: pd.DataFrame, label: str, workload: str, cores: int) -> pd.Series | None:
    rows = ok[(ok["python"] == label) & (ok["workload"] == workload) & (ok["cores"] == cores) & ok["time"].notna()]
    return rows.sort_values(["time", "backend"]).iloc[0] if not rows.empty else None


def _shared(ok: pd.DataFrame, a: str, b: str) -> list[tuple[str, int]]:
    """(workload, the most cores) for each workload with a finished baseline on both interpreters and more
    than one worker count (a workload run with one worker only, such as the start-cost one, has no scaling)."""
    keys = set(query.baselines(ok.itertuples()))
    both = []
    for workload in scaled_workloads(ok):
        cores_a = {c for p, w, c, _ in keys if (p, w) == (a, workload)}
        cores_b = {c for p, w, c, _ in keys if (p, w) == (b, workload)}
        if cores_a & cores_b:
            both.append((workload, int(max(cores_a & cores_b))))
    return both


def _pct(ratio: float, more: str = "slower", less: str = "faster") -> str:
    if _nan(ratio):
        return "not measured"
    return f"{abs(ratio - 1) * 100:.0f} % {more if ratio >= 1 else less}"


def _range_text(low: float, high: float, layouts: int) -> str:
    if layouts < 2:
        return ""
    if f"{low:.2f}" == f"{high:.2f}":
        return f"; {low:.2f}x at each of {layouts} layouts"
    return f"; {low:.2f}x to {high:.2f}x over {layouts} layouts"


def _span(values: list[float]) -> str:
    """"1.12x" or "1.10x to 1.14x"."""
    low, high = f"{min(values):.2f}x", f"{max(values):.2f}x"
    return low if low == high else f"{low} to {high}"


@dataclass
class ModelGain:
    backend: str
    a_speedup: float  # on the free-threaded build (or with the GIL off)
    b_speedup: float  # on the GIL build (or with the GIL on)
    a_workers: int
    b_workers: int

    @property
    def gain(self) -> float:
        return self.a_speedup / self.b_speedup if self.b_speedup and not _nan(self.b_speedup) else math.nan


@dataclass
class WorkloadTrade:
    """One workload at the most cores both interpreters ran it on."""

    workload: str
    kind: str
    cores: int
    a_baseline: float  # seconds
    b_baseline: float
    cost: float  # a's baseline time / b's baseline time
    cost_low: float
    cost_high: float
    layouts: int
    models: list[ModelGain] = field(default_factory=list)
    a_fastest: tuple[str, int, float] = ("", 0, math.nan)  # model, workers, seconds
    b_fastest: tuple[str, int, float] = ("", 0, math.nan)
    sentence: str = ""

    @property
    def top(self) -> ModelGain | None:
        """The in-process model whose speedup the change helped most."""
        gains = [m for m in self.models if not _nan(m.gain)]
        return max(gains, key=lambda m: (m.gain, m.backend)) if gains else None

    @property
    def net(self) -> float:
        """a's fastest time / b's fastest time."""
        return self.a_fastest[2] / self.b_fastest[2] if self.b_fastest[2] else math.nan


@dataclass
class BuildPair:
    """A free-threaded interpreter (``a``) against a GIL build of the same version (``b``), or, for the GIL's
    own effect, one free-threaded binary with the GIL off (``a``) against the same with it on (``b``)."""

    a: str
    b: str
    a_name: str
    b_name: str
    version: str
    executable: str = ""
    workloads: list[WorkloadTrade] = field(default_factory=list)
    summary: str = ""


def _trade(run: RunData, ok: pd.DataFrame, a: str, b: str, workload: str, cores: int) -> WorkloadTrade | None:
    base_a, base_b = _baseline(ok, a, workload, cores), _baseline(ok, b, workload, cores)
    if base_a is None or base_b is None:
        return None
    low, high, layouts = paired_range(run, base_a["id"], base_b["id"])
    trade = WorkloadTrade(workload, str(base_a["kind"]), cores, float(base_a["time"]), float(base_b["time"]),
                          float(base_a["time"]) / float(base_b["time"]), low, high, layouts)
    best_a, best_b = _best_per_model(ok, a, workload, cores), _best_per_model(ok, b, workload, cores)
    for backend in sorted(set(best_a) & set(best_b)):
        ra, rb = best_a[backend], best_b[backend]
        trade.models.append(ModelGain(backend, float(ra["speedup"]), float(rb["speedup"]), int(ra["workers"]),
                                      int(rb["workers"])))
    fa, fb = _fastest(ok, a, workload, cores), _fastest(ok, b, workload, cores)
    if fa is not None:
        trade.a_fastest = (str(fa["backend"]), int(fa["workers"]), float(fa["time"]))
    if fb is not None:
        trade.b_fastest = (str(fb["backend"]), int(fb["workers"]), float(fb["time"]))
    return trade


def _net_text(trade: WorkloadTrade, a_name: str, b_name: str) -> str:
    (ma, wa, ta), (mb, wb, tb) = trade.a_fastest, trade.b_fastest
    if _nan(trade.net):
        return ""
    return (f" Net: the fastest cell on {a_name} ({ma} x{wa}, {ta * 1e3:.1f} ms) takes {trade.net:.2f}x the time of "
            f"the fastest on {b_name} ({mb} x{wb}, {tb * 1e3:.1f} ms).")


def free_threaded_pairs(run: RunData) -> list[BuildPair]:
    """Each free-threaded interpreter against the first GIL build of the same version, with the numbers
    and a sentence per workload."""
    ok = _ok(run)
    if ok.empty:
        return []
    present = [label for label in run.interpreters if label in set(ok["python"])]
    described = {label: run.interpreter(label) for label in present}
    pairs = []
    for a in present:
        da = described[a]
        if not da.free_threaded or not da.short_version:
            continue
        gil_builds = [b for b in present if not described[b].free_threaded and described[b].build
                      and described[b].short_version == da.short_version]
        if not gil_builds:
            continue
        b = gil_builds[0]
        pair = BuildPair(a, b, da.display, described[b].display, da.short_version, da.executable)
        for workload, cores in _shared(ok, a, b):
            trade = _trade(run, ok, a, b, workload, cores)
            if trade is None:
                continue
            words = (f"{workload}, {cores} core{'s' if cores > 1 else ''}: the baseline takes {trade.cost:.2f}x as long "
                     f"on {pair.a_name} as on {pair.b_name} (the free-threaded build's single-thread cost: "
                     f"{_pct(trade.cost)}{_range_text(trade.cost_low, trade.cost_high, trade.layouts)})")
            top = trade.top
            if top is not None:
                words += (f"; best speedup of {top.backend}: {top.a_speedup:.2f}x there against {top.b_speedup:.2f}x on "
                          f"{pair.b_name}, a scaling gain of {top.gain:.2f}x")
            else:
                words += "; no model whose workers share the process ran on both, so there is no scaling gain to show"
            trade.sentence = words + "." + _net_text(trade, pair.a_name, pair.b_name)
            pair.workloads.append(trade)
        if pair.workloads:
            costs = [t.cost for t in pair.workloads]
            gains = [t.top.gain for t in pair.workloads if t.top is not None]
            pair.summary = (
                f"{pair.a_name} (free-threaded) against {pair.b_name} (GIL build), Python {pair.version}: single-thread "
                f"cost {_span(costs)} over {len(costs)} workload{'s' if len(costs) > 1 else ''}"
                + (f"; scaling gain up to {max(gains):.2f}x" if gains else "") + "."
            )
            pairs.append(pair)
    return pairs


def _named(d: InterpreterDescription) -> str:
    """The interpreter's name with its settings where the name does not already say them."""
    return d.display + (f" ({d.settings_text})" if d.settings_text and d.settings_text not in d.display else "")


def gil_effect_pairs(run: RunData) -> list[BuildPair]:
    """Each free-threaded binary that ran with the GIL off and with it on: the GIL's own effect."""
    ok = _ok(run)
    if ok.empty:
        return []
    present = [label for label in run.interpreters if label in set(ok["python"])]
    groups: dict[tuple[str, str], list[str]] = {}
    for label in present:
        d = run.interpreter(label)
        if d.free_threaded:
            groups.setdefault((d.executable or d.short_version, d.short_version), []).append(label)
    pairs = []
    for (executable, version), labels in groups.items():
        off = [x for x in labels if run.interpreter(x).gil_off is True]
        on = [x for x in labels if run.interpreter(x).gil_off is False]
        if not off or not on:
            continue
        a, b = off[0], on[0]
        da, db = run.interpreter(a), run.interpreter(b)
        a_name, b_name = _named(da), _named(db)
        pair = BuildPair(a, b, a_name, b_name, version, executable if executable != version else "")
        for workload, cores in _shared(ok, a, b):
            trade = _trade(run, ok, a, b, workload, cores)
            if trade is None:
                continue
            top = trade.top
            words = f"{workload}, {cores} core{'s' if cores > 1 else ''}: "
            if top is not None:
                words += (f"best speedup of {top.backend}: {top.a_speedup:.2f}x with the GIL off against "
                          f"{top.b_speedup:.2f}x with it on, so the GIL's own effect on its scaling is {top.gain:.2f}x")
            else:
                words += "no model whose workers share the process ran both ways"
            words += (f"; the baseline takes {trade.cost:.2f}x as long with the GIL off as with it on "
                      f"({_pct(trade.cost)}{_range_text(trade.cost_low, trade.cost_high, trade.layouts)}: the same build, "
                      "so this is the GIL's own single-thread cost, not the build's).")
            trade.sentence = words + _net_text(trade, a_name, b_name)
            pair.workloads.append(trade)
        if pair.workloads:
            effects = [t.top.gain for t in pair.workloads if t.top is not None]
            where = f" ({pair.executable})" if pair.executable else ""
            pair.summary = (f"One free-threaded binary{where}, Python {version}, run as {a_name} and as {b_name}: "
                            + (f"the GIL alone changes the best in-process speedup by {_span(effects)}"
                               if effects else "no in-process model ran both ways") + ".")
            pairs.append(pair)
    return pairs

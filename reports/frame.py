"""A run folder -> tidy pandas frames. The only place that turns raw run data into table rows.

The pyperf *process* is the unit: a cell's values come from several processes, each with its own
memory layout (its ``pad``), so a cell is summarized twice, over all its values (n, median, IQR, CV)
and over its processes (``time`` = median of the process medians, the figure speedups use).

``cells``: one row per cell (identity, status, value statistics, process statistics, speedup, ideal,
efficiency, effective parallelism, per-core utilization). ``values``: one row per timed batch (id,
process, pad, value). ``processes``: one row per pyperf process (its median, pad, canary, flags).
``gaps``: the main-thread gap per workload and cores. ``samples``: the per-core utilization rows.
All from the run folder alone (manifest.json; suite.json only for pyperf's metadata when present).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from bench import stats
from bench.model import CellRecord, ProcessRecord
from bench.results import RunFolder, RunFolderError

IDENTITY = ["id", "workload", "kind", "backend", "workers", "cores", "tasks", "start_method", "scale"]


VALUE_COLUMNS = ["id", "process", "pad", "value"]
PROCESS_COLUMNS = [
    "id", "workload", "kind", "backend", "workers", "cores", "baseline", "in_process", "status", "process", "pad",
    "pid", "started", "ended", "n", "median", "canary", "canary_cpu", "canary_cpu_share", "parallelism",
    "noise_share", "order", "flag", "canary_ratio", "flagged",
]
GAP_COLUMNS = [
    "workload", "cores", "baseline_id", "thread_id", "backend", "gap", "gap_low", "gap_high", "layouts",
    "per_layout", "note",
]


@dataclass
class RunData:
    path: Path
    manifest: dict[str, Any]
    machine: dict[str, Any]
    lesson: list[dict[str, Any]]
    cells: pd.DataFrame
    values: pd.DataFrame
    samples: pd.DataFrame
    pyperf_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROCESS_COLUMNS))
    gaps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GAP_COLUMNS))

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete" and all(
            c.get("status") != "pending" for c in self.manifest["cells"]
        )

    @property
    def cpu_columns(self) -> list[str]:
        return [c for c in self.samples.columns if c.startswith("cpu")]


def _read_samples(path: Path) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame(columns=["time"])
    try:
        return pd.read_csv(path).dropna()
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not a readable samples file ({exc})") from None


def _utilization(samples: pd.DataFrame, started: float, ended: float) -> dict[str, float]:
    """Mean busy % of each CPU over the samples taken while the cell ran."""
    cpu_cols = [c for c in samples.columns if c.startswith("cpu")]
    if not cpu_cols or not started or not ended:
        return {}
    window = samples[(samples["time"] >= started) & (samples["time"] <= ended)]
    if window.empty:
        return {}
    means = window[cpu_cols].mean()
    out = {f"util_{c}": float(means[c]) for c in cpu_cols}
    out["busy_cores"] = float(means.sum() / 100.0)
    out["util_samples"] = int(len(window))
    return out


def _finite(xs: Iterable[Any]) -> list[float]:
    return [float(x) for x in xs if isinstance(x, (int, float)) and not math.isnan(x)]


def _median(xs: Iterable[Any]) -> float:
    xs = _finite(xs)
    return statistics.median(xs) if xs else math.nan


def spread(xs: Iterable[Any]) -> float:
    """(max - min) / median of the finite ``xs``: nan for fewer than two."""
    xs = _finite(xs)
    if len(xs) < 2:
        return math.nan
    mid = statistics.median(xs)
    return (max(xs) - min(xs)) / mid if mid > 0 else math.nan


def process_summary(processes: list[ProcessRecord]) -> dict[str, Any]:
    """A cell's figures over its processes (those with values): the unit of analysis.

    ``time`` is the median of the process medians; ``between_share`` and ``n_eff`` the variance
    components of the values grouped by process; ``layout_spread`` the range of the process medians
    over their median (the same work, different layouts); the canary's median (ms) and spread.
    """
    procs = [p for p in processes if p.values]
    medians = [p.median for p in procs]
    between, n_eff = stats.variance_components([p.values for p in procs])
    canaries = _finite(p.canary for p in processes)
    return {
        "time": _median(medians),
        "processes": len(procs),
        "between_share": between,
        "n_eff": n_eff,
        "layout_spread": spread(medians),
        "pads": " ".join(str(p.pad) for p in procs),
        "canary_ms": _median(canaries) * 1e3,
        "canary_spread": spread(canaries),
        "parallelism": _median(p.parallelism for p in procs),
    }


def _error_text(error: dict[str, Any]) -> tuple[str, str]:
    head = ": ".join(str(x) for x in (error.get("error_type") or error.get("how"), error.get("message")) if x)
    detail = error.get("traceback") or error.get("log_tail") or error.get("detail") or ""
    return head, str(detail)


def load(path: Path | str) -> RunData:
    """Read a run folder into frames; RunFolderError with a clear message if it is not one."""
    folder = RunFolder(path)
    manifest = folder.read_manifest()
    machine = folder.read_optional(folder.machine, "machine.json", {})
    lesson = folder.read_optional(folder.lesson, "lesson.json", [])
    suite = folder.load_suite()
    samples = _read_samples(folder.samples)

    by_name = {b.get_name(): b for b in suite.get_benchmarks()} if suite else {}
    rows, value_rows, process_rows, records, metadata = [], [], [], {}, {}
    for entry in manifest["cells"]:
        record = CellRecord.from_dict(entry)
        cell = record.cell
        row: dict[str, Any] = {
            "id": cell.id, "workload": cell.workload, "kind": record.kind, "backend": cell.backend,
            "workers": cell.workers, "cores": cell.cores, "tasks": cell.tasks, "start_method": cell.start_method,
            "scale": cell.scale, "baseline": record.baseline, "in_process": cell.start_method is None,
        }
        row["status"] = record.status
        row["params"] = ", ".join(f"{k}={v}" for k, v in (cell.params or {}).items())
        row["error"], row["error_detail"] = _error_text(record.error or {})
        row["started"], row["ended"] = record.started, record.ended
        row["load_avg_before"] = entry.get("load_avg_before")
        row["noisy"] = record.noisy
        row["noise_share"] = record.noise_share
        row["note"] = record.note
        bench = by_name.get(cell.id)
        processes = record.processes
        timed = [p for p in processes if p.values] if record.status == "ok" else []
        row.update(stats.summarize([v for p in timed for v in p.values]))
        row.update(process_summary(timed))
        if not timed:
            row["canary_ms"] = _median(p.canary for p in processes) * 1e3
        if bench is not None:
            meta = bench.get_metadata()
            metadata[cell.id] = meta
            loads = [r.get_metadata().get("load_avg_1min") for r in bench.get_runs()]
            loads = [x for x in loads if isinstance(x, (int, float))]
            row["load_avg_1min"] = max(loads) if loads else math.nan
            row["python_version"] = meta.get("python_version", "")
            row["gil"] = meta.get("gilbench_gil", "")
        row.update(_utilization(samples, record.started or 0, record.ended or 0))
        rows.append(row)
        records[cell.id] = record
        value_rows.extend({"id": cell.id, "process": p.index, "pad": p.pad, "value": v} for p in timed for v in p.values)
        for p in processes:
            process_rows.append({
                "id": cell.id, "workload": cell.workload, "kind": record.kind, "backend": cell.backend,
                "workers": cell.workers, "cores": cell.cores, "baseline": record.baseline,
                "in_process": cell.start_method is None, "status": record.status, "process": p.index,
                "pad": p.pad, "pid": p.pid, "started": p.started, "ended": p.ended, "n": len(p.values),
                "median": p.median, "canary": p.canary, "canary_cpu": p.canary_cpu,
                "canary_cpu_share": p.canary_cpu / p.canary if p.canary and p.canary > 0 else math.nan,
                "parallelism": p.parallelism, "noise_share": p.noise_share, "order": p.order, "flag": p.flag,
            })

    cells = pd.DataFrame(rows)
    gaps = pd.DataFrame(columns=GAP_COLUMNS)
    if not cells.empty:
        cells = add_scaling(cells)
        gaps = main_thread_gaps(cells, records)
        cells = add_gaps(cells, gaps)
    values_frame = pd.DataFrame(value_rows, columns=VALUE_COLUMNS)
    processes_frame = add_canary_ratio(pd.DataFrame(process_rows, columns=PROCESS_COLUMNS[:-2]))
    return RunData(Path(path), manifest, machine, lesson, cells, values_frame, samples, metadata,
                   processes_frame, gaps)


def add_scaling(cells: pd.DataFrame) -> pd.DataFrame:
    """Speedup against the baseline cell (the ``baseline`` flag) of the same workload and cores,
    ideal, efficiency, and ``scaling``: against the same backend's 1-worker cell, same workload and cores.

    All on ``time`` (the median of the process medians).
    """
    cells = cells.copy()
    ok = cells["status"] == "ok"
    flag = cells["baseline"].fillna(False).astype(bool) if "baseline" in cells else pd.Series(False, index=cells.index)
    baseline = {(r.workload, r.cores): r.time for r in cells[ok & flag].itertuples()}
    one = {(r.workload, r.cores, r.backend): r.time for r in cells[ok & (cells["workers"] == 1)].itertuples()}
    cells["baseline_time"] = [baseline.get((r.workload, r.cores), math.nan) for r in cells.itertuples()]
    cells["speedup"] = [stats.speedup(r.baseline_time, r.time) for r in cells.itertuples()]
    cells["ideal"] = [stats.ideal_speedup(r.kind, r.workers, r.cores, r.tasks) for r in cells.itertuples()]
    cells["efficiency"] = [stats.efficiency(r.speedup, r.ideal) for r in cells.itertuples()]
    cells["scaling"] = [stats.speedup(one.get((r.workload, r.cores, r.backend), math.nan), r.time)
                        for r in cells.itertuples()]
    return cells


def main_thread_gaps(cells: pd.DataFrame, records: dict[str, CellRecord]) -> pd.DataFrame:
    """The main-thread gap per workload and cores: baseline time / time of the same tasks in one thread.

    The baseline runs every task in its process's main thread; a 1-worker cell of a backend that runs
    in-process (no start method) and is not the baseline runs them in one freshly started thread.
    Above 1: the main thread was slower. Process k of both cells ran with layout pad k, so the ratio of
    their k-th processes is the gap at one layout; ``gap_low``/``gap_high`` are the range over layouts.
    One row per in-process 1-worker backend, or one row without a gap (``thread_id`` empty, a note) where
    there is none.
    """
    ok = cells[cells["status"] == "ok"]
    rows = []
    for _, base in ok[ok["baseline"].fillna(False).astype(bool)].sort_values(["workload", "cores"]).iterrows():
        same = ok[(ok["workload"] == base.workload) & (ok["cores"] == base.cores) & (ok["workers"] == 1)
                  & ~ok["baseline"].fillna(False).astype(bool) & ok["in_process"].fillna(False).astype(bool)]
        if same.empty:
            rows.append({"workload": base.workload, "cores": base.cores, "baseline_id": base.id, "thread_id": "",
                         "backend": "", "gap": math.nan, "gap_low": math.nan, "gap_high": math.nan, "layouts": 0,
                         "per_layout": [], "note": "no 1-worker cell runs these tasks in a thread: the gap was not measured"})
            continue
        for _, other in same.sort_values("backend").iterrows():
            b, t = records.get(base.id), records.get(other.id)
            per_layout = []
            for p in (b.processes if b else []):
                q = t.process(p.index) if t else None
                if q is None or not p.values or not q.values:
                    continue
                ratio = stats.speedup(p.median, q.median)
                if not math.isnan(ratio):
                    per_layout.append({"process": p.index, "pad": p.pad, "ratio": ratio,
                                       "same_pad": p.pad == q.pad})
            ratios = [x["ratio"] for x in per_layout]
            rows.append({
                "workload": base.workload, "cores": base.cores, "baseline_id": base.id, "thread_id": other.id,
                "backend": other.backend, "gap": stats.speedup(base.time, other.time),
                "gap_low": min(ratios) if ratios else math.nan, "gap_high": max(ratios) if ratios else math.nan,
                "layouts": len(ratios), "per_layout": per_layout,
                "note": "" if all(x["same_pad"] for x in per_layout) else "some processes paired across different pads",
            })
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def add_gaps(cells: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Each cell gets its workload and cores' main-thread gap (the first measured one) and its range."""
    cells = cells.copy()
    measured = gaps.dropna(subset=["gap"]).drop_duplicates(["workload", "cores"])
    by_key = {(r.workload, r.cores): r for r in measured.itertuples()}
    for column, attr in (("main_thread_gap", "gap"), ("main_thread_gap_low", "gap_low"),
                         ("main_thread_gap_high", "gap_high")):
        cells[column] = [getattr(by_key[(r.workload, r.cores)], attr) if (r.workload, r.cores) in by_key
                         else math.nan for r in cells.itertuples()]
    return cells


def add_canary_ratio(processes: pd.DataFrame) -> pd.DataFrame:
    """Each process's canary against the run's median canary, and whether the runner flagged it
    (``ProcessRecord.flag``: others took its CPUs, its canary was slow or kept off the CPU)."""
    processes = processes.copy()
    run_canary = _median(processes["canary"]) if not processes.empty else math.nan
    processes["canary_ratio"] = processes["canary"] / run_canary if run_canary and not math.isnan(run_canary) else math.nan
    processes["flagged"] = processes["flag"].fillna("").astype(str) != ""
    return processes


def csv_frame(run: RunData) -> pd.DataFrame:
    """The tidy table as written to results.csv: one row per cell, no multi-line fields."""
    return run.cells.drop(columns=["error_detail"], errors="ignore")

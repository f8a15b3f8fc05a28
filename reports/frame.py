"""A run folder -> tidy pandas frames. The only place that turns raw run data into table rows.

``cells``: one row per cell (its identity, status, time statistics, speedup, ideal, efficiency,
effective parallelism, per-core utilization). ``values``: one row per timed batch. ``samples``:
the per-core utilization rows. All from the run folder alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench import stats
from bench.results import RunFolder, RunFolderError

IDENTITY = ["id", "workload", "kind", "backend", "workers", "cores", "tasks", "start_method", "scale"]


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


def load(path: Path | str) -> RunData:
    """Read a run folder into frames; RunFolderError with a clear message if it is not one."""
    folder = RunFolder(path)
    manifest = folder.read_manifest()
    machine = folder.read_optional(folder.machine, "machine.json", {})
    lesson = folder.read_optional(folder.lesson, "lesson.json", [])
    suite = folder.load_suite()
    samples = _read_samples(folder.samples)

    by_name = {b.get_name(): b for b in suite.get_benchmarks()} if suite else {}
    rows, value_rows, metadata = [], [], {}
    for cell in manifest["cells"]:
        row: dict[str, Any] = {key: cell.get(key) for key in IDENTITY}
        row["status"] = cell.get("status", "pending")
        row["params"] = ", ".join(f"{k}={v}" for k, v in (cell.get("params") or {}).items())
        error = cell.get("error") or {}
        row["error"] = ": ".join(x for x in (error.get("error_type"), error.get("message")) if x)
        row["error_detail"] = error.get("traceback") or error.get("log_tail") or ""
        row["started"], row["ended"] = cell.get("started"), cell.get("ended")
        row["load_avg_before"] = cell.get("load_avg_before")
        row["noisy"] = bool(cell.get("noisy", False))
        row["noise_share"] = cell.get("noise_share", math.nan)
        bench = by_name.get(cell["id"])
        values = list(bench.get_values()) if bench and row["status"] == "ok" else []
        row.update(stats.summarize(values))
        acct = cell.get("accounting") or {}
        row["parallelism"] = stats.effective_parallelism(acct.get("wall", []), acct.get("cpu", []))
        if bench:
            meta = bench.get_metadata()
            metadata[cell["id"]] = meta
            loads = [r.get_metadata().get("load_avg_1min") for r in bench.get_runs()]
            loads = [x for x in loads if isinstance(x, (int, float))]
            row["load_avg_1min"] = max(loads) if loads else math.nan
            row["python_version"] = meta.get("python_version", "")
            row["gil"] = meta.get("gilbench_gil", "")
        row.update(_utilization(samples, cell.get("started") or 0, cell.get("ended") or 0))
        rows.append(row)
        value_rows.extend({"id": cell["id"], "value": v} for v in values)

    cells = pd.DataFrame(rows)
    if not cells.empty:
        cells = add_scaling(cells)
    values_frame = pd.DataFrame(value_rows, columns=["id", "value"])
    return RunData(Path(path), manifest, machine, lesson, cells, values_frame, samples, metadata)


def add_scaling(cells: pd.DataFrame) -> pd.DataFrame:
    """Speedup against the sequential cell of the same workload and cores, ideal and efficiency."""
    cells = cells.copy()
    base = cells[(cells["backend"] == "sequential") & (cells["status"] == "ok")]
    baseline = {(r.workload, r.cores): r.median for r in base.itertuples()}
    cells["baseline"] = [baseline.get((r.workload, r.cores), math.nan) for r in cells.itertuples()]
    cells["speedup"] = [stats.speedup(r.baseline, r.median) for r in cells.itertuples()]
    cells["ideal"] = [stats.ideal_speedup(r.kind, r.workers, r.cores, r.tasks) for r in cells.itertuples()]
    cells["efficiency"] = [stats.efficiency(r.speedup, r.ideal) for r in cells.itertuples()]
    return cells


def csv_frame(run: RunData) -> pd.DataFrame:
    """The tidy table as written to results.csv: one row per cell, no multi-line fields."""
    return run.cells.drop(columns=["error_detail"], errors="ignore")

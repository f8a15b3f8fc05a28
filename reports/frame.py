"""A run folder -> tidy pandas frames. The only place that turns raw run data into table rows.

The pyperf *process* is the unit: a cell's values come from several processes, each with its own
memory layout (its ``pad``), so a cell is summarized twice, over all its values (n, median, IQR, CV)
and over its processes (``time`` = median of the process medians, the figure speedups use).

``cells``: one row per cell (identity, interpreter, execution model and its family, status, value
statistics, process statistics, speedup, ideal, efficiency, effective parallelism, per-core
utilization). ``values``: one row per timed batch (id, process, pad, value). ``processes``: one row per
pyperf process (its median, pad, canary, flags). ``gaps``: the main-thread gap per interpreter, workload,
cores and in-process model. ``samples``: the per-core utilization rows. ``interpreters``: each
interpreter of the run described (label, version, build, GIL, settings). ``start_costs``: one worker's
start cost per interpreter and model, from the no-op workload's cells.
All from the run folder alone (manifest.json; suite.json only for pyperf's metadata when present).

Nothing here knows an execution model or an interpreter by name: the baseline is the cell with the
``baseline`` flag, models are grouped by the ``family`` and ``in_process`` the manifest records for
them, and every speedup is within one interpreter (the baseline of the same workload, cores and
interpreter).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..bench.data import query, stats
from ..bench.data.cells import START_COST_WORKLOAD, CellRecord, ProcessRecord
from ..bench.data.query import RunQuery
from ..bench.data.failure import Failure
from ..bench.data.records import InterpreterDescription
from ..bench.data.manifest import RunManifest
from ..bench.data.results import RunFolder, RunFolderError
from ..bench.data.topology import Topology
from ..bench.data.experiment import ExperimentResult

IDENTITY = ["id", "python", "workload", "kind", "backend", "family", "in_process", "workers", "cores", "tasks",
            "start_method", "scale"]

#: where a cells frame keeps its run's start-cost workloads (``DataFrame.attrs`` follow filters and copies)
START_COST_ATTR = "start_cost_workloads"


def start_cost_workloads(cells: pd.DataFrame | None = None) -> list[str]:
    """The workloads whose 1-task, 1-worker cells measure a model's start cost rather than its scaling, as
    the run recorded them (``CellRecord.start_cost``, kept in ``cells.attrs`` by ``load``); a frame that does
    not carry them (built by hand, or two runs' frames joined) counts the built-in one."""
    found = None if cells is None else cells.attrs.get(START_COST_ATTR)
    return list(found) if found is not None else [START_COST_WORKLOAD]


VALUE_COLUMNS = ["id", "process", "pad", "value"]
PROCESS_COLUMNS = [
    "id", "python", "workload", "kind", "backend", "family", "workers", "cores", "baseline", "in_process", "status",
    "process", "pad",
    "pid", "started", "ended", "n", "median", "canary", "canary_cpu", "canary_cpu_share", "parallelism",
    "noise_share", "order", "flag", "memory", "memory_measure", "mem_rss", "mem_uss", "mem_pss", "mem_processes",
    "peak_rss_self", "peak_rss_child", "wait_share", "canary_ratio", "flagged",
]
START_COST_COLUMNS = [
    "python", "workload", "cores", "backend", "family", "in_process", "id", "baseline_id", "start_ms", "low_ms", "high_ms", "layouts",
]
GIB = 1024 ** 3
#: the status of a cell that cannot run on its interpreter or under its model (never run, never failed)
SKIPPED = "skipped"

GAP_COLUMNS = [
    "python", "workload", "cores", "baseline_id", "thread_id", "backend", "gap", "gap_low", "gap_high", "layouts",
    "per_layout", "note",
]


@dataclass
class RunData:
    path: Path
    manifest: RunManifest
    machine: dict[str, Any]
    lesson: list[dict[str, Any]]
    cells: pd.DataFrame
    values: pd.DataFrame
    samples: pd.DataFrame
    pyperf_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROCESS_COLUMNS))
    gaps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GAP_COLUMNS))
    #: label -> description (see ``describe_interpreters``), in the order the run's cells name them
    interpreters: dict[str, InterpreterDescription] = field(default_factory=dict)
    start_costs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=START_COST_COLUMNS))
    #: the experiments' results (experiments/*.json), one per experiment and interpreter
    experiments: list[ExperimentResult] = field(default_factory=list)
    #: the run's records, for the questions every report module asks of them (``bench.data.query``)
    query: RunQuery = field(default_factory=RunQuery)
    #: cells that measured the cores again under another placement than the run's first (``Cell.placement``),
    #: with their speedups against their own placement's baseline; ``cells`` holds the first placement's only,
    #: so that every other table keeps one cell per model, workers and cores. Both carry ``placement`` where
    #: the run asked for several.
    other_placements: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def skipped(self) -> pd.DataFrame:
        """The cells that were never run because they cannot run there, with their reasons (``note``)."""
        if self.cells.empty:
            return self.cells
        return self.cells[self.cells["status"] == SKIPPED]

    def interpreter(self, label: str) -> InterpreterDescription:
        return self.interpreters.get(label) or describe_interpreter(self.machine, label)

    @property
    def complete(self) -> bool:
        return self.manifest.complete

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


def _numbers_without_nan(xs: Iterable[Any]) -> list[float]:
    return [float(x) for x in xs if isinstance(x, (int, float)) and not math.isnan(x)]


def _median(xs: Iterable[Any]) -> float:
    xs = _numbers_without_nan(xs)
    return statistics.median(xs) if xs else math.nan


def spread(xs: Iterable[Any]) -> float:
    """(max - min) / median of the finite ``xs``: nan for fewer than two."""
    xs = _numbers_without_nan(xs)
    if len(xs) < 2:
        return math.nan
    mid = statistics.median(xs)
    return (max(xs) - min(xs)) / mid if mid > 0 else math.nan


def cell_summary(processes: list[ProcessRecord]) -> dict[str, Any]:
    """A cell's figures over its processes (those with values): the unit of analysis.

    ``time`` is the median of the process medians; ``between_share`` and ``n_eff`` the variance
    components of the values grouped by process; ``layout_spread`` the range of the process medians
    over their median (the same work, different layouts); the canary's median (ms) and spread.
    """
    procs = [p for p in processes if p.values]
    medians = [query.process_summary(p, "median") for p in procs]
    between, n_eff = stats.variance_components([p.values for p in procs])
    canaries = _numbers_without_nan(p.canary for p in processes)
    return {
        "time": _median(medians),
        "n_processes": len(procs),
        "between_share": between,
        "n_eff": n_eff,
        "layout_spread": spread(medians),
        "pads": " ".join(str(p.pad) for p in procs),
        "canary_ms": _median(canaries) * 1e3,
        "canary_spread": spread(canaries),
        "parallelism": _median(p.parallelism for p in procs),
        # memory (bytes): medians over processes of each process tree's polled peak (bench.measure.memory)
        "memory": _median(p.memory for p in procs),
        # the range over processes: how far the figure moves from one process to the next (its resolution)
        "memory_low": min(_numbers_without_nan(p.memory for p in procs), default=math.nan),
        "memory_high": max(_numbers_without_nan(p.memory for p in procs), default=math.nan),
        "memory_measure": next((p.memory_measure for p in procs if p.memory_measure), ""),
        "memory_rss": _median(p.mem_rss for p in procs if p.mem_polls),
        "memory_uss": _median(p.mem_uss for p in procs if p.mem_uss is not None),
        "memory_pss": _median(p.mem_pss for p in procs if p.mem_pss is not None),
        "memory_processes": max((p.mem_processes for p in procs), default=0),
        "peak_rss_self": _median(p.peak_rss_self for p in procs if p.peak_rss_self),
        "wait_share": round(_median(p.wait_share for p in procs), 4),  # a share to 0.01 %, as each process's
    }


def describe_interpreter(machine: dict[str, Any], label: str) -> InterpreterDescription:
    """One interpreter of the run, from machine.json (``InterpreterDescription.from_machine``)."""
    return InterpreterDescription.from_machine(machine, label)


def describe_interpreters(machine: dict[str, Any], labels: Iterable[str]) -> dict[str, InterpreterDescription]:
    """Every interpreter of the run: those the cells name (in their order), then any other machine.json
    describes. Display names are unique: the harness's own interpreter gets " (harness)" where its version
    is also another interpreter's label."""
    order = list(dict.fromkeys(labels))
    order += [k for k in (machine.get("interpreters") or {}) if k not in order]
    found = {label: describe_interpreter(machine, label) for label in order}
    if "" in found and any(k and k == found[""].display for k in found):
        found[""] = found[""].renamed(found[""].display + " (harness)")
    return found


def load(path: Path | str) -> RunData:
    """Read a run folder into frames; RunFolderError with a clear message if it is not one."""
    folder = RunFolder(path)
    manifest = folder.load_manifest()
    machine = folder.read_optional(folder.machine, "machine.json", {})
    lesson = folder.read_optional(folder.lesson, "lesson.json", [])
    suite = folder.load_suite()
    samples = _read_samples(folder.samples)
    topology = Topology.from_dict(machine.get("topology"))  # unknown (older runs): every CPU its own core

    by_name = {b.get_name(): b for b in suite.get_benchmarks()} if suite else {}
    entries = manifest.records
    # machine.json describes the interpreters; the manifest's plan does too (a run stopped before machine.json)
    known = {**manifest.interpreters, **(machine.get("interpreters") or {})}
    interpreters = describe_interpreters({**machine, "interpreters": known}, [r.cell.python for r in entries])
    ask = RunQuery(entries, interpreters)
    rows, value_rows, process_rows, records, metadata = [], [], [], {}, {}
    placed_rows: list[dict[str, Any]] = []
    primary = manifest.placement
    several_placements = len(manifest.placements) > 1
    for record in entries:
        cell = record.cell
        cid, family, in_process = cell.id, query.family_of(record), record.in_process
        failure = record.error or Failure()
        row: dict[str, Any] = {
            "id": cid, "python": cell.python, "workload": cell.workload, "kind": record.kind,
            "backend": cell.backend, "family": family, "workers": cell.workers, "cores": cell.cores,
            "tasks": cell.tasks, "start_method": cell.start_method, "scale": cell.scale, "baseline": record.baseline,
            "in_process": in_process, "build": interpreters[cell.python].build, "gil_enabled": ask.cell_gil(cid),
        }
        row["status"] = record.status
        row["params"] = ", ".join(f"{k}={v}" for k, v in (cell.params or {}).items())
        row["error"], row["error_detail"] = failure.head, failure.detail
        row["started"], row["ended"] = record.started, record.ended
        row["noisy"] = record.noisy
        row["noise_share"] = record.noise_share
        row["note"] = record.note
        if record.precision is not None:  # a run with a precision target (older runs: no such columns)
            said = record.precision
            row.update(stated=said.text(), at_precision=said.reached, precision_figure=said.figure,
                       precision_target=said.target, precision_achieved=said.achieved)
        bench = by_name.get(cid)
        processes = record.processes
        timed = [p for p in processes if p.values] if record.status == "ok" else []
        row.update(stats.summarize([v for p in timed for v in p.values]))
        row.update(cell_summary(timed))
        if not timed:
            row["canary_ms"] = _median(p.canary for p in processes) * 1e3
        if bench is not None:
            meta = bench.get_metadata()
            metadata[cid] = meta
            loads = [r.get_metadata().get("load_avg_1min") for r in bench.get_runs()]
            loads = [x for x in loads if isinstance(x, (int, float))]
            row["load_avg_1min"] = max(loads) if loads else math.nan
            row["python_version"] = meta.get("python_version", "")
            row["gil"] = meta.get("gilbench_gil", "")
        row.update(_utilization(samples, record.started or 0, record.ended or 0))
        shared = topology.shared_cores(cell.cpus)
        row["cpus"] = ",".join(map(str, cell.cpus))
        row["shared_core"] = bool(shared) if topology.known else None
        row["shared_cpus"] = " ".join("+".join(map(str, g)) for g in shared)
        if several_placements:
            row["placement"] = cell.placement or primary
        if cell.placement:  # the cores again under another placement: beside the run's cells, not among them
            placed_rows.append(row)
            continue
        rows.append(row)
        records[cid] = record
        value_rows.extend({"id": cid, "process": p.index, "pad": p.pad, "value": v} for p in timed for v in p.values)
        for p in processes:
            process_rows.append({
                "id": cid, "python": cell.python, "workload": cell.workload, "kind": record.kind,
                "backend": cell.backend, "family": family, "workers": cell.workers, "cores": cell.cores,
                "baseline": record.baseline, "in_process": in_process, "status": record.status,
                "process": p.index, "pad": p.pad, "pid": p.pid, "started": p.started, "ended": p.ended,
                "n": len(p.values), "median": p.median, "canary": p.canary, "canary_cpu": p.canary_cpu,
                "canary_cpu_share": p.canary_cpu / p.canary if p.canary and p.canary > 0 else math.nan,
                "parallelism": p.parallelism, "noise_share": p.noise_share, "order": p.order, "flag": p.flag,
                "memory": p.memory, "memory_measure": p.memory_measure, "mem_rss": p.mem_rss, "mem_uss": p.mem_uss,
                "mem_pss": p.mem_pss, "mem_processes": p.mem_processes, "peak_rss_self": p.peak_rss_self,
                "peak_rss_child": p.peak_rss_child, "wait_share": p.wait_share,
            })

    cells = pd.DataFrame(rows)
    start_cost = sorted({r.cell.workload for r in records.values() if r.start_cost})
    cells.attrs[START_COST_ATTR] = start_cost
    gaps = pd.DataFrame(columns=GAP_COLUMNS)
    costs = pd.DataFrame(columns=START_COST_COLUMNS)
    if not cells.empty:
        cells = add_scaling(cells)
        cells = add_memory(cells)
        gaps = main_thread_gaps(cells, records)
        cells = add_gaps(cells, gaps)
        costs = start_costs(cells, records)
    cells.attrs[START_COST_ATTR] = start_cost  # what the run recorded, whatever the steps above kept
    values_frame = pd.DataFrame(value_rows, columns=VALUE_COLUMNS)
    processes_frame = add_canary_ratio(pd.DataFrame(process_rows, columns=PROCESS_COLUMNS[:-2]))
    experiments = [ExperimentResult.from_dict(d) for d in folder.read_experiments() if isinstance(d, dict)]
    placed = add_memory(add_scaling(pd.DataFrame(placed_rows))) if placed_rows else pd.DataFrame()
    return RunData(Path(path), manifest, machine, lesson, cells, values_frame, samples, metadata,
                   processes_frame, gaps, interpreters, costs, experiments=experiments, other_placements=placed,
                   query=ask)


def flag(frame: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column (False where it is missing or empty)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return frame[column].fillna(False).astype(bool)


def scaled_workloads(cells: pd.DataFrame) -> list[str]:
    """The workloads with a scaling to show: all but the start-cost ones (``CellRecord.start_cost``),
    whose one task on one worker measures what a model costs to start, not how it scales."""
    if cells.empty:
        return []
    return sorted(set(cells["workload"]) - set(start_cost_workloads(cells)))


def python_of(frame: pd.DataFrame) -> pd.Series:
    """The interpreter label of each row ("" where the frame has none: one interpreter)."""
    return frame["python"].fillna("").astype(str) if "python" in frame else pd.Series("", index=frame.index)


def _paired_ratios(base: CellRecord | None, other: CellRecord | None) -> list[dict[str, Any]]:
    """Process k of ``base`` against process k of ``other`` (the same layout pad k): their medians."""
    pairs = []
    for p in (base.processes if base else []):
        q = other.process(p.index) if other else None
        if q is None or not p.values or not q.values:
            continue
        pairs.append({"process": p.index, "pad": p.pad, "base": p.median, "other": q.median, "same_pad": p.pad == q.pad})
    return pairs


def _of(baselines: dict[query.Key, Any], row: Any, column: str) -> float:
    """``column`` of the row's baseline (``bench.data.query.baselines``), nan where it has none."""
    base = baselines.get(query.baseline_key(row))
    return getattr(base, column) if base is not None else math.nan


def _same_key(frame: pd.DataFrame, key: query.Key) -> pd.Series:
    """The rows that share ``key`` (interpreter, workload, cores, placement: ``bench.data.query.baseline_key``)."""
    return pd.Series([query.baseline_key(r) == key for r in frame.itertuples()], index=frame.index, dtype=bool)


def add_scaling(cells: pd.DataFrame) -> pd.DataFrame:
    """Speedup against the baseline cell (the ``baseline`` flag) of the same interpreter, workload and
    cores, ideal, efficiency, and ``scaling``: against the same model's 1-worker cell, same interpreter,
    workload and cores.

    All on ``time`` (the median of the process medians).
    """
    cells = cells.copy()
    cells["python"] = python_of(cells)
    ok = cells["status"] == "ok"
    baselines = query.baselines(cells[ok].itertuples())
    one = {(r.python, r.workload, r.cores, r.backend): r.time for r in cells[ok & (cells["workers"] == 1)].itertuples()}
    cells["baseline_time"] = [_of(baselines, r, "time") for r in cells.itertuples()]
    cells["speedup"] = [stats.speedup(r.baseline_time, r.time) for r in cells.itertuples()]
    cells["ideal"] = [stats.ideal_speedup(r.kind, r.workers, r.cores, r.tasks) for r in cells.itertuples()]
    cells["efficiency"] = [stats.efficiency(r.speedup, r.ideal) for r in cells.itertuples()]
    cells["scaling"] = [stats.speedup(one.get((r.python, r.workload, r.cores, r.backend), math.nan), r.time)
                        for r in cells.itertuples()]
    return cells


def add_memory(cells: pd.DataFrame) -> pd.DataFrame:
    """Each cell's memory next to its speed: ``memory_per_worker`` (the tree's peak above the baseline
    cell's, same interpreter, workload and cores, per worker: what one more worker costs),
    ``memory_per_worker_spread`` (its resolution, ± per worker: the larger of the two cells' ranges over
    their processes, divided by the workers; nan with one process a side) and ``speedup_per_gib``
    (speedup / the tree's peak in GiB).

    A difference within the spread is not a measured cost (threads add a few pages each, less than two
    processes of one cell differ by): ``memory_per_worker`` is then nan, and only the spread says how
    small it is. A difference beyond it stays, negative where the tree was smaller than the baseline's."""
    cells = cells.copy()
    for column in ("memory", "memory_low", "memory_high"):
        if column not in cells:
            cells[column] = math.nan
    ok = cells["status"] == "ok"
    baselines = query.baselines(cells[ok].itertuples())
    per_worker, spreads, per_gib = [], [], []
    for r in cells.itertuples():
        b = baselines.get(query.baseline_key(r))
        estimate, spread_ = math.nan, math.nan
        if b is not None and r.workers and not r.baseline:
            estimate = (_number(r.memory) - _number(b.memory)) / r.workers
            if min(_number(getattr(x, "n_processes", math.nan)) for x in (r, b)) >= 2:  # else no range to go by
                spread_ = max(_number(r.memory_high) - _number(r.memory_low),
                              _number(b.memory_high) - _number(b.memory_low)) / r.workers
            if abs(estimate) <= spread_:
                estimate = math.nan
        per_worker.append(estimate)
        spreads.append(spread_)
        mine, speedup = _number(r.memory), getattr(r, "speedup", math.nan)
        per_gib.append(speedup / (mine / GIB) if mine and mine == mine and speedup == speedup else math.nan)
    cells["memory_per_worker"] = per_worker
    cells["memory_per_worker_spread"] = spreads
    cells["speedup_per_gib"] = per_gib
    return cells


def _number(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) else math.nan


def main_thread_gaps(cells: pd.DataFrame, records: dict[str, CellRecord]) -> pd.DataFrame:
    """The main-thread gap per interpreter, workload and cores: baseline time / time of the same tasks
    run by one worker of an in-process model.

    The baseline runs every task in its process's main thread; a 1-worker cell of a model whose workers
    share the process (``in_process``) and is not the baseline runs them in one freshly started worker.
    Above 1: the main thread was slower. Process k of both cells ran with layout pad k, so the ratio of
    their k-th processes is the gap at one layout; ``gap_low``/``gap_high`` are the range over layouts.
    One row per in-process 1-worker model, or one row without a gap (``thread_id`` empty, a note) where
    there is none.
    """
    ok = cells[(cells["status"] == "ok") & ~cells["workload"].isin(start_cost_workloads(cells))].copy()
    ok["python"] = python_of(ok)  # a start-cost task does nothing: its ratio would be the start cost, not a gap
    rows = []
    for key, base in sorted(query.baselines(r for _, r in ok.iterrows()).items()):
        same = ok[_same_key(ok, key) & (ok["workers"] == 1) & ~flag(ok, "baseline") & flag(ok, "in_process")]
        key = {"python": base.python, "workload": base.workload, "cores": base.cores, "baseline_id": base.id}
        if same.empty:
            rows.append({**key, "thread_id": "", "backend": "", "gap": math.nan, "gap_low": math.nan,
                         "gap_high": math.nan, "layouts": 0, "per_layout": [],
                         "note": "no 1-worker cell runs these tasks in a thread: the gap was not measured"})
            continue
        for _, other in same.sort_values("backend").iterrows():
            pairs = _paired_ratios(records.get(base.id), records.get(other.id))
            per_layout = []
            for x in pairs:
                ratio = stats.speedup(x["base"], x["other"])
                if not math.isnan(ratio):
                    per_layout.append({"process": x["process"], "pad": x["pad"], "ratio": ratio, "same_pad": x["same_pad"]})
            ratios = [x["ratio"] for x in per_layout]
            rows.append({
                **key, "thread_id": other.id, "backend": other.backend, "gap": stats.speedup(base.time, other.time),
                "gap_low": min(ratios) if ratios else math.nan, "gap_high": max(ratios) if ratios else math.nan,
                "layouts": len(ratios), "per_layout": per_layout,
                "note": "" if all(x["same_pad"] for x in per_layout) else "some processes paired across different pads",
            })
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def add_gaps(cells: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Each cell gets its main-thread gap and its range: its own model's where the model runs in-process
    and has a 1-worker cell, else the first measured one of its interpreter, workload and cores."""
    cells = cells.copy()
    measured = gaps.dropna(subset=["gap"])
    if "python" not in measured:
        measured = measured.assign(python="")
    own = {(r.python, r.workload, r.cores, r.backend): r for r in measured.itertuples()}
    first = {(r.python, r.workload, r.cores): r for r in measured.drop_duplicates(["python", "workload", "cores"]).itertuples()}
    python = python_of(cells)
    chosen = []
    for label, r in zip(python, cells.itertuples()):
        chosen.append(own.get((label, r.workload, r.cores, r.backend)) or first.get((label, r.workload, r.cores)))
    for column, attr in (("main_thread_gap", "gap"), ("main_thread_gap_low", "gap_low"),
                         ("main_thread_gap_high", "gap_high")):
        cells[column] = [getattr(g, attr) if g is not None else math.nan for g in chosen]
    return cells


def start_costs(cells: pd.DataFrame, records: dict[str, CellRecord],
                names: Iterable[str] | None = None) -> pd.DataFrame:
    """One worker's start cost per interpreter, cores and model: time(no-op, model, 1 worker) - time(no-op,
    baseline), in ms, from the 1-worker cells of the start-cost workloads (``names``, default
    ``start_cost_workloads(cells)``). ``low_ms``/``high_ms``: the range of the per-process differences (process
    k of both cells ran with layout pad k)."""
    if cells.empty or "workload" not in cells:
        return pd.DataFrame(columns=START_COST_COLUMNS)
    chosen = list(names) if names is not None else start_cost_workloads(cells)
    ok = cells[(cells["status"] == "ok") & cells["workload"].isin(chosen) & (cells["workers"] == 1)].copy()
    ok["python"] = python_of(ok)
    rows = []
    for key, base in query.baselines(r for _, r in ok.iterrows()).items():
        others = ok[_same_key(ok, key) & ~flag(ok, "baseline")]
        for _, other in others.sort_values(["family", "backend"]).iterrows():
            diffs = [(x["other"] - x["base"]) * 1e3 for x in _paired_ratios(records.get(base.id), records.get(other.id))]
            rows.append({
                "python": base.python, "workload": base.workload, "cores": int(base.cores), "backend": other.backend,
                "family": other.family,
                "in_process": bool(other.in_process), "id": other.id, "baseline_id": base.id,
                "start_ms": (other.time - base.time) * 1e3,
                "low_ms": min(diffs) if diffs else math.nan, "high_ms": max(diffs) if diffs else math.nan,
                "layouts": len(diffs),
            })
    return pd.DataFrame(rows, columns=START_COST_COLUMNS)


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
    cells = run.cells if run.other_placements.empty else pd.concat([run.cells, run.other_placements],
                                                                    ignore_index=True)
    return cells.drop(columns=["error_detail"], errors="ignore")

"""A run's data as typed records: what the runner fills in and what analysis and reports read.

The unit of analysis is the pyperf *process*: values inside one process share its memory layout, CPU
placement and clock, so they are not independent samples. A ``ProcessRecord`` keeps one process's
values together with what describes it (its layout pad, its canary reading, its CPU accounting);
a ``CellRecord`` is one cell's plan, outcome and processes. Both are plain data with JSON in and out
(``to_dict`` / ``from_dict``): the manifest's ``cells`` list holds ``CellRecord.to_dict()`` entries.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .failure import Failure


def _median(values: list[float]) -> float:
    """statistics.median, imported on first use: statistics imports fractions, decimal and random, which a
    counted process (which imports this module for ``Cell``) would otherwise start with."""
    import statistics

    return statistics.median(values)


@dataclass(frozen=True)
class Timing:
    """Sample counts: ``processes`` pyperf worker processes x (``warmups`` + ``values``) batches.

    The process is the unit of analysis (its values share one memory layout, placement and clock),
    so a profile's budget goes into processes (in ``gilbench ab``: rounds), each with a few values
    whose median is robust to one disturbed batch.
    """

    processes: int
    values: int
    warmups: int
    loops: int = 1  # one batch per value; batches are long enough that calibration is not needed


@dataclass(frozen=True)
class Cell:
    """One measured combination, with everything a worker needs to run it (and nothing else)."""

    workload: str
    backend: str
    workers: int
    cores: int
    cpus: tuple[int, ...]
    tasks: int
    params: dict[str, Any] = field(default_factory=dict)
    start_method: str | None = None
    scale: float = 1.0
    #: where a user's workload comes from, for the workers to load it: its module (a dotted name or a .py
    #: file), or a function's source (JSON, workloads.functions); None for a built-in workload
    module: str | None = None
    python: str = ""  # the interpreter's label (bench.plan.interpreters); "" is the one gilbench runs on
    #: the placement of a cell measured again under another placement than the run's first ("": the run's)
    placement: str = ""

    @property
    def id(self) -> str:
        base = f"{self.workload}/{self.backend}/w{self.workers}/c{self.cores}"
        base += f"-{self.placement}" if self.placement else ""
        return f"{base}@{self.python}" if self.python else base

    @property
    def slug(self) -> str:
        """A file-name-safe form of the id."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.id.replace("/", "__"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpus"] = list(self.cpus)
        if not self.placement:
            del data["placement"]  # a run of one placement writes cells as before placements could be several
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["cpus"] = tuple(known.get("cpus", ()))
        return cls(**known)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


@dataclass
class ProcessRecord:
    """One pyperf worker process of a cell (in ``gilbench ab``: one side of one round).

    ``values`` are the wall seconds of its timed batches (pyperf's values), ``cpu`` the CPU seconds
    of the same batches (the process's own and those its children reported), ``canary`` the wall
    seconds of gilbench's fixed reference loop timed in the same process outside the timed region
    (``canary_cpu`` its CPU seconds: below the wall time when the process was kept off the CPU).
    ``pad`` is the number of bytes added to the environment to move the process's memory layout.

    Memory, in bytes: ``mem_rss``, ``mem_uss``, ``mem_pss`` are the peaks of the process tree's sums
    (the measured process and all its workers) that the runner polled from outside (``bench.measure.memory``;
    USS and PSS None where the OS does not give them); ``peak_rss_self`` the measured process's own
    peak RSS and ``peak_rss_child`` the largest peak RSS of a child it waited for, both exact, read
    after its batches (``getrusage`` ``ru_maxrss``).

    ``thread_cpu`` and ``thread_wall`` are, per timed batch, the CPU seconds and wall seconds of the
    batch's worker threads summed (in-process models only; each thread read its own CPU clock at its
    start and end, see ``Backend.thread_times``): their ratio says how long the threads ran.

    ``instructions`` is one count of the cell's instructions per task (``bench.measure.counters``: the
    difference of two counted processes over the tasks of the batches between them), which ``gilbench
    ab`` attaches to the first rounds' processes of a CPU-bound cell when an ``instructions``
    threshold is asked; None where nothing was counted (and in run folders from before it existed).
    """

    index: int  # the process's position in its cell (the round, in ab)
    pad: int = 0
    pid: int = 0
    values: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    warmups: list[float] = field(default_factory=list)
    canary: float = float("nan")
    canary_cpu: float = float("nan")
    started: float = 0.0
    ended: float = 0.0
    noise_share: float = 0.0  # CPU share other processes took on the cell's CPUs while it ran
    order: int = 0  # in ab: 0 if this side ran first in its round, 1 if second
    gil_enabled: bool | None = None  # sys._is_gil_enabled() in the process while it ran (None: unknown)
    flag: str = ""  # why the runner found this process disturbed ("" if it did not): bench.measure.process.flag_noise
    mem_rss: int = 0
    mem_uss: int | None = None
    mem_pss: int | None = None
    mem_processes: int = 0  # the most processes of its tree seen at once
    mem_polls: int = 0
    peak_rss_self: int = 0
    peak_rss_child: int = 0
    thread_cpu: list[float] = field(default_factory=list)
    thread_wall: list[float] = field(default_factory=list)
    instructions: float | None = None

    @property
    def median(self) -> float:
        """The process's typical batch: the median of its values (what the report shows)."""
        return _median(self.values) if self.values else float("nan")

    @property
    def best(self) -> float:
        """The process's least disturbed batch: the minimum of its values (what comparisons test).

        Timing noise on a busy machine only ever adds time (preemption, interrupts, cache misses
        caused by others), so the minimum is the reading least moved by it (Chen and Revels, "Robust
        benchmarking in noisy environments", 2016). Measured here on the gate's cells: the per-round
        spread of base/candidate log ratios was 4.9 % with minima against 7.2 % with medians for
        CPU-bound processes x2, 2.2 % against 3.5 % for the sequential cell.
        """
        return min(self.values) if self.values else float("nan")

    @property
    def cpu_best(self) -> float:
        """The CPU seconds of its least disturbed batch (the process tree's: its own and its workers'),
        what ``--fail-on cpu`` tests. A co-tenant that takes a CPU stretches wall time by the whole wait
        and CPU time only by what it costs the caches, so this figure moves less under load."""
        return min(self.cpu) if self.cpu else float("nan")

    @property
    def parallelism(self) -> float:
        """Median over its batches of CPU seconds / wall seconds."""
        ratios = [c / w for w, c in zip(self.values, self.cpu) if w > 0]
        return _median(ratios) if ratios else float("nan")

    @property
    def memory(self) -> float:
        """The tree's peak memory in bytes, the figure reports and ``--fail-on memory`` use: PSS where the
        OS gives it (fork's shared pages counted once), else RSS; nan where it was not polled."""
        if not self.mem_polls:
            return float("nan")
        return float(self.mem_pss if self.mem_pss is not None else self.mem_rss)

    @property
    def memory_measure(self) -> str:
        """What ``memory`` is: "PSS", "RSS", or "" when there is none."""
        return "" if not self.mem_polls else ("PSS" if self.mem_pss is not None else "RSS")

    @property
    def wait_share(self) -> float:
        """Median over its batches of the share of the worker threads' wall time spent off the CPU
        (1 - their CPU seconds / their wall seconds): waiting for the GIL, for I/O or for a core; nan
        for a model without worker threads of its own. To 4 decimals (0.01 %): finer is clock granularity,
        and a figure such as 4.7e-05 reads as 4.7 where the exponent is not seen."""
        shares = [1 - c / w for c, w in zip(self.thread_cpu, self.thread_wall) if w > 0]
        return round(min(1.0, max(0.0, _median(shares))), 4) if shares else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProcessRecord":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


#: why a cell stopped short of its precision target, in words (bench.data.precision's reasons)
SHORT_REASONS = {"budget": "its share of the run's budget was spent", "cap": "it reached the cap on processes",
                 "speed": "the machine's speed moved between it and its baseline by more than that (their "
                          "canaries), which more processes would not narrow",
                 "floor": "the target is narrower than the shift between runs that no run's processes show "
                          "(bench.data.precision.REPEAT_FLOOR), which more processes would not narrow"}


@dataclass(frozen=True)
class CellPrecision:
    """How precisely a cell's headline figure is known, as the runner judged it when the cell stopped.

    ``figure`` is "time" (a baseline's, or a cell whose baseline did not finish) or "speedup" (against
    ``against``, its baseline cell's id); ``value``, ``low`` and ``high`` its interval over processes
    (``bench.data.precision.repeat_interval``: where a repeat run's figure falls, at ``confidence``);
    ``achieved`` the interval's relative half-width, ``target`` the one asked (for a baseline, the run's target
    over sqrt 2 where speedups rest on it); ``processes`` how many it took; ``reason`` why it stopped short
    ("budget", "cap", "speed" or "floor"; "" when it did not)."""

    figure: str
    target: float
    achieved: float
    processes: int
    value: float = math.nan
    low: float = math.nan
    high: float = math.nan
    reason: str = ""
    against: str = ""
    confidence: float = 0.95

    @property
    def reached(self) -> bool:
        return not self.reason and math.isfinite(self.achieved) and self.achieved <= self.target

    @property
    def width_text(self) -> str:
        """"±2.4 %", or "± unknown" without an interval."""
        return f"±{self.achieved * 100:.1f} %" if math.isfinite(self.achieved) else "± unknown"

    @property
    def why(self) -> str:
        """Why it stopped short, in words ("" when it reached its target)."""
        if self.reached:
            return ""
        return SHORT_REASONS.get(self.reason, self.reason or "its interval is wider than the target")

    def text(self) -> str:
        """What the report says beside the figure: "±2.4 % (8 processes)" or "not at precision (±4.1 %): its
        share of the run's budget was spent (16 processes)"."""
        count = f"{self.processes} process{'es' if self.processes != 1 else ''}"
        if self.reached:
            return f"{self.width_text} ({count})"
        return f"not at precision ({self.width_text}): {self.why} ({count})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("achieved", "value", "low", "high"):  # JSON has no NaN: an unknown end is None
            if not math.isfinite(data[name]):
                data[name] = None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "CellPrecision | None":
        if not data:
            return None
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for name in ("achieved", "value", "low", "high"):
            values[name] = math.nan if values.get(name) is None else float(values[name])
        return cls(**values)


#: a cell's statuses: pending (not run yet, or partly run), ok, failed, timeout, and skipped (it cannot
#: run there: a model unavailable on its interpreter, an interpreter that could not be prepared, a
#: workload a model cannot run; ``note`` says why)
#: the built-in start-cost workload: what a cell of a run folder that did not record ``start_cost`` is taken as
START_COST_WORKLOAD = "noop"

FINAL_STATUSES = ("ok", "failed", "timeout", "skipped")


@dataclass
class CellRecord:
    """One cell of a run: what was planned (``cell``), how it ended, and its processes."""

    cell: Cell
    kind: str  # the workload's kind: io-bound or cpu-bound
    baseline: bool = False  # this cell's backend is the speedup baseline (runs in the main thread)
    family: str = ""  # the model's family (Backend.family), for reports that must not name models
    in_process: bool = True  # the model's workers share the calling process (Backend.in_process)
    status: str = "pending"
    started: float | None = None
    ended: float | None = None
    processes: list[ProcessRecord] = field(default_factory=list)
    error: Failure | None = None  # a dict is read as one (bench.data.failure.Failure.from_dict)
    noisy: bool = False
    noise_share: float = 0.0
    note: str = ""
    #: how precisely its headline figure is known (runs with a precision target; None in older run folders)
    precision: CellPrecision | None = None
    #: its workload measures a model's start cost (``Workload.start_cost``), not a scaling; None: inferred
    #: as before it was recorded (the built-in start-cost workload, START_COST_WORKLOAD)
    start_cost: bool | None = None

    def __post_init__(self) -> None:
        self.error = Failure.of(self.error)
        if self.start_cost is None:
            self.start_cost = self.cell.workload == START_COST_WORKLOAD

    @property
    def id(self) -> str:
        return self.cell.id

    @property
    def values(self) -> list[float]:
        """Every timed value of every process, in process order."""
        return [v for p in self.processes for v in p.values]

    @property
    def process_medians(self) -> list[float]:
        return [p.median for p in self.processes if p.values]

    def process(self, index: int) -> ProcessRecord | None:
        return next((p for p in self.processes if p.index == index), None)

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry: the cell's own fields flat (as readers expect), then the outcome."""
        data = self.cell.to_dict()
        data.update(
            id=self.cell.id, slug=self.cell.slug, kind=self.kind, baseline=self.baseline, family=self.family,
            in_process=self.in_process, status=self.status,
            started=self.started, ended=self.ended, processes=[p.to_dict() for p in self.processes],
            noisy=self.noisy, noise_share=self.noise_share, start_cost=self.start_cost,
        )
        if self.error:
            data["error"] = Failure.of(self.error).to_dict()  # of: a dict assigned after construction
        if self.note:
            data["note"] = self.note
        if self.precision is not None:
            data["precision"] = self.precision.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CellRecord":
        cell = Cell.from_dict(data)
        return cls(
            cell=cell,
            kind=data.get("kind", ""),
            start_cost=data.get("start_cost"),  # None in run folders from before it was recorded: inferred
            baseline=bool(data.get("baseline", False)),
            family=data.get("family", ""),
            # a manifest from before models recorded it: workers in the process where there is no start method
            in_process=bool(data["in_process"]) if data.get("in_process") is not None else cell.start_method is None,
            status=data.get("status", "pending"),
            started=data.get("started"),
            ended=data.get("ended"),
            processes=[ProcessRecord.from_dict(p) for p in data.get("processes") or []],
            error=Failure.of(data.get("error")),
            noisy=bool(data.get("noisy", False)),
            noise_share=float(data.get("noise_share") or 0.0),
            note=data.get("note", ""),
            precision=CellPrecision.from_dict(data.get("precision")),
        )



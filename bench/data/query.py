"""Read-only questions about a run's cells, each answered in one place: the speedup baseline of a cell,
a process's summaries, the GIL state of a cell or an interpreter, a model's family.

The comparison (``bench.judge``) asks them of records; the report (``reports/``) of records and of its
table rows alike: the functions take anything that has a cell's interpreter, workload and cores (a
``CellRecord``, a ``Cell``, a row of ``reports.frame``'s tables), so a rule such as "the baseline is the
flagged cell of the same interpreter, workload and cores" cannot be written twice and drift. Nothing
here writes, starts a process or imports pandas: it is also loaded where a gate decides.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Mapping, TypeVar

from .cells import CellRecord, ProcessRecord
from .records import InterpreterDescription

T = TypeVar("T")
#: what a cell shares with its speedup baseline: (interpreter label, workload, cores, placement)
Key = tuple[str, str, int, str]


def _known(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def baseline_key(item: Any) -> Key:
    """(interpreter, workload, cores, placement) of a record, a cell or a table row: what its baseline
    shares. The placement is the cell's (``Cell.placement``: "" for the run's first) or the row's column
    ("" without one): the cores measured again under another placement have a baseline of their own."""
    cell = getattr(item, "cell", item)
    python, placement = getattr(cell, "python", ""), getattr(cell, "placement", "")
    return (str(python) if _known(python) else "", str(cell.workload), int(cell.cores),
            str(placement) if _known(placement) else "")


def is_baseline(item: Any) -> bool:
    """Whether a record or a row is a baseline cell (its ``baseline`` flag; missing or NaN: not)."""
    flag = getattr(item, "baseline", False)
    return bool(flag) if _known(flag) else False


def baselines(items: Iterable[T]) -> dict[Key, T]:
    """Each (interpreter, workload, cores, placement) -> its baseline among ``items``: the first flagged
    ``baseline``.

    Callers choose what counts (all cells, or only finished ones): a speedup needs a finished baseline.
    """
    found: dict[Key, T] = {}
    for item in items:
        if is_baseline(item):
            found.setdefault(baseline_key(item), item)
    return found


def baseline_of(items: Iterable[T], item: Any) -> T | None:
    """``item``'s speedup baseline among ``items``: the baseline of the same interpreter, workload, cores
    and placement."""
    return baselines(items).get(baseline_key(item))


def process_summary(process: ProcessRecord, how: str) -> float:
    """One figure of one pyperf process: "median" (its typical batch, what the report shows), "min" (its
    least disturbed batch, what comparisons test), "mean"; "cpu" (the CPU seconds of its least disturbed
    batch); "parallelism" (median CPU / wall), "peak" (its tree's peak memory) and "count" (its count of
    instructions per task, ``bench.measure.counters``). nan for a process without values, and for "count"
    without a count."""
    if not process.values:
        return math.nan
    if how == "median":
        return process.median
    if how == "min":
        return process.best
    if how == "mean":
        return statistics.fmean(process.values)
    if how == "parallelism":
        return process.parallelism
    if how == "cpu":
        return process.cpu_best
    if how == "peak":
        return process.memory
    if how == "count":
        return math.nan if process.instructions is None else float(process.instructions)
    raise ValueError(f"no process summary {how!r}")


def _with_values(record: CellRecord) -> list[ProcessRecord]:
    """The cell's processes with values, by index (process k of two cells ran with the same layout pad k, so
    two cells pair by index)."""
    return [p for p in sorted(record.processes, key=lambda p: p.index) if p.values]


def process_summaries(record: CellRecord, how: str = "median") -> dict[int, float]:
    """The cell's processes with values: process index -> its summary, by index (``_with_values``)."""
    return {p.index: process_summary(p, how) for p in _with_values(record)}


def process_canaries(record: CellRecord) -> list[float]:
    """The canary readings of the cell's processes with values, in ``process_summaries``' order."""
    return [p.canary for p in _with_values(record)]


def speed_canaries(record: CellRecord, base: CellRecord | None) -> tuple[list[float], list[float]] | None:
    """The canaries a speedup's interval is covered with (``bench.data.precision.decide``): the cell's and its
    baseline's; None without a baseline, and for an io-bound cell: a sleeping cell's speed is the clock's, not
    the CPU's, and its canaries say nothing of it."""
    if base is None or record.kind == "io-bound":
        return None
    return process_canaries(record), process_canaries(base)


def gil_state(seen: Iterable[Any], described: bool | None) -> bool | None:
    """Whether the GIL was on: as the processes (or cells) that recorded it saw it, on in any counts as
    on; where none did, as the interpreter's description says (None: unknown)."""
    known = [bool(x) for x in seen if _known(x)]
    return any(known) if known else (None if described is None else bool(described))


def gil_on(state: bool | None) -> bool:
    """A GIL state for a verdict: unknown counts as on (the cautious reading)."""
    return True if state is None else bool(state)


def finished(record: CellRecord | None) -> bool:
    """The cell finished (status ok) with values to judge."""
    return record is not None and record.status == "ok" and any(p.values for p in record.processes)


def family_of(record: CellRecord) -> str:
    """How reports group the cell's model: its recorded family, else the model's own name."""
    return record.family or record.cell.backend


class RunQuery:
    """The questions of this module asked of one run's records (``cells`` by id) and its interpreters."""

    def __init__(self, records: Iterable[CellRecord] = (),
                 interpreters: Mapping[str, InterpreterDescription] | None = None) -> None:
        self.cells: dict[str, CellRecord] = {r.id: r for r in records}
        self.interpreters: dict[str, InterpreterDescription] = dict(interpreters or {})
        self._baselines = baselines(self.cells.values())

    def ok(self, cell_id: str) -> bool:
        return finished(self.cells.get(cell_id))

    def baseline_of(self, cell_id: str) -> str | None:
        """The id of the cell's speedup baseline (``baseline_key``), finished or not."""
        found = self._baselines.get(baseline_key(self.cells[cell_id]))
        return found.id if found is not None else None

    def process_medians(self, cell_id: str) -> dict[int, float]:
        """A finished cell's process medians by process index; {} for a cell that did not finish."""
        record = self.cells.get(cell_id)
        return process_summaries(record, "median") if record is not None and record.status == "ok" else {}

    def cell_gil(self, cell_id: str) -> bool | None:
        """Whether the GIL was on while the cell ran (``gil_state`` of its processes and its interpreter)."""
        record = self.cells[cell_id]
        return gil_state((p.gil_enabled for p in record.processes), self.described_gil(record.cell.python))

    def described_gil(self, label: str) -> bool | None:
        described = self.interpreters.get(label)
        return described.gil_enabled if described is not None else None

    def gil_on(self, label: str) -> bool:
        """Whether the interpreter's GIL was on in the run: as its cells saw it, else as described; unknown: on."""
        seen = [self.cell_gil(cid) for cid, r in self.cells.items() if r.cell.python == label]
        return gil_on(gil_state(seen, self.described_gil(label)))

"""One run folder as the gate reads it (``RunSide``), and a row's figures on one side.

Why apart: loading and the per-process summaries are the only place the judge touches recorded data; every
test after them is a pure function of log figures. The unit of analysis is the pyperf *process*: values
inside one process share its memory layout, CPU placement and clock, so each process gives one figure
per summary (``process_logs``), and a row's side is a signed sum of such figures (``Terms``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from ..data import query, stats
from ..data.cells import CellRecord
from ..data.manifest import RunManifest
from ..data.results import RunFolder, RunFolderError
from .sequential import Design


@dataclass
class RunSide:
    """What a comparison needs of one run folder: its cells (with their processes), machine and plan."""

    path: str
    machine: dict[str, Any]
    cells: dict[str, CellRecord]
    #: the ab root both sides of one interleaved ``gilbench ab`` share ("" for a plain run)
    interleaved_with: str = ""
    timing: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    #: the group-sequential design of an ab (None: one look at the rounds there are)
    design: Design | None = None
    #: the hash of the measured workloads' source (``bench.measure.run.code_hash``; "" in runs made before it)
    code: str = ""

    @classmethod
    def load(cls, path: str) -> "RunSide":
        folder = RunFolder(path)
        manifest = folder.read_manifest()
        suite = folder.load_suite()  # not read for values (the manifest has them), but it must be ours
        if suite is not None and not any(b.get_metadata().get("gilbench_workload") for b in suite.get_benchmarks()):
            raise RunFolderError(f"{folder.suite}: a pyperf suite without gilbench metadata")
        machine = folder.read_optional(folder.machine, "machine.json", {})
        try:
            manifest = RunManifest.from_dict(manifest)
            records = manifest.records
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise RunFolderError(f"{folder.manifest}: a cell entry is not readable ({exc!r})") from None
        design = manifest.gate_design
        return cls(str(path), machine if isinstance(machine, dict) else {}, {r.id: r for r in records},
                   str(manifest.interleaved_with or ""), dict(manifest.timing),
                   str(manifest.gilbench_version or ""), Design.from_dict(design) if design else None,
                   str(manifest.code_hash or ""))

    def ok(self, cell_id: str) -> bool:
        return query.finished(self.cells.get(cell_id))

    def baseline_of(self, cell_id: str) -> str | None:
        """The id of the cell's speedup baseline (same interpreter, workload and cores: ``bench.data.query``)."""
        base = query.baseline_of(self.cells.values(), self.cells[cell_id])
        return base.id if base is not None else None

    def canaries(self) -> dict[tuple[str, int], float]:
        """Every process's canary wall time (s) by (cell, round); processes without one left out."""
        return {(cid, p.index): p.canary for cid, r in self.cells.items() for p in r.processes
                if p.canary is not None and math.isfinite(p.canary) and p.canary > 0}


#: a side's figures for one row: (sign, {process index: log summary}) terms, summed with their signs
Terms = list[tuple[int, dict[int, float]]]

#: a row's summary -> the process figure it takes (``bench.data.query.process_summary``); a parallelism
#: row's "median" is the median over batches of CPU / wall
_SUMMARY = {"min": "min", "mean": "mean", "median": "parallelism", "peak": "peak", "cpu": "cpu", "count": "count"}


def process_logs(record: CellRecord, summary: str) -> dict[int, float]:
    """Each process's figure by ``summary``, as its log, by process index; processes without one left out."""
    out = {}
    for p in record.processes:
        if not p.values:
            continue
        x = query.process_summary(p, _SUMMARY[summary])
        if x is not None and math.isfinite(x) and x > 0:
            out[p.index] = math.log(x)
    return out


def row_terms(side: RunSide, cid: str, metric: str, summary: str) -> tuple[Terms | None, str]:
    """The row's terms on one side, or None and why not."""
    record = side.cells[cid]
    if metric == "speedup":
        bid = side.baseline_of(cid)
        if bid is None:
            return None, "no baseline cell (same interpreter, workload and cores)"
        if not side.ok(bid):
            return None, f"the baseline cell {bid} is {side.cells[bid].status}"
        terms = [(+1, process_logs(side.cells[bid], summary)), (-1, process_logs(record, summary))]
    else:
        terms = [(+1, process_logs(record, summary))]
    if any(not t for _, t in terms):
        if metric == "instructions" and record.kind == "io-bound":
            return None, "no instruction counts: io-bound (only CPU-bound cells are counted; a wait executes nothing)"
        return None, "no " + {"parallelism": "CPU accounting", "cpu": "CPU accounting", "memory": "memory figures",
                              "instructions": "instruction counts"}.get(metric, "values")
    return terms, ""


def side_figure(terms: Terms) -> float:
    """The side's figure: the product of its cells' medians over processes, with their signs."""
    out = 1.0
    for sign, logs in terms:
        out *= statistics.median(math.exp(v) for v in logs.values()) ** sign
    return out


def value_spread(record: CellRecord, metric: str) -> tuple[float, float]:
    """(between-process share, effective n) of the cell's values (per-batch parallelism for parallelism)."""
    if metric == "parallelism":
        groups = [stats.batch_parallelism(p.values, p.cpu) for p in record.processes]
    else:
        groups = [p.values for p in record.processes]
    return stats.variance_components(groups)


def paired_differences(base: Terms, cand: Terms) -> list[float]:
    """d_k over the rounds k present in every term of both sides, in round order."""
    rounds = set.intersection(*(set(t) for _, t in base + cand))
    return [sum(sign * (c[k] - b[k]) for (sign, b), (_, c) in zip(base, cand)) for k in sorted(rounds)]

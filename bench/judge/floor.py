"""The run-to-run floor of separate runs: how far two runs of unchanged code move apart on this machine.

Why apart: separate runs carry a run-level offset (the machine's speed that day) that no count of processes
inside one run can show; it is measured from earlier runs of the same plan and code found beside the two
(``run_to_run_floor``), and it is the only part of the judge that reads folders other than the two compared.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ..data.results import RunFolderError
from .family import SUMMARIES
from .refusals import MACHINE_KEYS, PYTHON_KEYS
from .sides import RunSide, process_logs
from .tests import Spread

#: the fewest earlier runs of a plan on a machine a run-to-run floor is measured from (t on 2 degrees
#: of freedom); with fewer, a change of separate runs beyond the tolerance is inconclusive
FLOOR_MIN_RUNS = 3


@dataclass
class Floor:
    """The run-to-run spread of separate runs, per (cell, summary), and the runs it came from.

    Each earlier run of the same plan and code on this machine gives a cell its run-level figure (the
    median over processes of the log summary); their sample sd, with a t quantile on runs - 1 degrees
    of freedom, bounds what a new pair of runs can differ by with no change (``Spread.half_width``)."""

    by_row: dict[tuple[str, str], Spread] = field(default_factory=dict)
    runs: int = 0  # earlier runs of the same plan and code found
    paths: tuple[str, ...] = ()  # those runs' folders
    source: str = ""

    def of(self, cell_id: str, summary: str) -> Spread | None:
        return self.by_row.get((cell_id, summary))

    @property
    def known(self) -> bool:
        return self.runs >= FLOOR_MIN_RUNS

    @property
    def more_runs(self) -> int:
        """How many more runs of this plan on this machine a floor needs."""
        return max(FLOOR_MIN_RUNS - self.runs, 0)


def _plan_key(side: RunSide) -> tuple:
    """What makes two runs the same benchmark: every cell's parameters, the values per process, the
    gilbench version and the workloads' source (not the CPUs it was given, nor a resumed run's history)."""
    cells = tuple(sorted((cid, r.cell.tasks, json.dumps(r.cell.params, sort_keys=True), r.cell.scale,
                          r.cell.start_method or "", r.cell.module or "") for cid, r in side.cells.items()))
    timing = tuple(sorted((k, v) for k, v in side.timing.items() if k in ("values", "warmups", "loops")))
    return cells, timing, side.version, side.code


def run_to_run_floor(base: RunSide, cand: RunSide, history: list[RunSide] | None = None) -> Floor:
    """Each time and cpu row's run-to-run spread over earlier runs of the same plan, code, machine and
    interpreter (``_plan_key``): the run folders beside the two, or ``history``. The two runs compared
    never count, nor a run of other code (its workloads' source hash differs) or without a hash."""
    if history is None:
        history = _siblings(base, cand)
    compared = {Path(base.path).resolve(), Path(cand.path).resolve()}
    key = _plan_key(base)
    same = [h for h in history if Path(h.path).resolve() not in compared and base.code and _plan_key(h) == key
            and all(h.machine.get(k) == base.machine.get(k) for k in MACHINE_KEYS + PYTHON_KEYS)]
    floor = Floor(runs=len(same), paths=tuple(h.path for h in same))
    if not floor.known:
        floor.source = (f"not known: {len(same)} earlier run(s) of this plan and code on this machine beside the two "
                        f"(the prediction bound needs {FLOOR_MIN_RUNS}); a change beyond the tolerance is inconclusive until "
                        f"{floor.more_runs} more run(s) of the baseline are made here")
        return floor
    for cid, record in base.cells.items():
        if record.kind != "cpu-bound" and record.kind != "io-bound":
            continue
        for summary, _ in SUMMARIES["time"] + SUMMARIES["cpu"]:
            figures = []
            for h in same:
                logs = process_logs(h.cells[cid], summary) if h.ok(cid) else {}
                if logs:
                    figures.append(statistics.median(logs.values()))
            if len(figures) >= FLOOR_MIN_RUNS:
                floor.by_row[(cid, summary)] = Spread(statistics.stdev(figures), len(figures))
    names = ", ".join(Path(p).name for p in floor.paths)
    floor.source = f"the spread over {len(same)} earlier runs of this plan and code on this machine ({names})"
    return floor


def _siblings(base: RunSide, cand: RunSide) -> list[RunSide]:
    found, seen = [], {Path(base.path).resolve(), Path(cand.path).resolve()}
    for parent in {Path(base.path).resolve().parent, Path(cand.path).resolve().parent}:
        for child in sorted(parent.iterdir()) if parent.is_dir() else []:
            if child.resolve() in seen or child.is_symlink() or not (child / "manifest.json").is_file():
                continue
            seen.add(child.resolve())
            try:
                side = RunSide.load(str(child))
            except (RunFolderError, OSError, ValueError):
                continue
            if all(r.status in ("ok", "skipped") for r in side.cells.values()):
                found.append(side)
    return found

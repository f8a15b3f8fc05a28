"""What two runs must share to be judged at all, and the refusal (exit 2) when they do not.

Why apart: a refusal is not a verdict. Runs of other gilbench versions, values per process or workload
parameters measure another benchmark, and the gate says so and what to do instead of judging them (step 5
of the rule in ``bench.judge.compare``); the machine and interpreter keys are also what the run-to-run floor
(``bench.judge.floor``) matches earlier runs by.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data.results import RunFolderError

if TYPE_CHECKING:
    from .sides import RunSide

#: what must match for two runs to be compared at all, and what only needs to be shown
MACHINE_KEYS = ("cpu_model", "logical_cpus")
PYTHON_KEYS = ("python_version", "python_implementation", "python_build", "gil_enabled")
SHOWN_KEYS = ("hostname", "os", "physical_cores", "memory_total_bytes", "default_start_method", "packages")


class Refused(RunFolderError):
    """Two runs the gate will not judge at all; the message says which difference and what to do."""


def environment(base: RunSide, cand: RunSide) -> list[tuple[str, str, str, bool]]:
    """(key, baseline, candidate, differs) for every key above: the table the outputs show beside the rows."""
    rows = []
    for key in MACHINE_KEYS + PYTHON_KEYS + SHOWN_KEYS:
        b, c = base.machine.get(key, ""), cand.machine.get(key, "")
        rows.append((key, str(b), str(c), b != c))
    return rows


def check_comparable(base: RunSide, cand: RunSide) -> str:
    """Refused (exit 2) for differences the gate cannot judge across; the sides' scales when they differ."""
    if base.version and cand.version and base.version != cand.version:
        raise Refused(f"the runs were made by different gilbench versions ({base.version} and {cand.version}): "
                      "their rules and measurements may differ; rerun both with one version")
    for key in ("values", "warmups", "loops"):
        b, c = base.timing.get(key), cand.timing.get(key)
        if b is not None and c is not None and b != c:
            raise Refused(f"the runs' {key} per process differ ({b} and {c}): a process's minimum and mean "
                          "depend on it; rerun with the same --values (or profile)")
    scales = set()
    for cid, b_rec in base.cells.items():
        c_rec = cand.cells.get(cid)
        if c_rec is None:
            continue
        if b_rec.cell.scale != c_rec.cell.scale:
            scales.add((b_rec.cell.scale, c_rec.cell.scale))
            continue
        if b_rec.cell.params != c_rec.cell.params:
            raise Refused(f"{cid}: the runs' workload parameters differ ({b_rec.cell.params} and "
                          f"{c_rec.cell.params}): that is another benchmark, not a regression")
    return ", ".join(f"work scaled x{c / b:g} in the candidate" for b, c in sorted(scales))

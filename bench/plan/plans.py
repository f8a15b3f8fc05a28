"""A request's plan: the cells a matrix expands to, or the plan an interrupted run folder was made from.

Why apart from the command line: a plan is made from a typed request (``bench.plan.request``), the same for
`run` and `ab`; ValueError names the problem (an unknown workload, a core count the machine has not, ...).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

from ... import workloads
from . import specs
from .matrix import PROFILES, Plan, expand
from ..data.cells import Cell, Timing
from ..data.records import PrecisionTarget
from .request import Matrix
from ..data.results import RunFolder
from ..data.topology import Topology


def plan_for(matrix: Matrix, cpus: Sequence[int] | None = None, topology: Topology | None = None) -> Plan:
    """The plan from the profile and the options, on this machine or on ``cpus`` of ``topology`` (a fake
    machine, bench.plan.budget); the whole grid, which ``bench.plan.budget.fit`` thins. ValueError naming the problem."""
    profile = PROFILES[matrix.profile]
    extra = [w.name for spec in matrix.workload_modules for w in workloads.load_module(spec)]
    timing = Timing(
        processes=matrix.processes or profile.timing.processes,
        values=matrix.values or profile.timing.values,
        warmups=profile.timing.warmups if matrix.warmups is None else matrix.warmups,
    )
    if timing.warmups < 0:
        raise ValueError(f"--warmups must be 0 or more, not {timing.warmups}")
    given = specs.declaration(matrix.kind, matrix.size_param, list(matrix.params) or None)
    interpreters = None
    if matrix.pythons:
        from .interpreters import find

        interpreters = [find(spec) for spec in matrix.pythons]  # InterpreterError is a ValueError
    return expand(
        profile,
        workload_names=specs.resolve(list(matrix.workloads), given, matrix.declared) or extra,
        backend_names=list(matrix.backends),
        workers=matrix.workers,
        cores=matrix.cores,
        interpreters=interpreters,
        tasks=matrix.tasks,
        scale=matrix.scale,
        start_method=matrix.start_method,
        timing=timing,
        placement=matrix.placement,
        cpus=cpus,
        topology=topology,
    )


def thinning_for(matrix: Matrix, budget_s: float | None, full_grid: bool) -> tuple[str, float | None]:
    """The thinning level and the budget a run's plan is fitted with (bench.plan.budget): none with --full-grid;
    else the profile's thinning and budget where the grid is the profile's (an explicit --workers or --cores
    grid is the user's: only an explicit --budget thins it), --budget over the profile's."""
    from .budget import FULL, POWERS_OF_FOUR

    if full_grid:
        return FULL, None
    profile = PROFILES[matrix.profile]
    own_grid = not matrix.workers and not matrix.cores
    level = POWERS_OF_FOUR if profile.thin and own_grid else FULL
    return level, budget_s if budget_s is not None else profile.budget_s if own_grid else None


def resumable(path: Path) -> tuple[RunFolder, Plan]:
    """An interrupted run folder and the plan it was made from (its users' workloads registered again)."""
    folder = RunFolder(path)
    return folder, register_workloads(plan_of(folder.read_manifest()))


def plan_of(manifest: dict[str, Any]) -> Plan:
    """The plan a run folder's manifest was made from (to resume it)."""
    return Plan(
        profile=manifest["profile"],
        timing=Timing(**manifest["timing"]),
        cells=tuple(Cell.from_dict(c) for c in manifest["cells"]),
        interpreters=manifest.get("interpreters") or {},
        skipped=manifest.get("skipped") or {},
        placement=manifest.get("placement", "logical"),  # a run from before placements took the first CPUs
        placements=tuple(manifest.get("placements") or ()),
        placement_skipped=manifest.get("placement_skipped") or {},
        thinning=manifest.get("thinning") or {},
        precision=PrecisionTarget.from_dict(manifest.get("precision")),
    )


def register_workloads(plan: Plan) -> Plan:
    """Register the user's workloads that ``plan``'s cells name (``Cell.module``: a module or a function's
    source), as when the plan was made, so that a resumed run or ab finds them by name; ``plan`` itself."""
    for module in dict.fromkeys(c.module for c in plan.cells if c.module):
        workloads.load_module(module)
    return plan


def check_writable(root: Path) -> None:
    """ValueError unless a run folder can be made under ``root`` (made if missing)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise ValueError(f"--output {root}: cannot write there ({exc.strerror or exc})") from None

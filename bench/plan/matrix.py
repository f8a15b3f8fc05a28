"""What a run covers: profiles and options expand to a list of cells.

A *task* is one call of a workload function. A *batch* is a fixed number of tasks, split statically
over the workers of a backend. A *cell* is one (workload, backend, workers, cores) combination: pyperf
times whole batches of it, each value being one batch's wall time. Core counts are imposed with CPU
affinity on ``cores`` of the CPUs this process may use: distinct physical cores before any SMT sibling
(``bench.data.topology``), or with the ``logical`` placement the first ``cores`` CPUs as listed, or with
``siblings`` every SMT sibling of a core before the next. A run may ask for several placements: the
first keeps plain cell ids, each other one measures the cores again under its own ids (``Cell.placement``)
where it picks other CPUs, and is skipped with the reason where it picks the same (no SMT: no new cells).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ... import workloads
from ..backends import all_backends, get_backend
from ..data.cells import Cell, Timing
from ..data.topology import PHYSICAL, Topology, placements as parse_placements, read_topology

if TYPE_CHECKING:  # a measured process imports this module: the records are not its to load
    from ..data.records import PrecisionTarget


#: the environment of process k is grown by layout_pad(k) bytes: values across a cell's processes
#: are then over different stack alignments (the layout bias of Mytkowicz et al., ASPLOS 2009)
LAYOUT_PAD_SPAN = 4096


def layout_pad(k: int) -> int:
    """Bytes added to process k's environment: 0 for the first, then spread evenly over a page.

    A golden-ratio sequence in steps of 16 bytes (the stack's alignment), so any few processes cover
    the span. Every cell of a run uses the same pads, and both sides of an ``ab`` round the same pad.
    """
    if k <= 0:
        return 0
    frac = (k * 0.6180339887498949) % 1.0
    return int(frac * LAYOUT_PAD_SPAN) // 16 * 16


@dataclass(frozen=True)
class Profile:
    """A named matrix. ``None`` for workers, cores or tasks means "derived from this machine"."""

    name: str
    description: str
    timing: Timing
    workloads: tuple[str, ...] = ()  # empty: every registered workload
    backends: tuple[str, ...] = ("sequential", "threads", "processes")  # empty: every execution model
    #: models that get the whole workers x cores matrix; the others (when this is not empty) run at
    #: workers = cores on all cores only, which keeps a profile of every model short
    full_backends: tuple[str, ...] = ()
    workers: tuple[int, ...] | None = None
    cores: tuple[int, ...] | None = None
    #: run every cell on all the CPUs this process may use, instead of a range of core counts
    all_cores_only: bool = False
    tasks: int | None = None
    #: each task's size relative to the workload's default, before --scale
    task_size: float = 1.0
    #: per-workload sizes that replace ``task_size`` (work that is precise at any size can be small)
    task_sizes: Mapping[str, float] = field(default_factory=dict)
    #: keep a batch at ``batch_tasks`` default-sized tasks when more tasks are needed
    batch_tasks: int | None = None
    #: when set, only these workloads get the matrix above; every other (not start-cost) workload gets a
    #: compact one, which keeps a profile of many workloads short: ``compact_backends`` at 1, 2 and
    #: all-cores workers, on all cores, a batch of ``compact_batch_tasks`` default-sized tasks
    focus: tuple[str, ...] = ()
    compact_backends: tuple[str, ...] = ("sequential", "threads", "processes")
    compact_batch_tasks: int = 4
    #: how cells pick their CPUs (bench.data.topology); more than one measures the cores under each where it differs
    placements: tuple[str, ...] = (PHYSICAL,)
    #: thin the worker x core grid off its diagonal past 8 (bench.plan.budget); False: the whole grid
    thin: bool = False
    #: seconds the whole run should fit in unless --budget or --full-grid says otherwise (bench.plan.budget); None: no limit
    budget_s: float | None = None
    #: the relative half-width each cell's headline figure is run to unless --precision says otherwise
    #: (bench.data.precision: more processes after the first block); None: a fixed design, ``timing.processes`` a cell
    precision: float | None = None


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            "a few seconds: tiny tasks, 1-2 workers, all cores; for tests",
            Timing(processes=2, values=2, warmups=0),
            workloads=("hello-cpu", "hello-sleep"),
            workers=(1, 2),
            all_cores_only=True,
            tasks=2,
            task_size=0.1,
        ),
        Profile(
            "quick",
            "under two minutes on 2 cores (fitted to 1 min 50 s): the hello workloads at 1, 2 and 4 workers on all cores, 4 tasks of "
            "~100 ms, the start costs, and the experiments at small sizes; each figure run to ±5 % (--precision)",
            Timing(processes=6, values=3, warmups=0),
            workloads=("hello-cpu", "hello-sleep", "noop"),
            workers=(1, 2, 4),
            all_cores_only=True,
            tasks=4,
            budget_s=110,
            precision=0.05,
        ),
        Profile(
            "gate",
            "for a CI regression gate with `gilbench ab`: sequential and 2 workers on all cores, "
            "4 tasks of ~25 ms (sleeps of 10 ms), up to 40 rounds (looks at 16, 28, 40: a cell stops when decided)",
            Timing(processes=40, values=3, warmups=0),
            workloads=("hello-cpu", "hello-sleep"),
            workers=(2,),
            all_cores_only=True,
            tasks=4,
            task_size=0.25,
            task_sizes={"hello-sleep": 0.1},
        ),
        Profile(
            "default",
            "hello-cpu and hello-sleep on the machine's whole matrix for sequential, threads and processes: "
            "workers and cores in powers of two up to max(8, CPUs), a batch of ~0.4 s of work split into as many "
            "tasks as the most workers, every other execution model at workers = cores on all cores; every other "
            "workload under sequential, threads and processes at 1, 2 and all-cores workers on all cores; each "
            "model's start cost; past 8 CPUs the grid off its diagonal is thinned; the run fitted to 4 min 30 s "
            "(--budget, --full-grid); each figure run to ±3 % (--precision)",
            Timing(processes=4, values=2, warmups=0),
            backends=(),
            full_backends=("sequential", "threads", "processes"),
            batch_tasks=4,
            focus=("hello-cpu", "hello-sleep"),
            compact_batch_tasks=2,
            thin=True,
            budget_s=270,
            precision=0.03,
        ),
        Profile(
            "full",
            "every workload on the machine's whole matrix for sequential, threads and processes (workers and "
            "cores in powers of two up to max(8, CPUs)), every other model at workers = cores on all cores, a "
            "batch of ~0.8 s, 5 processes per cell, the experiments at their largest; tens of minutes",
            Timing(processes=5, values=3, warmups=0),
            backends=(),
            full_backends=("sequential", "threads", "processes"),
            batch_tasks=8,
        ),
    )
}


def available_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), sorted."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def powers_of_two_upto(limit: int) -> list[int]:
    """1, 2, 4, ... up to ``limit``, and ``limit`` itself."""
    values, n = [], 1
    while n < limit:
        values.append(n)
        n *= 2
    values.append(limit)
    return values


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    """"1,2,4" -> (1, 2, 4); a ValueError naming ``what`` for anything else or a value below 1."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{what} must be comma-separated whole numbers such as 1,2,4, not {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"{what} must be whole numbers of at least 1, not {text!r}")
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class Plan:
    """The expanded matrix and the settings every cell shares.

    ``interpreters`` describes each interpreter of the matrix by its label (``Interpreter.to_dict``);
    ``skipped`` gives, by cell id, why a cell cannot run (a model unavailable on its interpreter, a
    workload a model cannot run): such cells are recorded as skipped, never run.
    """

    profile: str
    timing: Timing
    cells: tuple[Cell, ...]
    interpreters: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    #: how the cells' CPUs were picked (bench.data.topology): physical cores first, or logical CPUs as listed; with
    #: several placements, the first (the cells with plain ids)
    placement: str = PHYSICAL
    #: every placement the run asked for, the first one first
    placements: tuple[str, ...] = ()
    #: "placement/cN" -> why that placement was not measured at N cores (it picks the CPUs another one did)
    placement_skipped: dict[str, str] = field(default_factory=dict)
    #: what fitting the plan to the machine and the budget left out (bench.plan.budget.Fitted.record); empty: nothing
    thinning: dict[str, Any] = field(default_factory=dict)
    #: the precision target each cell is run to, and the budget (bench.data.precision); None: ``timing.processes`` a cell
    precision: PrecisionTarget | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"profile": self.profile, "timing": asdict(self.timing), "cells": [c.to_dict() for c in self.cells],
                "interpreters": self.interpreters, "skipped": self.skipped, "placement": self.placement}
        if len(self.placements) > 1:  # a run of one placement: its manifest as before
            data.update(placements=list(self.placements), placement_skipped=self.placement_skipped)
        if self.thinning:  # a plan nothing was left out of: its manifest as before
            data["thinning"] = self.thinning
        if self.precision is not None:  # a fixed design: its manifest as before
            data["precision"] = self.precision.to_dict()
        return data


def expand(
    profile: Profile,
    *,
    workload_names: Sequence[str] = (),
    backend_names: Sequence[str] = (),
    workers: Sequence[int] = (),
    cores: Sequence[int] = (),
    tasks: int | None = None,
    scale: float = 1.0,
    start_method: str | None = None,
    timing: Timing | None = None,
    cpus: Sequence[int] | None = None,
    interpreters: Sequence[Any] | None = None,
    placement: str | Sequence[str] | None = None,
    topology: Topology | None = None,
) -> Plan:
    """Profile plus the user's overrides -> the cells to run, interpreters then cores outermost.

    ``interpreters`` are ``bench.plan.interpreters.Interpreter`` objects (default: the one gilbench runs
    on, label ""). A cell of N cores runs on N of ``cpus`` picked by ``topology.pick`` (default: the topology
    the OS reports) with ``placement`` (one, "physical,logical" or a sequence; default: the profile's,
    distinct physical cores first). With several, each after the first gets the cores again, cells with
    ``Cell.placement`` set, at every core count where it picks CPUs no earlier placement picked; where it
    picks the same, ``Plan.placement_skipped`` says so and no cell is made. A start-cost workload
    (``Workload.start_cost``) gets one cell per model: one task on one worker at the most cores.

    Raises ValueError with the accepted values for an unknown workload or backend, a worker count
    below 1, or more cores than this process may use.
    """
    cpus = list(cpus if cpus is not None else available_cpus())
    topology = topology if topology is not None else read_topology()
    asked = parse_placements(placement if placement is not None else profile.placements)
    names = list(workload_names or profile.workloads or workloads.all_workloads())
    chosen = [workloads.get(n) for n in names]
    backend_classes = [get_backend(b) for b in (backend_names or profile.backends or all_backends())]
    if interpreters is None:
        from .interpreters import current

        interpreters = [current()]
    if scale <= 0:
        raise ValueError(f"--scale must be a positive number, not {scale}")

    worker_counts = tuple(workers) or profile.workers or tuple(powers_of_two_upto(max(8, len(cpus))))
    if min(worker_counts) < 1:
        raise ValueError(f"workers must be at least 1, not {min(worker_counts)}")
    if cores:
        core_counts = tuple(cores)
    elif profile.all_cores_only:
        core_counts = (len(cpus),)
    else:
        core_counts = profile.cores or tuple(powers_of_two_upto(len(cpus)))
    if max(core_counts) > len(cpus) or min(core_counts) < 1:
        raise ValueError(
            f"cores must be between 1 and {len(cpus)} (the CPUs this process may use: "
            f"{','.join(map(str, cpus))}), not {max(core_counts) if max(core_counts) > len(cpus) else min(core_counts)}"
        )
    n_tasks = tasks or profile.tasks or max(worker_counts)
    if n_tasks < 1:
        raise ValueError(f"tasks must be at least 1, not {n_tasks}")
    batch_factor = 1.0
    if profile.batch_tasks and not (tasks or profile.tasks):
        batch_factor = profile.batch_tasks / n_tasks

    cells: list[Cell] = []
    skipped: dict[str, str] = {}
    most = max(core_counts)
    compact_counts = tuple(workers) or tuple(sorted({1, min(2, len(cpus)), len(cpus)}))
    compact_classes = [get_backend(b) for b in (backend_names or profile.compact_backends)]
    placed, placement_skipped = _placed(topology, cpus, sorted(set(core_counts)), asked)
    for interp in interpreters:
        info = interp.to_dict()
        for n_cores, where, chosen_cpus in placed:
            for workload in chosen:
                if where and workload.start_cost:
                    continue  # a start cost is one worker's: another placement of the cores does not move it
                compact = bool(profile.focus) and workload.name not in profile.focus and not workload.start_cost
                if (workload.start_cost or compact) and n_cores != most:
                    continue
                factor = batch_factor
                if compact and not (tasks or profile.tasks):
                    factor = profile.compact_batch_tasks / max(compact_counts)
                size = profile.task_sizes.get(workload.name, profile.task_size) * factor
                params = workload.resolve(scale=size * scale)
                for backend in (compact_classes if compact else backend_classes):
                    if workload.start_cost:
                        counts, n = [1], 1
                    elif compact:
                        counts = [backend.fixed_workers] if backend.fixed_workers else list(compact_counts)
                        n = tasks or profile.tasks or max(compact_counts)
                    elif backend.fixed_workers:
                        counts, n = [backend.fixed_workers], n_tasks
                    elif backend.name not in profile.full_backends and profile.full_backends:
                        counts, n = [w for w in sorted(set(worker_counts)) if w == n_cores] or [n_cores], n_tasks
                        if n_cores != most:
                            continue
                    else:
                        counts, n = sorted(set(worker_counts)), n_tasks
                    method = None
                    if backend.uses_processes:
                        method = backend.fixed_start_method or start_method or interp.default_start_method
                    for n_workers in counts:
                        cell = Cell(
                            workload=workload.name,
                            backend=backend.name,
                            workers=n_workers,
                            cores=n_cores,
                            cpus=chosen_cpus,
                            tasks=n,
                            params=params,
                            start_method=method,
                            scale=scale,
                            module=workloads.source(workload.name),
                            python=interp.label,
                            placement=where,
                        )
                        reason = backend.unavailable(info) or backend.cannot_run(workload)
                        if reason:
                            skipped[cell.id] = reason
                        cells.append(cell)
    return Plan(profile=profile.name, timing=timing or profile.timing, cells=tuple(cells),
                interpreters={i.label: i.to_dict() for i in interpreters}, skipped=skipped, placement=asked[0],
                placements=asked, placement_skipped=placement_skipped)


def _placed(topology: Topology, cpus: Sequence[int], core_counts: Sequence[int],
            asked: Sequence[str]) -> tuple[list[tuple[int, str, tuple[int, ...]]], dict[str, str]]:
    """(cores, the cell's placement ("" for the first asked), its CPUs) for every core count and placement
    that picks CPUs no earlier placement picked at that count; and, by "placement/cN", why the others were
    not measured."""
    found, skipped = [], {}
    for n in core_counts:
        picked: dict[tuple[int, ...], str] = {}
        for k, name in enumerate(asked):
            chosen = topology.pick(cpus, n, name)
            if chosen in picked:
                skipped[f"{name}/c{n}"] = (f"{name} picks the same CPUs ({cpu_list(chosen)}) as {picked[chosen]} at "
                                           f"{n} core{'s' if n > 1 else ''}: measured once")
                continue
            picked[chosen] = name
            found.append((n, "" if k == 0 else name, chosen))
    return found, skipped


def cpu_list(cpus: Iterable[int]) -> str:
    """(0, 1, 3) -> "0,1,3", the form pyperf's --affinity takes."""
    return ",".join(str(c) for c in cpus)

"""A run's plan fitted to the machine and to a time budget: the worker x core grid thinned, the estimate whole.

Why: the default profile's grid grows with the square of the machine's core counts (127 cells on 2 CPUs,
223 on 16, 385 on 128), while most of its off-diagonal cells say little that their neighbours do not.
So a plan keeps what answers the questions, at every core count and for every model:

- the diagonal (workers = cores): how each model scales with the machine;
- the baselines (sequential) and the start costs (``noop``): what everything is measured against;
- the own-scaling reference of a model whose workers share the process (threads at 1 worker);
- oversubscription where the question needs it: CPU-bound work at 2x the cores, sleep-bound work beyond
  the cores (at 2x and at the most workers);

and thins the rest in steps (``LEVELS``): past 8, worker and core counts off the diagonal at powers of four
(16, 64, ...) and the machine's own count only; then 1 and powers of four only; then none. Up to 8 CPUs
the first step drops nothing. A budget (``--budget``, or the profile's) takes further steps while the
estimate is over it, then fewer processes per cell down to ``PROCESS_FLOOR``; every step is said, and a
plan still over the budget says so and runs whole: a diagonal cell is never dropped.

The estimate is the run's, not only its cells': the interpreter's start, the probe and the lesson, every
cell (``bench.plan.progress.estimate_cell_seconds``: its processes' start, each worker process's start, its
batches), the experiments (each ``Experiment.estimate``) and the report. With a precision target
(``Plan.precision``) a cell counts its first block and one block more (``bench.data.precision.expected_processes``):
quiet cells take none, noisy ones several. Under a budget those extra processes take at most what the first
blocks leave of it (each cell's share, ``bench.data.precision.share_s``, stops it), so the estimate counts them up
to there (``cells_within``), and only first blocks over the budget make the plan thinner.

A fake machine (``fake_machine``: a CPU list and a topology) plans for a machine this is not, nothing run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from ... import workloads
from ..backends import get_backend
from ..data.cells import Cell, Timing
from .matrix import Plan
from ..data.precision import expected_processes
from .progress import estimate_cell_seconds
from ..data.durations import format_duration
from ..data.topology import Topology

#: the thinning steps, least first: the whole grid; off the diagonal, counts up to 8 and powers of four past it
#: (and the machine's own); 1 and powers of four only; nothing off the diagonal but what is always kept
FULL, POWERS_OF_FOUR, SPARSE, DIAGONAL = "full", "powers-of-four", "sparse", "diagonal"
LEVELS = (FULL, POWERS_OF_FOUR, SPARSE, DIAGONAL)
#: processes per cell a budget may go down to (two still give a range over processes and layouts)
PROCESS_FLOOR = 2
#: the run's own start besides its cells: the interpreter and imports, the probe, machine.json, the lesson
#: (the recordings: 1.5 s and 1.8 s from the manifest's creation to the first cell)
RUN_START_S = 3.0
#: the report: its fixed part and its part per cell (here: 5 s for the 10 cells of run-1cpu, 10 s for the 67
#: of run-16cpu-device, taken under the lowest CPU weight beside other work)
REPORT_BASE_S, REPORT_CELL_S = 4.0, 0.1

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)")


def parse_duration(text: str, what: str = "--budget") -> float:
    """"90s", "10m", "1h", "1h30m" -> seconds; a ValueError naming ``what`` and the accepted forms."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    units = [unit for _, unit in parts]
    if (not parts or "".join(n + u for n, u in parts) != cleaned or len(set(units)) != len(units)
            or units != sorted(units, key="hms".index)):
        raise ValueError(f"{what} must be a duration such as 90s, 10m, 1h or 1h30m, not {text!r}")
    seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{what} must be above 0, not {text!r}")
    return seconds


def fake_machine(cpus: int, threads_per_core: int = 1) -> tuple[list[int], Topology]:
    """A machine of ``cpus`` logical CPUs, ``threads_per_core`` to a core, listed as Linux lists x86 (every
    core once before any sibling: CPU i and i + cpus/threads_per_core share a core): its CPU list and
    topology, for planning without it."""
    if cpus < 1 or threads_per_core < 1 or cpus % threads_per_core:
        raise ValueError(f"a fake machine needs a CPU count that is a multiple of its threads per core, not "
                         f"{cpus}:{threads_per_core}")
    cores = cpus // threads_per_core
    return list(range(cpus)), Topology({cpu: (0, cpu % cores) for cpu in range(cpus)}, True, "fake")


def parse_fake_machine(text: str) -> tuple[list[int], Topology]:
    """"64" (64 CPUs, a core each) or "64:2" (two to a core) -> ``fake_machine``; ValueError naming the forms."""
    match = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"--fake-cpus must be a CPU count such as 64, or 64:2 for two CPUs to a core, not {text!r}")
    return fake_machine(int(match.group(1)), int(match.group(2) or 1))


def axis(level: str, most: int, machine: int) -> frozenset[int] | None:
    """The worker and core counts an off-diagonal cell may have at ``level`` (None: any), on a grid of up to
    ``most`` workers on a machine of ``machine`` CPUs: ``powers-of-four`` keeps 1, 2, 4, 8 and 16, 64, ...;
    ``sparse`` 1 and 4, 16, 64, ...; both the machine's own count and the most workers; ``diagonal`` none."""
    if level == FULL:
        return None
    if level == DIAGONAL:
        return frozenset()
    counts, n = set(), 1
    while n <= most:
        counts.add(n)
        n *= 4
    if level == POWERS_OF_FOUR:
        counts |= {c for c in (2, 8) if c <= most}
    return frozenset(counts | {machine, most})


def why_kept(cell: Cell, kind: str, most_workers: int) -> str:
    """Why ``cell`` is kept at every level ("" where it may be thinned): what the questions need."""
    backend = get_backend(cell.backend)
    if backend.fixed_workers:
        return "baseline"
    if workloads.get(cell.workload).start_cost:
        return "start cost"
    if cell.workers == cell.cores:
        return "diagonal"
    if cell.workers == 1 and backend.in_process:
        return "own-scaling reference"
    if cell.workers == 2 * cell.cores:
        return "oversubscribed 2x"
    if kind == "io-bound" and cell.workers > cell.cores and cell.workers == most_workers:
        return "sleep-bound beyond the cores"
    return ""


def thin(plan: Plan, level: str) -> tuple[Plan, tuple[Cell, ...]]:
    """``plan`` with the off-diagonal cells ``level`` leaves out taken out, and those cells (in plan order);
    the skipped reasons of the cells left out go with them."""
    if level not in LEVELS:
        raise ValueError(f"thinning level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not plan.cells:
        return plan, ()
    most = max(c.workers for c in plan.cells)
    machine = max(c.cores for c in plan.cells)
    allowed = axis(level, most, machine)
    kept, dropped = [], []
    for cell in plan.cells:
        keep = (allowed is None or why_kept(cell, workloads.get(cell.workload).kind, most)
                or (cell.workers in allowed and cell.cores in allowed))
        (kept if keep else dropped).append(cell)
    if not dropped:
        return plan, ()
    gone = {c.id for c in dropped}
    return replace(plan, cells=tuple(kept), skipped={k: v for k, v in plan.skipped.items() if k not in gone}), \
        tuple(dropped)


def estimated_timing(plan: Plan) -> Timing:
    """The timing a plan's estimate counts: its own, or with a precision target its first block and the extra
    processes a cell is expected to take (``bench.data.precision.expected_processes``)."""
    if plan.precision is None:
        return plan.timing
    return replace(plan.timing, processes=expected_processes(plan.timing.processes, plan.precision.cap))


def cells_within(first_s: float, expected_s: float, others_s: float, budget_s: float | None) -> float:
    """The cells' part of an estimate with a precision target: ``expected_s`` (their first blocks and the extra
    processes they are expected to take), but under a budget no more than what the budget leaves after the
    rest of the run (``others_s``), since each cell's share stops its extras there; never less than their
    first blocks (``first_s``), which run whatever the budget."""
    if budget_s is None:
        return expected_s
    room = budget_s - others_s - 1e-6  # a microsecond under: the parts added up again stay within the budget
    return max(first_s, min(expected_s, room))


@dataclass(frozen=True)
class RunEstimate:
    """A run's duration in its parts: what ``gilbench run`` says before it starts, and what a budget holds."""

    cells_s: float
    experiments_s: float = 0.0
    start_s: float = RUN_START_S
    report_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.cells_s + self.experiments_s + self.start_s + self.report_s

    def to_dict(self) -> dict[str, float]:
        return {"cells_s": round(self.cells_s, 1), "experiments_s": round(self.experiments_s, 1),
                "start_s": round(self.start_s, 1), "report_s": round(self.report_s, 1),
                "total_s": round(self.total_s, 1)}

    def summary(self) -> str:
        parts = [f"cells {format_duration(self.cells_s)}"]
        if self.experiments_s:
            parts.append(f"experiments {format_duration(self.experiments_s)}")
        parts.append(f"start{' and report' if self.report_s else ''} {format_duration(self.start_s + self.report_s)}")
        return f"{format_duration(self.total_s)} ({', '.join(parts)})"


@dataclass(frozen=True)
class Costs:
    """What a plan's estimate rests on: one task's seconds per workload (the probe's, or given), the
    experiments' seconds, whether the GIL is on, and whether a report is built."""

    task_s: Mapping[str, float]
    experiments_s: float = 0.0
    gil: bool = True
    report: bool = True
    unknown_task_s: float = 1.0  # a workload the probe could not time

    def cell_seconds(self, plan: Plan, timing: Timing | None = None) -> list[float]:
        """Each cell's estimate (but skipped ones) with ``timing`` (default: what the plan counts, its extra
        processes for a precision target included: ``estimated_timing``)."""
        timing = timing or estimated_timing(plan)
        return [estimate_cell_seconds(c, workloads.get(c.workload).kind,
                                      self.task_s.get(c.workload, self.unknown_task_s), timing, self.gil)
                for c in plan.cells if c.id not in plan.skipped]

    def estimate(self, plan: Plan, budget_s: float | None = None) -> RunEstimate:
        """The run's estimate; under ``budget_s`` a precision target's extra processes count only up to what
        the budget leaves them (``cells_within``)."""
        report = REPORT_BASE_S + REPORT_CELL_S * len(plan.cells) if self.report else 0.0
        cells = sum(self.cell_seconds(plan))
        if plan.precision is not None:
            cells = cells_within(sum(self.cell_seconds(plan, plan.timing)), cells,
                                 self.experiments_s + RUN_START_S + report, budget_s)
        return RunEstimate(cells, self.experiments_s, RUN_START_S, report)


@dataclass(frozen=True)
class Fitted:
    """A plan as fitted: the plan to run, its estimate, the level it was thinned to, the cells left out, the
    budget, the processes per cell the profile asked for, and each step taken, in words."""

    plan: Plan
    estimate: RunEstimate
    level: str
    dropped: tuple[Cell, ...]
    budget_s: float | None
    processes_asked: int
    steps: tuple[str, ...] = ()

    @property
    def over_budget(self) -> bool:
        return self.budget_s is not None and self.estimate.total_s > self.budget_s

    def record(self) -> dict[str, object]:
        """What the manifest keeps of the fitting (``Plan.thinning``): empty where nothing was left out."""
        if not self.dropped and self.plan.timing.processes == self.processes_asked:
            return {}
        return {"level": self.level, "cells_left_out": len(self.dropped), "budget_s": self.budget_s,
                "processes_asked": self.processes_asked, "estimate_s": round(self.estimate.total_s, 1),
                "steps": list(self.steps)}


def fit(full: Plan, costs: Costs, budget_s: float | None = None, level: str = POWERS_OF_FOUR,
        floor: int = PROCESS_FLOOR) -> Fitted:
    """``full`` thinned to ``level``, then, while the estimate is over ``budget_s``, to the next levels and
    to fewer processes per cell down to ``floor``. Never drops a diagonal, baseline or start-cost cell."""
    if level not in LEVELS:
        raise ValueError(f"thinning level must be one of {', '.join(LEVELS)}, not {level!r}")
    asked = full.timing.processes
    plan, dropped = thin(full, level)
    steps = [_said(level, dropped, full)] if dropped else []
    estimate = costs.estimate(plan, budget_s)
    if budget_s is None or estimate.total_s <= budget_s:
        return Fitted(plan, estimate, level, dropped, budget_s, asked, tuple(steps))
    for deeper in LEVELS[LEVELS.index(level) + 1:]:
        candidate, more = thin(full, deeper)
        if len(more) == len(dropped):
            continue
        before = estimate.total_s
        plan, dropped, level = candidate, more, deeper
        estimate = costs.estimate(plan, budget_s)
        steps.append(f"over the budget ({format_duration(before)} > {format_duration(budget_s)}): "
                     + _said(deeper, more, full))
        if estimate.total_s <= budget_s:
            return Fitted(plan, estimate, level, dropped, budget_s, asked, tuple(steps))
    processes = plan.timing.processes
    while processes > floor and estimate.total_s > budget_s:
        before = estimate.total_s
        processes -= 1
        plan = replace(plan, timing=replace(plan.timing, processes=processes))
        estimate = costs.estimate(plan, budget_s)
        steps.append(f"over the budget ({format_duration(before)} > {format_duration(budget_s)}): "
                     f"{processes} processes per cell instead of {asked}")
    if estimate.total_s > budget_s:
        steps.append(f"still over the budget ({format_duration(estimate.total_s)} > {format_duration(budget_s)}) at "
                     f"{processes} processes per cell with only what is always kept; it runs as it is (a larger "
                     "--budget, fewer --workload, --no-experiments or --no-report make it shorter)")
    return Fitted(plan, estimate, level, dropped, budget_s, asked, tuple(steps))


def _said(level: str, dropped: Sequence[Cell], full: Plan) -> str:
    """One line for a thinning step: the level in words, the cells left out, a few of them."""
    most = max(c.workers for c in full.cells)
    machine = max(c.cores for c in full.cells)
    allowed = axis(level, most, machine) or frozenset()
    where = (f"off the diagonal only workers and cores in {', '.join(map(str, sorted(allowed)))}" if allowed
             else "nothing off the diagonal but the kept cells")
    examples = ", ".join(c.id for c in _spread(dropped, 3))
    return f"thinned ({level}): {where}; {len(dropped)} of {len(full.cells)} cells left out, e.g. {examples}"


def _spread(cells: Sequence[Cell], n: int) -> list[Cell]:
    """``n`` cells spread over ``cells`` (the first, the middle, the last), for examples."""
    if len(cells) <= n:
        return list(cells)
    return [cells[round(i * (len(cells) - 1) / (n - 1))] for i in range(n)]


def grid_lines(plan: Plan) -> list[str]:
    """The workers x cores grid each model of the plan's full matrix runs, one line per core count, as
    "c4: threads w1,2,4,8,16 | processes w1,2,4,8,16": what a thinned plan kept, at a glance."""
    by_cores: dict[int, dict[str, set[int]]] = {}
    for cell in plan.cells:
        if workloads.get(cell.workload).start_cost or get_backend(cell.backend).fixed_workers:
            continue
        by_cores.setdefault(cell.cores, {}).setdefault(cell.backend, set()).add(cell.workers)
    lines = []
    for cores in sorted(by_cores):
        models = by_cores[cores]
        lines.append(f"c{cores}: " + " | ".join(f"{b} w{','.join(map(str, sorted(w)))}" for b, w in models.items()))
    return lines


def describe(fitted: Fitted, full_cells: int, machine: str = "") -> list[str]:
    """What ``gilbench run`` prints before it starts: the cells, the estimate, what was thinned and why."""
    plan, t = fitted.plan, fitted.plan.timing
    budget = f", budget {format_duration(fitted.budget_s)}" if fitted.budget_s is not None else ""
    target = plan.precision
    more = (f", then {target.block} at a time up to {target.cap} until each figure is within "
            f"±{target.target * 100:g} % (the estimate counts {estimated_timing(plan).processes})") if target else ""
    lines = [f"gilbench: plan{f' for {machine}' if machine else ''}: {len(plan.cells)} cells of the full grid's "
             f"{full_cells} (profile {plan.profile}{budget}), {t.processes} pyperf processes x "
             f"({f'{t.warmups} warmup + ' if t.warmups else ''}{t.values} values) each{more}; "
             f"estimated {fitted.estimate.summary()}"]
    lines += [f"gilbench: {step}" for step in fitted.steps]
    if fitted.dropped:
        lines.append("gilbench: kept at every core count: each model's diagonal (workers = cores), the baselines, the "
                     "start costs, threads at 1 worker (own scaling), CPU-bound work at 2x the cores, sleep-bound "
                     "work beyond the cores; --full-grid runs the whole grid")
    return lines


def experiments_seconds(profile: str, cpus: int, labels: Sequence[str], only: Sequence[str] | None) -> float:
    """The experiments' estimate for a run of ``profile`` on ``cpus`` CPUs, each on every interpreter label."""
    from .experiments import plan_jobs

    if only == ():
        return 0.0
    jobs = plan_jobs(profile, cpus, [(label, "", {}) for label in labels or [""]], only)
    return sum(j.estimate for j in jobs)



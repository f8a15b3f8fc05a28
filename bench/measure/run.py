"""``gilbench run``: one plan's cells, then its experiments, into a run folder, inside the one lifecycle.

The run's bookkeeping (a new manifest and records, the code hash, each cell's estimate and time limit) is
here; the order the processes run in is ``bench.measure.schedule``'s, one process ``bench.measure.process``'s,
and the folder, signals, disk errors and resume ``bench.measure.lifecycle``'s. ``gilbench ab`` uses the same
bookkeeping for its two sides.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ... import __version__, workloads
from ..backends import get_backend
from ..data import precision as rule
from ..data.cells import CellRecord, Timing
from ..data.results import RunFolder
from ..plan.budget import RunEstimate, estimated_timing
from ..plan.matrix import PROFILES, Plan, available_cpus
from ..plan.progress import estimate_cell_seconds
from .lifecycle import Lane, Lifecycle, Outcome, now_iso, reopen
from .machine import describe, gil_enabled
from .memory import MEMORY_INTERVAL_S
from .probe import probe
from .process import CANARY_ON_CPU, CANARY_SLOW, NOISY_SHARE
from .sampler import DEFAULT_INTERVAL_S, Sampler
from .schedule import ToPrecision, execute

#: a process may take this many times its estimate before it is ended, but never less than MIN_TIMEOUT_S
TIMEOUT_FACTOR = 10
MIN_TIMEOUT_S = 60.0
#: what one task is assumed to take, for estimates, when the probe could not time it
UNKNOWN_TASK_S = 1.0
#: the share of a budget kept back from the cells for what the run's estimate may miss (its end, a late report)
BUDGET_MARGIN = 0.02
@dataclass
class RunOptions:
    output_root: Path = Path("results")
    timeout: float | None = None  # per pyperf process; None: derived from the cell's estimate
    sample_interval: float = DEFAULT_INTERVAL_S
    sampler: bool = True
    lesson: bool = True
    python: str = sys.executable
    run_name: str | None = None  # the run folder's exact name (gilbench run --name); None: <date>-<host>
    config: str | None = None  # the config file the run's options came from (bench.plan.config), for the manifest
    #: the experiments to run after the cells (gilbench.experiments): None, every one the profile runs; (), none
    experiments: tuple[str, ...] | None = None
    report: bool = True  # a report is built after the run (for the estimate only: bench.commands builds it)


def code_hash(plan: Plan, workloads_dir: Path | None = None) -> str:
    """A hash of the measured code: the workloads package's sources and every user module file the
    plan's cells name. Separate runs count toward each other's run-to-run floor only when it matches
    (bench.judge.floor): a run of other code is no sample of this code's run-to-run spread."""
    digest = hashlib.sha256()
    folder = workloads_dir or Path(workloads.__file__).parent
    files = sorted(folder.rglob("*.py"))
    for c in plan.cells:
        module = c.module or ""
        if module.startswith("{"):  # a function's source: the folder it was imported from and "pkg.mod:func"
            source = json.loads(module)
            dotted = str(source.get("function", "")).split(":")[0].replace(".", "/")
            found = [Path(source["path"]) / f for f in (f"{dotted}.py", f"{dotted}/__init__.py")] \
                if source.get("path") and dotted else []
            module = next((str(f) for f in found if f.is_file()), "")
        if module.endswith(".py"):
            files.append(Path(module))
    for path in dict.fromkeys(files):
        try:
            digest.update(str(path.name).encode() + b"\0" + path.read_bytes())
        except OSError:
            digest.update(str(path).encode())
    return digest.hexdigest()[:16]


def new_manifest(plan: Plan, options: RunOptions, workloads_dir: Path | None = None) -> dict[str, Any]:
    return {
        "gilbench_version": __version__,
        "code_hash": code_hash(plan, workloads_dir),
        "created": now_iso(),
        "finished": None,
        "status": "running",
        "argv": sys.argv,
        "config": options.config,
        "python": options.python,
        "sample_interval": options.sample_interval if options.sampler else None,
        "memory_interval": MEMORY_INTERVAL_S,  # how often each measured process tree's memory was polled
        "noise_threshold": NOISY_SHARE,
        "canary_slow": CANARY_SLOW,
        "canary_on_cpu": CANARY_ON_CPU,
        **plan.to_dict(),
        **({} if options.experiments is None else {"experiments_asked": list(options.experiments)}),
    }


def new_records(plan: Plan) -> list[CellRecord]:
    records = []
    for c in plan.cells:
        backend = get_backend(c.backend)
        workload = workloads.get(c.workload)
        record = CellRecord(c, workload.kind, baseline=bool(backend.fixed_workers), family=backend.family,
                            in_process=backend.in_process, start_cost=workload.start_cost)
        if c.id in plan.skipped:
            record.status, record.note = "skipped", plan.skipped[c.id]
        records.append(record)
    return records


def records_of(manifest: dict[str, Any]) -> list[CellRecord]:
    return [CellRecord.from_dict(c) for c in manifest["cells"]]


def probe_tasks(plan: Plan, python: str, indices: list[int] | None = None) -> dict[str, float]:
    """One task's seconds by workload, each timed once in a child (``bench.measure.probe``), for the cells ``indices``."""
    indices = list(range(len(plan.cells))) if indices is None else indices
    return probe({plan.cells[i].workload: {"params": plan.cells[i].params, "module": plan.cells[i].module}
                  for i in indices}, python)


def estimates_for(plan: Plan, python: str, indices: list[int] | None = None,
                  task_s: Mapping[str, float] | None = None, timing: Timing | None = None) -> list[float]:
    """Each cell's estimated duration (one lane), from one task of each workload timed in a child (or
    ``task_s``, one task's seconds by workload, where the plan's fitting timed them already), with ``timing``
    (default: what the plan counts: ``bench.plan.budget.estimated_timing``)."""
    task_s = task_s if task_s is not None else probe_tasks(plan, python, indices)
    gil = gil_enabled()
    timing = timing or estimated_timing(plan)  # with a precision target: the extra processes a cell is expected to take
    return [
        estimate_cell_seconds(c, workloads.get(c.workload).kind, task_s.get(c.workload, UNKNOWN_TASK_S), timing, gil)
        for c in plan.cells
    ]


def _run_estimate(plan: Plan, options: RunOptions, manifest: dict[str, Any], estimates: list[float],
                  pending: list[int], first: Sequence[float] | None = None) -> RunEstimate:
    """The whole run's estimate: the pending cells, the experiments not finished yet, the start and the report.
    With a precision target and a budget, ``first`` (each cell's first block) bounds it as
    ``bench.plan.budget.cells_within`` says."""
    from ..plan.budget import REPORT_BASE_S, REPORT_CELL_S, RUN_START_S, cells_within
    from ..plan.experiments import plan_jobs

    jobs = [] if options.experiments == () else plan_jobs(
        plan.profile, len(available_cpus()), [(label, "", {}) for label in plan.interpreters or {"": {}}],
        options.experiments)
    done = {(e["name"], e.get("python", "")) for e in manifest.get("experiments") or [] if e.get("status") == "ok"}
    experiments = sum(j.estimate for j in jobs if (j.name, j.label) not in done)
    report = REPORT_BASE_S + REPORT_CELL_S * len(plan.cells) if options.report else 0.0
    cells = sum(estimates[i] for i in pending)
    if plan.precision is not None and first is not None:
        cells = cells_within(sum(first[i] for i in pending), cells, experiments + RUN_START_S + report,
                             plan.precision.budget_s)
    return RunEstimate(cells, experiments, RUN_START_S, report)


def process_timeouts(plan: Plan, estimates: list[float], timeout: float | None) -> list[float]:
    """Each cell's time limit for one of its processes."""
    processes = estimated_timing(plan).processes
    return [timeout or max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * e / processes) for e in estimates]


def finished_seconds(records: Sequence[CellRecord]) -> float:
    """What the cells that are no longer pending took (a skipped cell, never started, took nothing)."""
    return sum(r.ended - r.started for r in records
               if r.status != "pending" and r.started is not None and r.ended is not None)


def run(plan: Plan, options: RunOptions, progress_stream: Any = None, resume: RunFolder | None = None,
        task_s: Mapping[str, float] | None = None) -> Outcome:
    """Run every cell of ``plan`` into a new run folder, or the unfinished cells of ``resume``: the
    ``run`` schedule (cells in turn, then the experiments) inside the one lifecycle (bench.measure.lifecycle).
    ``task_s``: one task's seconds by workload, where fitting the plan timed them already (and said the plan and
    its estimate: the run then says only where it writes)."""
    entered = time.monotonic()  # a budget counts from here (the probe before it is the estimate's start)
    if resume is not None:
        folder, manifest = resume, reopen(resume)
        records = records_of(manifest)
    else:
        folder = RunFolder.create(options.output_root, options.run_name, exact=bool(options.run_name))
        manifest = new_manifest(plan, options)
        records = new_records(plan)
    lane = Lane("", folder, plan, manifest, records, options.python)
    life = Lifecycle([lane], folder.path, progress_stream)
    life.begin(*([] if resume else [lambda: folder.write_json(folder.machine, {**describe(),
                                                                             "interpreters": plan.interpreters})]))
    life.prepare_interpreters()
    t = plan.timing
    timed = task_s if task_s is not None else probe_tasks(plan, options.python, life.pending())
    estimates = estimates_for(plan, options.python, life.pending(), timed)
    first = estimates_for(plan, options.python, life.pending(), timed, plan.timing) if plan.precision else None
    whole = _run_estimate(plan, options, manifest, estimates, life.pending(), first)
    manifest["estimate"] = whole.to_dict()  # what was said before the start, beside what the run then took
    schedule = None
    if plan.precision is not None:
        target = plan.precision
        if target.budget_s is not None:  # the cells' part: the budget less the rest of the run's estimate,
            # and on --resume less what the finished cells took (the budget is the run's, not each session's)
            target = replace(target, cells_s=round(max(0.0, target.budget_s * (1 - BUDGET_MARGIN) - (
                whole.total_s - whole.cells_s) - finished_seconds(records)), 1))
            manifest["precision"] = target.to_dict()
        schedule = ToPrecision(target, estimates, None if target.cells_s is None else entered + target.cells_s,
                               rule.focus_weights([c.workload for c in plan.cells], PROFILES[plan.profile].focus))
    progress = life.estimate(estimates, lambda todo, seconds: "" if task_s is not None else (
        f"gilbench: {len(todo)} cells{f' left of {len(plan.cells)}' if resume else ''}, profile {plan.profile}, "
        f"{t.processes} pyperf processes x ({f'{t.warmups} warmup + ' if t.warmups else ''}{t.values} values) "
        f"each; estimated {whole.summary()}"))
    progress.say(f"gilbench: writing to {folder.path}")
    if plan.precision is not None and (narrower := rule.under_floor(plan.precision.target)):
        progress.say(f"gilbench: {narrower}")

    sampler = Sampler(folder.samples, options.sample_interval) if options.sampler else None
    with life:
        try:
            if options.lesson and not folder.lesson.exists():
                from ...workloads.lesson import run_all

                folder.write_json(folder.lesson, run_all())
            if sampler:
                sampler.start()
            execute([lane], process_timeouts(plan, estimates, options.timeout), progress, precision=schedule)
            if sampler:
                sampler.stop()  # experiments time latencies: nothing of gilbench's own runs beside them
            if options.experiments != ():
                from .experiment_runner import run_for_lane

                run_for_lane(lane, options.experiments, progress.say)
        finally:
            if sampler:
                sampler.stop()
    return life.outcome()

"""Runs plans: every measured pyperf process in a process tree of its own, results on disk after each cell.

The unit is one pyperf worker process of one cell (``python -m gilbench.bench.cell --worker``), started in a
new session with an environment the runner controls: pyperf's short list of inherited variables
plus ``GILBENCH_LAYOUT_PAD``, whose size moves the process's memory layout (process k gets
``layout_pad(k)`` bytes). A *schedule* orders the units: ``gilbench run`` measures the cells one
after another, each cell's processes in turn; ``gilbench ab`` runs, for every cell and round, one
process of each side back to back in random order. Both go through ``execute`` (time limits, atomic
writes after every round) inside one ``bench.lifecycle.Lifecycle`` (folder, estimate, signals, disk
errors, resume, interpreters, the final save); each child is started by ``bench.child``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import psutil

from .. import workloads
from . import __version__
from .backends import get_backend
from .fixtures import cell_fixture
from .child import run_limited, wait_polling, worker_environment
# Interrupted, ResultsUnwritable, StopSignals and now_iso are the lifecycle's; imported from here too
from .lifecycle import (Interrupted, Lifecycle, Outcome, ResultsUnwritable, StopSignals,  # noqa: F401
                        now_iso, reopen)
from .machine import describe, gil_enabled
from . import precision as rule
from . import query
from .budget import RunEstimate, estimated_timing
from .matrix import PROFILES, Cell, Plan, Timing, available_cpus, cpu_list, layout_pad
from .memory import MEMORY_INTERVAL_S, TreeMemory
from .model import CellPrecision, CellRecord, ProcessRecord
from .records import Failure, PrecisionTarget
from .probe import probe
from .progress import Progress, estimate_cell_seconds
from .results import RunFolder
from .sampler import DEFAULT_INTERVAL_S, Sampler

#: a process may take this many times its estimate before it is ended, but never less than MIN_TIMEOUT_S
TIMEOUT_FACTOR = 10
MIN_TIMEOUT_S = 60.0
#: what one task is assumed to take, for estimates, when the probe could not time it
UNKNOWN_TASK_S = 1.0
#: the share of a budget kept back from the cells for what the run's estimate may miss (its end, a late report)
BUDGET_MARGIN = 0.02
#: a process is "noisy" when other processes used more than this share of its CPUs while it ran,
NOISY_SHARE = 0.10
#: or when its canary ran this much slower than the median of the run's canaries so far (a 30 ms
#: loop varies by up to ~15 % on a quiet 2-core VM: flagging starts above that),
CANARY_SLOW = 1.25
#: or when the canary got less than this share of the CPU while it ran (throttled, preempted)
CANARY_ON_CPU = 0.90


@dataclass
class RunOptions:
    output_root: Path = Path("results")
    timeout: float | None = None  # per pyperf process; None: derived from the cell's estimate
    sample_interval: float = DEFAULT_INTERVAL_S
    sampler: bool = True
    lesson: bool = True
    python: str = sys.executable
    run_name: str | None = None  # the run folder's exact name (gilbench run --name); None: <date>-<host>
    config: str | None = None  # the config file the run's options came from (bench.config), for the manifest
    #: the experiments to run after the cells (gilbench.experiments): None, every one the profile runs; (), none
    experiments: tuple[str, ...] | None = None
    report: bool = True  # a report is built after the run (for the estimate only: bench.commands builds it)


#: what ``run`` returns: its one run folder, each status's count, and how it ended
RunOutcome = Outcome


def _busy_seconds(cpus: tuple[int, ...]) -> float:
    """CPU seconds spent busy so far on ``cpus``, all processes together."""
    per_cpu = psutil.cpu_times(percpu=True)
    total = 0.0
    for i in cpus:
        if i < len(per_cpu):
            t = per_cpu[i]
            total += sum(t) - t.idle - getattr(t, "iowait", 0.0)
    return total


def _tree_seconds() -> float:
    """CPU seconds of this process and of its reaped descendants (each unit's whole process tree)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _failure_from_log(log_text: str, returncode: int | None) -> Failure:
    """What the log says when a worker died without gilbench's own failure record."""
    codes = [int(c) for c in re.findall(r"exit code (-?\d+)", log_text)]
    code = next((c for c in codes if c < 0), codes[0] if codes else returncode)
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return Failure("signal", f"the pyperf worker was killed by signal {-code} ({name})", exitcode=code)
    return Failure("exited", f"the pyperf worker exited with code {returncode}", exitcode=code)


def _read_accounting(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the worker's measurements, its failure), from the line it appended."""
    measured = failure = None
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "failure" in record:
                failure = failure or record["failure"]
            else:
                measured = record
    return measured, failure


def _wait_polling(proc: subprocess.Popen[bytes], timeout: float, memory: TreeMemory,
                  interval: float | None) -> int:
    """``proc.wait(timeout)``, polling the process tree's memory every ``interval`` seconds meanwhile
    (``bench.child.run_limited`` does so for every measured process)."""
    return wait_polling(proc, timeout, memory.poll, interval)


@dataclass
class ProcessOutcome:
    status: str  # ok, failed or timeout
    record: ProcessRecord
    output: Path
    error: Failure | None = None


def run_process(
    cell: Cell,
    timing: Timing,
    index: int,
    folder: RunFolder,
    timeout: float,
    python: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    fixture_cpu: Callable[[], float] | None = None,
    memory_interval: float | None = MEMORY_INTERVAL_S,
) -> ProcessOutcome:
    """Run pyperf process ``index`` of ``cell`` to its end or to ``timeout``.

    Besides the timing it measures how busy the cell's CPUs were with *other* processes: busy CPU
    seconds on those CPUs minus the CPU seconds of the process's own tree and of the cell's fixture
    (``fixture_cpu``: its processes' CPU seconds so far, see bench.fixtures). While it waits, it polls
    the process tree's memory every ``memory_interval`` seconds (None: not at all; bench.memory).
    """
    memory = TreeMemory()
    pad = layout_pad(index)
    stem = f"{cell.slug}.p{index}"
    out = folder.cell_file(stem, ".json")
    accounting = folder.cell_file(stem, ".accounting.jsonl")
    log = folder.cell_file(stem, ".log")
    for stale in (out, accounting):
        stale.unlink(missing_ok=True)
    cmd = [
        python, "-m", "gilbench.bench.cell", "--worker", "--worker-task=0", "--quiet",
        "--cell", cell.to_json(),
        "--accounting", str(accounting),
        f"--values={timing.values}", f"--warmups={timing.warmups}", f"--loops={timing.loops}",
        f"--affinity={cpu_list(cell.cpus)}",
        "--output", str(out),
    ]  # fmt: skip
    started = time.time()
    own = fixture_cpu or (lambda: 0.0)
    busy0, tree0, wall0 = _busy_seconds(cell.cpus), _tree_seconds() + own(), time.monotonic()
    ended = run_limited(cmd, timeout, log=log, cwd=cwd, poll=memory.poll, poll_interval=memory_interval,
                        env=worker_environment(env if env is not None else os.environ, pad, extra_env))
    returncode = ended.returncode
    status = "timeout" if ended.timed_out else "ok" if returncode == 0 and out.exists() else "failed"
    wall = time.monotonic() - wall0
    others = max(0.0, (_busy_seconds(cell.cpus) - busy0) - (_tree_seconds() + own() - tree0))
    measured, failure = _read_accounting(accounting)
    record = ProcessRecord(index=index, pad=pad, started=started, ended=time.time(),
                           noise_share=round(others / (wall * len(cell.cpus)), 4) if wall > 0 and cell.cpus else 0.0)
    error = None
    if status == "ok" and measured:
        timed = measured["readings"][measured["warmups"]:]
        record.pid = measured["pid"]
        record.warmups = [w for w, _ in measured["readings"][: measured["warmups"]]]
        record.values = [w for w, _ in timed]
        record.cpu = [c for _, c in timed]
        record.canary = measured.get("canary", float("nan"))
        record.canary_cpu = measured.get("canary_cpu", float("nan"))
        record.pad = measured.get("pad", pad)  # what reached the process, not only what was meant
        record.gil_enabled = measured.get("gil_enabled")
        record.peak_rss_self = int(measured.get("peak_rss_self") or 0)
        record.peak_rss_child = int(measured.get("peak_rss_child") or 0)
        threads = (measured.get("thread_readings") or [])[measured["warmups"]:]
        if threads and all(t for t in threads):
            record.thread_cpu = [c for c, _ in threads]
            record.thread_wall = [w for _, w in threads]
    if memory.polls:
        record.mem_rss, record.mem_uss, record.mem_pss = memory.rss, memory.uss, memory.pss
        record.mem_processes, record.mem_polls = memory.processes, memory.polls
    if status == "ok" and not measured:  # (not "no memory poll": memory_interval=None polls none)
        status = "failed"
        error = Failure("exited", "the worker wrote no measurements")
    if status == "timeout":
        error = Failure("timeout", f"no result within the process's time limit of {timeout:.0f} s", limit_s=timeout)
    elif status == "failed" and error is None:
        text = log.read_text(encoding="utf-8", errors="replace")
        error = (Failure.from_dict(failure) if failure else _failure_from_log(text, returncode)).with_log(
            "\n".join(text.strip().splitlines()[-15:]))
    return ProcessOutcome(status, record, out, error)


# --- schedules --------------------------------------------------------------------------------

@dataclass
class Lane:
    """One run folder being filled: a whole ``run``, or one side of ``ab``."""

    name: str
    folder: RunFolder
    plan: Plan
    manifest: dict[str, Any]
    records: list[CellRecord]
    python: str = sys.executable
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    #: interpreter label -> (python to run its cells with, environment to add); "" is ``python``
    interpreters: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def python_for(self, cell: Cell) -> tuple[str, dict[str, str]]:
        return self.interpreters.get(cell.python, (self.python, {}))

    def save(self) -> None:
        self.manifest["cells"] = [r.to_dict() for r in self.records]
        self.folder.write_manifest(self.manifest)


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
    }


def new_records(plan: Plan) -> list[CellRecord]:
    records = []
    for c in plan.cells:
        backend = get_backend(c.backend)
        record = CellRecord(c, workloads.get(c.workload).kind, baseline=bool(backend.fixed_workers),
                            family=backend.family, in_process=backend.in_process)
        if c.id in plan.skipped:
            record.status, record.note = "skipped", plan.skipped[c.id]
        records.append(record)
    return records


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


def records_of(manifest: dict[str, Any]) -> list[CellRecord]:
    return [CellRecord.from_dict(c) for c in manifest["cells"]]


def flag_noise(record: CellRecord, canaries: list[float]) -> None:
    """Flag each process that lost CPU to others or ran on a slower machine, and its cell as noisy.

    The process's ``flag`` says why; reports read it, they do not judge again.
    """
    reference = statistics.median(canaries) if canaries else float("nan")
    for p in record.processes:
        why = []
        if p.noise_share > NOISY_SHARE:
            why.append(f"others used {p.noise_share:.0%} of its CPUs")
        if p.canary == p.canary and reference == reference and p.canary > CANARY_SLOW * reference:
            why.append(f"canary {p.canary / reference - 1:+.0%} against the run's median")
        if p.canary == p.canary and p.canary > 0 and p.canary_cpu / p.canary < CANARY_ON_CPU:
            why.append(f"canary on the CPU {p.canary_cpu / p.canary:.0%} of its wall time")
        p.flag = "; ".join(why)
    record.noise_share = max((p.noise_share for p in record.processes), default=0.0)
    record.noisy = record.status == "ok" and any(p.flag for p in record.processes)
    record.note = "; ".join(f"process {p.index}: {p.flag}" for p in record.processes if p.flag)


def _finish_cell(lane: Lane, i: int, canaries: list[float]) -> None:
    """A cell all of whose processes ran: merge them into the suite, set its status and times."""
    record = lane.records[i]
    procs = sorted(record.processes, key=lambda p: p.index)
    record.processes = procs
    if record.status == "pending":
        record.status = "ok"
        parts = [lane.folder.cell_file(f"{record.cell.slug}.p{p.index}", ".json") for p in procs]
        lane.folder.add_to_suite(lane.folder.merge_cell(record.cell.slug, parts))
    if procs:
        record.started, record.ended = min(p.started for p in procs), max(p.ended for p in procs)
    flag_noise(record, canaries)


def execute(
    lanes: list[Lane],
    timeouts: list[float],
    progress: Progress,
    rng: random.Random | None = None,
    looks: Sequence[int] = (),
    still_open: Callable[[int], set[int]] | None = None,
    precision: "ToPrecision | None" = None,
) -> None:
    """Run every pending cell of every lane: for each cell, round by round, one process per lane.

    With ``rng`` the lanes' order is shuffled in every round (``ab``); processes that already ran
    (a resumed run) are skipped. The manifests are written after every round. With ``looks`` (ab's
    group-sequential design, ``bench.judge.sequential``) the rounds run in blocks up to each look, cell by
    cell; after a look, ``still_open(look)`` names the cells a row still waits on, and the others are
    finished with the rounds they have. With ``precision`` (``gilbench run`` with a target: one lane) each
    cell runs its first block, then more processes until its figure is known (``run_to_precision``), baselines
    before the cells whose speedups rest on them. Raises Interrupted on SIGTERM or SIGHUP, KeyboardInterrupt on
    SIGINT; whatever ran is on disk.
    """
    plan = lanes[0].plan
    timing = plan.timing
    canaries = [p.canary for lane in lanes for r in lane.records for p in r.processes if p.canary == p.canary]
    active = [i for i in range(len(plan.cells)) if any(lane.records[i].status == "pending" for lane in lanes)]
    blocks = [n for n in looks if n < timing.processes] + [timing.processes]
    seconds = dict.fromkeys(active, 0.0)
    finished = 0

    def finish(i: int) -> None:
        nonlocal finished
        statuses = []
        for lane in lanes:
            _finish_cell(lane, i, canaries)
            lane.save()
            statuses.append(f"{lane.name} {lane.records[i].status}".strip())
        notes = [lane.records[i].error.message[:60] for lane in lanes if lane.records[i].error]
        notes += [f"noisy: {lane.records[i].note[:70]}" for lane in lanes if lane.records[i].noisy]
        if len(blocks) > 1:
            notes.insert(0, f"{max(len(lane.records[i].processes) for lane in lanes)} rounds")
        said = [lane.records[i].precision.text() for lane in lanes if lane.records[i].precision is not None]
        progress.cell_done(finished, plan.cells[i], ", ".join(statuses), seconds[i], "; ".join(said + notes))
        finished += 1

    if precision is not None:
        assert len(lanes) == 1, "a precision target is gilbench run's: one lane"
        order = measure_order(lanes[0].records, active)
        if len(progress.estimates) == len(order):  # the estimates of time left in the order the cells run
            progress.estimates = [precision.estimates[i] for i in order]
        for position, i in enumerate(order):
            t0 = time.monotonic()
            share = precision.share(i, order[position + 1:], t0)
            run_to_precision(lanes[0], i, timeouts[i], canaries, precision, share, progress.say)
            seconds[i] += time.monotonic() - t0
            finish(i)
        return

    start = 0
    for b, end in enumerate(blocks):
        for i in active:
            t0 = time.monotonic()
            _run_rounds(lanes, i, range(start, end), timeouts[i], canaries, rng)
            seconds[i] += time.monotonic() - t0
            if b == len(blocks) - 1:
                finish(i)
        if b == len(blocks) - 1:
            break
        wanted = still_open(end) if still_open else set(active)
        going = [i for i in active if i in wanted and all(lane.records[i].status == "pending" for lane in lanes)]
        for i in active:
            if i not in going:
                finish(i)
        if going:
            progress.say(f"look at {end} rounds: {len(active) - len(going)} cell(s) decided, {len(going)} go on "
                         f"to {blocks[b + 1]} rounds ({', '.join(plan.cells[i].id for i in going)})")
        active, start = going, end


def _run_rounds(lanes: list[Lane], i: int, rounds: range, timeout: float, canaries: list[float],
                rng: random.Random | None) -> None:
    """Rounds ``rounds`` of cell ``i``, one process per lane each, inside the workload's fixture."""
    plan = lanes[0].plan
    # the workload's fixture (a server its tasks talk to), around all of the cell's processes
    with cell_fixture(workloads.get(plan.cells[i].workload)) as fixture:
        for lane in lanes:
            if fixture.error and lane.records[i].status == "pending":
                lane.records[i].status = "failed"
                lane.records[i].error = Failure("fixture", fixture.error)
        for index in rounds:
            order = list(lanes)
            if rng is not None:
                rng.shuffle(order)
            ran = False
            for position, lane in enumerate(order):
                record = lane.records[i]
                if record.status != "pending" or record.process(index):
                    continue
                python, extra = lane.python_for(lane.plan.cells[i])
                done = run_process(lane.plan.cells[i], plan.timing, index, lane.folder, timeout, python,
                                   lane.cwd, lane.env, {**extra, **fixture.environment}, fixture.cpu_seconds)
                done.record.order = position
                ran = True
                if done.status == "ok":
                    record.processes.append(done.record)
                    canaries.append(done.record.canary)
                else:
                    record.status, record.error = done.status, done.error
                    record.started, record.ended = done.record.started, done.record.ended
            if ran:
                for lane in lanes:
                    lane.save()


@dataclass
class ToPrecision:
    """What running cells to a precision target needs beside the lane: the target (``Plan.precision``), each
    cell's estimate (plan order: its first block and the extra processes it is expected to take), and when
    the cells' part of the budget ends (``time.monotonic``; None: no budget, only the cap stops a cell)."""

    target: PrecisionTarget
    estimates: list[float]
    deadline: float | None = None
    #: each cell's weight in the budget's split (plan order; empty: all 1): the profile's focus cells weigh more
    weights: Sequence[float] = ()

    def share(self, i: int, rest: Sequence[int], now: float) -> float | None:
        """Cell ``i``'s share of the budget as it starts, the cells ``rest`` still to run after it (seconds)."""
        if self.deadline is None:
            return None
        weighed = [e * (self.weights[j] if self.weights else 1.0) for j, e in enumerate(self.estimates)]
        return rule.share_s(self.deadline - now, weighed[i], sum(weighed[j] for j in rest))


def measure_order(records: Sequence[CellRecord], active: Sequence[int]) -> list[int]:
    """``active`` in plan order, each baseline moved to just before the first cell whose speedup rests on it
    (the same interpreter, workload, cores and placement: ``bench.query.baseline_key``), so that a speedup is
    judged against a baseline that has finished."""
    first: dict[query.Key, int] = {}
    for i in active:
        if records[i].baseline:
            first.setdefault(query.baseline_key(records[i]), i)
    order: list[int] = []
    placed: set[int] = set()
    for i in active:
        for j in (first.get(query.baseline_key(records[i])), i):
            if j is not None and j not in placed:
                order.append(j)
                placed.add(j)
    return order


def _speedups_rest_on(records: Sequence[CellRecord], baseline: CellRecord) -> bool:
    """Whether a cell of the run has its speedup against ``baseline`` (a start cost's cells do not: their figure
    is their own time)."""
    key = query.baseline_key(baseline)
    return any(not r.baseline and r.status != "skipped" and query.baseline_key(r) == key for r in records)


def headline(records: Sequence[CellRecord], i: int, target: float) -> tuple[CellRecord | None, float]:
    """What cell ``i``'s headline figure is and the precision it is run to: (its baseline record for a speedup,
    None for a time; the target). A baseline's figure is its time (to the target over sqrt 2 where speedups
    rest on it, ``bench.precision.baseline_target``); a start cost's is its own time (its baseline's
    microseconds are only subtracted); every other cell's is its speedup against its baseline cell, or its
    time where that baseline did not finish."""
    record = records[i]
    start_cost = workloads.get(record.cell.workload).start_cost
    if record.baseline:
        return None, rule.baseline_target(target, not start_cost and _speedups_rest_on(records, record))
    base = None if start_cost else query.baseline_of(records, record)
    return (base if base is not None and query.finished(base) else None), target


def run_to_precision(lane: Lane, i: int, timeout: float, canaries: list[float], schedule: ToPrecision,
                     share_s: float | None, say: Callable[[str], None]) -> None:
    """Cell ``i`` of ``lane``: its first block of processes, then ``block`` more at a time until its headline
    figure's (``headline``) interval is within its target, the cap, or its share of the budget (``share_s``
    seconds; None: no budget) is spent (``bench.precision.decide``: the rule reads the interval's width,
    never the figure). Records how precisely the figure is known in ``CellRecord.precision``; says a line each
    time the cell takes more after its first block."""
    target, record = schedule.target, lane.records[i]
    started = time.monotonic()
    expected = estimated_timing(lane.plan).processes
    while record.status == "pending":
        ran = [p for p in record.processes if p.values]
        base, aim = headline(lane.records, i, target.target)
        spent = time.monotonic() - started
        took = [p.ended - p.started for p in ran if p.ended > p.started]
        per_process = statistics.fmean(took) if took else schedule.estimates[i] / max(1, expected)
        interval, more, why = rule.decide(
            list(query.process_summaries(record).values()),
            None if base is None else list(query.process_summaries(base).values()), aim, target.first, target.cap,
            target.block, rule.seed_of(record.id), target.resamples, target.confidence,
            None if share_s is None else share_s - spent, per_process)
        if more == 0:
            record.precision = CellPrecision("time" if base is None else "speedup", aim, interval.relative, len(ran),
                                             interval.value, interval.low, interval.high, why,
                                             "" if base is None else base.id, target.confidence)
            return
        if len(ran) >= target.first:
            width = f"±{interval.relative * 100:.1f} %" if math.isfinite(interval.relative) else "no interval yet"
            say(f"gilbench: {record.id}: {width} after {len(ran)} processes, running {more} more")
        _run_rounds([lane], i, range(len(record.processes), len(record.processes) + more), timeout, canaries, None)


def probe_tasks(plan: Plan, python: str, indices: list[int] | None = None) -> dict[str, float]:
    """One task's seconds by workload, each timed once in a child (``bench.probe``), for the cells ``indices``."""
    indices = list(range(len(plan.cells))) if indices is None else indices
    return probe({plan.cells[i].workload: {"params": plan.cells[i].params, "module": plan.cells[i].module}
                  for i in indices}, python)


def estimates_for(plan: Plan, python: str, indices: list[int] | None = None,
                  task_s: Mapping[str, float] | None = None, timing: Timing | None = None) -> list[float]:
    """Each cell's estimated duration (one lane), from one task of each workload timed in a child (or
    ``task_s``, one task's seconds by workload, where the plan's fitting timed them already), with ``timing``
    (default: what the plan counts: ``bench.budget.estimated_timing``)."""
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
    ``bench.budget.cells_within`` says."""
    from .budget import REPORT_BASE_S, REPORT_CELL_S, RUN_START_S, cells_within
    from .experiment_runner import plan_jobs

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
    ``run`` schedule (cells in turn, then the experiments) inside the one lifecycle (bench.lifecycle).
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

    sampler = Sampler(folder.samples, options.sample_interval) if options.sampler else None
    with life:
        try:
            if options.lesson and not folder.lesson.exists():
                from ..workloads.lesson import run_all

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

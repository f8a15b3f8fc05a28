"""Baseline and candidate in one job, interleaved: the way to see a 10 % change on a noisy machine.

A side is a checkout (a directory, or a git ref checked out into a temporary worktree that is removed
afterwards), run by an interpreter (``--base-python``, ``--cand-python``; default this one). The
harness is always this gilbench. A checkout of gilbench itself has its ``workloads/`` measured; any
other checkout is a user's *project*: this gilbench's harness and workloads, the user's code imported
from the side's checkout (its workers' working directory), so that each side measures its own code.
For every cell, each round runs one pyperf process of each side back to back, in random order and
with the same layout pad, so that drift in the machine's speed and the memory layout fall on both
alike and the comparison can pair them round by round. Each side gets a complete run folder; ``compare``
reads them. When an ``instructions`` threshold is asked, each CPU-bound cell's first ``COUNT_ROUNDS``
rounds then get a count of instructions per task per side, one per CPU at a time (``bench.measure.counters``):
counts hardly move between equal runs, so a few rounds are enough, and they are not the timed rounds'
looks' business. It is a schedule inside the one lifecycle (``bench.measure.lifecycle``): the same time limits, signal
handling, disk errors, atomic writes and resume (``--resume``) as ``gilbench run``.
"""

from __future__ import annotations

import json
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .. import workloads
from .measure.counters import (COUNT_ROUNDS, SLOWDOWN, CounterInfo, CountFailed, available, count_cell,
                               estimate_seconds, tool)
from .data.thresholds import Threshold, Thresholds
from .measure.fixtures import cell_fixture
from .judge.compare import compare, open_cells
from .judge.family import PRIMARY_WEIGHT, check_reachable, row_specs
from .judge.result import Comparison
from .judge.sequential import Design, design_for, single
from .judge.sides import RunSide
from .plan.matrix import Plan
from .plan.progress import WORKER_START_S
from .data.durations import format_duration
from .data.results import RunFolder, write_json_atomic
from .measure.lifecycle import Lifecycle, Outcome, ResultsUnwritable, cannot_write, reopen
from .measure.lifecycle import Lane
from .measure.run import RunOptions, estimates_for, new_manifest, new_records, process_timeouts, records_of
from .measure.schedule import execute
from .measure.sides import Side, SideError, open_side, side_plan
from .plan.plans import plan_of, register_workloads


AB_FILE = "ab.json"


def _lane(side: Side, plan: Plan, folder: RunFolder, root: Path, design: Design) -> Lane:
    options = RunOptions(python=side.python, sampler=False, lesson=False)
    workloads_dir = side.root / "workloads" if not side.project else None
    manifest = {**new_manifest(plan, options, workloads_dir), "side": f"{side.name}: {side.spec}", "interleaved_with": str(root),
                "gate_design": design.to_dict()}
    return Lane(side.name, folder, plan, manifest, new_records(plan), side.python, side.cwd, side.env())


def _resumed_lane(side: Side, folder: RunFolder, plan: Plan) -> Lane:
    """The side's lane with its finished rounds; its cells re-pointed at the side's new checkout."""
    manifest = reopen(folder)
    plan = replace(plan_of(manifest), cells=side_plan(plan, side).cells)
    records = records_of(manifest)
    for record, cell in zip(records, plan.cells):
        record.cell = cell
    return Lane(side.name, folder, plan, manifest, records, side.python, side.cwd, side.env())


def read_ab(root: Path) -> dict[str, Any]:
    """What an interrupted ``ab`` needs to go on: its sides (git refs as commits) and its plan."""
    path = root / AB_FILE
    if not path.is_file():
        raise SideError(f"{root}: no {AB_FILE}; give the folder `gilbench ab` printed (results/<date>-<host>)")
    return json.loads(path.read_text(encoding="utf-8"))


def resume_sides(root: Path, stack: ExitStack) -> tuple[Plan, list[Side]]:
    """An interrupted ab's plan (its users' workloads registered again) and its sides, reopened from
    its ab.json: a git ref's side checks out the commit it ran, under the name the user gave."""
    saved = read_ab(root)
    plan = register_workloads(plan_of(saved["plan"]))
    sides = [open_side(s["name"], s["commit"] or s["spec"], s["python"], s["scale"], stack) for s in saved["sides"]]
    for side, s in zip(sides, saved["sides"]):
        side.spec = s["spec"]
    return plan, sides


def gate_design(plan: Plan, thresholds: Thresholds) -> Design:
    """The group-sequential design of an ab of ``plan`` (``bench.judge.sequential``); Refused when even its
    first look cannot reach the gate's level (the message says how many rounds it needs)."""
    records = {r.id: r for r in new_records(plan)}
    if not row_specs(records, timed(thresholds)):
        # only counts asked: the timed rounds are only the rounds the counts attach to
        return single(min(COUNT_ROUNDS, plan.timing.processes))
    design = design_for(plan.timing.processes)
    check_reachable(records, thresholds, design)
    return design


def timed(thresholds: Thresholds) -> Thresholds:
    """The thresholds the timed rounds' looks decide: all but ``instructions``, which is counted in rounds of
    its own after them (``count_instructions``)."""
    def keep(ts: tuple[Threshold, ...]) -> tuple[Threshold, ...]:
        return tuple(t for t in ts if t.metric != "instructions")

    return Thresholds(keep(thresholds.default), {w: keep(ts) for w, ts in thresholds.per_workload.items()})


def counted_cells(lane: Lane, thresholds: Thresholds) -> list[int]:
    """The indices of the CPU-bound cells an ``instructions`` threshold applies to."""
    return [i for i, record in enumerate(lane.records) if record.kind == "cpu-bound"
            and any(t.metric == "instructions" for t in thresholds.of(record.cell.workload))]


def count_width() -> int:
    """How many counts run side by side: one per CPU this process may use. A count is the guest's own
    instructions, which a neighbour does not move (its A/A spread under load, docs/results.md), so counts
    share the CPUs with each other as freely as with a co-tenant; on a busy runner more of them take a
    larger share of the CPUs."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def count_instructions(lanes: list[Lane], cells: list[int], timeouts: list[float], info: CounterInfo,
                       rng: random.Random, say: Callable[[str], None], rounds: int = COUNT_ROUNDS,
                       width: int | None = None) -> None:
    """For each of ``cells`` and each round k < ``rounds``: one count of instructions per task per side,
    stored as the side's process k's ``instructions`` (a count already there, from before a resume, is kept).
    The counts run ``width`` (default ``count_width``) at a time, in random order; each is saved as it
    ends. A count that fails is said and left out: its row reads "no instruction counts" where no round
    has both. ``timeouts``: each cell's limit for one measured process."""
    plan = lanes[0].plan
    jobs = [(i, k, lane) for i in cells for k in range(rounds) for lane in lanes
            if lane.records[i].status == "ok" and (p := lane.records[i].process(k)) is not None
            and p.instructions is None]
    rng.shuffle(jobs)

    def one(i: int, lane: Lane) -> Any:
        cell = lane.plan.cells[i]
        python, extra = lane.python_for(cell)
        return count_cell(cell, info, python, timeouts[i] * SLOWDOWN[tool(info, cell)], cwd=lane.cwd,
                          env=lane.env, extra_env={**extra, **fixtures[i]})

    with ExitStack() as stack, ThreadPoolExecutor(width or count_width()) as pool:
        fixtures = {i: stack.enter_context(cell_fixture(workloads.get(plan.cells[i].workload))).environment
                    for i in cells}
        running = {pool.submit(one, i, lane): (i, k, lane) for i, k, lane in jobs}
        for done in as_completed(running):
            i, k, lane = running[done]
            try:
                lane.records[i].process(k).instructions = done.result().per_task
            except CountFailed as exc:
                say(f"gilbench ab: {plan.cells[i].id}, {lane.name}, round {k + 1}: not counted: {exc}")
                continue
            lane.save()
    for i in cells:
        figures = []
        for lane in lanes:
            counts = [p.instructions for p in lane.records[i].processes if p.instructions is not None]
            figures.append(f"{lane.name} " + (", ".join(f"{c / 1e6:,.2f}" for c in counts) or "none"))
        say(f"gilbench ab: {plan.cells[i].id}: instructions per task (M): {'; '.join(figures)}")


def _open_cells(lanes: list[Lane], thresholds: Thresholds, design: Design,
                say: Callable[[str], Any] | None = None) -> Callable[[int], set[int]]:
    """At a look: the indices of the cells some row of the comparison so far has not decided. At the
    first look, ``say`` is told what change each cell can resolve by the last (``resolvable_lines``)."""
    def still_open(look: int) -> set[int]:
        # a cell between looks is still pending: what it has so far is what the look judges
        base, cand = (RunSide(str(lane.folder.path), {}, {r.id: replace(r, status="ok") if r.status == "pending" else r
                                                          for r in lane.records},
                              str(lane.manifest.get("interleaved_with", "")), design=design) for lane in lanes)
        first = look == design.looks[0] and say is not None
        comparison = compare(base, cand, thresholds, final=False, with_mde=first)
        if first:
            for line in resolvable_lines(comparison, design):
                say(line)
        ids = open_cells(comparison, base.cells)
        return {i for i, record in enumerate(lanes[0].records) if record.id in ids}

    return still_open


def resolvable_lines(comparison: Comparison, design: Design) -> list[str]:
    """Per cell, from the first look's rounds: the change its primary rows can resolve by the last look
    (fail with probability POWER), and a warning for each cell that cannot reach its threshold."""
    lines, seen = [], set()
    for row in sorted(comparison.rows, key=lambda r: (r.id, -r.weight)):
        if row.id in seen or row.resolvable != row.resolvable or row.weight < PRIMARY_WEIGHT:
            continue
        seen.add(row.id)
        where = f"{row.id} {row.label}: resolves {row.resolvable * 100:.1f} % by {design.rounds} rounds"
        if row.resolvable > row.threshold:
            lines.append(f"gilbench ab: {where}, above its threshold {row.threshold * 100:g} %: a change of the "
                         f"threshold may end inconclusive here (fewer cells, --profile with more rounds, or a "
                         f"quieter machine)")
        else:
            lines.append(f"gilbench ab: {where} (threshold {row.threshold * 100:g} %)")
    return lines


def run_ab(plan: Plan, sides: list[Side], output: Path, timeout: float | None, seed: int | None,
           stream: Any = None, resume: Path | None = None,
           thresholds: Thresholds | None = None, all_rounds: bool = False) -> Outcome:
    """Run ``plan`` for both sides, interleaved: the ``ab`` schedule inside the one lifecycle
    (bench.measure.lifecycle); its outcome holds each side's run folder and how the run ended.

    The rounds follow the gate's group-sequential design for ``thresholds`` (default time:10%): at
    each look, the cells whose rows are all decided stop; the others go on to the next look.
    ``all_rounds``: every cell runs every round (to record a machine's noise, scripts/gate_trials.py).

    ``resume``: the folder of an interrupted ``ab`` (its plan and sides are in ab.json); the
    rounds that finished are kept, the rest are run. Stopped by a signal or a disk that refuses,
    both manifests are written as far as it lets them and the outcome says so.
    ResultsUnwritable when the disk refuses the first writes (nothing ran).
    """
    rng = random.Random(seed)
    thresholds = thresholds or Thresholds((Threshold("time", 10.0),))
    writes: list[Callable[[], Any]] = []
    if resume is not None:
        root = resume.absolute()  # absolute: a project side's workers run in its checkout
        lanes = [_resumed_lane(side, RunFolder(root / side.name), plan) for side in sides]
        saved = lanes[0].manifest.get("gate_design")
        design = Design.from_dict(saved) if saved else gate_design(lanes[0].plan, thresholds)
    else:
        # results/<stamp>-<host>/ holds base/ and cand/; results/latest stays on the newest single run
        try:
            root = RunFolder.create(output.absolute(), latest=False, cells=False).path
        except OSError as exc:
            raise ResultsUnwritable(cannot_write(output, exc)) from None
        design = gate_design(plan, thresholds)
        lanes = []
        for side in sides:
            folder = RunFolder(root / side.name)
            lanes.append(_lane(side, side_plan(plan, side), folder, root, design))
            writes += [lambda f=folder: f.cells.mkdir(parents=True),
                       lambda f=folder, s=side: f.write_json(f.machine, s.describe())]
        writes.append(lambda: write_json_atomic(root / AB_FILE, {
            "plan": plan.to_dict(), "seed": seed, "gate_design": design.to_dict(),
            "sides": [{"name": s.name, "spec": s.spec, "commit": s.commit, "python": s.python, "scale": s.scale}
                      for s in sides],
        }))
    life = Lifecycle(lanes, root, stream)
    life.begin(*writes)
    life.prepare_interpreters()
    plan = lanes[0].plan
    estimates = [2 * e for e in estimates_for(plan, sys.executable)]
    looks = ", ".join(map(str, design.looks))
    progress = life.estimate(estimates, lambda todo, seconds: (
        f"gilbench ab: {len(todo)} cells x up to {plan.timing.processes} rounds x 2 sides, one pyperf "
        f"process each, sides in random order per round; looks at {looks} rounds, where a cell whose rows "
        f"are decided stops; at most {format_duration(seconds)}"))
    progress.say(f"gilbench ab: writing to {root}")
    counted = counted_cells(lanes[0], thresholds)
    info = available() if counted else None
    with life:
        timeouts = process_timeouts(plan, [e / 2 for e in estimates], timeout)
        execute(lanes, timeouts, progress, rng, looks=design.looks,
                still_open=None if all_rounds else _open_cells(lanes, timed(thresholds), design, progress.say))
        if info is not None and info.backend is None:
            progress.say(f"gilbench ab: instructions not counted: {info.missing()}")
        elif info is not None:
            t = plan.timing
            batches = [max(0.0, e / 2 / t.processes - WORKER_START_S) / ((t.warmups + t.values) * t.loops)
                       for e in estimates]
            width = count_width()
            seconds = sum(2 * COUNT_ROUNDS * estimate_seconds(info, plan.cells[i], batches[i]) for i in counted)
            progress.say(f"gilbench ab: counting instructions: {len(counted)} CPU-bound cell(s) x {COUNT_ROUNDS} "
                         f"rounds x 2 sides, two processes each, {width} at a time, about "
                         f"{format_duration(seconds / width)}, with {info.describe()}")
            for lane in lanes:
                lane.manifest["instruction_counter"] = info.describe()
            count_instructions(lanes, counted, timeouts, info, rng, progress.say, width=width)
    if life.interrupted:  # a full disk is said by the command, with the same way on
        progress.say(f"gilbench ab: interrupted; finished rounds are saved, `gilbench ab --resume {root}` runs the rest")
    return life.outcome()

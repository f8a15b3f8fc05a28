"""The schedules: which measured process runs when, with time limits and atomic writes after every round.

``gilbench run`` measures the cells one after another, each cell's processes in turn; ``gilbench ab`` runs, for
every cell and round, one process of each side back to back in random order. Both go through ``execute``; with a
precision target a cell's processes go on in blocks until its figure is known (``run_to_precision``,
``bench.data.precision``'s rule).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from ... import workloads
from ..data import precision as rule
from ..data import query
from ..data.cells import CellPrecision, CellRecord
from ..data.failure import Failure
from ..data.records import PrecisionTarget
from ..plan.budget import estimated_timing
from ..plan.progress import Progress
from .fixtures import cell_fixture
from .lifecycle import Lane
from .process import flag_noise, run_process

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
    (the same interpreter, workload, cores and placement: ``bench.data.query.baseline_key``), so that a speedup is
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
    rest on it, ``bench.data.precision.baseline_target``); a start cost's is its own time (its baseline's
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
    seconds; None: no budget) is spent (``bench.data.precision.decide``: the rule reads the interval's width,
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
            target.block, target.confidence,
            None if share_s is None else share_s - spent, per_process, query.speed_canaries(record, base))
        if more == 0:
            record.precision = CellPrecision("time" if base is None else "speedup", aim, interval.relative, len(ran),
                                             interval.value, interval.low, interval.high, why,
                                             "" if base is None else base.id, target.confidence)
            return
        if len(ran) >= target.first:
            width = f"±{interval.relative * 100:.1f} %" if math.isfinite(interval.relative) else "no interval yet"
            say(f"gilbench: {record.id}: {width} after {len(ran)} processes, running {more} more")
        _run_rounds([lane], i, range(len(record.processes), len(record.processes) + more), timeout, canaries, None)

"""What the harness's own watchers cost a cell, and what the runner adds around its timed region.

The runner watches every measured process from outside it: the sampler (a process of its own reading per-core
utilization) and the memory poller (the runner reading /proc/PID/smaps_rollup of the measured tree every
``MEMORY_INTERVAL_S``). Each round runs one cell under the four combinations, none, sampler, memory and both,
in a random order, each as a real run starts its pyperf processes (``bench.measure.process.run_process``). The figure
per watcher is the median of the per-round ratios to "none" (a round's conditions share the machine's moment)
with their range, and the ratio of the pooled medians.

Beside it, the runner's cost per cell: each pyperf process's wall time as the runner saw it (start to exit)
against the time inside its timed values; the rest is starting the interpreter and the worker processes,
imports, the canary, writing the process's files and reading them back.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..plan.matrix import PROFILES, Plan, expand
from ..data.cells import Timing
from ..data.results import RunFolder
from .memory import MEMORY_INTERVAL_S
from .process import run_process
from .sampler import Sampler

#: as the default profile runs a cell's processes
TIMING = Timing(processes=2, values=2, warmups=0)
#: the conditions of a round: (name, sampler on, memory polled)
CONDITIONS = (("none", False, False), ("sampler", True, False), ("memory", False, True), ("both", True, True))


@dataclass
class Condition:
    """What one condition's processes gave over all rounds: their values, each round's median, each process's
    wall time (as the runner saw it) and timed seconds (its values' sum)."""

    values: list[float] = field(default_factory=list)
    round_medians: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    timed: list[float] = field(default_factory=list)


def _one(plan: Plan, folder: RunFolder, sampled: bool, polled: bool, interval: float, into: Condition) -> None:
    cell = plan.cells[0]
    sampler = Sampler(folder.path / "samples.csv", interval) if sampled else None
    if sampler:
        sampler.start()
    values: list[float] = []
    try:
        for index in range(plan.timing.processes):
            done = run_process(cell, plan.timing, index, folder, timeout=600, python=sys.executable,
                               memory_interval=MEMORY_INTERVAL_S if polled else None)
            if done.status != "ok":
                raise RuntimeError(f"{cell.id} {done.status}: {done.error}")
            values.extend(done.record.values)
            into.walls.append(done.record.ended - done.record.started)
            into.timed.append(sum(done.record.values) * plan.timing.loops)
    finally:
        if sampler:
            sampler.stop()
    into.values.extend(values)
    into.round_medians.append(statistics.median(values))


def _percent(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.2f} %"


def measure(workload: str, backend: str, rounds: int, interval: float, workers: Sequence[int] = (2, 16),
            seed: int | None = None) -> int:
    """Print each watcher's overhead and the runner's cost per cell at each worker count; an exit status."""
    rng = random.Random(seed)
    for count in workers:
        plan = expand(PROFILES["quick"], workload_names=[workload], backend_names=[backend], workers=[count],
                      timing=TIMING)
        found = {name: Condition() for name, _, _ in CONDITIONS}
        with tempfile.TemporaryDirectory() as tmp:
            folder = RunFolder.create(Path(tmp))
            print(f"watchers' overhead: {plan.cells[0].id}, {rounds} rounds of {len(CONDITIONS)} conditions in random "
                  f"order, sampler every {interval} s, memory every {MEMORY_INTERVAL_S} s", file=sys.stderr)
            for i in range(rounds):
                order = list(CONDITIONS)
                rng.shuffle(order)
                for name, sampled, polled in order:
                    _one(plan, folder, sampled, polled, interval, found[name])
                base = found["none"].round_medians[-1]
                print(f"  round {i + 1}: " + ", ".join(f"{name} {found[name].round_medians[-1] / base:.4f}"
                                                       for name, _, _ in CONDITIONS[1:]), file=sys.stderr)
        none = found["none"]
        print(f"{plan.cells[0].id} ({len(none.values)} values per condition, median without watchers "
              f"{statistics.median(none.values) * 1e3:.1f} ms):")
        for name, _, _ in CONDITIONS[1:]:
            ratios = [w / n for w, n in zip(found[name].round_medians, none.round_medians)]
            pooled = statistics.median(found[name].values) / statistics.median(none.values)
            print(f"  {name:<8} {_percent(statistics.median(ratios))} (median of per-round ratios, range "
                  f"{_percent(min(ratios))} to {_percent(max(ratios))}; pooled medians {_percent(pooled)})")
        walls = [w for c in found.values() for w in c.walls]
        timed = [t for c in found.values() for t in c.timed]
        outside = [w - t for w, t in zip(walls, timed)]
        print(f"  runner per process: wall {statistics.median(walls) * 1e3:.0f} ms, timed "
              f"{statistics.median(timed) * 1e3:.0f} ms, outside the timed values {statistics.median(outside) * 1e3:.0f} ms "
              f"({statistics.median(o / w for o, w in zip(outside, walls)) * 100:.0f} % of the wall; median over "
              f"{len(walls)} processes)")
    return 0

"""What the sampler costs: one cell timed with and without it, interleaved in random order.

Each round runs the same cell twice, once with the sampler process running and once without, in a
random order, each as its pyperf processes are run in a real run (``bench.measure.process.run_process``).
The figure is the ratio of the medians over all values (with / without) and the median of the
per-round ratios.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
from pathlib import Path

from ..plan.matrix import PROFILES, Plan, expand
from ..data.cells import Timing
from ..data.results import RunFolder
from .process import run_process
from .sampler import Sampler

TIMING = Timing(processes=2, values=3, warmups=1)


def _one(plan: Plan, folder: RunFolder, sampled: bool, interval: float) -> list[float]:
    cell = plan.cells[0]
    sampler = Sampler(folder.path / "samples.csv", interval) if sampled else None
    if sampler:
        sampler.start()
    values: list[float] = []
    try:
        for index in range(plan.timing.processes):
            done = run_process(cell, plan.timing, index, folder, timeout=600, python=sys.executable)
            if done.status != "ok":
                raise RuntimeError(f"{cell.id} {done.status}: {done.error}")
            values.extend(done.record.values)
    finally:
        if sampler:
            sampler.stop()
    return values


def measure(workload: str, backend: str, rounds: int, interval: float, seed: int | None = None) -> int:
    """Print the sampler's overhead for one cell at all cores; returns an exit status."""
    plan = expand(PROFILES["quick"], workload_names=[workload], backend_names=[backend], workers=[2], timing=TIMING)
    rng = random.Random(seed)
    with_s: list[float] = []
    without: list[float] = []
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder.create(Path(tmp))
        print(f"sampler overhead: {plan.cells[0].id}, {rounds} rounds, interval {interval} s", file=sys.stderr)
        for i in range(rounds):
            order = [True, False]
            rng.shuffle(order)
            medians = {}
            for sampled in order:
                values = _one(plan, folder, sampled, interval)
                (with_s if sampled else without).extend(values)
                medians[sampled] = statistics.median(values)
            ratios.append(medians[True] / medians[False])
            print(f"  round {i + 1}: with {medians[True] * 1e3:.1f} ms, without {medians[False] * 1e3:.1f} ms, "
                  f"ratio {ratios[-1]:.4f}", file=sys.stderr)
    pooled = statistics.median(with_s) / statistics.median(without)
    print(f"median with sampler {statistics.median(with_s) * 1e3:.2f} ms, without {statistics.median(without) * 1e3:.2f} ms "
          f"({len(with_s)} values each)")
    print(f"overhead: {(pooled - 1) * 100:+.2f} % (pooled medians), {(statistics.median(ratios) - 1) * 100:+.2f} % "
          f"(median of per-round ratios, range {(min(ratios) - 1) * 100:+.2f} to {(max(ratios) - 1) * 100:+.2f} %)")
    return 0

"""Times a few tasks of each workload in a child interpreter (their median), for the run's duration estimate only.

Run as ``python -m gilbench.bench.measure.probe SPEC_JSON``; prints one JSON line per workload as soon as it is timed.
User code never runs inside the runner: a probe that hangs or misbehaves is simply killed. Workloads
with a fixture (a server their tasks talk to) get it around the probe, as their cells do; one whose
fixture does not start is left untimed.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

from ... import workloads
from .child import run_limited

if TYPE_CHECKING:
    from ..plan.budget import Costs
    from ..plan.matrix import Plan

#: the probe may take this long in all; workloads not timed by then get no estimate
PROBE_LIMIT_S = 20.0
#: tasks timed per workload (their median is the estimate: one task once is one sample of a noisy machine, and a
#: moment's neighbour made a whole plan's estimate several times too long), unless TIMES_WITHIN_S is spent first
TIMES, TIMES_WITHIN_S = 3, 0.5


def probe(specs: dict[str, dict[str, Any]], python: str = sys.executable, limit: float = PROBE_LIMIT_S) -> dict[str, float]:
    """{workload: seconds of one task} for the workloads that finished a task within ``limit``."""
    from .fixtures import cell_fixture  # here: the child (main) needs only the workloads

    found: dict[str, float] = {}
    with contextlib.ExitStack() as fixtures:
        env, specs = dict(os.environ), dict(specs)
        for name in list(specs):
            try:
                workload = workloads.get(name)  # get(), not all_workloads(): no entry-point scan here
            except ValueError:
                continue
            fixture = fixtures.enter_context(cell_fixture(workload))
            if fixture.error:
                del specs[name]  # no estimate for it; its cells report the failure
            else:
                env.update(fixture.environment)
        # limited like every child: a probe that hangs is ended, with whatever it started, and what it
        # printed before is kept
        out = run_limited([python, "-m", "gilbench.bench.measure.probe", json.dumps(specs)], limit, capture=True,
                          env=env).stdout
    for line in out.splitlines():
        try:
            found.update(json.loads(line))
        except json.JSONDecodeError:
            continue
    return found


def main(argv: list[str]) -> int:
    specs = json.loads(argv[0])
    for name, spec in specs.items():
        try:
            if spec.get("module"):
                workloads.load_module(spec["module"])
            task = workloads.get(name).task(spec["params"])
            times: list[float] = []
            while len(times) < TIMES and sum(times) < TIMES_WITHIN_S:
                t0 = time.perf_counter()
                task(len(times))
                times.append(time.perf_counter() - t0)
            print(json.dumps({name: statistics.median(times)}), flush=True)
        except Exception:  # noqa: BLE001 - a failing task gets no estimate; its cell will report the error
            continue
    return 0


def probe_costs(plan: "Plan", python: str, experiments_s: float, report: bool) -> "Costs":
    """The plan's costs with each workload's task timed once in a child (``bench.measure.probe``)."""
    from ..plan.budget import Costs  # here: the probe's child needs only the workloads
    from .gil import gil_enabled

    specs = {c.workload: {"params": c.params, "module": c.module} for c in plan.cells if c.id not in plan.skipped}
    return Costs(probe(specs, python), experiments_s, gil_enabled(), report)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

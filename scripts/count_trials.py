"""The instruction count's own trials: its A/A spread per cell, its cost, and a real 1 % change against it.

    python scripts/count_trials.py                        # 5 counts of hello-cpu sequential, threads x2, processes x2
    python scripts/count_trials.py --more 0.01 --counts 5 # and a candidate whose UNIT_ITERATIONS is 1 % higher

Each cell is counted ``--counts`` times (bench.measure.counters.count_cell: two processes, the difference per task)
at the gate's size (4 tasks of 50 units); the spread is (max - min) / median of the counts. With ``--more``,
a copy of workloads/ whose ``UNIT_ITERATIONS`` is that much higher is counted as well, interleaved with this
checkout's (both through a shim, as ``gilbench ab`` runs its sides), on the sequential cell. Counts do not
care how busy the machine is: the wall seconds do.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from gilbench.bench.measure import counters
from gilbench.bench.plan.importroot import temporary_root
from gilbench.bench.data.cells import Cell

ROOT = Path(__file__).resolve().parent.parent


def side(workloads_dir: Path) -> tuple[Path, dict[str, str]]:
    """A shim with ``workloads_dir`` as gilbench's workloads: (working directory, environment)."""
    shim = temporary_root(workloads_dir)
    return shim, {"PYTHONPATH": str(shim), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def children_cpu() -> float:
    """CPU seconds of the children waited for so far (each count's processes, Valgrind included)."""
    t = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t.ru_utime + t.ru_stime


def spread(counts: list[float]) -> float:
    return (max(counts) - min(counts)) / statistics.median(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, default=5)
    parser.add_argument("--cells", default="sequential:1,threads:2,processes:2", help="backend:workers,...")
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--more", type=float, default=0.0, help="the candidate's extra share of UNIT_ITERATIONS")
    parser.add_argument("--json", type=Path, help="write every count here")
    args = parser.parse_args()
    info = counters.available()
    print(f"counter: {info.describe()}", flush=True)
    if info.backend is None:
        sys.exit(info.missing())
    out: dict[str, object] = {"counter": info.describe(), "cells": {}}
    folders = []
    base_cwd, base_env = side(ROOT / "workloads")
    folders.append(base_cwd)
    try:
        for spec in filter(None, args.cells.split(",")):
            backend, workers = spec.split(":")
            cell = Cell("hello-cpu", backend, int(workers), 2, (0, 1), args.tasks, {"units": args.units})
            counts, seconds, cpu = [], [], []
            for _ in range(args.counts):
                cpu0 = children_cpu()
                c = counters.count_cell(cell, info, sys.executable, 3600, cwd=base_cwd, env=base_env)
                counts.append(c.per_task)
                seconds.append(c.seconds)
                cpu.append(children_cpu() - cpu0)
                print(f"  {cell.id} [{c.tool}]: {c.per_task:,.0f} per task ({c.processes} processes, {c.seconds:.1f} s "
                      f"wall, {cpu[-1]:.1f} s CPU)", flush=True)
            print(f"{cell.id}: median {statistics.median(counts):,.0f}, A/A spread {spread(counts) * 100:.5f} %, "
                  f"per count {statistics.median(seconds):.1f} s wall, {statistics.median(cpu):.1f} s CPU", flush=True)
            out["cells"][cell.id] = {"counts": counts, "seconds": seconds, "cpu": cpu,  # type: ignore[index]
                                     "spread": spread(counts)}
        if args.more:
            copy = Path(tempfile.mkdtemp(prefix="gilbench-more-")) / "workloads"
            shutil.copytree(ROOT / "workloads", copy, ignore=shutil.ignore_patterns("__pycache__"))
            hello = copy / "hello.py"
            text = hello.read_text()
            iterations = int(re.search(r"^UNIT_ITERATIONS = ([0-9_]+)", text, re.M).group(1).replace("_", ""))
            more = round(iterations * (1 + args.more))
            hello.write_text(re.sub(r"^UNIT_ITERATIONS = [0-9_]+", f"UNIT_ITERATIONS = {more}", text, flags=re.M))
            cand_cwd, cand_env = side(copy)
            folders += [cand_cwd, copy.parent]
            cell = Cell("hello-cpu", "sequential", 1, 2, (0, 1), args.tasks, {"units": args.units})
            pairs = []
            for _ in range(args.counts):
                b = counters.count_cell(cell, info, sys.executable, 3600, cwd=base_cwd, env=base_env).per_task
                c = counters.count_cell(cell, info, sys.executable, 3600, cwd=cand_cwd, env=cand_env).per_task
                pairs.append((b, c))
                print(f"  base {b:,.0f}, cand (UNIT_ITERATIONS {more}) {c:,.0f}: {(c / b - 1) * 100:+.4f} %", flush=True)
            ratios = [c / b - 1 for b, c in pairs]
            aa = spread([b for b, _ in pairs])
            print(f"UNIT_ITERATIONS {iterations} -> {more} (+{(more / iterations - 1) * 100:g} %): count "
                  f"{statistics.median(ratios) * 100:+.4f} % (from {min(ratios) * 100:+.4f} to {max(ratios) * 100:+.4f} %), "
                  f"against the base's own A/A spread {aa * 100:.5f} %", flush=True)
            out["more"] = {"iterations": [iterations, more], "pairs": pairs}
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

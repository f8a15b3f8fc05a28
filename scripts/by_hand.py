"""The minimal hand-written measurement that gilbench's figures are checked against.

No pyperf, no sampler, no gilbench backends: the same hello workloads run with plain
threading.Thread and multiprocessing.Process, each configuration timed with perf_counter in a
fresh interpreter, rounds interleaved. Prints median speedups over the sequential loop.

    .venv/bin/python scripts/by_hand.py [--rounds 10] [--tasks 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = r"""
import multiprocessing, threading, time, sys
from gilbench.workloads.hello import hello_cpu, hello_sleep
kind, mode, tasks, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = (lambda i: hello_cpu(i, 200)) if kind == "cpu" else (lambda i: hello_sleep(i, 0.1))
def part(w):
    for i in range(w, tasks, workers):
        f(i)
t0 = time.perf_counter()
if mode == "seq":
    part_all = [f(i) for i in range(tasks)]
else:
    make = threading.Thread if mode == "threads" else multiprocessing.Process
    ws = [make(target=part, args=(w,)) for w in range(workers)]
    for w in ws: w.start()
    for w in ws: w.join()
print(time.perf_counter() - t0)
"""


def once(kind: str, mode: str, tasks: int, workers: int) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, mode, str(tasks), str(workers)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for kind in ("cpu", "sleep"):
        times: dict[str, list[float]] = {"seq": [], "threads": [], "processes": []}
        for _ in range(args.rounds):
            for mode in times:
                times[mode].append(once(kind, mode, args.tasks, args.workers))
        seq = statistics.median(times["seq"])
        print(f"{kind}: {args.tasks} tasks, x{args.workers}: sequential {seq * 1e3:.0f} ms; "
              + ", ".join(f"{m} {seq / statistics.median(times[m]):.2f}x" for m in ("threads", "processes"))
              + f"  (medians of {args.rounds} rounds)")


if __name__ == "__main__":
    main()

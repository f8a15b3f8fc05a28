"""Per-core utilization over time, read with psutil in a process of its own.

Run as ``python -m gilbench.bench.measure.sampler --out samples.csv --interval 0.1``: it appends one row per tick
(unix time, then the busy percentage of every logical CPU since the previous tick) until SIGTERM,
SIGINT or SIGHUP. It never runs inside a measured process, so it cannot hold that process's GIL.

It also stops when the process that started it dies, however it died (``kill -9`` of the runner
included): the kernel sends it SIGTERM then (``bench.measure.lifeline.die_with_parent``), and every tick it
checks that its parent is still the one given by ``--parent`` (where prctl does not exist, or if the
parent died before the death signal was set). A killed runner must leave nothing running.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import psutil

from .child import start
from .lifeline import die_with_parent, parent_alive

DEFAULT_INTERVAL_S = 0.1


def header(n_cpus: int) -> str:
    return "time," + ",".join(f"cpu{i}" for i in range(n_cpus)) + "\n"


def sample(out: Path, interval: float, stop_after: float | None = None, parent: int | None = None) -> int:
    """Append rows to ``out`` every ``interval`` seconds until signalled; returns the rows written.

    Stops as well when the parent process dies: ``parent`` is its pid as the parent knew it
    (``os.getppid()`` now when None).
    """
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    if parent is None:
        parent = os.getppid()
    die_with_parent(signal.SIGTERM, parent)  # a parent already gone: SIGTERM now, handled as a stop
    psutil.cpu_percent(percpu=True)  # the first reading has no previous one to compare with
    n_cpus = len(psutil.cpu_percent(percpu=True))
    new = not out.exists() or out.stat().st_size == 0
    rows = 0
    started = time.monotonic()
    next_tick = started + interval
    with open(out, "a", encoding="utf-8", buffering=1) as f:
        if new:
            f.write(header(n_cpus))
        while stop_after is None or time.monotonic() - started < stop_after:
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_tick += interval
            if stopping or not parent_alive(parent):  # orphaned: the death signal did not come (or cannot)
                break
            busy = psutil.cpu_percent(percpu=True)
            f.write(f"{time.time():.3f}," + ",".join(f"{b:.1f}" for b in busy) + "\n")
            rows += 1
    return rows


class Sampler:
    """The sampler process, started and stopped by the runner.

    It exits by itself if the process that called ``start`` dies. Call ``start`` from a thread that
    lives as long as the sampler should (the main thread): on Linux the death signal follows the
    starting thread.
    """

    def __init__(self, out: Path, interval: float = DEFAULT_INTERVAL_S) -> None:
        self.out, self.interval = out, interval
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # its own session: Ctrl-C reaches the runner, which stops the sampler in order (bench.measure.child)
        self.proc = start([sys.executable, "-m", "gilbench.bench.measure.sampler", "--out", str(self.out),
                           "--interval", str(self.interval), "--parent", str(os.getpid())], stdin=None)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gilbench.bench.measure.sampler", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV file to append to")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between rows")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--parent", type=int, default=None,
                        help="pid of the process that started this one: stop when it dies (default: the parent now)")
    args = parser.parse_args(argv)
    sample(args.out, args.interval, args.duration, args.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

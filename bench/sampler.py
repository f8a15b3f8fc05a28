"""Per-core utilization over time, read with psutil in a process of its own.

Run as ``python -m bench.sampler --out samples.csv --interval 0.1``: it appends one row per tick
(unix time, then the busy percentage of every logical CPU since the previous tick) until SIGTERM or
SIGINT. It never runs inside a measured process, so it cannot hold that process's GIL.
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

DEFAULT_INTERVAL_S = 0.1


def header(n_cpus: int) -> str:
    return "time," + ",".join(f"cpu{i}" for i in range(n_cpus)) + "\n"


def sample(out: Path, interval: float, stop_after: float | None = None) -> int:
    """Append rows to ``out`` every ``interval`` seconds until signalled; returns the rows written."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    psutil.cpu_percent(percpu=True)  # the first reading has no previous one to compare with
    n_cpus = len(psutil.cpu_percent(percpu=True))
    new = not out.exists() or out.stat().st_size == 0
    rows = 0
    started = time.monotonic()
    next_tick = started + interval
    with open(out, "a", encoding="utf-8", buffering=1) as f:
        if new:
            f.write(header(n_cpus))
        while not stopping and (stop_after is None or time.monotonic() - started < stop_after):
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_tick += interval
            busy = psutil.cpu_percent(percpu=True)
            f.write(f"{time.time():.3f}," + ",".join(f"{b:.1f}" for b in busy) + "\n")
            rows += 1
    return rows


class Sampler:
    """The sampler process, started and stopped by the runner."""

    def __init__(self, out: Path, interval: float = DEFAULT_INTERVAL_S) -> None:
        self.out, self.interval = out, interval
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sampler", "--out", str(self.out), "--interval", str(self.interval)],
            start_new_session=True,  # Ctrl-C reaches the runner, which stops the sampler in order
        )

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
    parser = argparse.ArgumentParser(prog="python -m bench.sampler", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV file to append to")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between rows")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args(argv)
    sample(args.out, args.interval, args.duration)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

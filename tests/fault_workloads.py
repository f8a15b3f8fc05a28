"""Workloads that misbehave on purpose, loaded with ``--workload-module tests/fault_workloads.py``.

They are a user's own module as far as gilbench is concerned: nothing in gilbench imports them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from gilbench.workloads import Workload
from gilbench.workloads.hello import hello_sleep


def raise_on(n: int, at: int = 1) -> str:
    if n == at:
        raise RuntimeError(f"task {n} broke on purpose")
    return f"ok {n}"


def _in_the_probe() -> bool:
    """Whether this is the run's estimate probe (``python -m gilbench.bench.measure.probe``), not a measured process."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec is not None and spec.name.endswith("bench.measure.probe")


def hang(n: int, seconds: float = 3600.0, in_probe: bool = False) -> str:
    """Sleeps ``seconds`` ignoring SIGTERM; in the estimate probe only with ``in_probe`` (fault-hang-always):
    the probe's own time limit (20 s) is tested once, with fault-hang-always, not in every run of fault-hang."""
    if _in_the_probe() and not in_probe:
        return f"not hanging in the probe {n}"
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a process that will not go quietly
    time.sleep(seconds)
    return f"woke {n}"


def kill_self(n: int, signum: int = 9) -> str:
    if n == 1:
        os.kill(os.getpid(), signum)
    return f"ok {n}"


FAULT_RAISE = Workload("fault-raise", "cpu-bound", raise_on, {"at": 1}, description="raises in task 1")
FAULT_HANG = Workload("fault-hang", "io-bound", hang, {"seconds": 3600.0}, "seconds", "sleeps for an hour")
FAULT_HANG_ALWAYS = Workload("fault-hang-always", "io-bound", hang, {"seconds": 3600.0, "in_probe": True}, "seconds",
                             "sleeps for an hour, in the estimate probe too")
FAULT_KILL = Workload("fault-kill", "cpu-bound", kill_self, {"signum": 9}, description="SIGKILLs its own process")
HOSTILE = Workload(
    '<script>alert("x")</script> \'héllo\' & <b>',
    "io-bound",
    hello_sleep,
    {"seconds": 0.01},
    "seconds",
    description='a name with <script>, quotes, & and non-ASCII',
)

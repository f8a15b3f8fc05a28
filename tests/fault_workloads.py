"""Workloads that misbehave on purpose, loaded with ``--workload-module tests/fault_workloads.py``.

They are a user's own module as far as gilbench is concerned: nothing in gilbench imports them.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from gilbench.workloads import Workload
from gilbench.workloads.hello import hello_sleep


def raise_on(n: int, at: int = 1) -> str:
    if n == at:
        raise RuntimeError(f"task {n} broke on purpose")
    return f"ok {n}"


def hang(n: int, seconds: float = 3600.0) -> str:
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
FAULT_KILL = Workload("fault-kill", "cpu-bound", kill_self, {"signum": 9}, description="SIGKILLs its own process")
HOSTILE = Workload(
    '<script>alert("x")</script> \'héllo\' & <b>',
    "io-bound",
    hello_sleep,
    {"seconds": 0.01},
    "seconds",
    description='a name with <script>, quotes, & and non-ASCII',
)

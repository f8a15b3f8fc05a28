"""bench.measure.child: the one way to start a limited child (its own group, a time limit, a log, polls while it
runs, a wait that sees it end at once). Fast: children of a few tenths of a second."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from gilbench.bench.measure.child import run_limited

#: a child that starts a grandchild in its group, prints, and sleeps
PARENT_OF_ONE = ("import subprocess, sys, time\n"
                 "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                 "print(kid.pid, flush=True)\n"
                 "time.sleep({sleep})\n")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_limited_child_past_its_limit_is_ended_with_its_group_and_what_it_printed_is_kept() -> None:
    t0 = time.monotonic()
    ended = run_limited([sys.executable, "-c", PARENT_OF_ONE.format(sleep=60)], 2.0, capture=True)
    assert ended.timed_out and ended.returncode is None and time.monotonic() - t0 < 20
    grandchild = int(ended.stdout.split()[0])  # printed before its time limit
    assert _gone(ended.pid) and _gone(grandchild)


def test_a_limited_child_that_ends_takes_what_it_left_with_it_and_writes_its_log(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    ended = run_limited([sys.executable, "-c", PARENT_OF_ONE.format(sleep=0)], 30, log=log, env={"PATH": "/usr/bin"})
    assert ended.returncode == 0 and not ended.timed_out
    assert _gone(int(log.read_text().split()[0]))  # the grandchild did not outlive it


def test_a_limited_child_is_polled_while_it_runs() -> None:
    seen: list[int] = []
    ended = run_limited([sys.executable, "-c", "import time; time.sleep(0.5)"], 30, poll=seen.append,
                        poll_interval=0.05)
    assert ended.returncode == 0 and len(seen) >= 3 and set(seen) == {ended.pid}


def _pidfd_works() -> bool:
    import os

    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except (AttributeError, OSError):
        return False


@pytest.mark.serial  # times a wake-up: nothing beside it
@pytest.mark.skipif(not _pidfd_works(), reason="no pidfd_open here (Linux 5.3+, Python 3.9+): Popen.wait's own polling")
def test_a_waited_child_is_seen_ending_at_once_not_after_a_nap() -> None:
    """Popen.wait(timeout) naps up to 50 ms between checks; each pyperf process lost about 25 ms to it, and
    its wall time (the base of its others' CPU share) counted the nap. The wait returns as the child ends."""
    import statistics
    import subprocess

    from gilbench.bench.measure.child import wait_polling

    lags = []
    for _ in range(9):
        # 0.1 s: past the 63 ms after which Popen.wait's naps reach their 50 ms
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.1); print(time.time())"],
                                 stdout=subprocess.PIPE, text=True)
        assert wait_polling(child, 30, None, None) == 0
        lags.append(time.time() - float(child.stdout.read()))
        child.stdout.close()
    # its ending (interpreter shutdown) takes a few ms; a nap would add 0-50 ms, 25 ms on average
    assert statistics.median(lags) < 0.012, lags

"""The test utility tests/cgroup.py really slows processes down (a stand-in for a busy host)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cgroup import CPU_ROOT, available, cpu_group, cpu_quota

SHIELD = 100_000  # cpu.shares: about 100 times a session's weight

OK, WHY = available()
pytestmark = pytest.mark.skipif(not OK, reason=WHY)

# a child that spins pure Python for `cpu` CPU seconds and prints its wall and CPU time
SPIN = """
import json, sys, time
cpu = float(sys.argv[1])
w0, c0 = time.perf_counter(), time.process_time()
while time.process_time() - c0 < cpu:
    for _ in range(1000):
        pass
print(json.dumps([time.perf_counter() - w0, time.process_time() - c0]))
"""


def spin(cpu: float, group) -> float:
    """wall / CPU of a child spinning for ``cpu`` CPU seconds in ``group``."""
    done = group.run([sys.executable, "-c", SPIN, str(cpu)], capture_output=True, text=True, timeout=60,
                     check=True)
    wall, used = json.loads(done.stdout)
    return wall / used


@pytest.mark.serial
def test_a_cpu_quota_stretches_wall_time_and_no_quota_does_not():
    # physical fact with a wide margin: at 0.5 CPU, 0.3 s of CPU takes about 0.55 s (ratio ~1.8).
    # Both children run in a group with a high weight, so that other load on a shared machine
    # hardly delays them: the groups differ in the quota only.
    with cpu_quota(0.5, shares=SHIELD) as quota:
        inside = spin(0.3, quota)
        assert quota.stat()["nr_throttled"] > 0
    assert inside > 1.3
    with cpu_group(None, shares=SHIELD) as free:  # other load can only stretch wall time: best of 3
        outside = []
        while len(outside) < 3 and min(outside, default=9) >= 1.2:
            outside.append(spin(0.3, free))
        assert free.stat()["nr_throttled"] == 0
    assert min(outside) < 1.2, outside


@pytest.mark.serial
def test_the_group_is_removed_and_leftover_processes_moved_out():
    with cpu_quota(0.5) as quota:
        path = quota.path
        sleeper = quota.popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert quota.pids() == [sleeper.pid]
            assert (path / "cpu.cfs_quota_us").read_text().strip() == "50000"
            assert (path / "cpu.cfs_period_us").read_text().strip() == "100000"
        except BaseException:
            sleeper.kill()
            raise
    try:
        assert not path.exists()
        assert str(sleeper.pid) in (CPU_ROOT / "cgroup.procs").read_text().split()
    finally:
        sleeper.kill()
        sleeper.wait()

"""A CPU quota for tests: run processes as if the host were busy, with the cgroup v1 cpu controller.

A slower machine is what a benchmark must notice rather than report as a regression; a CFS quota
(``cpu.cfs_quota_us`` per ``cpu.cfs_period_us``) makes one on demand: processes in the group get at
most ``fraction`` of one CPU per period and wait, throttled, for the rest. Needs root and a
writable cgroup v1 cpu hierarchy at /sys/fs/cgroup/cpu; ``available()`` says whether this machine
has one, and why not. cgroup v2 is not supported.

    ok, why = available()
    if not ok: pytest.skip(why)
    with cpu_quota(0.5) as quota:
        subprocess.run(cmd, preexec_fn=quota.preexec_fn)   # or quota.run(cmd) / quota.popen(cmd)
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

__all__ = ["CPU_ROOT", "PERIOD_US", "CpuQuota", "available", "cpu_group", "cpu_quota"]

#: the cgroup v1 cpu controller's root
CPU_ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


def available() -> tuple[bool, str]:
    """(True, "") when ``cpu_quota`` can work here, else (False, the reason): for pytest.skip."""
    if not hasattr(os, "geteuid"):
        return False, "cgroups need Linux"
    if os.geteuid() != 0:
        return False, "cgroup CPU quotas need root"
    if not (CPU_ROOT / "cpu.cfs_quota_us").exists():
        return False, f"no cgroup v1 cpu controller with CFS quotas at {CPU_ROOT}"
    probe = CPU_ROOT / f"gilbench-probe-{os.getpid()}"
    try:
        _remove(probe)  # left by an earlier process with the same pid
        probe.mkdir()
    except OSError as exc:
        return False, f"cannot create a cgroup under {CPU_ROOT}: {exc.strerror or exc}"
    try:
        (probe / "cpu.cfs_quota_us").write_text("50000")
    except OSError as exc:
        return False, f"cannot set a CPU quota under {CPU_ROOT}: {exc.strerror or exc}"
    finally:
        _remove(probe)
    return True, ""


class CpuQuota:
    """One cgroup with a CPU quota; processes put in it share ``fraction`` of one CPU (no limit when
    ``fraction`` is None)."""

    def __init__(self, path: Path, fraction: float | None) -> None:
        self.path, self.fraction = path, fraction
        self._procs = str(path / "cgroup.procs")  # a plain str: preexec_fn builds nothing it can avoid

    def preexec_fn(self) -> None:
        """For ``subprocess.Popen(preexec_fn=...)``: moves the new child into the group before exec."""
        fd = os.open(self._procs, os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)

    def add(self, pid: int) -> None:
        """Moves a running process (all its threads) into the group; its future children follow."""
        with open(self._procs, "w") as f:
            f.write(str(pid))

    def popen(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen`` with the child in the group from its first instruction."""
        return subprocess.Popen(args, preexec_fn=self.preexec_fn, **kwargs)

    def run(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """``subprocess.run`` with the child in the group."""
        return subprocess.run(args, preexec_fn=self.preexec_fn, **kwargs)

    def pids(self) -> list[int]:
        """The processes in the group now."""
        return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]

    def stat(self) -> dict[str, int]:
        """The group's cpu.stat: nr_periods, nr_throttled, throttled_time (ns), ..."""
        lines = (self.path / "cpu.stat").read_text().splitlines()
        return {key: int(value) for key, value in (line.split() for line in lines if line.strip())}


@contextlib.contextmanager
def cpu_quota(fraction: float, period_us: int = PERIOD_US, shares: int | None = None) -> Iterator[CpuQuota]:
    """A new cgroup limited to ``fraction`` of one CPU (0.5: 50 ms of CPU per 100 ms), removed after.

    The group is ``/sys/fs/cgroup/cpu/gilbench-test-<pid>-<n>``. On leaving, processes still in it are
    moved back to the root group (they keep running, unthrottled) and the group is removed.
    ``shares`` as in ``cpu_group``.
    """
    if fraction <= 0:
        raise ValueError(f"a CPU quota must be positive, not {fraction}")
    with cpu_group(fraction, period_us, shares) as group:
        yield group


@contextlib.contextmanager
def cpu_group(fraction: float | None = None, period_us: int = PERIOD_US,
              shares: int | None = None) -> Iterator[CpuQuota]:
    """A new cgroup, removed after: with a quota of ``fraction`` of one CPU (None: no quota) and a
    ``cpu.shares`` weight (None: the default 1024; 2-262144).

    A high weight shields a measurement from the machine's other load (with autogroup scheduling,
    ``nice`` does not reach across sessions), while a quota throttles whatever the weight: groups
    that differ only in the quota show its effect alone.
    """
    if fraction is not None and fraction <= 0:
        raise ValueError(f"a CPU quota must be positive, not {fraction}")
    path = _new_group()
    try:
        (path / "cpu.cfs_period_us").write_text(str(period_us))
        if fraction is not None:
            quota_us = max(1000, round(fraction * period_us))  # the kernel's minimum quota is 1 ms
            (path / "cpu.cfs_quota_us").write_text(str(quota_us))
        if shares is not None:
            (path / "cpu.shares").write_text(str(shares))
        yield CpuQuota(path, fraction)
    finally:
        _remove(path)


_made = 0


def _new_group() -> Path:
    global _made
    while True:
        _made += 1
        path = CPU_ROOT / f"gilbench-test-{os.getpid()}-{_made}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # left by an earlier process with the same pid
            _remove(path)


def _remove(path: Path) -> None:
    """Move every process in ``path`` back to the root group, then remove the group."""
    for attempt in range(50):
        try:
            pids = (path / "cgroup.procs").read_text().split()
        except FileNotFoundError:
            return
        for pid in pids:
            try:
                (CPU_ROOT / "cgroup.procs").write_text(pid)
            except OSError:  # exited meanwhile
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == 49:
                raise
            time.sleep(0.02)  # a process still exiting, or one that forked meanwhile

"""The one way gilbench starts a limited child process: a measured pyperf worker, an experiment, the probe.

Why one way: every such child must be stopped the same way, whatever it runs. It gets a session
(process group) of its own, so that Ctrl-C reaches the runner, not the child, and the runner ends the
child's whole tree in order; it dies with the runner, even on SIGKILL (``bench.measure.lifeline``); it gets a
time limit, after which its whole process group is killed; and whatever it leaves behind (a pool's
workers, an echo server) is killed with its group once it ends. The environment is the caller's
choice: a measured process gets the controlled one (``worker_environment``), whose size is part of
the memory layout.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator, Mapping, Sequence

from .lifeline import on_parent_death

#: the variables a measured process inherits (pyperf's list); everything else is left out, so that
#: the environment's size, which moves the memory layout, is the base size plus the pad
INHERITED = ("PATH", "HOME", "TEMP", "TMPDIR", "COMSPEC", "SystemRoot", "SystemDrive", "PYTHONPATH",
             "PYTHON_CPU_COUNT", "PYTHON_GIL", "LANG", "LC_ALL", "LC_CTYPE")
PAD_VARIABLE = "GILBENCH_LAYOUT_PAD"


def worker_environment(base: Mapping[str, str], pad: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The measured process's environment: the inherited variables of ``base``, ``extra`` (its
    interpreter's settings such as PYTHON_GIL, and PYTHONPATH), and the layout pad."""
    env = {k: base[k] for k in INHERITED if k in base}
    env.update(extra or {})
    env[PAD_VARIABLE] = "x" * pad
    return env


def end_tree(proc: subprocess.Popen, settle_s: float = 5.0) -> bool:
    """SIGKILL every process in ``proc``'s group and wait until the group is gone (zombies reaped).

    True if any process was still there to kill.
    """
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        proc.poll()  # the child is our own: reap it
        try:
            os.killpg(pgid, 0)  # a zombie still counts: wait until init has reaped the orphans
        except ProcessLookupError:
            break
        time.sleep(0.02)
    return True


def start(cmd: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
          stdout: int | IO[str] | None = None, stderr: int | IO[str] | None = None,
          stdin: int | None = subprocess.DEVNULL, text: bool = False) -> subprocess.Popen:
    """``cmd`` started in a session of its own that dies with this process (call from the main thread:
    the death signal follows the starting thread, ``bench.measure.lifeline``)."""
    return subprocess.Popen(list(cmd), stdout=stdout, stderr=stderr, stdin=stdin, cwd=cwd,
                            env=dict(env) if env is not None else None, text=text, start_new_session=True,
                            preexec_fn=on_parent_death())


@dataclass
class Ended:
    """How a limited child ended: its exit status (None when its time limit ended it) and its output."""

    pid: int
    returncode: int | None
    stdout: str = ""
    stderr: str = ""

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_limited(cmd: Sequence[str], timeout: float, *, log: Path | None = None, capture: bool = False,
                cwd: Path | None = None, env: Mapping[str, str] | None = None,
                poll: Callable[[int], None] | None = None, poll_interval: float | None = None) -> Ended:
    """Run ``cmd`` to its end or to ``timeout`` seconds, then end its whole process group.

    Its output goes to ``log`` (stdout and stderr together), or with ``capture`` is returned (what it
    printed before its time limit too), else nowhere. ``poll(pid)`` is called every ``poll_interval``
    seconds while it runs (bench.measure.memory watches its tree so). An exception here (SIGINT, SIGTERM in the
    runner) ends the child's group on its way out.
    """
    if log is not None:
        with open(log, "w", encoding="utf-8") as log_file:
            return _run(cmd, timeout, cwd, env, poll, poll_interval, stdout=log_file, stderr=subprocess.STDOUT)
    if capture:
        return _run(cmd, timeout, cwd, env, poll, poll_interval, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return _run(cmd, timeout, cwd, env, poll, poll_interval, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run(cmd: Sequence[str], timeout: float, cwd: Path | None, env: Mapping[str, str] | None,
         poll: Callable[[int], None] | None, interval: float | None, stdout: int | IO[str],
         stderr: int | IO[str]) -> Ended:
    piped = stdout == subprocess.PIPE
    proc = start(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr, text=piped)
    out = err = ""
    returncode: int | None = None
    try:
        if piped:  # a child that prints must be read while it runs, or it blocks on a full pipe
            try:
                out, err = proc.communicate(timeout=timeout)
                returncode = proc.returncode
            except subprocess.TimeoutExpired:
                end_tree(proc)
                out, err = proc.communicate()  # what it printed before its time limit
        else:
            try:
                returncode = wait_polling(proc, timeout, poll, interval)
            except subprocess.TimeoutExpired:
                returncode = None
    finally:
        end_tree(proc)  # whatever it left, and everything on a time limit or an exception
        proc.wait()
    return Ended(proc.pid, returncode, out or "", err or "")


def wait_polling(proc: subprocess.Popen, timeout: float, poll: Callable[[int], None] | None,
                 interval: float | None) -> int:
    """``proc.wait(timeout)``, calling ``poll(pid)`` every ``interval`` seconds meanwhile; it returns as the
    child ends (``Popen.wait`` with a timeout naps up to 50 ms between checks: about 25 ms lost per pyperf
    process, and a wall time that counts the nap)."""
    deadline = time.monotonic() + timeout
    with _exit_watch(proc) as ended:
        while True:
            left = deadline - time.monotonic()
            step = left if not interval or poll is None else min(interval, left)
            if ended(max(0.0, step)):
                return proc.wait()
            if left <= step:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            poll(proc.pid)  # type: ignore[misc]


@contextmanager
def _exit_watch(proc: subprocess.Popen) -> Iterator[Callable[[float], bool]]:
    """``ended(seconds)``: whether ``proc`` ends within ``seconds``, woken by its exit (a pidfd, Linux 5.3+);
    where there is none, ``Popen.wait``'s own polling."""
    fd = None
    if proc.poll() is None and hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(proc.pid)
        except OSError:  # an older kernel, or a sandbox without it
            fd = None

    def ended(seconds: float) -> bool:
        if proc.returncode is not None:
            return True
        if fd is not None:
            return bool(select.select([fd], [], [], seconds)[0])
        try:
            proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    try:
        yield ended
    finally:
        if fd is not None:
            os.close(fd)

"""Processes that end when their parent does.

A runner killed with SIGKILL runs no cleanup code: whatever it started (the sampler, a pyperf
manager) is re-parented to init and keeps running unless it notices by itself. Two ways to notice:

- ``die_with_parent``: on Linux, ``prctl(PR_SET_PDEATHSIG)`` asks the kernel to send a signal when
  the parent dies, at once and without polling;
- ``parent_alive``: compare ``os.getppid()`` with the parent recorded at start; works everywhere,
  for processes that can poll (the sampler checks it every tick).

Caveat of PR_SET_PDEATHSIG: "parent" is the *thread* that created the process. Start processes that
use it from a thread that outlives them (the main thread), or they get the signal when that thread
ends. The setting survives ``execve`` (not for set-user-ID programs) and is not inherited by
``fork``: each process that needs it sets it itself (or through ``on_parent_death`` as a preexec_fn).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from typing import Callable

__all__ = ["available", "die_with_parent", "on_parent_death", "parent_alive"]

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL (and no prctl)

# Resolved once at import, so that die_with_parent imports and loads nothing: it runs as a
# preexec_fn, between fork and exec, where the child should do as little as it can.
_prctl: Callable[..., int] | None = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _prctl = _libc.prctl
        _prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _prctl.restype = ctypes.c_int
    except (OSError, AttributeError):  # no libc to load (static or unusual builds): polling only
        _prctl = None


def available() -> bool:
    """Whether ``die_with_parent`` can ask the kernel for a death signal on this platform."""
    return _prctl is not None


def die_with_parent(sig: int = _SIGKILL, parent: int | None = None) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies; True if it was set.

    ``parent`` is the parent's pid as the caller recorded it before this process started: if the
    parent has already died (``os.getppid()`` differs), the death signal would never come, so this
    process sends ``sig`` to itself now. Without ``parent`` no such check is made. A no-op returning
    False where prctl is unavailable (not Linux); use ``parent_alive`` there.
    """
    if _prctl is None:
        return False
    if _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def on_parent_death(sig: int = _SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when the calling process dies.

    Call it in the parent (``Popen(..., preexec_fn=on_parent_death())``): it records the caller's
    pid now, so that a parent killed between fork and the prctl call is noticed too. Mind the
    thread caveat in the module docstring, and that preexec_fn is unsafe in a process with threads.
    """
    parent = os.getpid()

    def preexec() -> None:
        die_with_parent(sig, parent)

    return preexec


def parent_alive(original_ppid: int) -> bool:
    """Whether this process's parent is still the one recorded at start (``os.getppid()`` then).

    An orphan is re-parented (to init or a subreaper), so a different ppid means the parent died.
    """
    return os.getppid() == original_ppid

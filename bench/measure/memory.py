"""What a measured process and its workers hold in memory, read from outside it.

The runner polls the measured process's tree (the pyperf worker and every descendant: worker processes,
a forkserver, a pool's workers) with psutil while it waits for it, and keeps each figure's peak. Nothing
runs inside the measured process for this: the runner is another process, and what it spends polling
is its own CPU time (counted as the run's own, not as noise). Per poll, summed over the tree:

* RSS: resident pages of each process, pages shared between them (fork's copy-on-write, libraries)
  counted once per process: the sum over-counts a forked tree;
* USS: pages private to each process (what ending it would free);
* PSS: each resident page divided by the number of processes that map it: the sum is the tree's real
  share of memory, fork's shared pages counted once. PSS and USS come from ``/proc/PID/smaps_rollup``
  (psutil ``memory_full_info``); where the OS does not give them they stay None and RSS stands in.

A poll every ``MEMORY_INTERVAL_S`` misses an allocation that lives shorter than that; the measured
process's own peak is also read exactly after the fact (``getrusage`` ``ru_maxrss``, in bench/measure/cell.py).
Why not more often: a poll is the runner waking and reading the tree, and on a machine whose CPUs the cell
fills that time comes out of the cell. Every 50 ms it cost hello-cpu/processes x2 +2.8 % on 2 cores (+2.5 %
reading RSS only, so it is the polling, not smaps_rollup), measured with `gilbench overhead` (docs/results.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

#: seconds between two polls of the measured process tree
MEMORY_INTERVAL_S = 0.2


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid``: from ``/proc/PID/task/TID/children`` where Linux has it (cheap), else psutil."""
    proc = Path(f"/proc/{pid}/task")
    if not proc.is_dir():
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                text = Path(f"/proc/{parent}/task/{tid}/children").read_text()
            except OSError:
                continue
            kids = [int(x) for x in text.split()]
            found.extend(kids)
            todo.extend(kids)
    return found


@dataclass
class TreeMemory:
    """The largest sums a poll of one process tree found (bytes; each figure's own peak)."""

    rss: int = 0
    uss: int | None = None
    pss: int | None = None
    processes: int = 0  # the most processes seen in one poll
    polls: int = 0

    def poll(self, root: int) -> None:
        """Read the tree of ``root`` once and keep the peaks; a process that ends meanwhile is skipped."""
        rss, uss, pss, seen, full = 0, 0, 0, 0, True
        for pid in [root, *descendants(root)]:
            try:
                proc = psutil.Process(pid)
                try:
                    info = proc.memory_full_info()
                    uss += info.uss
                    pss += getattr(info, "pss", info.uss)
                except (psutil.AccessDenied, AttributeError, NotImplementedError):
                    info, full = proc.memory_info(), False
                rss += info.rss
                seen += 1
            except psutil.Error:  # ended between the listing and the read
                continue
        if not seen:
            return
        self.polls += 1
        self.rss = max(self.rss, rss)
        self.processes = max(self.processes, seen)
        if full:
            self.uss = max(self.uss or 0, uss)
            self.pss = max(self.pss or 0, pss)

"""A workload's fixture, entered by the runner around one cell's processes (``Workload.fixture``).

The fixture (e.g. tcp-echo's echo server) runs in the runner, outside every measured process, once
per cell; the variables it yields reach the cell's processes through their environment, never their
params (a port changes every run). Its processes are the cell's own work, not disturbance: the
runner counts their CPU time with its own when it measures how busy *other* processes kept the
cell's CPUs (a busy echo server would otherwise flag every tcp-echo cell as noisy).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import psutil


@dataclass
class Fixture:
    """What a cell's processes get from its workload's fixture: variables, and its processes' CPU time."""

    environment: dict[str, str] = field(default_factory=dict)
    processes: list[psutil.Process] = field(default_factory=list)
    #: why the fixture could not be entered (the cell then fails with this message); "" when it was
    error: str = ""
    _last: dict[int, float] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) its processes have used so far; a process that ended keeps its last reading."""
        for proc in self.processes:
            try:
                t = proc.cpu_times()
                self._last[proc.pid] = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return sum(self._last.values())


def _children() -> dict[int, psutil.Process]:
    return {p.pid: p for p in psutil.Process().children(recursive=True)}


@contextlib.contextmanager
def cell_fixture(workload: Any) -> Iterator[Fixture]:
    """Enter ``workload``'s fixture, if it has one, for the length of the block; always exit it.

    The fixture's processes are the runner's children that appeared while it was entered (between
    cells no measured process is running). A fixture that fails to start yields a Fixture whose
    ``error`` says why, so that the runner fails that cell and goes on with the next.
    """
    make = getattr(workload, "fixture", None)
    if make is None:
        yield Fixture()
        return
    before = _children()
    with contextlib.ExitStack() as stack:
        try:
            environment = dict(stack.enter_context(make()))
        except Exception as exc:  # noqa: BLE001 - any failure to start becomes the cell's error
            yield Fixture(error=f"the {workload.name} fixture did not start: {type(exc).__name__}: {exc}")
            return
        started = [p for pid, p in _children().items() if pid not in before]
        fixture = Fixture(environment, started)
        fixture.cpu_seconds()  # from now on, readings persist past the processes' end
        yield fixture

"""One run's life, whatever its schedule: ``gilbench run`` (cells in turn) and ``gilbench ab`` (two sides
interleaved) are two orders of the same units inside it.

Why one: each command used to own its folder setup, estimate line, signal handling, disk errors and final
save, and they drifted (a full disk during ``ab`` ended in a traceback, while ``run`` said what happened).
A schedule says what runs in which order (``bench.measure.schedule.execute``); a ``Lifecycle`` owns the rest:

- ``begin``: the first writes (machine.json, the manifests); a disk that refuses them is
  ``ResultsUnwritable`` before anything ran;
- ``prepare_interpreters``: each ``--python``'s environment, or its cells skipped with the reason;
- ``estimate``: the progress line with the estimate, and where the run writes;
- ``with lifecycle:`` the schedule itself, under SIGTERM/SIGHUP handling; Ctrl-C, SIGTERM and SIGHUP
  become ``interrupted``, a full or read-only disk ``unwritable``, both with the manifests' status;
  on the way out every manifest is saved once more, as far as the disk allows;
- ``reopen``: a run folder's manifest made ready to go on (``--resume``).
"""

from __future__ import annotations

import errno
import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..data.cells import Cell, CellRecord
from ..plan.progress import Progress
from ..data.results import RunFolder

if TYPE_CHECKING:
    from ..plan.matrix import Plan

#: the errors that mean "the disk refuses": full, a file too large (a quota, RLIMIT_FSIZE), read-only, no
#: permission (a folder made read-only meanwhile)
UNWRITABLE = frozenset({errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT})


class ResultsUnwritable(Exception):
    """The run folder cannot be written (disk full, read-only, ...); what was finished stays readable."""


class Interrupted(Exception):
    """The run was stopped by a signal; ``exit_status`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_status = 128 + signum
        super().__init__(signal.Signals(signum).name)


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


class StopSignals:
    """SIGTERM and SIGHUP raise Interrupted while inside (SIGINT raises KeyboardInterrupt as usual)."""

    SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)

    def __enter__(self) -> "StopSignals":
        self.previous = {s: signal.signal(s, _raise_interrupted) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` is the disk refusing a write (``UNWRITABLE``), not a bug."""
    return isinstance(exc, OSError) and exc.errno in UNWRITABLE


def cannot_write(where: Path, exc: OSError) -> str:
    return f"cannot write to {where}: {exc.strerror or exc}"


def reopen(folder: RunFolder) -> dict[str, Any]:
    """The manifest of an interrupted run folder, marked running again (``--resume``)."""
    manifest = folder.read_manifest()
    manifest["status"], manifest["finished"] = "running", None
    manifest.setdefault("resumed", []).append(now_iso())
    return manifest


@dataclass
class Lane:
    """One run folder being filled: a whole ``run``, or one side of ``ab``."""

    name: str
    folder: RunFolder
    plan: Plan
    manifest: dict[str, Any]
    records: list[CellRecord]
    python: str = sys.executable
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    #: interpreter label -> (python to run its cells with, environment to add); "" is ``python``
    interpreters: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def python_for(self, cell: Cell) -> tuple[str, dict[str, str]]:
        return self.interpreters.get(cell.python, (self.python, {}))

    def save(self) -> None:
        self.manifest["cells"] = [r.to_dict() for r in self.records]
        self.folder.write_manifest(self.manifest)


@dataclass
class Lifecycle:
    """The lanes of one run (one for ``run``, a side each for ``ab``) from their first write to their final save."""

    lanes: list[Lane]
    root: Path  # what the messages name: the run folder, or the folder holding ab's two
    stream: Any = None  # where progress goes (default: stderr)
    interrupted: Interrupted | None = None
    unwritable: str | None = None
    progress: Progress | None = field(default=None, repr=False)

    def say(self, text: str) -> None:
        print(text, file=self.stream or sys.stderr, flush=True)

    def begin(self, *writes: Callable[[], Any]) -> None:
        """``writes``, then every lane's manifest; ResultsUnwritable when the disk refuses (nothing ran)."""
        try:
            for write in writes:
                write()
            self.save()
        except OSError as exc:
            raise ResultsUnwritable(cannot_write(self.root, exc)) from None

    def save(self) -> None:
        for lane in self.lanes:
            lane.save()

    def prepare_interpreters(self) -> None:
        """Each interpreter of each lane's plan: how to run its cells, or its pending cells skipped with the
        reason. An interpreter is prepared once for all lanes."""
        from ..plan.interpreters import Interpreter, prepare

        done: dict[str, Any] = {}
        for lane in self.lanes:
            for label, description in lane.plan.interpreters.items():
                if not label:
                    continue  # the interpreter gilbench runs on: lane.python as it is
                if label not in done:
                    interp = Interpreter.from_dict(description)
                    self.say(f"gilbench: preparing {label} ({interp.executable})")
                    done[label] = prepare(interp)
                    if not done[label].ok:
                        self.say(f"gilbench: {label}: {done[label].reason}; its cells are skipped")
                prepared = done[label]
                if prepared.ok:
                    lane.interpreters[label] = (prepared.python, dict(prepared.env))
                    continue
                for record in lane.records:
                    if record.cell.python == label and record.status == "pending":
                        record.status, record.note = "skipped", f"interpreter not prepared: {prepared.reason}"

    def pending(self) -> list[int]:
        """The indices of the cells some lane has still to run."""
        cells = len(self.lanes[0].records)
        return [i for i in range(cells) if any(lane.records[i].status == "pending" for lane in self.lanes)]

    def estimate(self, estimates: Sequence[float], line: Callable[[list[int], float], str]) -> Progress:
        """The progress of the pending cells from each cell's estimate; says ``line(pending, total seconds)``
        and where the run writes."""
        todo, total = self.pending(), len(self.lanes[0].records)
        self.progress = Progress([estimates[i] for i in todo], self.stream, total=total, offset=total - len(todo))
        said = line(todo, sum(estimates[i] for i in todo))
        if said:  # "": the plan and its estimate were said before (bench.commands)
            self.progress.say(said)
        return self.progress

    def __enter__(self) -> "Lifecycle":
        self._signals = StopSignals().__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> bool:
        self._signals.__exit__()
        status, handled = "complete", True
        if isinstance(exc, KeyboardInterrupt):
            self.interrupted, status = Interrupted(signal.SIGINT), "interrupted"
        elif isinstance(exc, Interrupted):
            self.interrupted, status = exc, "interrupted"
        elif exc is not None and refused(exc):
            self.unwritable, status = cannot_write(self.root, exc), "unwritable"  # type: ignore[arg-type]
        elif exc is not None:
            status, handled = "", False  # a bug: its traceback, the manifests saved as they are
        for lane in self.lanes:
            if status:
                lane.manifest["status"] = status
            lane.manifest["finished"] = now_iso()
            try:
                lane.save()
            except OSError:
                pass  # the last complete manifest on disk still lists every finished cell
        return handled

    @property
    def folders(self) -> dict[str, RunFolder]:
        return {lane.name: lane.folder for lane in self.lanes}

    def outcome(self) -> "Outcome":
        statuses: dict[str, int] = {}
        for lane in self.lanes:
            for record in lane.records:
                statuses[record.status] = statuses.get(record.status, 0) + 1
        return Outcome(self.folders, self.root, statuses, self.interrupted, self.unwritable,
                       sum(1 for lane in self.lanes for r in lane.records if r.noisy))


@dataclass
class Outcome:
    """How a run ended: its run folders (by lane name: "" for ``run``, base and cand for ``ab``), each status's
    count over all lanes, and whether a signal or the disk stopped it."""

    folders: dict[str, RunFolder]
    root: Path
    statuses: dict[str, int] = field(default_factory=dict)
    interrupted: Interrupted | None = None
    unwritable: str | None = None
    noisy: int = 0

    @property
    def folder(self) -> RunFolder:
        """The run folder of a single-lane run (``gilbench run``)."""
        return next(iter(self.folders.values()))

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in ("ok", "pending", "skipped"))

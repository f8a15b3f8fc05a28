"""The run folder's own records, typed, with JSON in and out in one place: an interpreter's description, a
precision target (the run manifest is ``bench.data.manifest``'s, a failure ``bench.data.failure``'s).

Cells and their processes are ``bench.data.cells``'s (``CellRecord``, ``ProcessRecord``); this module holds
what surrounds them, so that no reader picks a manifest or an error apart by string keys of its own.
Every ``from_dict`` reads what any gilbench wrote so far (older run folders keep loading: a missing key
takes its default, a key this version does not know is kept and written back), and ``to_dict`` writes
what the readers of earlier versions expect. Light on purpose: measured processes and the interpreters
under test import it (no pandas, no process started).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from .precision import REPEAT_FLOOR


class ReadByKey:
    """A record's items read as from the dict it replaced (``d["display"]``, ``d.get("status")``), so that
    code written against that dict keeps working while it moves to attributes."""

    def _as_read(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    @functools.cached_property
    def _items(self) -> Mapping[str, Any]:
        return self._as_read()


def version_tuple(version: str) -> tuple[int, ...]:
    """"3.14.0rc1" -> (3, 14, 0)"""
    return tuple(int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3])


def short_name(version: str, free_threaded: bool) -> str:
    major_minor = ".".join(str(n) for n in version_tuple(version)[:2])
    return major_minor + ("t" if free_threaded else "")


@dataclass(frozen=True)
class InterpreterDescription(ReadByKey):
    """One interpreter of a run as the report names and groups it (machine.json describes it).

    ``label`` is the run's name for it ("" for the interpreter gilbench itself ran on); ``display`` how
    the report names it (the label, else the short version such as 3.12 or 3.14t); ``build`` is "gil"
    or "free-threading"; ``gil_enabled`` None where it is not known; ``settings`` are environment
    settings such as PYTHON_GIL. ``raw`` keeps every key of the description as written (machine.json
    holds more: start methods, prefix, ...). Read by key, it is ``to_dict()``.
    """

    label: str
    display: str
    version: str = ""
    short_version: str = ""
    implementation: str = ""
    build: str = ""
    free_threaded: bool = False
    gil_enabled: bool | None = None
    default_start_method: str = ""
    settings: Mapping[str, str] = field(default_factory=dict)
    executable: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_machine(cls, machine: Mapping[str, Any], label: str) -> "InterpreterDescription":
        """The interpreter ``label`` of machine.json: its ``interpreters`` entry, or for the label "" the
        machine's top-level description (the interpreter gilbench ran on)."""
        described = (machine.get("interpreters") or {}).get(label)
        if described is None and label == "":
            described = {
                "version": machine.get("python_version", ""), "implementation": machine.get("python_implementation", ""),
                "build": machine.get("python_build", ""), "gil_enabled": machine.get("gil_enabled"),
                "default_start_method": machine.get("default_start_method", ""),
                "executable": machine.get("python_executable", ""), "settings": {},
            }
        return cls.from_dict({**(described or {}), "label": label})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "InterpreterDescription":
        """From a description as ``bench.plan.interpreters`` writes it, or as ``to_dict`` did (older spellings:
        python_version, python_build, python_implementation, python_executable)."""
        label = str(data.get("label") or "")
        version = str(data.get("version") or data.get("python_version") or "")
        build = str(data.get("build") or data.get("python_build") or "")
        gil = data.get("gil_enabled")
        raw = {k: v for k, v in data.items() if k != "display"}
        return cls(
            label=label,
            display=label or (short_name(version, build == "free-threading") if version else "this interpreter"),
            version=version,
            short_version=short_name(version, False),
            implementation=str(data.get("implementation") or data.get("python_implementation") or ""),
            build=build,
            free_threaded=build == "free-threading",
            gil_enabled=None if gil is None else bool(gil),
            default_start_method=str(data.get("default_start_method") or ""),
            settings=dict(data.get("settings") or {}),
            executable=str(data.get("executable") or data.get("python_executable") or ""),
            raw=raw,
        )

    def to_dict(self) -> dict[str, Any]:
        """Every key of the description as written, with the derived ones (display, build, ...)."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "raw"}
        own["settings"] = dict(self.settings)
        return {**self.raw, **own}

    def renamed(self, display: str) -> "InterpreterDescription":
        return replace(self, display=display)

    @property
    def settings_text(self) -> str:
        """"PYTHON_GIL=0", or "" without settings."""
        return ", ".join(f"{k}={v}" for k, v in sorted(self.settings.items()))

    @property
    def gil_off(self) -> bool | None:
        """Whether the GIL was off: from ``gil_enabled``, else from a PYTHON_GIL setting; None: unknown."""
        if self.gil_enabled is not None:
            return not self.gil_enabled
        return {"0": True, "1": False}.get(str(self.settings.get("PYTHON_GIL", "")))

    def _as_read(self) -> Mapping[str, Any]:
        return self.to_dict()


@dataclass(frozen=True)
class PrecisionTarget:
    """A run's precision target and budget (the manifest's ``precision``): what ``gilbench run --precision``
    asked, how the cells were run to it (``bench.data.precision``), and the time the cells had.

    ``target`` is the relative half-width every headline figure is run to (the time for a baseline, over
    sqrt 2 where speedups rest on it; the speedup otherwise), at ``confidence``; a cell takes ``first``
    processes, then ``block`` at a time, up to ``cap``; ``budget_s`` is the run's budget (None: none, only
    the cap stops a cell) and ``cells_s`` the part of it the cells had (the budget less the estimates of the
    run's start, the experiments and the report). ``floor`` is the narrowest ± a figure was stated to
    (``bench.data.precision.REPEAT_FLOOR`` when the run was made; a manifest from before it was recorded
    reads as the ±1 % that applied then)."""

    target: float
    first: int
    block: int = 2
    cap: int = 16
    confidence: float = 0.95
    resamples: int = 500
    budget_s: float | None = None
    cells_s: float | None = None
    floor: float = REPEAT_FLOOR

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "PrecisionTarget | None":
        if not data:
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{"floor": 0.01, **{k: v for k, v in data.items() if k in names}})

"""manifest.json as a typed record: the run's plan, settings, timestamps and each cell's record.

Why its own module: every reader of a run folder (the runner resuming, the judge, reports/) starts here, and
what it reads of older run folders (a missing key takes its default, an unknown one is kept and written back)
is one decision in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from .cells import CellRecord
from .records import PrecisionTarget, ReadByKey

#: 2: cells hold their pyperf processes (bench.data.cells.CellRecord); 1 had flat values
FORMAT = 2


#: the manifest's keys every run writes, in the order the runner writes them (written even when empty)
_CORE = ("gilbench_version", "created", "finished", "status", "argv", "config", "python", "sample_interval",
         "memory_interval", "noise_threshold", "canary_slow", "canary_on_cpu", "profile", "timing", "cells",
         "interpreters", "skipped", "placement")
#: keys only some runs write: runs of several placements, resumed runs, experiments, the two sides of ``gilbench ab``
_OPTIONAL = ("placements", "placement_skipped", "resumed", "experiments", "side", "interleaved_with", "gate_design",
             "code_hash", "precision")


@dataclass(frozen=True)
class RunManifest(ReadByKey):
    """manifest.json: the plan, each cell's status and processes, timestamps, the run's settings.

    ``cells`` are the cells' entries as written (``CellRecord.to_dict``; ``records`` reads them);
    ``timing`` the pyperf timing (``bench.data.cells.Timing``'s fields); ``interpreters`` the plan's
    interpreter descriptions by label; ``skipped`` cell id -> why it cannot run. The thresholds the
    runner judged noise by: ``noise_threshold`` (CPU share others took), ``canary_slow`` and
    ``canary_on_cpu``. ``extra`` keeps keys this version does not know, written back unchanged. Read by
    key, it is the manifest as read (a missing key is missing, as it was).
    """

    cells: tuple[Mapping[str, Any], ...] = ()
    format: int = FORMAT
    gilbench_version: str = ""
    created: str = ""
    finished: str | None = None
    status: str = ""  # running, complete, interrupted, unwritable
    argv: tuple[str, ...] = ()
    config: Any = None
    python: str = ""
    sample_interval: float | None = None
    memory_interval: float | None = None
    noise_threshold: float | None = None
    canary_slow: float | None = None
    canary_on_cpu: float | None = None
    profile: str = ""
    timing: Mapping[str, Any] = field(default_factory=dict)
    interpreters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    placement: str = "logical"  # the run's (first) placement; a run from before placements took the first CPUs
    placements: tuple[str, ...] = ()  # a run of several placements: all of them, the first first
    placement_skipped: Mapping[str, str] = field(default_factory=dict)  # "placement/cN" -> why it was not measured
    resumed: tuple[str, ...] = ()
    experiments: tuple[Mapping[str, Any], ...] = ()
    side: str = ""  # gilbench ab: "base: main" or "cand: ..."
    interleaved_with: str = ""  # gilbench ab: the folder that holds both sides
    gate_design: Mapping[str, Any] | None = None  # gilbench ab: bench.judge.sequential.Design.to_dict()
    code_hash: str = ""  # the measured workloads' source (bench.measure.run.code_hash); "" before it was recorded
    #: the precision target and budget the cells were run to (``gilbench run --precision``); None: none
    precision: PrecisionTarget | None = None
    #: the experiments the run was asked for (--experiment, or () for --no-experiments), which its --resume
    #: keeps; None: the profile's (and every run from before it was recorded)
    experiments_asked: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: the manifest as it was read (``from_dict``), for reads by key (``get``)
    source: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunManifest":
        known = {f.name for f in fields(cls)} - {"extra", "source"}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known and v is not None}
        for name in ("cells", "argv", "placements", "resumed", "experiments", "experiments_asked"):
            if name in values:
                values[name] = tuple(values[name])
        for name in ("timing", "interpreters", "skipped", "placement_skipped"):
            if name in values:
                values[name] = dict(values[name])
        if "precision" in values:
            values["precision"] = PrecisionTarget.from_dict(values["precision"])
        for name in ("finished", "config", "sample_interval", "memory_interval", "noise_threshold", "canary_slow",
                     "canary_on_cpu", "gate_design"):
            if data.get(name) is None:
                values.pop(name, None)
        return cls(**values, extra={k: v for k, v in data.items() if k not in known and k not in ("extra", "source")},
                   source=data)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as written: every run's keys, the optional ones where set, unknown keys kept."""
        out: dict[str, Any] = dict(self.extra)
        for name in _CORE:
            out[name] = _plain(getattr(self, name))
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value not in ((), "", None, {}):
                out[name] = value.to_dict() if isinstance(value, PrecisionTarget) else _plain(value)
        if self.experiments_asked is not None:  # () is an answer too: none
            out["experiments_asked"] = list(self.experiments_asked)
        out["format"] = self.format
        return out

    @functools.cached_property
    def records(self) -> "tuple[CellRecord, ...]":
        """The cells as records (``bench.data.cells.CellRecord``), in the manifest's order."""

        return tuple(CellRecord.from_dict(entry) for entry in self.cells)

    @property
    def complete(self) -> bool:
        """The run ended on its own and no cell is left pending."""
        return self.status == "complete" and all(c.get("status") != "pending" for c in self.cells)

    def params(self) -> dict[str, dict[str, Any]]:
        """Each cell's workload parameters as recorded (typed, unlike the report table's text)."""
        return {str(c.get("id")): dict(c.get("params") or {}) for c in self.cells}

    def _as_read(self) -> Mapping[str, Any]:
        return self.source if self.source is not None else self.to_dict()


def _plain(value: Any) -> Any:
    """JSON data: tuples as lists, mappings as dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

"""One experiment's result on one interpreter, as its child writes it and the report reads it.

Why data: the runner records it, ``reports/`` draws it, and an experiment's own module measures it; none of
them has to import another to read one (``experiments/`` imports the reports' ``Section``, so a result read
from there would tie reports/ to experiments/ in a loop).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


#: an experiment result's statuses: ok; failed (it raised, or its process died); timeout (ended by
#: the runner at its time limit)
STATUSES = ("ok", "failed", "timeout")


@dataclass
class ExperimentResult:
    """One experiment run on one interpreter: what it was asked (``params``), what it measured
    (``rows``, plain dicts), where (``context``) and how it ended.

    ``details`` holds what the measurement found about itself and the rows do not (a calibration,
    the echo server's pid). ``python`` is the interpreter's label in the run ("" for the one gilbench
    runs on). ``started``/``ended`` are epoch seconds, ``duration`` the child's wall seconds.
    """

    name: str
    python: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    error: dict[str, Any] | None = None
    started: float = 0.0
    ended: float = 0.0
    duration: float = 0.0
    pid: int = 0  # the measuring child's pid, also its process group: nothing of it may outlive the run

    @property
    def id(self) -> str:
        """"convoy", or "convoy@3.12" for an interpreter other than gilbench's own."""
        return f"{self.name}@{self.python}" if self.python else self.name

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def gil_enabled(self) -> bool | None:
        """Whether the GIL was on while it measured (None: not known, e.g. it failed before)."""
        value = self.context.get("gil_enabled")
        return None if value is None else bool(value)

    @property
    def display(self) -> str:
        """How a report names the interpreter: its label, else its version ("3.12", "3.14t")."""
        if self.python:
            return self.python
        version = str(self.context.get("python_version") or "")
        if not version:
            return "this interpreter"
        short = ".".join(version.split(".")[:2])
        return short + ("t" if self.context.get("build") == "free-threading" else "")

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExperimentResult":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _json_safe(value: Any) -> Any:
    """NaN and infinities as None (JSON has neither), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value

"""The experiment interface and its result record.

A cell measures the wall time of a fixed batch of tasks; some questions do not fit that mould (how
long an I/O thread waits beside CPU-bound threads; at which task size processes start to pay). An
experiment owns all of it: which parameters each profile gets, what is measured (in a child process
of its own, ``python -m gilbench.experiments``), and the report section that explains the numbers.

The measuring side (``parameters``, ``estimate``, ``measure``) uses the standard library,
``gilbench.workloads`` and ``gilbench.bench.gil`` only: it runs under every interpreter of a run, where
the report stack is not installed. ``section`` runs in the report and imports pandas and matplotlib when it is called.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import sys
import sysconfig
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ..bench.gil import gil_enabled
from ..bench.records import Failure

if TYPE_CHECKING:
    from ..reports.sections import Section

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


def measure_context() -> dict[str, Any]:
    """The interpreter and process an experiment measures in: what its numbers depend on."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "build": "free-threading" if sysconfig.get_config_var("Py_GIL_DISABLED") else "gil",
        "gil_enabled": gil_enabled(),
        "python_gil_setting": os.environ.get("PYTHON_GIL", ""),
        "switch_interval_ms": sys.getswitchinterval() * 1e3,
        "cpus": os.cpu_count() or 1,
        "affinity": affinity,
        "usable_cpus": len(affinity) or os.cpu_count() or 1,
        "start_method": multiprocessing.get_start_method(),
    }


class Experiment:
    """One question that is not a batch of tasks: its parameters, its measurement, its report section.

    Subclasses set ``name`` (a command-line word), ``title`` (the section's heading) and ``order``
    (where the section goes among the report's sections), and implement the methods below. Discovery
    (``gilbench.experiments.all_experiments``) finds every subclass in the package's modules.
    """

    name = "experiment"
    title = "Experiment"
    order = 200
    #: one line: what it answers (``gilbench run --help`` and the progress lines show it)
    summary = ""

    def __init__(self) -> None:
        #: filled by ``measure`` with what the rows do not hold; saved as the result's ``details``
        self.details: dict[str, Any] = {}

    def parameters(self, profile: str, cpus: int) -> dict[str, Any]:
        """What to measure under ``profile`` ("smoke", "quick", "gate", "default", "full") on a
        machine with ``cpus`` usable CPUs; {} means it does not run in that profile."""
        raise NotImplementedError

    def estimate(self, params: dict[str, Any]) -> float:
        """Roughly how many seconds ``measure(params)`` takes: for the run's estimate and time limit."""
        return 10.0

    def measure(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Measure and return the rows; runs in a child process of its own. Raise on bad ``params``."""
        raise NotImplementedError

    def section(self, results: list[ExperimentResult]) -> "Section":
        """The report section for this experiment's finished results (one per interpreter, ``ok``)."""
        raise NotImplementedError

    def sections(self, results: list[ExperimentResult]) -> list["Section"]:
        """The section of the finished results, with what failed said in words; the report calls this."""
        from ..reports.sections import Section

        ok = [r for r in results if r.ok and r.rows]
        failed = [f"{self.name} on {r.display}: {describe_error(r)}" for r in results if not (r.ok and r.rows)]
        if not ok:
            return [Section(key=f"experiment-{self.name}", title=self.title, order=self.order,
                            verdicts=["Not measured: " + "; ".join(failed)])]
        section = self.section(ok)
        section.notes = [*section.notes, *(f"Not measured: {text}" for text in failed)]
        return [section]


def describe_error(result: ExperimentResult) -> str:
    """A failed or timed-out result's error in one line."""
    if result.ok and not result.rows:
        return "it measured nothing"
    error = Failure.from_dict(result.error)
    return (error if error.how or error.error_type else replace(error, how=result.status)).head or result.status

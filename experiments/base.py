"""The experiment interface; its result record is ``bench.data.experiment.ExperimentResult``.

A cell measures the wall time of a fixed batch of tasks; some questions do not fit that mould (how
long an I/O thread waits beside CPU-bound threads; at which task size processes start to pay). An
experiment owns all of it: which parameters each profile gets, what is measured (in a child process
of its own, ``python -m gilbench.experiments``), and the report section that explains the numbers.

The measuring side (``parameters``, ``estimate``, ``measure``) uses the standard library,
``gilbench.workloads`` and ``gilbench.bench.measure.gil`` only: it runs under every interpreter of a run, where
the report stack is not installed. ``section`` runs in the report and imports pandas and matplotlib when it is called.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import sysconfig
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..bench.data.experiment import ExperimentResult
from ..bench.measure.gil import gil_enabled
from ..bench.data.failure import Failure

if TYPE_CHECKING:
    from ..reports.sections import Section

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

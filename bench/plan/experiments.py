"""A run's experiments as jobs: which experiment runs on which interpreter, with its profile's parameters.

Why apart from running them (``bench.measure.experiment_runner``): a plan's estimate and a budget count the jobs
before anything runs, and planning must not import the measuring side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ...experiments import all_experiments, get


@dataclass
class ExperimentJob:
    """One experiment to run on one interpreter, with the parameters its profile gave it."""

    name: str
    label: str  # the interpreter's label in the run ("" for gilbench's own)
    python: str
    params: dict[str, Any]
    estimate: float
    env: dict[str, str] = field(default_factory=dict)  # the interpreter's settings and PYTHONPATH

    @property
    def id(self) -> str:
        return f"{self.name}@{self.label}" if self.label else self.name


def plan_jobs(profile: str, cpus: int, interpreters: Sequence[tuple[str, str, Mapping[str, str]]],
              only: Sequence[str] | None = None) -> list[ExperimentJob]:
    """Every (experiment, interpreter) pair to run: the experiments named in ``only`` (default: all)
    whose parameters for ``profile`` and ``cpus`` are not empty, in report order, each on every
    interpreter given as (label, python, environment to add)."""
    names = list(all_experiments()) if only is None else [get(n).name for n in only]
    chosen = sorted((get(n)() for n in dict.fromkeys(names)), key=lambda e: (e.order, e.name))
    jobs = []
    for experiment in chosen:
        params = experiment.parameters(profile, cpus)
        if not params:
            continue
        for label, python, env in interpreters:
            jobs.append(ExperimentJob(experiment.name, label, python, params, experiment.estimate(params), dict(env)))
    return jobs

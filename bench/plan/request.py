"""What a command was asked: its options and its config file merged once, checked once, typed.

Why: the config used to be written into the argparse namespace, and every step after read that namespace
by string names, each checking what it needed. A request is built once from the parsed options and the
config (``bench.plan.config``: the command line wins, then the file, then the command's defaults); a
ValueError names the first problem, before anything runs. ``bench.plan.plans`` makes a plan of its matrix,
``bench.commands`` carries it out.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Mapping

from .budget import parse_duration, parse_fake_machine
from .config import Config, configure
from ..data.thresholds import Thresholds, parse_threshold
from .matrix import parse_int_list
from ..data.precision import parse_precision

if TYPE_CHECKING:
    from ...workloads import Declaration

#: what `run` uses for an option neither the command line nor the config file sets
RUN_DEFAULTS = {"profile": "default", "scale": 1.0, "output": Path("results")}
#: what `ab` uses for an option neither the command line nor the config file sets
AB_DEFAULTS = {"profile": "gate", "scale": 1.0, "output": Path("results")}
#: the config keys (as options) `ab` reads: the matrix, not the interpreters (each side has its own) or a
#: run folder's name
AB_CONFIG = ("profile", "workload", "declared", "workload_module", "backend", "workers", "cores", "tasks", "scale",
             "processes", "values", "timeout", "output", "fail_on", "workload_fail_on")
#: the options of `run` that its --resume refuses (the plan is the run folder's)
MATRIX_OPTIONS = ("workload", "workload_module", "kind", "size_param", "param", "name", "backend", "workers",
                  "cores", "tasks", "start_method", "processes", "values", "warmups", "python", "placement", "budget",
                  "full_grid", "fake_cpus", "precision")
#: the options of `ab` that its --resume refuses (the plan and sides are its ab.json's)
AB_MATRIX_OPTIONS = ("workload", "workload_module", "kind", "size_param", "param", "backend", "workers", "cores",
                     "tasks", "base_python", "cand_python", "rounds")


def names(values: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """--workload a,b --workload c -> (a, b, c)"""
    return tuple(n.strip() for v in values or [] for n in v.split(",") if n.strip())


def _given(args: argparse.Namespace, options: Collection[str]) -> list[str]:
    """The options among ``options`` that the command line set, as the user typed them."""
    return [f"--{o.replace('_', '-')}" for o in options if getattr(args, o, None) not in (None, [])]


def _merged(args: argparse.Namespace, only: Collection[str] | None,
            defaults: Mapping[str, Any]) -> tuple[argparse.Namespace, Config | None]:
    """A copy of ``args`` with the config's keys (among ``only``) and ``defaults`` where the command line left
    them unset, and the config; ``args`` itself is left as parsed."""
    merged = argparse.Namespace(**vars(args))
    return merged, configure(merged, only=only, defaults=defaults)


@dataclass(frozen=True)
class Matrix:
    """What `run` and `ab` measure: the profile and the options that narrow or size it (empty: the profile's)."""

    profile: str
    workloads: tuple[str, ...] = ()
    workload_modules: tuple[str, ...] = ()
    kind: str | None = None
    size_param: str | None = None
    params: tuple[str, ...] = ()
    #: the config's [tool.gilbench.workload."module:function"] tables, by spec
    declared: Mapping[str, "Declaration"] = field(default_factory=dict)
    backends: tuple[str, ...] = ()
    workers: tuple[int, ...] = ()
    cores: tuple[int, ...] = ()
    tasks: int | None = None
    scale: float = 1.0
    processes: int | None = None
    values: int | None = None
    warmups: int | None = None
    start_method: str | None = None
    pythons: tuple[str, ...] = ()
    placement: str | None = None  # None: the profile's

    @classmethod
    def of(cls, ns: argparse.Namespace) -> "Matrix":
        """From merged options; ValueError for worker or core counts that are not counts."""
        return cls(
            profile=ns.profile,
            workloads=names(ns.workload),
            workload_modules=tuple(ns.workload_module or ()),
            kind=ns.kind,
            size_param=ns.size_param,
            params=tuple(ns.param or ()),
            declared=dict(ns.declared or {}),
            backends=names(ns.backend),
            workers=tuple(parse_int_list(ns.workers, "--workers")) if ns.workers else (),
            cores=tuple(parse_int_list(ns.cores, "--cores")) if ns.cores else (),
            tasks=ns.tasks,
            scale=ns.scale,
            processes=getattr(ns, "processes", None),
            values=getattr(ns, "values", None),
            warmups=getattr(ns, "warmups", None),
            start_method=getattr(ns, "start_method", None),
            pythons=tuple(getattr(ns, "python", None) or ()),
            placement=placement_of(ns),
        )


def placement_of(ns: argparse.Namespace) -> str | None:
    """--placement, or --logical-cpus (its synonym for logical); None: the profile's."""
    given = getattr(ns, "placement", None)
    if getattr(ns, "logical_cpus", False):
        if given and given.strip() != "logical":
            raise ValueError(f"--logical-cpus is --placement logical; drop one of it and --placement {given}")
        return "logical"
    return given


def thresholds_of(ns: argparse.Namespace) -> "Thresholds":
    """--fail-on (else the config's, else time:10%), and each workload's own fail_on from the config."""
    declared = getattr(ns, "declared", None) or {}
    own: dict[str, tuple] = {}
    for spec, texts in (getattr(ns, "workload_fail_on", None) or {}).items():
        parsed = tuple(parse_threshold(t) for t in texts)
        own[spec] = parsed
        name = getattr(declared.get(spec), "name", "")
        if name:
            own[name] = parsed
    return Thresholds(tuple(parse_threshold(t) for t in (ns.fail_on or ["time:10%"])), own)


@dataclass(frozen=True)
class ComparisonRequest:
    """How `compare` and `ab` judge and where they write: the thresholds and the files asked for."""

    thresholds: "Thresholds"
    fail_on_inconclusive: bool = False
    html: Path | None = None
    markdown: Path | None = None
    json: Path | None = None
    allow_other_machine: bool = False
    allow_other_python: bool = False

    @classmethod
    def of(cls, ns: argparse.Namespace) -> "ComparisonRequest":
        return cls(thresholds_of(ns), ns.fail_on_inconclusive, ns.html, ns.markdown, ns.json,
                   ns.allow_other_machine, ns.allow_other_python)

    def files(self) -> tuple[tuple[Path | None, str], ...]:
        """(path or None, the output that writes it) for each format (reports.outputs)."""
        return ((self.html, "compare-html"), (self.markdown, "compare-markdown"), (self.json, "compare-json"))


@dataclass(frozen=True)
class CompareRequest:
    base: Path
    cand: Path
    comparison: ComparisonRequest

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CompareRequest":
        ns, _ = _merged(args, ("fail_on", "workload_fail_on", "declared"), {})
        return cls(args.base, args.cand, ComparisonRequest.of(ns))


def experiments_of(args: argparse.Namespace) -> tuple[str, ...] | None:
    """--experiment / --no-experiments: the experiments to run (None: the profile's; (): none)."""
    chosen = names(args.experiment)
    if args.no_experiments:
        if chosen:
            raise ValueError("--no-experiments and --experiment exclude each other")
        return ()
    if not chosen:
        return None
    from ...experiments import get

    return tuple(get(name).name for name in chosen)  # ValueError naming the accepted ones


@dataclass(frozen=True)
class RunRequest:
    """`gilbench run`: a matrix to run into a new run folder, or (``resume``) an interrupted run to finish."""

    matrix: Matrix | None  # None with resume: the plan is the run folder's
    resume: Path | None = None
    output: Path = RUN_DEFAULTS["output"]
    name: str | None = None
    force: bool = False
    timeout: float | None = None
    sample_interval: float = 0.1
    sampler: bool = True
    report: bool = True
    experiments: tuple[str, ...] | None = None
    config: Config | None = None
    #: seconds the run should fit in (--budget); None: the profile's (bench.plan.budget)
    budget: float | None = None
    full_grid: bool = False  # the whole worker x core grid, no budget
    dry_run: bool = False  # the plan printed, nothing run or written
    fake_cpus: str | None = None  # --fake-cpus N[:T]: plan (dry run) for a machine this is not
    #: the relative half-width each figure is run to (--precision); None: the profile's, unless ``precision_off``
    precision: float | None = None
    precision_off: bool = False  # --precision none: a fixed design, the profile's processes a cell

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RunRequest":
        experiments = experiments_of(args)
        if args.resume:  # a resumed run keeps its own plan, not the config's
            ns, config = argparse.Namespace(**vars(args)), None
        else:
            ns, config = _merged(args, None, RUN_DEFAULTS)
        if ns.force and not ns.name:  # the name: --name's, or the config's
            raise ValueError("--force replaces the run folder named with --name; give --name too")
        if ns.resume:
            given = _given(ns, MATRIX_OPTIONS)
            if given:
                raise ValueError(f"--resume takes the plan from the run folder; drop {', '.join(given)}")
        budget = getattr(ns, "budget", None)
        full_grid, dry_run, fake = (bool(getattr(ns, "full_grid", False)), bool(getattr(ns, "dry_run", False)),
                                    getattr(ns, "fake_cpus", None))
        if budget is not None and full_grid:
            raise ValueError("--full-grid runs the whole grid, with no budget; drop one of it and --budget")
        if fake and not dry_run:
            raise ValueError("--fake-cpus plans for a machine this is not, which cannot run here; add --dry-run")
        if dry_run and ns.resume:
            raise ValueError("--dry-run prints a new run's plan; drop --resume")
        if fake:
            parse_fake_machine(fake)  # a ValueError naming the accepted forms
        given = getattr(ns, "precision", None)
        precision = parse_precision(given) if given is not None else None  # a ValueError naming the forms
        return cls(
            matrix=None if ns.resume else Matrix.of(ns),
            resume=ns.resume,
            output=ns.output or RUN_DEFAULTS["output"],
            name=ns.name,
            force=ns.force,
            timeout=ns.timeout,
            sample_interval=ns.sample_interval,
            sampler=not ns.no_sampler,
            report=not ns.no_report,
            experiments=experiments,
            config=config,
            budget=None if budget is None else parse_duration(budget),
            full_grid=full_grid,
            dry_run=dry_run,
            fake_cpus=fake,
            precision=precision,
            precision_off=given is not None and precision is None,
        )

    def precision_for(self, profile: str) -> float | None:
        """The target the run's figures are run to: --precision's, else the profile's; None: none."""
        if self.precision_off:
            return None
        if self.precision is not None:
            return self.precision
        from .matrix import PROFILES

        return PROFILES[profile].precision


@dataclass(frozen=True)
class SideRequest:
    """One side of `ab` as asked: a checkout directory or a git ref, its interpreter and its work's factor."""

    name: str
    spec: str
    python: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class AbRequest:
    """`gilbench ab`: two sides of one matrix, interleaved, then compared; or (``resume``) an interrupted one."""

    matrix: Matrix | None  # None with resume: the plan and sides are its ab.json's
    sides: tuple[SideRequest, ...] = ()
    resume: Path | None = None
    output: Path = AB_DEFAULTS["output"]
    timeout: float | None = None
    seed: int | None = None
    all_rounds: bool = False
    comparison: ComparisonRequest | None = None
    config: Config | None = None
    report: bool = True  # each side's report.html

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "AbRequest":
        # a resumed ab keeps its plan: only the thresholds come from the config
        ns, config = _merged(args, ("fail_on", "workload_fail_on") if args.resume else AB_CONFIG, AB_DEFAULTS)
        comparison = ComparisonRequest.of(ns)
        if ns.resume:
            given = _given(ns, AB_MATRIX_OPTIONS)
            if ns.base or ns.cand or given:
                raise ValueError(f"--resume takes the sides and the plan from its ab.json; drop "
                                 f"{', '.join(given + [x for x in (ns.base, ns.cand) if x])}")
            return cls(None, resume=ns.resume, output=ns.output, timeout=ns.timeout, seed=ns.seed,
                       all_rounds=ns.all_rounds, comparison=comparison, config=config, report=not ns.no_report)
        if not ns.base or not ns.cand:
            raise ValueError("give BASE and CAND (a directory or a git ref each), or --resume AB_FOLDER")
        # `run`'s options that `ab` has not: the config's processes and values, or the profile's (the
        # interpreters are --base-python and --cand-python); rounds: pyperf processes per side and cell
        ns.processes = ns.rounds or getattr(ns, "processes", None)
        sides = (SideRequest("base", ns.base, ns.base_python, ns.base_scale),
                 SideRequest("cand", ns.cand, ns.cand_python, ns.cand_scale))
        return cls(Matrix.of(ns), sides, None, ns.output, ns.timeout, ns.seed, ns.all_rounds, comparison, config,
                   report=not ns.no_report)

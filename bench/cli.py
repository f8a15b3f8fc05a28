"""The ``gilbench`` command line: it parses the options and dispatches to the command, nothing more.

Each command is carried out from a typed request (``bench.plan.request``: the options and the config file,
merged and checked once) by ``bench.commands``, which also says what its exit codes are: 0 success; 1
cells failed or timed out (the run and its report are still written); 2 a usage error or unreadable input
(nothing is run, nothing half-written); 128+N stopped by signal N (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path
from typing import Sequence

from .. import workloads
from . import __version__, commands
from .backends import all_backends
from .commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError  # noqa: F401 - the exit codes, here too
from .plan.matrix import PROFILES
from .data.durations import format_duration
from .plan.request import AB_DEFAULTS, RUN_DEFAULTS, AbRequest, CompareRequest, RunRequest  # noqa: F401
from .plan.request import thresholds_of as _thresholds  # noqa: F401 - the name tests and scripts know



def _profile_defaults(value, show) -> str:
    """"(default: the profile's: NAME VALUE, ...; the others none)" for a setting only some profiles have."""
    given = ", ".join(f"{p.name} {show(value(p))}" for p in PROFILES.values() if value(p))
    return f"(default: the profile's: {given}; the others none)"

def _positive(kind: type, what: str):  # noqa: ANN202 - an argparse type
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{what} must be above 0, not {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gilbench",
        description="Threads or processes, for your workload, machine and interpreter: measured with pyperf.",
    )
    parser.add_argument("--version", action="version", version=f"gilbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a benchmark matrix and write a run folder with its report",
        description="Run every cell of a matrix (workload x backend x workers x cores), each in its own "
        "pyperf process tree, and write results/<date>-<host>/ with report.html.",
    )
    run.add_argument(
        "--profile",
        choices=list(PROFILES),
        help="the matrix and sample counts: "
        + "; ".join(f"{p.name}: {p.description}".replace("%", "%%") for p in PROFILES.values())
        + " (default: the config's, else default)",
    )
    _workload_options(run, "the current directory")
    run.add_argument("--backend", action="append", metavar="NAME[,NAME]",
                     help=f"execution models (default: the profile's; all: {', '.join(all_backends())})")
    run.add_argument("--python", action="append", metavar="SPEC",
                     help="an interpreter to run the cells on, repeatable: a path, a version (3.12, 3.14t) found on "
                     "PATH, in pyenv or uv, optionally with settings (3.14t:PYTHON_GIL=0); each gets a cached "
                     "environment with pyperf and psutil (see `gilbench interpreters`; default: this one)")
    run.add_argument("--workers", metavar="N[,N]", help="worker counts, e.g. 1,2,4,8 (default: the profile's)")
    run.add_argument("--cores", metavar="N[,N]",
                     help="core counts, imposed with CPU affinity on N distinct physical cores before any SMT sibling "
                     "(default: the profile's)")
    run.add_argument("--placement", metavar="P[,P]",
                     help="how a cell of N cores picks its CPUs: physical (N distinct physical cores first), logical "
                     "(the first N CPUs as listed), siblings (every SMT sibling of a core before the next); several "
                     "measure the cores under each where it picks other CPUs (default: the profile's, physical)")
    run.add_argument("--logical-cpus", action="store_true", help="the same as --placement logical")
    run.add_argument("--tasks", type=_positive(int, "--tasks"),
                     help="tasks per batch (default: the config's, else the profile's, else the most workers)")
    run.add_argument("--scale", type=_positive(float, "--scale"),
                     help="multiply every task's work (CPU units, sleep time) by this factor (default: the config's, "
                     "else 1)")
    run.add_argument("--start-method", choices=multiprocessing.get_all_start_methods(),
                     help=f"multiprocessing start method (default: this Python's, {multiprocessing.get_start_method()})")
    run.add_argument("--processes", type=_positive(int, "--processes"),
                     help="pyperf worker processes per cell, each with its own memory layout (the unit of analysis)")
    run.add_argument("--values", type=_positive(int, "--values"), help="timed batches per pyperf process")
    run.add_argument("--warmups", type=int, help="untimed batches per pyperf process before the values")
    run.add_argument("--timeout", type=_positive(float, "--timeout"),
                     help="seconds one pyperf process of a cell may take before its whole process tree is ended "
                     "(default: 10x its estimate, at least 60)")
    run.add_argument("--sample-interval", type=_positive(float, "--sample-interval"), default=0.1,
                     help="seconds between per-core utilization samples (default: %(default)s)")
    run.add_argument("--no-sampler", action="store_true", help="do not sample per-core utilization")
    run.add_argument("--output", type=Path,
                     help="folder that receives the run folder and the 'latest' link (default: the config's, "
                     "else results)")
    run.add_argument("--name", metavar="NAME",
                     help="name the run folder OUTPUT/NAME, e.g. main (default: <date>-<host>); an existing one "
                     "is an error unless --force")
    run.add_argument("--force", action="store_true",
                     help="with --name (or the config's name): replace an existing run folder of that name")
    run.add_argument("--no-report", action="store_true", help="write the results only, no report")
    run.add_argument("--budget", metavar="DURATION",
                     help="fit the run in this time, e.g. 90s, 10m, 1h30m: while the estimate (cells, experiments, "
                     "report) is over it, thin the worker x core grid off its diagonal further, then run fewer processes "
                     "per cell (down to 2), each step said before the run starts; the diagonal, the baselines and the "
                     "start costs are always kept " + _profile_defaults(lambda p: p.budget_s, format_duration))
    run.add_argument("--precision", metavar="PCT",
                     help="run each cell until its headline figure (a baseline's time, else its speedup) is known to "
                     "within this, e.g. 2%%: after the first --processes, 2 more processes at a time while the 95 %% "
                     "interval over processes is wider than +-PCT, up to 16, or until the cell's share of the budget is "
                     "spent (then the report flags it); none: the profile's processes, no more "
                     + _profile_defaults(lambda p: p.precision, lambda x: f"{x * 100:g} %%"))
    run.add_argument("--full-grid", action="store_true", default=None,  # None: not given (--resume refuses it given)
                     help="run the profile's whole worker x core grid: no thinning past 8 CPUs, no budget")
    run.add_argument("--dry-run", action="store_true",
                     help="print the plan (every cell, the estimate, what was thinned) and stop: nothing run or written")
    run.add_argument("--fake-cpus", metavar="N[:T]",
                     help="with --dry-run: plan for a machine of N logical CPUs, T to a core (default 1), e.g. 64:2, "
                     "instead of this one (its tasks timed here)")
    run.add_argument("--experiment", action="append", metavar="NAME[,NAME]",
                     help="experiments to run after the cells, each on every interpreter (default: every one the "
                     f"profile runs: {', '.join(_experiment_names())})")
    run.add_argument("--no-experiments", action="store_true", help="run the cells only, no experiments")
    run.add_argument("--resume", type=Path, metavar="RUN_FOLDER",
                     help="finish an interrupted run: run its unfinished cells only, with its own plan")
    _config_options(run, "the options it sets (see README: Your own project)")

    compare = sub.add_parser(
        "compare",
        help="compare two run folders and gate regressions (exit 1 on a regression)",
        description="Compare a baseline and a candidate run folder cell by cell. Exit 0: no regression beyond "
        "the thresholds; 1: a regression; 2: usage error or unreadable input.",
    )
    compare.add_argument("base", type=Path, help="the baseline run folder, or a results folder (its latest run)")
    compare.add_argument("cand", type=Path, help="the candidate run folder, or a results folder (its latest run)")
    _comparison_options(compare)
    _config_options(compare, "fail_on")

    ab = sub.add_parser(
        "ab",
        help="run baseline and candidate interleaved in one job, then compare them",
        description="Run the same matrix for two sides, alternating their pyperf processes in random order, "
        "write both run folders and compare them (exit codes as for compare). A side is a directory or a git "
        "ref checked out into a temporary worktree: your project, whose code each side imports from its own "
        "checkout, or a checkout of gilbench, whose workloads/ is measured. The matrix and thresholds come from "
        "the current directory's config, the options overriding it.",
    )
    ab.add_argument("base", nargs="?", help="baseline: a checkout directory or a git ref (e.g. main)")
    ab.add_argument("cand", nargs="?", help="candidate: a checkout directory or a git ref (e.g. HEAD, or .)")
    ab.add_argument("--resume", type=Path, metavar="AB_FOLDER",
                    help="finish an interrupted ab (the folder holding base/, cand/ and ab.json): its finished "
                    "rounds are kept; sides, plan and interpreters come from ab.json")
    ab.add_argument("--profile", choices=list(PROFILES),
                    help=f"the matrix (default: the config's, else {AB_DEFAULTS['profile']})")
    _workload_options(ab, "each side's checkout")
    ab.add_argument("--backend", action="append", metavar="NAME[,NAME]", help="backends (default: the profile's)")
    ab.add_argument("--workers", metavar="N[,N]", help="worker counts (default: the profile's)")
    ab.add_argument("--cores", metavar="N[,N]", help="core counts (default: the profile's)")
    ab.add_argument("--tasks", type=_positive(int, "--tasks"),
                    help="tasks per batch (default: the config's, else the profile's, else the most workers)")
    ab.add_argument("--base-python", help="interpreter for the baseline (default: this one)")
    ab.add_argument("--cand-python", help="interpreter for the candidate (default: this one)")
    ab.add_argument("--base-scale", type=_positive(float, "--base-scale"), default=1.0,
                    help="multiply the baseline's work by this factor (to test the gate; default 1)")
    ab.add_argument("--cand-scale", type=_positive(float, "--cand-scale"), default=1.0,
                    help="multiply the candidate's work by this factor (to test the gate; default 1)")
    ab.add_argument("--rounds", type=_positive(int, "--rounds"),
                    help="rounds: pyperf processes per side and cell (default: the profile's)")
    ab.add_argument("--all-rounds", action="store_true",
                    help="run every round of every cell instead of stopping a cell once its rows are decided "
                    "(records a machine's noise; the verdicts are the same rule's)")
    ab.add_argument("--timeout", type=_positive(float, "--timeout"), help="seconds one pyperf process may take")
    ab.add_argument("--seed", type=int, help="seed of the random interleaving order (default: random)")
    ab.add_argument("--output", type=Path,
                    help="where the two run folders go (default: the config's, else results)")
    ab.add_argument("--no-report", action="store_true",
                    help="no report.html in each side's run folder (the comparison is written still)")
    _comparison_options(ab)
    _config_options(ab, "the matrix and fail_on (see README: Your own project)")

    sub.add_parser("list", help="list workloads, backends, profiles and this machine's instruction counters")

    report = sub.add_parser("report", help="rebuild a run folder's report.html and results.csv from its data")
    report.add_argument("run", type=Path, help="a run folder, e.g. results/latest, or a results folder (its latest run)")

    merge = sub.add_parser(
        "merge",
        help="one report from run folders of different machines",
        description="Merge run folders of different machines into one self-contained report.html: the machines "
        "side by side, the speedup curves overlaid per workload, the key numbers per workload and machine. Refused "
        "(exit 2): fewer than two folders, a folder that is not a run, different run folder formats, one run "
        "given twice, no workload in common.",
    )
    merge.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders, e.g. one per machine")
    merge.add_argument("--output", type=Path, required=True, metavar="DIR",
                       help="folder for the merged report.html (made if missing; not a run folder)")

    overhead = sub.add_parser("overhead", help="measure the watchers' overhead (sampler, memory poller: one cell with "
                              "each on and off, interleaved) and the runner's cost per process")
    overhead.add_argument("--rounds", type=_positive(int, "--rounds"), default=6,
                          help="rounds of the four conditions (default: %(default)s)")
    overhead.add_argument("--workers", metavar="N[,N]", default="2,16", help="worker counts (default: %(default)s)")
    overhead.add_argument("--workload", default="hello-cpu", help="workload (default: %(default)s)")
    overhead.add_argument("--backend", default="processes", help="backend (default: %(default)s)")
    overhead.add_argument("--interval", type=_positive(float, "--interval"), default=0.1,
                          help="sampling interval in seconds (default: %(default)s)")

    interpreters = sub.add_parser(
        "interpreters",
        help="list the interpreters found (PATH, pyenv, uv) and whether each can run cells",
        description="List every interpreter gilbench can find, with its build, GIL state, default start "
        "method and subinterpreter support; describe the --python ones and, with --prepare, make their "
        "cached environments (pyperf, psutil) and say where they are or why not.",
    )
    interpreters.add_argument("--python", action="append", metavar="SPEC",
                              help="an interpreter to describe: a path, a version (3.12, 3.14t) or a command, "
                              "optionally with settings (3.14t:PYTHON_GIL=0); repeatable")
    interpreters.add_argument("--prepare", action="store_true",
                              help="make the --python interpreters' environments where they are missing")
    return parser


def _workload_options(parser: argparse.ArgumentParser, where: str) -> None:
    """--workload and the options declaring a user's workloads: `run` and `ab` take the same."""
    parser.add_argument("--workload", action="append", metavar="NAME[,NAME]",
                        help="workloads to run: registered names or your functions as package.module:function, "
                        f"imported from {where} (default: the config's, else the profile's; all: "
                        f"{', '.join(workloads.all_workloads(installed=False))} and the installed entry points)")
    parser.add_argument("--workload-module", action="append", metavar="MODULE_OR_FILE",
                        help="import your own workloads from a module name or a .py file (repeatable); "
                        "select them with --workload, or run them all when --workload is not given")
    parser.add_argument("--kind", choices=workloads.KINDS,
                        help="the kind of the package.module:function workloads named (else their @workload's or "
                        "their config table's)")
    parser.add_argument("--size-param", metavar="NAME",
                        help="the parameter of those functions the profiles scale to size a task (default: their "
                        "declared one, or their only numeric parameter)")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="a parameter value for those functions, over their defaults (repeatable)")


def _config_options(parser: argparse.ArgumentParser, keys: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", type=Path, metavar="PATH",
                       help=f"the config file (a pyproject.toml's [tool.gilbench] or a gilbench.toml) for {keys} "
                       "(default: the nearest from the current directory up to the git root)")
    group.add_argument("--no-config", action="store_true", help="ignore any config file")


def _comparison_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", action="append", metavar="METRIC:T%[,tol=M%]",
                        help="a regression threshold, repeatable: METRIC is time, cpu, speedup, parallelism, "
                        "memory or instructions (per task, counted by ab under Valgrind or hardware counters); e.g. --fail-on time:10%% --fail-on speedup:10%% (default: the config's fail_on, else "
                        "time:10%%; a workload's own fail_on in its [tool.gilbench.workload.NAME] table wins for its "
                        "cells). A row fails when its change is shown to be larger than the tolerance M (default "
                        "T/2; time:5%%,tol=1%% sets it) and passes when it is shown to be smaller than T: a change "
                        "of M or less fails at most 1%% of gates, a change of T or more at least 95%% in every cell "
                        "that resolves it (each row says what it resolves). Time rows twice: each process's fastest "
                        "batch and its mean batch. After ab, paired by round: exact one-sided signed-rank test and "
                        "Hodges-Lehmann bounds, looked at at 40/70/100%% of the rounds; separate runs: Welch t, "
                        "time and cpu bounds widened to the run-to-run prediction bound of earlier runs of the same "
                        "plan and code beside them. A crashed candidate cell fails. The canary is shown, never used "
                        "to excuse (rule: bench/judge/compare.py)")
    parser.add_argument("--fail-on-inconclusive", action="store_true",
                        help="exit 1 also when a row is inconclusive (too noisy to detect its threshold)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the side-by-side HTML page here")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown summary here (CI job summary)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON here")
    parser.add_argument("--allow-other-machine", action="store_true",
                        help="compare runs from different machines instead of calling them not comparable")
    parser.add_argument("--allow-other-python", action="store_true",
                        help="compare runs from different interpreters instead of calling them not comparable")


def _experiment_names() -> list[str]:
    from ..experiments import all_experiments

    return list(all_experiments())


def _request(kind: type[RunRequest] | type[AbRequest] | type[CompareRequest], args: argparse.Namespace):  # noqa: ANN202
    """The request of ``kind`` from ``args`` and the config; UsageError naming the first problem."""
    try:
        return kind.from_args(args)
    except ValueError as exc:  # ConfigError, an option's bad value, options that exclude each other
        raise UsageError(str(exc)) from None


def dispatch(args: argparse.Namespace) -> int:
    """The command's request from ``args``, carried out; UsageError for what cannot be asked."""
    if args.command == "run":
        return commands.run(_request(RunRequest, args))
    if args.command == "ab":
        return commands.ab(_request(AbRequest, args))
    if args.command == "compare":
        return commands.compare(_request(CompareRequest, args))
    if args.command == "list":
        return commands.list_all()
    if args.command == "report":
        return commands.report(args.run)
    if args.command == "merge":
        return commands.merge(args.runs, args.output)
    if args.command == "interpreters":
        return commands.interpreters(args.python or [], args.prepare)
    if args.command == "overhead":
        return commands.overhead(args.workload, args.backend, args.rounds, args.interval, args.workers)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return dispatch(args)
    except UsageError as exc:  # found before anything ran: shown with the usage, exit 2
        parser.error(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())

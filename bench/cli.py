"""The ``gilbench`` command: argument parsing and exit codes only.

Exit codes: 0 success; 1 cells failed or timed out (the run and its report are still written);
2 a usage error or unreadable input (nothing is run, nothing half-written); 128+N stopped by signal N
(130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from contextlib import ExitStack

    from .compare import Thresholds

from .. import workloads
from . import __version__
from . import specs
from .backends import all_backends
from .matrix import PROFILES, Plan, Timing, expand, parse_int_list
from .results import RunFolder, RunFolderError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _names(values: list[str] | None) -> list[str]:
    """--workload a,b --workload c -> [a, b, c]"""
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


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
        + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values())
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
    _comparison_options(ab)
    _config_options(ab, "the matrix and fail_on (see README: Your own project)")

    sub.add_parser("list", help="list workloads, backends and profiles")

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

    overhead = sub.add_parser("overhead", help="measure the sampler's overhead: one cell with and without it, interleaved")
    overhead.add_argument("--rounds", type=_positive(int, "--rounds"), default=6, help="pairs of runs (default: %(default)s)")
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
    parser.add_argument("--fail-on", action="append", metavar="METRIC:PCT%",
                        help="a regression threshold, repeatable: METRIC is time, speedup or parallelism; e.g. "
                        "--fail-on time:10%% --fail-on speedup:10%% (default: the config's fail_on, else time:10%%; "
                        "a workload's own fail_on in its [tool.gilbench.workload.NAME] table wins for its cells). "
                        "Time rows twice: each process's fastest batch and its mean batch. The rows share alpha "
                        "0.01 (two equal runs fail at most 1%% of the time). After ab, paired by round: exact "
                        "one-sided signed-rank test and Hodges-Lehmann bounds, looked at at 40/70/100%% of the "
                        "rounds; separate runs: Welch t, and time judged only beyond the run-to-run floor measured "
                        "on earlier runs beside them. A row fails when its lower bound is above 0 (the floor) and "
                        "its upper bound reaches PCT/2, or its cell failed in the candidate. The canary is shown, "
                        "never used to excuse (rule: bench/compare.py)")
    parser.add_argument("--fail-on-inconclusive", action="store_true",
                        help="exit 1 also when a row is inconclusive (too noisy to detect its threshold)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the side-by-side HTML page here")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown summary here (CI job summary)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON here")
    parser.add_argument("--allow-other-machine", action="store_true",
                        help="compare runs from different machines instead of calling them not comparable")
    parser.add_argument("--allow-other-python", action="store_true",
                        help="compare runs from different interpreters instead of calling them not comparable")


def _write_comparison(args: argparse.Namespace, base: Path, cand: Path, thresholds: list,
                      allow_other_python: bool = False) -> int:
    """Compare, print the table, write the files asked for; the exit status."""
    from .compare import RunSide, compare
    from .results import write_text_atomic
    from ..reports import comparison as show

    try:
        result = compare(RunSide.load(str(base)), RunSide.load(str(cand)), thresholds,
                         allow_other_machine=args.allow_other_machine,
                         allow_other_python=args.allow_other_python or allow_other_python)
    except RunFolderError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(show.text(result), end="")
    for path, render in ((args.html, show.html), (args.markdown, show.markdown),
                         (args.json, lambda c: json.dumps(c.to_dict(), indent=1, default=str, allow_nan=False))):
        if path:
            try:
                write_text_atomic(path, render(result))
            except OSError as exc:
                print(f"gilbench: error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
                return EXIT_USAGE
            print(f"gilbench: wrote {path}", file=sys.stderr)
    if result.regressions or (args.fail_on_inconclusive and result.inconclusive):
        return EXIT_FAILED
    return EXIT_OK


def _thresholds(args: argparse.Namespace) -> "Thresholds":
    """--fail-on (else the config's, else time:10%), and each workload's own fail_on from the config."""
    from .compare import Thresholds, parse_threshold

    declared = getattr(args, "declared", None) or {}
    own: dict[str, tuple] = {}
    for spec, texts in (getattr(args, "workload_fail_on", None) or {}).items():
        parsed = tuple(parse_threshold(t) for t in texts)
        own[spec] = parsed
        name = getattr(declared.get(spec), "name", "")
        if name:
            own[name] = parsed
    return Thresholds(tuple(parse_threshold(t) for t in (args.fail_on or ["time:10%"])), own)


def cmd_compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .config import configure
    from .results import resolve_run

    try:
        configure(args, only=("fail_on", "workload_fail_on", "declared"))
        thresholds = _thresholds(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        base, cand = resolve_run(args.base), resolve_run(args.cand)
    except RunFolderError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _write_comparison(args, base, cand, thresholds)


def _ab_sides(args: argparse.Namespace, stack: "ExitStack") -> tuple[Plan, list, Path | None]:
    """The plan and both sides, from the options or from an interrupted ab's ab.json."""
    from .ab import check_alike, open_side, resume_sides

    if args.resume:
        given = [f"--{o.replace('_', '-')}" for o in AB_MATRIX_OPTIONS if getattr(args, o) not in (None, [])]
        if args.base or args.cand or given:
            raise ValueError(f"--resume takes the sides and the plan from its ab.json; drop "
                             f"{', '.join(given + [x for x in (args.base, args.cand) if x])}")
        plan, sides = resume_sides(args.resume, stack)
        return plan, sides, args.resume
    if not args.base or not args.cand:
        raise ValueError("give BASE and CAND (a directory or a git ref each), or --resume AB_FOLDER")
    for dest in AB_FIXED:  # `run`'s options that `ab` takes from the config only, or not at all
        vars(args).setdefault(dest, None)
    args.processes = args.rounds or args.processes  # rounds: pyperf processes per side and cell
    plan = _plan(args)
    _check_writable(args.output)
    sides = [open_side("base", args.base, args.base_python, args.base_scale, stack),
             open_side("cand", args.cand, args.cand_python, args.cand_scale, stack)]
    check_alike(sides)
    return plan, sides, None


def cmd_ab(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from contextlib import ExitStack

    from .compare import Thresholds

    from .ab import SideError, gate_design, run_ab
    from .compare import Refused
    from .config import configure, explain
    from .runner import Interrupted

    with ExitStack() as stack:  # worktrees and sandboxes are removed however this ends
        try:
            # a resumed ab keeps its plan: only the thresholds come from the config
            config = configure(args, only=("fail_on", "workload_fail_on") if args.resume else AB_CONFIG,
                               defaults=AB_DEFAULTS)
            thresholds = _thresholds(args)
            plan, sides, resume = _ab_sides(args, stack)
        except (ValueError, SideError, RunFolderError) as exc:
            parser.error(str(exc))
        try:
            if not resume:
                gate_design(plan, thresholds)  # refused before anything runs when its rounds cannot decide
        except Refused as exc:
            print(f"gilbench: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if config:
            print(explain(config, "ab", ("interpreters", "name"),
                          "each side runs on its --base-python or --cand-python, into <date>-<host>"), file=sys.stderr)
        try:
            folders = run_ab(plan, sides, args.output, args.timeout, args.seed, resume=resume, thresholds=thresholds,
                             all_rounds=args.all_rounds)
        except (SideError, RunFolderError) as exc:
            print(f"gilbench: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("gilbench: interrupted", file=sys.stderr)
            return 130
        except Interrupted as stop:
            print(f"gilbench: interrupted ({stop})", file=sys.stderr)
            return stop.exit_status
        pythons = {s.python for s in sides}
    from ..reports import build

    for folder in folders.values():
        build(folder.path)
        print(f"gilbench: wrote {folder.path / 'report.html'}", file=sys.stderr)
    root = folders["base"].path.parent  # the comparison lives beside both run folders, and where asked
    args.html, args.markdown, args.json = (args.html or root / "compare.html", args.markdown or root / "compare.md",
                                           args.json or root / "compare.json")
    # two interpreters are what --base-python / --cand-python ask to compare
    return _write_comparison(args, folders["base"].path, folders["cand"].path, thresholds,
                             allow_other_python=len(pythons) > 1)


def _check_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise ValueError(f"--output {root}: cannot write there ({exc.strerror or exc})") from None


MATRIX_OPTIONS = ("workload", "workload_module", "kind", "size_param", "param", "name", "backend", "workers",
                  "cores", "tasks", "start_method",
                  "processes", "values", "warmups", "python", "placement")
#: the options of `ab` that its --resume refuses (the plan and sides are its ab.json's)
AB_MATRIX_OPTIONS = ("workload", "workload_module", "kind", "size_param", "param", "backend", "workers", "cores",
                     "tasks", "base_python", "cand_python", "rounds")
#: what `ab` uses for an option neither the command line nor the config file sets
AB_DEFAULTS = {"profile": "gate", "scale": 1.0, "output": Path("results")}
#: the config keys (as options) `ab` reads: the matrix, not the interpreters (each side has its own) or a
#: run folder's name
AB_CONFIG = ("profile", "workload", "declared", "workload_module", "backend", "workers", "cores", "tasks", "scale",
             "processes", "values", "timeout", "output", "fail_on", "workload_fail_on")
#: `run`'s options that `ab` has not: the config's processes and values, or the profile's (the interpreters are
#: --base-python and --cand-python)
AB_FIXED = ("processes", "values", "warmups", "start_method", "python")


def _matrix_choices(args: argparse.Namespace) -> dict:
    """The matrix options `run` and `ab` share, parsed for ``expand``."""
    return {
        "workload_names": _names(args.workload),
        "backend_names": _names(args.backend),
        "workers": parse_int_list(args.workers, "--workers") if args.workers else (),
        "cores": parse_int_list(args.cores, "--cores") if args.cores else (),
    }


def _plan(args: argparse.Namespace) -> Plan:
    """The plan from the profile and the options; ValueError naming the problem."""
    profile = PROFILES[args.profile]
    extra = [w.name for spec in args.workload_module or [] for w in workloads.load_module(spec)]
    timing = Timing(
        processes=args.processes or profile.timing.processes,
        values=args.values or profile.timing.values,
        warmups=profile.timing.warmups if args.warmups is None else args.warmups,
    )
    if timing.warmups < 0:
        raise ValueError(f"--warmups must be 0 or more, not {timing.warmups}")
    choices = _matrix_choices(args)
    given = specs.declaration(args.kind, args.size_param, args.param)
    choices["workload_names"] = specs.resolve(choices["workload_names"], given, args.declared) or extra
    if args.python:
        from .interpreters import find

        choices["interpreters"] = [find(spec) for spec in args.python]  # InterpreterError is a ValueError
    return expand(
        profile,
        **choices,
        tasks=args.tasks,
        scale=args.scale,
        start_method=args.start_method,
        timing=timing,
        placement=_placement(args),
    )


def _placement(args: argparse.Namespace) -> str | None:
    """--placement, or --logical-cpus (its synonym for logical); None: the profile's."""
    given = getattr(args, "placement", None)
    if getattr(args, "logical_cpus", False):
        if given and given.strip() != "logical":
            raise ValueError(f"--logical-cpus is --placement logical; drop one of it and --placement {given}")
        return "logical"
    return given


def _resumable(path: Path, args: argparse.Namespace) -> tuple[RunFolder, Plan]:
    from .runner import plan_of, register_workloads

    given = [f"--{o.replace('_', '-')}" for o in MATRIX_OPTIONS if getattr(args, o) not in (None, [])]
    if given:
        raise ValueError(f"--resume takes the plan from the run folder; drop {', '.join(given)}")
    folder = RunFolder(path)
    return folder, register_workloads(plan_of(folder.read_manifest()))


#: what `run` uses for an option neither the command line nor the config file sets
RUN_DEFAULTS = {"profile": "default", "scale": 1.0, "output": Path("results")}


def _experiment_names() -> list[str]:
    from ..experiments import all_experiments

    return list(all_experiments())


def _experiments(args: argparse.Namespace) -> tuple[str, ...] | None:
    """--experiment / --no-experiments: the experiments to run (None: the profile's; (): none)."""
    names = _names(args.experiment)
    if args.no_experiments:
        if names:
            raise ValueError("--no-experiments and --experiment exclude each other")
        return ()
    if not names:
        return None
    from ..experiments import get

    return tuple(get(name).name for name in names)  # ValueError naming the accepted ones


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .config import configure, explain
    from .results import clear_run_folder
    from .runner import ResultsUnwritable, RunOptions, run

    resume = config = None
    try:
        experiments = _experiments(args)
        if not args.resume:  # a resumed run keeps its own plan, not the config's
            config = configure(args, defaults=RUN_DEFAULTS)
        if args.force and not args.name:  # the name: --name's, or the config's
            raise ValueError("--force replaces the run folder named with --name; give --name too")
        if args.resume:
            resume, plan = _resumable(args.resume, args)
        else:
            plan = _plan(args)
            _check_writable(args.output)
            if args.name:
                clear_run_folder(args.output, args.name, args.force)
    except (ValueError, RunFolderError) as exc:
        parser.error(str(exc))
    if config:
        print(explain(config), file=sys.stderr)
    options = RunOptions(
        output_root=args.output or RUN_DEFAULTS["output"],
        timeout=args.timeout,
        sample_interval=args.sample_interval,
        sampler=not args.no_sampler,
        run_name=args.name,
        config=str(config.path) if config else None,
        experiments=experiments,
    )
    try:
        outcome = run(plan, options, resume=resume)
    except (ResultsUnwritable, RunFolderError) as exc:  # RunFolderError: the --name taken meanwhile
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before the first cell started: nothing to keep
        print("gilbench: interrupted before any cell ran", file=sys.stderr)
        return 130
    report = outcome.folder.path / "report.html"
    if not args.no_report and not outcome.unwritable:
        from ..reports import build

        try:
            for path in build(outcome.folder.path):
                print(f"gilbench: wrote {path}", file=sys.stderr)
        except OSError as exc:
            outcome.unwritable = f"cannot write the report to {outcome.folder.path}: {exc.strerror or exc}"
    summary = ", ".join(f"{n} {status}" for status, n in sorted(outcome.statuses.items()))
    if outcome.noisy:
        summary += f" ({outcome.noisy} noisy: other processes used their CPUs)"
    if outcome.unwritable:
        print(f"gilbench: error: {outcome.unwritable}; the cells finished before stay readable ({summary})",
              file=sys.stderr)
        return EXIT_FAILED
    if outcome.interrupted:
        print(f"gilbench: interrupted ({outcome.interrupted}): {summary}; finished cells are saved, "
              f"`gilbench run --resume {outcome.folder.path}` runs the rest", file=sys.stderr)
    else:
        print(f"gilbench: {len(plan.cells)} cells: {summary}", file=sys.stderr)
    print(outcome.folder.path if args.no_report else report)
    if outcome.interrupted:
        return outcome.interrupted.exit_status
    return EXIT_FAILED if outcome.failed else EXIT_OK


def cmd_list() -> int:
    try:
        found = workloads.all_workloads()  # entry points included: a broken one is named here
    except ValueError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("workloads:")
    for w in found.values():
        params = ", ".join(f"{k}={v}" for k, v in w.params.items())
        print(f"  {w.name:<14} {w.kind:<10} {params:<16} {w.description}")
    print("backends:")
    for b in all_backends().values():
        print(f"  {b.name:<14} {b.description}")
    print("profiles:")
    for p in PROFILES.values():
        t = p.timing
        print(f"  {p.name:<14} {p.description} [pyperf: {t.processes} processes x ({t.warmups} warmup + {t.values} values)]")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .results import resolve_run
    from ..reports import build

    try:
        paths = build(resolve_run(args.run))
    except RunFolderError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from ..reports.merge import MergeError, merge

    try:
        path = merge(args.runs, args.output)
    except (MergeError, RunFolderError) as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(path)
    return EXIT_OK


def cmd_interpreters(args: argparse.Namespace) -> int:
    from . import interpreters as interp

    def row(label: str, i: "interp.Interpreter", path: str) -> str:
        gil = "on" if i.gil_enabled else "off"
        sub_ = "yes" if i.subinterpreters else "no"
        return (f"  {label:<10} {i.version:<10} {i.build:<15} {gil:<4} {i.default_start_method or '-':<11} "
                f"{sub_:<16} {path}")

    described = []
    for spec in args.python or []:  # resolve first: an unknown spec is a usage error, nothing printed
        try:
            described.append(interp.find(spec))
        except interp.InterpreterError as exc:
            print(f"gilbench: error: --python {spec}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(f"  {'LABEL':<10} {'VERSION':<10} {'BUILD':<15} {'GIL':<4} {'START':<11} {'SUBINTERPRETERS':<16} PATH")
    try:
        this = interp.current()
        print(row("(this one)", this, this.executable))
    except interp.InterpreterError as exc:
        print(f"  (this one) cannot describe itself: {exc}")
    for i in interp.available():
        old = "  (too old: gilbench needs 3.10+)" if i.version_info[:2] < interp.MINIMUM else ""
        print(row(i.name if i.label == i.name else "-", i, i.executable + old))
    print("  (--python takes a LABEL, a path or a command, optionally with settings: 3.14t:PYTHON_GIL=0)")
    for i in described:
        print(f"\n--python {i.label or '(this one)'}: {i.implementation} {i.version}, {i.build} build, "
              f"GIL {'enabled' if i.gil_enabled else 'disabled'}"
              + (f" with {', '.join(f'{k}={v}' for k, v in i.settings.items())}" if i.settings else ""))
        print(f"  path:            {i.executable}")
        methods = ", ".join(i.start_methods) or "none"
        print(f"  start methods:   {methods} (default {i.default_start_method or '-'})")
        print(f"  subinterpreters: {'yes (concurrent.interpreters)' if i.subinterpreters else 'no'}")
        print(f"  key:             {i.key}")
        prepared = interp.prepare(i, create=args.prepare)
        if prepared.ok:
            where = f"{prepared.environment} ({prepared.python})" if prepared.environment else \
                f"the interpreter itself ({prepared.python} has pyperf and psutil)"
            print(f"  environment:     prepared: {where}")
        else:
            print(f"  environment:     not prepared: {prepared.reason}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return cmd_run(args, parser)
    if args.command == "list":
        return cmd_list()
    if args.command == "report":
        return cmd_report(args)
    if args.command == "merge":
        return cmd_merge(args)
    if args.command == "compare":
        return cmd_compare(args, parser)
    if args.command == "ab":
        return cmd_ab(args, parser)
    if args.command == "interpreters":
        return cmd_interpreters(args)
    if args.command == "overhead":
        from .overhead import measure

        try:
            return measure(args.workload, args.backend, args.rounds, args.interval)
        except ValueError as exc:
            parser.error(str(exc))
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())

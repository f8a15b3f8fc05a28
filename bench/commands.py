"""What each ``gilbench`` command does with its request, and what it says: the exit status.

Why apart from ``cli``: the command line only parses and dispatches; a command is carried out from a typed
request (``bench.plan.request``), so that it reads no option by name and a test can call it without argparse.
A problem with what was asked, found before anything runs, is a ``UsageError`` (the command line shows it
with its usage, exit 2); what goes wrong later is said on one line and in the exit status.

Exit codes: 0 success; 1 cells failed or timed out, or a regression (the run and its report are still
written); 2 a usage error or unreadable input (nothing is run, nothing half-written); 128+N stopped by
signal N (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .. import workloads
from .backends import all_backends
from .plan.budget import parse_fake_machine
from .plan.matrix import PROFILES
from .plan.request import AbRequest, CompareRequest, ComparisonRequest, RunRequest
from .data.results import RunFolderError

if TYPE_CHECKING:
    from .measure.lifecycle import Outcome
    from .plan.matrix import Plan

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """What was asked cannot be done, found before anything ran; the command line shows it with its usage."""


def _error(message: str) -> None:
    print(f"gilbench: error: {message}", file=sys.stderr)


# --- run ----------------------------------------------------------------------------------------

def run(request: RunRequest) -> int:
    """`gilbench run`: the plan into a run folder, then its report."""
    from .plan.config import explain
    from .plan.plans import check_writable, plan_for, resumable
    from .data.results import clear_run_folder
    from .measure.lifecycle import ResultsUnwritable
    from .measure.run import RunOptions, run as run_plan

    resume, task_s = None, None
    try:
        if request.resume:
            resume, plan = resumable(request.resume)
        else:
            assert request.matrix is not None
            cpus, topology = parse_fake_machine(request.fake_cpus) if request.fake_cpus else (None, None)
            plan = plan_for(request.matrix, cpus, topology)
            if not request.dry_run:
                check_writable(request.output)
                if request.name:
                    clear_run_folder(request.output, request.name, request.force)
    except (ValueError, RunFolderError) as exc:
        raise UsageError(str(exc)) from None
    config = request.config
    if config:
        print(explain(config), file=sys.stderr)
    if not request.resume:
        assert request.matrix is not None
        plan, task_s = _fitted(plan, request, len(cpus) if cpus else None)
        if request.dry_run:
            return EXIT_OK
    experiments = request.experiments
    if resume is not None and experiments is None:  # neither --experiment nor --no-experiments: the run's own
        experiments = resume.load_manifest().experiments_asked
    options = RunOptions(
        output_root=request.output,
        timeout=request.timeout,
        sample_interval=request.sample_interval,
        sampler=request.sampler,
        run_name=request.name,
        config=str(config.path) if config else None,
        experiments=experiments,
        report=request.report,
    )
    try:
        outcome = run_plan(plan, options, resume=resume, task_s=task_s)
    except (ResultsUnwritable, RunFolderError) as exc:  # RunFolderError: the --name taken meanwhile
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:  # before the first cell started: nothing to keep
        print("gilbench: interrupted before any cell ran", file=sys.stderr)
        return 130
    report = outcome.folder.path / "report.html"
    if request.report and not outcome.unwritable:
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
        _error(f"{outcome.unwritable}; the cells finished before stay readable ({summary})")
        return EXIT_FAILED
    if outcome.interrupted:
        print(f"gilbench: interrupted ({outcome.interrupted}): {summary}; finished cells are saved, "
              f"`gilbench run --resume {outcome.folder.path}` runs the rest", file=sys.stderr)
    else:
        print(f"gilbench: {len(plan.cells)} cells: {summary}", file=sys.stderr)
    print(outcome.folder.path if not request.report else report)
    if outcome.interrupted:
        return outcome.interrupted.exit_status
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _fitted(full: "Plan", request: RunRequest, fake_cpus: int | None) -> tuple["Plan", dict[str, float]]:
    """The plan fitted to the machine and the budget (bench.plan.budget), said before the start with its estimate
    and what was thinned (with --dry-run, every cell too, on stdout); and the task times the probe found, for
    the runner's estimates."""
    from .plan.budget import describe, experiments_seconds, fit, grid_lines
    from .measure.probe import probe_costs
    from .plan.matrix import available_cpus
    from .plan.plans import thinning_for

    from .data.precision import BLOCK, CAP, CONFIDENCE, RESAMPLES
    from .data.records import PrecisionTarget

    assert request.matrix is not None
    level, budget = thinning_for(request.matrix, request.budget, request.full_grid)
    target = request.precision_for(full.profile)
    if target is not None:  # the estimate counts the extra processes a cell is expected to take (bench.plan.budget)
        full = replace(full, precision=PrecisionTarget(target, full.timing.processes, BLOCK, CAP, CONFIDENCE, RESAMPLES,
                                                       budget))
    cpus = fake_cpus or len(available_cpus())
    costs = probe_costs(full, sys.executable, experiments_seconds(full.profile, cpus, list(full.interpreters),
                                                                  request.experiments), request.report)
    fitted = fit(full, costs, budget, level)
    machine = (f"a fake machine of {cpus} CPUs, its tasks timed here" if fake_cpus
               else f"this machine ({cpus} CPU{'s' if cpus > 1 else ''})")
    out = sys.stdout if request.dry_run else sys.stderr
    for line in describe(fitted, len(full.cells), machine) + [f"gilbench:   {g}" for g in grid_lines(fitted.plan)]:
        print(line, file=out)
    if request.dry_run:
        for cell in fitted.plan.cells:
            reason = fitted.plan.skipped.get(cell.id)
            print(f"{cell.id}{f'  (skipped: {reason})' if reason else ''}")
        print("gilbench: dry run: nothing was run or written", file=sys.stderr)
    plan = fitted.plan
    if plan.precision is not None:  # the first block as fitted (a budget may have cut it)
        plan = replace(plan, precision=replace(plan.precision, first=plan.timing.processes))
    return replace(plan, thinning=fitted.record()), dict(costs.task_s)


# --- compare and ab -----------------------------------------------------------------------------

def write_comparison(request: ComparisonRequest, base: Path, cand: Path, allow_other_python: bool = False) -> int:
    """Compare, print the table, write the files asked for (each through its output, reports.outputs);
    the exit status."""
    from ..reports.outputs import get_output
    from .judge.compare import compare as judge
    from .judge.sides import RunSide
    from .data.results import write_text_atomic

    try:
        result = judge(RunSide.load(str(base)), RunSide.load(str(cand)), request.thresholds,
                       allow_other_machine=request.allow_other_machine,
                       allow_other_python=request.allow_other_python or allow_other_python)
    except RunFolderError as exc:
        _error(str(exc))
        return EXIT_USAGE
    print(get_output("compare-text")().render(result), end="")
    for path, name in request.files():
        if path:
            try:
                write_text_atomic(path, get_output(name)().render(result))
            except OSError as exc:
                _error(f"cannot write {path}: {exc.strerror or exc}")
                return EXIT_USAGE
            print(f"gilbench: wrote {path}", file=sys.stderr)
    if result.regressions or (request.fail_on_inconclusive and result.inconclusive):
        return EXIT_FAILED
    return EXIT_OK


def compare(request: CompareRequest) -> int:
    """`gilbench compare`: two run folders (or results folders: their latest runs), judged."""
    from .data.results import resolve_run

    try:
        base, cand = resolve_run(request.base), resolve_run(request.cand)
    except RunFolderError as exc:
        _error(str(exc))
        return EXIT_USAGE
    return write_comparison(request.comparison, base, cand)


def ab(request: AbRequest) -> int:
    """`gilbench ab`: both sides interleaved into their run folders, their reports, then the comparison beside
    them."""
    from dataclasses import replace

    from .measure.sides import SideError, check_checkouts_alike, open_side
    from .ab import gate_design, resume_sides, run_ab
    from .judge.refusals import Refused
    from .plan.config import explain
    from .measure.lifecycle import ResultsUnwritable, cannot_write
    from .plan.plans import check_writable, plan_for

    assert request.comparison is not None
    thresholds = request.comparison.thresholds
    if any(t.metric == "instructions" for t in thresholds.all):
        from .measure.counters import available

        counter = available()
        if counter.backend is None:  # refused, never a silent pass: the rows would have nothing to judge
            _error(f"--fail-on instructions: {counter.missing()}")
            return EXIT_USAGE
    with ExitStack() as stack:  # worktrees and sandboxes are removed however this ends
        try:
            if request.resume:
                plan, sides = resume_sides(request.resume, stack)
            else:
                assert request.matrix is not None
                plan = plan_for(request.matrix)
                check_writable(request.output)
                sides = [open_side(s.name, s.spec, s.python, s.scale, stack) for s in request.sides]
                check_checkouts_alike(sides)
        except (ValueError, SideError, RunFolderError) as exc:
            raise UsageError(str(exc)) from None
        try:
            if not request.resume:
                gate_design(plan, thresholds)  # refused before anything runs when its rounds cannot decide
        except Refused as exc:
            _error(str(exc))
            return EXIT_USAGE
        if request.config:
            print(explain(request.config, "ab", ("interpreters", "name"),
                          "each side runs on its --base-python or --cand-python, into <date>-<host>"), file=sys.stderr)
        try:
            outcome = run_ab(plan, sides, request.output, request.timeout, request.seed, resume=request.resume,
                             thresholds=thresholds, all_rounds=request.all_rounds)
        except (SideError, RunFolderError, ResultsUnwritable) as exc:
            _error(str(exc))
            return EXIT_USAGE
        except KeyboardInterrupt:  # before the first round started: nothing to keep
            print("gilbench: interrupted", file=sys.stderr)
            return 130
        pythons = {s.python for s in sides}
    if outcome.interrupted:
        stop = outcome.interrupted
        print(f"gilbench: interrupted{'' if stop.signum == signal.SIGINT else f' ({stop})'}", file=sys.stderr)
        return stop.exit_status
    if outcome.unwritable:
        return _ab_unwritable(outcome, outcome.unwritable)
    from ..reports import build

    try:
        for folder in outcome.folders.values() if request.report else ():
            build(folder.path)
            print(f"gilbench: wrote {folder.path / 'report.html'}", file=sys.stderr)
    except OSError as exc:
        return _ab_unwritable(outcome, cannot_write(outcome.root, exc))
    root = outcome.folders["base"].path.parent  # the comparison lives beside both run folders, and where asked
    files = replace(request.comparison, html=request.comparison.html or root / "compare.html",
                    markdown=request.comparison.markdown or root / "compare.md",
                    json=request.comparison.json or root / "compare.json")
    # two interpreters are what --base-python / --cand-python ask to compare
    return write_comparison(files, outcome.folders["base"].path, outcome.folders["cand"].path,
                            allow_other_python=len(pythons) > 1)


def _ab_unwritable(outcome: "Outcome", message: str) -> int:
    _error(f"{message}; the rounds finished before stay readable, `gilbench ab --resume {outcome.root}` runs the "
           "rest")
    return EXIT_FAILED


# --- the others ---------------------------------------------------------------------------------

def list_all() -> int:
    """`gilbench list`: workloads, backends, profiles and the instruction counter this machine has."""
    try:
        found = workloads.all_workloads()  # entry points included: a broken one is named here
    except ValueError as exc:
        _error(str(exc))
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
    from .measure.counters import available

    counter = available()
    print("instruction counters (--fail-on instructions:PCT% in ab):")
    print(f"  {counter.describe()}" + ("" if counter.backend else f"; to count: {counter.hint}"))
    return EXIT_OK


def report(run_path: Path) -> int:
    """`gilbench report`: a run folder's outputs rebuilt from its data."""
    from ..reports import build
    from .data.results import resolve_run

    try:
        paths = build(resolve_run(run_path))
    except RunFolderError as exc:
        _error(str(exc))
        return EXIT_USAGE
    for path in paths:
        print(path)
    return EXIT_OK


def merge(runs: Sequence[Path], output: Path) -> int:
    """`gilbench merge`: run folders of several machines on one page (its output, reports.outputs)."""
    from ..reports.merge import MergeError, merge as merge_runs

    try:
        path = merge_runs(runs, output)
    except (MergeError, RunFolderError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    print(path)
    return EXIT_OK


def overhead(workload: str, backend: str, rounds: int, interval: float, workers: str = "2,16") -> int:
    """`gilbench overhead`: the watchers' cost on one cell, and the runner's per process."""
    from .plan.matrix import parse_int_list
    from .measure.overhead import measure

    try:
        return measure(workload, backend, rounds, interval, parse_int_list(workers, "--workers"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def interpreters(specs: Sequence[str], prepare: bool) -> int:
    """`gilbench interpreters`: the interpreters found, and the ``specs`` described (and prepared)."""
    from .plan import interpreters as interp

    def row(label: str, i: "interp.Interpreter", path: str) -> str:
        gil = "on" if i.gil_enabled else "off"
        sub_ = "yes" if i.subinterpreters else "no"
        return (f"  {label:<10} {i.version:<10} {i.build:<15} {gil:<4} {i.default_start_method or '-':<11} "
                f"{sub_:<16} {path}")

    described = []
    for spec in specs:  # resolve first: an unknown spec is a usage error, nothing printed
        try:
            described.append(interp.find(spec))
        except interp.InterpreterError as exc:
            _error(f"--python {spec}: {exc}")
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
        prepared = interp.prepare(i, create=prepare)
        if prepared.ok:
            where = f"{prepared.environment} ({prepared.python})" if prepared.environment else \
                f"the interpreter itself ({prepared.python} has pyperf and psutil)"
            print(f"  environment:     prepared: {where}")
        else:
            print(f"  environment:     not prepared: {prepared.reason}")
    return EXIT_OK

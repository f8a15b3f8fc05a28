"""One pyperf worker process of ONE cell: ``python -m gilbench.bench.measure.cell --worker --cell JSON [pyperf options]``.

The runner starts this module directly as a pyperf worker (``--worker``), one process per unit of
analysis, with an environment it controls (its size is the layout pad). Run without ``--worker`` it
is an ordinary pyperf script (a manager re-running it as workers); everything a worker needs travels
in ``--cell`` (forwarded through ``add_cmdline_args``), and the module-level code is guarded so that
spawn/forkserver children importing it start nothing.

Each value is the wall time of one batch. Around it, outside the timed region, the worker reads its
own CPU time (``getrusage``) and adds what the batch's child processes reported of theirs: CPU
seconds / wall seconds is the batch's effective parallelism, whatever the start method. Before it
imports anything of the workload it times the canary (``bench.measure.canary``). It appends all of that, one JSON line per
process, to ``--accounting``; a worker whose batch failed appends the failure there and exits 1.
With them: per batch, the worker threads' own CPU and wall seconds (``Backend.thread_times``, read by
each thread at its start and end and handed back after the batch), and after the last batch the
process's exact peak RSS and its largest waited-for child's (``getrusage``). Its tree's memory over
time is polled by the runner, from outside (``bench.measure.memory``).

With ``--count BATCHES`` instead of ``--worker`` it is the process an instruction counter runs
(``bench.measure.counters``): the same cell set up the same way (workload, backend, ``prepare``, the GIL
check), then BATCHES batches, nothing timed, no canary, no pyperf.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from ... import __version__
from ..backends import TaskFailed

if TYPE_CHECKING:
    from ..data.cells import Cell

# Everything else is imported inside main(): spawn and forkserver children re-import this module as
# their __main__ (it runs as ``python -m gilbench.bench.measure.cell``), and what they import is start-up cost that a
# batch would pay per child. Measured on 3.14 (forkserver default): with pyperf, psutil and the
# harness imported at module level, starting one process cost ~50 ms against ~3 ms under fork.


def cell_metadata(cell: Cell, kind: str) -> dict[str, Any]:
    """gilbench's metadata for the pyperf benchmark: pyperf stats and compare_to show it."""
    from .machine import gil_enabled, python_build

    return {
        "gilbench_version": __version__,
        "gilbench_workload": cell.workload,
        "gilbench_kind": kind,
        "gilbench_backend": cell.backend,
        "gilbench_workers": cell.workers,
        "gilbench_cores": cell.cores,
        "gilbench_cpus": ",".join(map(str, cell.cpus)),
        "gilbench_tasks": cell.tasks,
        "gilbench_params": json.dumps(cell.params, sort_keys=True),
        "gilbench_scale": cell.scale,
        "gilbench_start_method": cell.start_method or "none",
        "gilbench_python_build": python_build(),
        "gilbench_gil": "enabled" if gil_enabled() else "disabled",
    }


def _cpu_seconds() -> float:
    """CPU seconds of this process, all its threads (its children report their own: Backend.children_cpu)."""
    try:
        import resource
    except ImportError:  # not POSIX: os.times
        t = os.times()
        return t.user + t.system
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _check_gil() -> None:
    """Fail the cell when the GIL is not in the state PYTHON_GIL asked for.

    On a free-threaded build, importing an extension that does not declare free-threading support
    turns the GIL back on with only a warning; measured as "free-threaded", such a cell would be wrong.
    """
    from .gil import mismatch

    wrong = mismatch()
    if wrong:
        raise TaskFailed("exited", -1, message=f"{wrong} (an extension module may have re-enabled it: see the "
                         "warning above)")


def _peak_rss() -> tuple[int, int]:
    """(this process's peak RSS, the largest peak RSS of a child it waited for), in bytes: exact, from the
    kernel's accounting (``ru_maxrss``: KiB on Linux, bytes on macOS); (0, 0) where there is none."""
    try:
        import resource
    except ImportError:
        return 0, 0
    unit = 1 if sys.platform == "darwin" else 1024
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_maxrss * unit, kids.ru_maxrss * unit


def _append_line(path: str, record: dict[str, Any]) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


def _forward(cmd: list[str], args: Any) -> None:
    cmd.extend(["--cell", args.cell, "--accounting", args.accounting])


def _set_up(cell_json: str) -> tuple["Cell", Any, Any, Any]:
    """The cell, its workload, its backend and the task a worker of it runs (``--worker`` and ``--count`` alike)."""
    from ... import workloads
    from ..backends import get_backend
    from ..data.cells import Cell

    cell = Cell.from_dict(json.loads(cell_json))
    if cell.module:
        workloads.load_module(cell.module)
    workload = workloads.get(cell.workload)
    backend = get_backend(cell.backend)(cell.start_method)
    return cell, workload, backend, backend.task_for(workload, cell.params)


def count(argv: list[str]) -> None:
    """``--count BATCHES --cell JSON``: BATCHES batches of the cell, untimed, for an instruction counter.

    Only the difference between two such processes is used (``bench.measure.counters``), so whatever both do
    (interpreter start, imports, ``prepare``, ``close``) cancels. The GIL's switch interval is set far
    above any batch: a counter that serializes threads (Valgrind) runs them ~50x slower, and every
    switch the interval forces costs instructions in proportion to wall time, not to work. For the
    same reason the models that poll for workers that died without a word (``processes``, ``mp-pool``,
    every 50 ms of wall time) poll once per ``POLL_COUNTING_S`` here: a counted worker that dies
    silently is ended by the count's time limit instead.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gilbench.bench.measure.cell --count")
    parser.add_argument("--count", type=int, required=True, metavar="BATCHES")
    parser.add_argument("--cell", required=True, help="the cell to run, as JSON (see bench.data.cells.Cell)")
    args = parser.parse_args(argv)
    cell, _, backend, task = _set_up(args.cell)
    sys.setswitchinterval(SWITCH_INTERVAL_COUNTING_S)
    if backend.uses_processes:  # the others need neither module (nor the multiprocessing it imports)
        from ..backends import mp_pool, processes

        processes.POLL_S = mp_pool.POLL_S = POLL_COUNTING_S
    try:
        backend.prepare(cell.workers, task)
        _check_gil()
        for _ in range(args.count):
            _check_results(backend.run_batch(task, cell.tasks, cell.workers), cell)
    except TaskFailed as failure:
        _fail(cell, failure, "failed while counted")
    finally:
        backend.close()


def _check_results(results: Any, cell: "Cell") -> None:
    """TaskFailed unless a batch returned one result per task (a worker that died silently returns fewer)."""
    if len(results) != cell.tasks:
        raise TaskFailed("exited", -1, message=f"{len(results)} results for {cell.tasks} tasks")


def _fail(cell: "Cell", failure: TaskFailed, what: str) -> NoReturn:
    """Say why the cell's process ends (and where its task raised), then end it with status 1."""
    print(f"gilbench: cell {cell.id} {what}: {failure}", file=sys.stderr)
    if failure.tb:
        print(failure.tb, file=sys.stderr)
    sys.exit(1)


#: the GIL's switch interval, and the models' poll for silently dead workers, while counted (``count``):
#: longer than any batch under a counter
SWITCH_INTERVAL_COUNTING_S = 1000.0
POLL_COUNTING_S = 3600.0


def main() -> None:
    if "--count" in sys.argv[1:2]:
        count(sys.argv[1:])
        return
    from . import canary

    # first of all, before the workload's modules (the user's code, or a side's workloads/) are imported
    # or prepared: code that slows the interpreter must not slow its own reference and excuse itself
    reference = canary.measure() if "--worker" in sys.argv else (float("nan"), float("nan"))

    import pyperf

    from .machine import gil_enabled

    runner = pyperf.Runner(add_cmdline_args=_forward, program_args=("-m", "gilbench.bench.measure.cell"))
    runner.argparser.add_argument("--cell", required=True, help="the cell to run, as JSON (see bench.data.cells.Cell)")
    runner.argparser.add_argument("--accounting", default="", help="file to append CPU accounting to")
    args = runner.parse_args()

    cell, workload, backend, task = _set_up(args.cell)
    runner.metadata.update(cell_metadata(cell, workload.kind))
    readings: list[list[float]] = []
    thread_readings: list[list[float] | None] = []  # per batch: the worker threads' CPU and wall seconds, summed

    def time_batches(loops: int) -> float:
        total = 0.0
        for _ in range(loops):
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            results = backend.run_batch(task, cell.tasks, cell.workers)
            t1 = time.perf_counter()
            cpu1 = _cpu_seconds()
            _check_results(results, cell)
            total += t1 - t0
            readings.append([t1 - t0, cpu1 - cpu0 + getattr(backend, "children_cpu", 0.0)])
            clocks = getattr(backend, "thread_times", None)
            thread_readings.append([sum(c for c, _ in clocks), sum(w for _, w in clocks)] if clocks else None)
        return total

    measured: dict[str, Any] = {}
    try:
        if args.worker:
            # outside every timed batch: what a program pays once (a warm pool, a forkserver), not per fan-out
            backend.prepare(cell.workers, task)
            _check_gil()
            wall, cpu = reference
            # the layout pad as this process received it (bench.measure.process sets it; its size moves the stack)
            measured = {"canary": wall, "canary_cpu": cpu, "pad": len(os.environ.get("GILBENCH_LAYOUT_PAD", "")),
                        "gil_enabled": gil_enabled()}
            runner.metadata["gilbench_canary_s"] = wall
        runner.bench_time_func(cell.id, time_batches)
    except TaskFailed as failure:
        _append_line(args.accounting, {"pid": os.getpid(), "failure": failure.as_dict()})
        _fail(cell, failure, "failed")
    finally:
        backend.close()
    if args.worker:
        peak_self, peak_child = _peak_rss()  # after the batches and the pool's end: exact peaks, read once
        _append_line(args.accounting, {"pid": os.getpid(), "warmups": args.warmups, "readings": readings,
                                       "thread_readings": thread_readings, "peak_rss_self": peak_self,
                                       "peak_rss_child": peak_child, **measured})


if __name__ == "__main__":
    main()

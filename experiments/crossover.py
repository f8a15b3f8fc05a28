"""The crossover point: from which task size on a process pool beats a thread pool for CPU-bound work.

Under the GIL a thread pool runs pure-Python work one task at a time, but hands a task over for a
few microseconds; a process pool runs tasks in parallel, but pickles each one through a pipe to a
worker process and its result back (tens of microseconds). With tiny tasks the hand-over dominates
and threads win; with large ones parallelism does and processes win. In between lies the task size
where the two pools take equally long: the crossover. Here a fixed amount of CPU-bound work is cut
into tasks of several sizes and run by a warm ``ThreadPoolExecutor`` and a warm
``ProcessPoolExecutor`` of as many workers as CPUs, the process pool with chunk size 1 and with
chunks large enough for about four per worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import time
from typing import TYPE_CHECKING, Any

from ._stats import log_crossing, median
from .base import Experiment
from ..bench.data.experiment import ExperimentResult

if TYPE_CHECKING:
    from ..reports.sections import Section

SIZES_US = [10, 100, 1_000, 10_000, 100_000]
#: the larger chunk size gives each worker about this many chunks of the batch
CHUNKS_PER_WORKER = 4
#: calibration: double the loop until one run takes this long, then take the best of a few runs
CALIBRATION_S = 0.05
CALIBRATION_REPEATS = 3


def burn(iterations: int) -> int:
    """One task: ``iterations`` rounds of pure-Python integer arithmetic (holds the GIL throughout)."""
    x = 0
    for i in range(iterations):
        x = (x * 31 + i) & 0xFFFF
    return x


def _nap(seconds: float) -> int:
    time.sleep(seconds)
    return 0


def calibrate(target_s: float = CALIBRATION_S, repeats: int = CALIBRATION_REPEATS) -> dict[str, float]:
    """How many ``burn`` iterations run in one microsecond here: the loop is doubled until it takes
    ``target_s``, then timed ``repeats`` times; the fastest run counts (the least disturbed)."""
    n = 1_000
    while True:
        t0 = time.perf_counter()
        burn(n)
        took = time.perf_counter() - t0
        if took >= target_s or n >= 1 << 34:
            break
        n *= 2
    times = [took]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        burn(n)
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {"iterations": n, "seconds": best, "repeats": repeats, "iterations_per_us": n / (best * 1e6)}


def warm(pool: cf.Executor, workers: int) -> None:
    """Start every worker and load the task's code in it, outside any timed region."""
    list(pool.map(_nap, [0.02] * (2 * workers)))
    list(pool.map(burn, [1_000] * (2 * workers)))


def timed_map(pool: cf.Executor, iterations: int, tasks: int, chunksize: int) -> float:
    """Wall seconds for ``pool`` to run ``tasks`` tasks of ``iterations`` and hand back every result."""
    items = [iterations] * tasks
    t0 = time.perf_counter()
    for _ in pool.map(burn, items, chunksize=chunksize):
        pass
    return time.perf_counter() - t0


def chunk_sizes(tasks: int, workers: int, per_worker: int = CHUNKS_PER_WORKER) -> list[int]:
    """1, and the chunk size that gives each worker about ``per_worker`` chunks (when that is above 1)."""
    larger = max(1, math.ceil(tasks / (per_worker * workers)))
    return [1] if larger == 1 else [1, larger]


class Crossover(Experiment):
    name = "crossover"
    title = "Crossover: the task size from which processes beat threads"
    order = 71
    summary = "a fixed amount of CPU-bound work cut into tasks of 10 us to 100 ms, a warm thread pool against a warm process pool"

    def parameters(self, profile: str, cpus: int) -> dict[str, Any]:
        base = {"work_s": 0.4, "sizes_us": list(SIZES_US), "workers": max(1, cpus), "reps": 3,
                "chunks_per_worker": CHUNKS_PER_WORKER}
        if profile == "gate":
            return {}
        if profile == "smoke":
            return {**base, "work_s": 0.04, "sizes_us": [100, 10_000], "reps": 1}
        if profile == "quick":
            return {**base, "work_s": 0.2, "reps": 3}
        if profile == "full":
            return {**base, "work_s": 1.0, "sizes_us": [10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000],
                    "reps": 5}
        return base

    def estimate(self, params: dict[str, Any]) -> float:
        work, n = float(params["work_s"]), int(params["workers"])
        total = 1.0 + CALIBRATION_S * (CALIBRATION_REPEATS + 1)  # pools started and warmed, calibration
        for size in params["sizes_us"]:
            tasks = max(1, round(work * 1e6 / size))
            threads = work + tasks * 20e-6  # measured on 2 cores: ~20 us a task handed over, ~80 us a chunk pickled
            per_chunk = [work / min(n, tasks) + tasks / c * 80e-6 for c in chunk_sizes(tasks, n)]
            total += int(params["reps"]) * (threads + sum(per_chunk))
        return total

    def measure(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        work, workers, reps = float(params["work_s"]), int(params["workers"]), int(params["reps"])
        sizes = sorted(float(s) for s in params["sizes_us"])
        per_worker = int(params.get("chunks_per_worker", CHUNKS_PER_WORKER))
        if work <= 0 or workers < 1 or reps < 1 or not sizes or sizes[0] <= 0 or per_worker < 1:
            raise ValueError(f"work_s, sizes_us, workers, reps and chunks_per_worker must be positive: {params}")
        calibration = calibrate()
        self.details["calibration"] = calibration
        per_us = calibration["iterations_per_us"]
        plan = []
        for size in sizes:
            tasks = max(1, round(work * 1e6 / size))
            iterations = max(1, round(size * per_us))
            plan.append(("threads", 1, size, tasks, iterations))  # ThreadPoolExecutor.map ignores chunksize
            plan.extend(("processes", c, size, tasks, iterations) for c in chunk_sizes(tasks, workers, per_worker))
        times: dict[int, list[float]] = {i: [] for i in range(len(plan))}
        # the process pool first: with the fork start method its workers are forked before any thread exists
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context()) as procs:
            warm(procs, workers)
            with cf.ThreadPoolExecutor(max_workers=workers) as threads:
                warm(threads, workers)
                pools = {"threads": threads, "processes": procs}
                for _ in range(reps):  # repetitions interleaved: a slow moment moves one value of each, not a row
                    for i, (pool, chunksize, _size, tasks, iterations) in enumerate(plan):
                        times[i].append(timed_map(pools[pool], iterations, tasks, chunksize))
        return [
            {"pool": pool, "chunksize": chunksize, "chunking": "single" if chunksize == 1 else "batched",
             "task_us": size, "iterations": iterations, "tasks": tasks, "workers": workers, "reps": reps,
             "seconds": median(times[i]), "min_seconds": min(times[i]), "values": times[i],
             "work_s": work}
            for i, (pool, chunksize, size, tasks, iterations) in enumerate(plan)
        ]

    # --- the report ------------------------------------------------------------------------------
    def section(self, results: list[ExperimentResult]) -> "Section":
        import pandas as pd

        from ..reports.sections import Section

        several = len(results) > 1
        verdicts = [v for r in results for v in verdict_sentences(r, several)]
        table = pd.DataFrame([
            {"interpreter": r.display, "pool": row["pool"], "chunk size": row["chunksize"], "task (us)": row["task_us"],
             "tasks": row["tasks"], "seconds (median)": row["seconds"], "repetitions": row["reps"],
             "threads' time / this": _ratio(_threads_time(r.rows, row["task_us"]), row["seconds"])}
            for r in results for row in r.rows])
        params = results[0].params
        calibrations = "; ".join(
            f"{r.display}: {r.details.get('calibration', {}).get('iterations_per_us', math.nan):.3g} iterations/us"
            for r in results)
        methods = sorted({str(r.context.get("start_method", "?")) for r in results})
        return Section(
            key=f"experiment-{self.name}", title=self.title, order=self.order, verdicts=verdicts,
            rule=("The crossover is the task size where the thread pool's time divided by the process pool's crosses "
                  "1, interpolated between the two neighbouring measured sizes on log scales (the log of the ratio "
                  "taken as linear in the log of the size); it is given per chunk size of the process pool. "
                  "ThreadPoolExecutor.map ignores its chunksize (every task is a work item of its own), so the thread "
                  "pool was timed once per task size and compared with each chunking."),
            method=(f"A fixed amount of pure-Python integer arithmetic, {params['work_s']:g} s on one core by the "
                    f"calibration done first in the measuring process ({calibrations}), cut into tasks of "
                    f"{', '.join(_us(s) for s in params['sizes_us'])}; a ThreadPoolExecutor and a ProcessPoolExecutor "
                    f"({', '.join(methods)} start method) of {params['workers']} workers each, made and warmed (every "
                    "worker started, the task's code loaded) before any timing; timed: executor.map over every task "
                    "and collecting every result; chunk size 1 and one giving each worker about "
                    f"{params.get('chunks_per_worker', CHUNKS_PER_WORKER)} chunks; "
                    + (f"the median of {params['reps']} repetitions, interleaved." if params["reps"] > 1 else
                       "one repetition.") + " Dotted lines: the work's time on one core and on every worker at once."),
            figure=crossover_figure(results), table=table,
        )


def _ratio(a: Any, b: Any) -> float:
    ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0
    return a / b if ok else math.nan


def _us(size: float) -> str:
    """10 -> "10 us", 10000 -> "10 ms"."""
    if size >= 1e6:
        return f"{size / 1e6:.3g} s"
    return f"{size / 1e3:.3g} ms" if size >= 1e3 else f"{size:.3g} us"


def _threads_time(rows: list[dict[str, Any]], size: float) -> float:
    return next((r["seconds"] for r in rows if r["pool"] == "threads" and r["task_us"] == size), math.nan)


def process_line(rows: list[dict[str, Any]], chunking: str) -> list[dict[str, Any]]:
    """The process pool's rows of one chunking ("single", "batched") by task size. Where the tasks
    were too few for more than one per chunk there is no "batched" row, and the single one stands for
    it: chunking could not change anything there."""
    line = []
    for size in sorted({r["task_us"] for r in rows}):
        procs = [r for r in rows if r["pool"] == "processes" and r["task_us"] == size]
        pick = next((r for r in procs if r["chunking"] == chunking), None) or next(
            (r for r in procs if r["chunking"] == "single"), None)
        if pick:
            line.append(pick)
    return line


def ratio_curves(rows: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Per chunking of the process pool: (task size, threads' time / processes' time), by size."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for chunking in ("single", "batched"):
        points = [(r["task_us"], _ratio(_threads_time(rows, r["task_us"]), r["seconds"]))
                  for r in process_line(rows, chunking)]
        points = [(x, y) for x, y in points if math.isfinite(y) and y > 0]
        if points:
            curves[chunking] = points
    return curves


def crossover(points: list[tuple[float, float]]) -> tuple[str, float]:
    """Where processes overtake threads on one curve of (task size, threads' time / processes' time):

    ("between", size) at the first crossing of 1 from below, interpolated on log scales;
    ("processes", smallest size) when processes win already at the smallest size;
    ("threads", largest size) when threads win at every size.
    """
    if points[0][1] >= 1.0:
        return "processes", points[0][0]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if y0 < 1.0 <= y1:
            return "between", log_crossing(x0, y0, x1, y1, 1.0)
    return "threads", points[-1][0]


def verdict_sentences(result: ExperimentResult, named: bool = False) -> list[str]:
    """The crossover in words, per chunking, with the times at the two ends of the range."""
    rows = result.rows
    curves = ratio_curves(rows)
    gil = result.gil_enabled
    work = rows[0].get("work_s", result.params.get("work_s", math.nan))
    names = {"single": "with chunk size 1", "batched": "with chunks of about "
             f"{result.params.get('chunks_per_worker', CHUNKS_PER_WORKER)} per worker"}
    said = []
    for chunking, points in curves.items():
        where, size = crossover(points)
        if where == "between":
            said.append(f"at tasks of about {_us(size)} {names[chunking]}")
        elif where == "processes":
            said.append(f"already at the smallest size, {_us(size)}, {names[chunking]}")
        else:
            said.append(f"at no size in range (threads win at every size up to {_us(size)}) {names[chunking]}")
    sentences = []
    if said:
        lead = f"On {result.display}, p" if named else "P"
        sentences.append(f"{lead}rocesses overtake threads " + "; ".join(said)
                         + f" (the same {work:g} s of CPU-bound work, {rows[0]['workers']} workers per pool).")
    sizes = sorted({r["task_us"] for r in rows})
    for size in (sizes[0], sizes[-1]) if len(sizes) > 1 else sizes[:1]:
        t = _threads_time(rows, size)
        procs = sorted((r for r in rows if r["pool"] == "processes" and r["task_us"] == size), key=lambda r: r["chunksize"])
        parts = ", ".join(f"{r['seconds']:.3g} s with chunk size {r['chunksize']}" for r in procs)
        sentences.append(f"With {_us(size)} tasks ({procs[0]['tasks'] if procs else '?'} of them) the thread pool "
                         f"took {t:.3g} s and the process pool {parts}.")
    if gil is False:
        sentences.append("The GIL was off (free-threaded): the thread pool ran its tasks in parallel too, so processes "
                         "only win where threads lose for another reason; a crossover need not exist.")
    elif gil:
        sentences.append("With the GIL on, the thread pool runs one task at a time whatever its size; the process "
                         "pool pays pickling and a pipe per task (per chunk when batched), which large tasks hide.")
    return sentences


def crossover_figure(results: list[ExperimentResult]) -> Any:
    """Seconds for the fixed work against task size (log-log), one line per pool and chunking, a
    vertical line at each crossover; one panel per interpreter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results) + 1.0, 3.6), squeeze=False)
    styles = {("threads", "single"): ("o-", "tab:blue", "thread pool (chunk size ignored)"),
              ("processes", "single"): ("s--", "tab:orange", "process pool, chunk size 1"),
              ("processes", "batched"): ("^--", "tab:red", "process pool, ~4 chunks per worker")}
    for ax, res in zip(axes[0], results):
        rows = res.rows
        for (pool, chunking), (style, color, label) in styles.items():
            if pool == "threads":
                line = sorted((r for r in rows if r["pool"] == pool), key=lambda r: r["task_us"])
            else:
                line = process_line(rows, chunking)
            if line:
                ax.plot([r["task_us"] for r in line], [r["seconds"] for r in line], style, color=color, label=label)
        for chunking, points in ratio_curves(rows).items():
            where, size = crossover(points)
            if where == "between":
                color = styles[("processes", chunking)][1]
                ax.axvline(size, color=color, ls=":", lw=1.2)
                ax.annotate(f"{_us(size)}", (size, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                            textcoords="offset points", fontsize=8, color=color)
        work, workers = rows[0]["work_s"], rows[0]["workers"]
        ax.axhline(work, color="0.5", ls=":", lw=0.8)
        ax.axhline(work / workers, color="0.7", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _us(v)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("task size (work per task)")
        ax.set_ylabel(f"seconds for {work:g} s of work")
        ax.set_title(f"{res.display}: {workers} workers per pool", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig

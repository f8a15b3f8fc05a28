"""The convoy effect: how long an I/O thread waits when CPU-bound work runs beside it.

A thread blocked on a socket gives up the GIL; when its data arrives it must take the GIL back from
a CPU-bound thread, which is asked to let go only after the switch interval (``sys.setswitchinterval``,
5 ms by default). Every blocking call then costs up to one interval, however fast the I/O was: the
convoy effect (David Beazley, "Understanding the Python GIL", 2010). Here one thread measures loopback
TCP round trips to an echo server (a separate process) while k CPU-bound workers spin beside it, as
threads of the same process or as processes, under several switch intervals.

On a fast loopback (~10 us) the convoy often hides from the median: the measuring thread takes the
GIL straight back after a socket call, before the woken CPU-bound thread gets to it, and only when a
CPU-bound thread does win does the next round trip wait a whole interval. Measured here on 2 cores,
the same configuration gave either (p50 5 ms, every round trip waiting) or (p50 10 us, p99 5-30 ms)
from one run to the next. So every round trip of a fixed time window is timed, spanning many
intervals, and the rows keep the round trips per second next to p50, p99 and the max.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Iterator

from ._stats import ms, percentile
from .base import Experiment
from ..bench.data.experiment import ExperimentResult
from ..workloads._echo import EchoServer, connect, round_trip

if TYPE_CHECKING:
    from ..reports.sections import Section

MODES = ("threads", "processes")
SINGULAR = {"threads": "thread", "processes": "process"}
#: CPython's default switch interval, the one the verdicts quote
DEFAULT_INTERVAL_MS = 5.0
#: a convoy is said where CPU-bound threads make round trips this many times slower (in the median, or
#: in the tail and in round trips per second) than with none beside them
CONVOY_RATIO = 3.0
PAYLOAD_BYTES = 64
#: untimed round trips before the first configuration: the echo server's first exchanges run cold
#: (its code not yet warm, its CPU possibly clocked down), ~10 times slower than the later ones
FIRST_WARMUP_S = 0.2
#: loop iterations between two looks at the stop flag (~0.1 ms of work)
SPIN_CHUNK = 2000


def _spin(stop: Any, ready: Any, go: Any) -> int:
    """CPU-bound pure-Python arithmetic from ``go`` until ``stop.value`` is set (a thread's or a process's target).

    Why the gate: a thread started while k others already spin waits for the GIL behind them (about k
    switch intervals), and so does the starter after it, so starting k spinning threads one by one took
    about k^2 switch intervals (16 threads at 50 ms: 4 s here; the 16-CPU recording's convoy ran 90 s
    against 51 s of windows). Waiting at the gate holds no GIL: k threads start in O(k), then all spin.
    """
    ready.release()
    go.wait()
    x = 0
    while not stop.value:
        for i in range(SPIN_CHUNK):
            x = (x * 7 + i) % 65521
    return x


@contextmanager
def cpu_workers(mode: str, k: int, ready_timeout: float = 60.0) -> Iterator[None]:
    """``k`` CPU-bound workers (threads of this process, or processes of the interpreter's default
    start method), started at a gate and all let go when the block starts (the measurement's warm-up
    covers their first turns at the GIL), stopped and joined when it ends."""
    if mode == "threads":
        stop: Any = SimpleNamespace(value=0)
        ready: Any = threading.Semaphore(0)
        go: Any = threading.Event()
        workers: list[Any] = [threading.Thread(target=_spin, args=(stop, ready, go), daemon=True) for _ in range(k)]
    elif mode == "processes":
        context = multiprocessing.get_context()
        stop = context.RawValue("b", 0)
        ready = context.Semaphore(0)
        go = context.Event()
        workers = [context.Process(target=_spin, args=(stop, ready, go), daemon=True) for _ in range(k)]
    else:
        raise ValueError(f"unknown mode {mode!r} (accepted: {', '.join(MODES)})")
    started = []
    try:
        for w in workers:
            w.start()
            started.append(w)
        for _ in workers:
            if not ready.acquire(timeout=ready_timeout):
                raise RuntimeError(f"the CPU-bound {mode} did not start within {ready_timeout:g} s")
        go.set()
        yield
    finally:
        stop.value = 1
        go.set()  # a worker still at the gate (a start that failed) sees the stop and ends
        for w in started:
            w.join(timeout=10)
            if mode == "processes" and w.is_alive():
                w.kill()
                w.join()


def sample_round_trips(sock: Any, seconds: float, warmup_s: float, cap: int = 200_000) -> tuple[list[float], float]:
    """Every round trip's time (s) over a window of ``seconds`` (at most ``cap`` of them), after
    ``warmup_s`` of untimed ones (at least one); and the window's length.

    The window is a time, not a count: a waiting thread is made to wait once per switch interval at
    most, so a window shorter than a few intervals (200 round trips of 10 us are 2 ms) could miss
    every wait. Nothing but the round trip and the clock reads is inside the timing.
    """
    payload = b"x" * PAYLOAD_BYTES
    clock = time.perf_counter
    end = clock() + warmup_s
    round_trip(sock, payload)
    while clock() < end:
        round_trip(sock, payload)
    samples: list[float] = []
    start = t1 = clock()
    deadline = start + seconds
    while t1 < deadline and len(samples) < cap:
        t0 = clock()
        round_trip(sock, payload)
        t1 = clock()
        samples.append(t1 - t0)
    return samples, t1 - start


def k_values(cpus: int, extra: int = 1) -> list[int]:
    """0, then 1, 2, 4, ... up to the CPU count, then ``extra`` more than the CPUs (oversubscribed)."""
    ks, n = {0, cpus}, 1
    while n < cpus:
        ks.add(n)
        n *= 2
    ks.update(cpus + i for i in range(1, extra + 1))
    return sorted(ks)


class Convoy(Experiment):
    name = "convoy"
    title = "Convoy effect: I/O latency beside CPU-bound work"
    order = 70
    summary = "loopback TCP round-trip latency while k CPU-bound threads or processes run beside it"

    def parameters(self, profile: str, cpus: int) -> dict[str, Any]:
        base = {"modes": list(MODES), "ks": k_values(cpus), "intervals_ms": [0.5, DEFAULT_INTERVAL_MS, 50.0],
                "seconds": 1.0, "warmup_s": 0.1, "max_samples": 200_000}
        if profile == "gate":
            return {}
        if profile == "smoke":
            return {**base, "ks": [0, 1], "intervals_ms": [DEFAULT_INTERVAL_MS], "seconds": 0.15, "warmup_s": 0.02}
        if profile == "quick":
            return {**base, "seconds": 0.4, "warmup_s": 0.05}
        if profile == "full":
            return {**base, "ks": k_values(cpus, extra=2), "intervals_ms": [0.1, 0.5, 1.0, DEFAULT_INTERVAL_MS, 20.0, 50.0],
                    "seconds": 3.0, "warmup_s": 0.2}
        return base

    def estimate(self, params: dict[str, Any]) -> float:
        total = 0.5 + FIRST_WARMUP_S  # the echo server's start
        for interval in params["intervals_ms"]:
            for mode in params["modes"]:
                for k in params["ks"]:
                    start = 0.0 if mode == "threads" else 0.03 * k
                    # the warm-up's first and the window's last round trip may each wait behind k threads
                    # holding the GIL, one switch interval each: the window ends after its last round trip
                    overshoot = 2 * k * interval / 1e3 if mode == "threads" else 0.0
                    total += start + overshoot + params["warmup_s"] + params["seconds"]
        return total

    def measure(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        modes, ks, intervals = list(params["modes"]), [int(k) for k in params["ks"]], list(params["intervals_ms"])
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r} (accepted: {', '.join(MODES)})")
        if not ks or min(ks) < 0 or not intervals or min(intervals) <= 0:
            raise ValueError(f"ks must be 0 or more and intervals_ms above 0, not {ks} and {intervals}")
        original = sys.getswitchinterval()
        rows = []
        with EchoServer(lifetime_s=3600, max_connections=10) as server:
            self.details["echo_pid"] = server.proc.pid if server.proc else 0
            sock = connect(server.port)
            try:
                sample_round_trips(sock, 0.0, FIRST_WARMUP_S)
                for interval in intervals:
                    for mode in modes:
                        for k in ks:
                            sys.setswitchinterval(interval / 1e3)
                            try:
                                with cpu_workers(mode, k):
                                    samples, window = sample_round_trips(sock, float(params["seconds"]),
                                                                         float(params["warmup_s"]),
                                                                         int(params.get("max_samples", 200_000)))
                            finally:
                                sys.setswitchinterval(original)
                            rows.append(self._row(mode, k, interval, samples, window))
            finally:
                sock.close()
        base = {(r["mode"], r["switch_interval_ms"]): r for r in rows if r["k"] == 0}
        for r in rows:
            none = base.get((r["mode"], r["switch_interval_ms"]))
            r["baseline_p50_ms"] = none["p50_ms"] if none else None
            r["baseline_p99_ms"] = none["p99_ms"] if none else None
        self.details["payload_bytes"] = PAYLOAD_BYTES
        return rows

    @staticmethod
    def _row(mode: str, k: int, interval: float, samples: list[float], window: float) -> dict[str, Any]:
        return {
            "mode": mode, "k": k, "switch_interval_ms": interval, "n": len(samples),
            "per_s": len(samples) / window if window > 0 else math.nan,
            "p50_ms": ms(percentile(samples, 0.5)), "p99_ms": ms(percentile(samples, 0.99)),
            "mean_ms": ms(sum(samples) / len(samples)), "max_ms": ms(max(samples)), "min_ms": ms(min(samples)),
        }

    # --- the report ------------------------------------------------------------------------------
    def section(self, results: list[ExperimentResult]) -> "Section":
        import pandas as pd

        from ..reports.sections import Section

        several = len(results) > 1
        verdicts = [v for r in results for v in verdict_sentences(r, several)]
        ns = [int(row["n"]) for r in results for row in r.rows]
        table = pd.DataFrame([
            {"interpreter": r.display, "CPU work in": row["mode"], "k": row["k"],
             "switch interval (ms)": row["switch_interval_ms"], "round trips": row["n"],
             "per second": round(row["per_s"]) if isinstance(row.get("per_s"), (int, float)) else None, "p50 (ms)": row["p50_ms"], "p99 (ms)": row["p99_ms"],
             "max (ms)": row["max_ms"], "p50 / none beside": _ratio(row["p50_ms"], row.get("baseline_p50_ms"))}
            for r in results for row in r.rows])
        params = results[0].params
        methods = sorted({str(r.context.get("start_method", "?")) for r in results})
        return Section(
            key=f"experiment-{self.name}", title=self.title, order=self.order, verdicts=verdicts,
            rule=("p50 is the median round trip, p99 the time 99 % of round trips stayed under (linear interpolation "
                  "between the sorted samples); with fewer than 100 round trips in a configuration p99 lies between "
                  "the two largest, i.e. near the max. A convoy is said where CPU-bound threads cut the round trips "
                  f"per second to under 1/{CONVOY_RATIO:g} of those with none beside it: in the median when the p50 "
                  f"rose at least {CONVOY_RATIO:g} times (every round trip waited), in the tail when only the p99 "
                  "did."),
            method=(f"One TCP connection (TCP_NODELAY, {PAYLOAD_BYTES}-byte messages) from the measuring thread to an "
                    "echo server in a separate process on 127.0.0.1. Per configuration (CPU work in threads of the same "
                    "process or in processes started with the default start method "
                    f"({', '.join(methods)}); k CPU-bound workers; the switch interval set with sys.setswitchinterval "
                    f"and restored after) every round trip of a {params['seconds']:g} s window was timed "
                    f"(at most {params.get('max_samples', 200_000)}), after {params['warmup_s']:g} s of untimed round "
                    f"trips with the workers already running: {min(ns)}-{max(ns)} round trips per configuration. The "
                    "window is a time, not a count, so that it spans many switch intervals. The CPU work is "
                    "pure-Python arithmetic that runs until told to stop; processes do not share the measuring "
                    "thread's GIL, so for them the switch interval only labels the rows."),
            figure=convoy_figure(results), table=table, notes=baseline_notes(results),
        )


def baseline_notes(results: list[ExperimentResult]) -> list[str]:
    """Where the round trip with nothing beside it moved between configurations by CONVOY_RATIO times
    or more: the ratios against it move with it, and a reader should know why."""
    notes = []
    for r in results:
        alone = [row["p50_ms"] for row in r.rows if row["k"] == 0 and row["p50_ms"]]
        if alone and max(alone) >= CONVOY_RATIO * min(alone):
            notes.append(
                f"On {r.display} the round trip with nothing beside it ranged from {min(alone):.3g} to {max(alone):.3g} "
                "ms at p50 between configurations: an idle CPU wakes a waiting process more slowly than a busy one, "
                "and other work on the machine keeps CPUs busy or takes them; ratios against it move with it.")
    return notes


def _ratio(value: Any, base: Any) -> float:
    ok = isinstance(value, (int, float)) and isinstance(base, (int, float)) and base > 0
    return value / base if ok else math.nan


def _pick(rows: list[dict[str, Any]], mode: str, k: int, interval: float) -> dict[str, Any] | None:
    return next((r for r in rows if r["mode"] == mode and r["k"] == k and r["switch_interval_ms"] == interval), None)


def _workers(k: int, mode: str) -> str:
    """"2 threads", "1 process"."""
    return f"{k} {mode if k != 1 else SINGULAR[mode]}"


def _rate(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, (int, float)) and math.isfinite(value) else "?"


def convoy_kind(row: dict[str, Any], base: dict[str, Any]) -> str:
    """"median" (the p50 rose at least CONVOY_RATIO times), "tail" (the round trips per second fell
    below 1/CONVOY_RATIO of the baseline's, or the p99 rose that much, while the p50 did not), or ""."""
    if _ratio(row["p50_ms"], base["p50_ms"]) >= CONVOY_RATIO:
        return "median"
    slower = _ratio(base.get("per_s"), row.get("per_s")) >= CONVOY_RATIO
    if slower or _ratio(row["p99_ms"], base["p99_ms"]) >= CONVOY_RATIO:
        return "tail"
    return ""


def verdict_sentences(result: ExperimentResult, named: bool = False) -> list[str]:
    """The convoy in words: at the default switch interval (or the nearest measured), with as many
    CPU-bound workers as CPUs (or the most measured below that), threads against processes."""
    rows = result.rows
    intervals = sorted({r["switch_interval_ms"] for r in rows})
    ks = sorted({r["k"] for r in rows if r["k"] > 0})
    if not intervals or not ks:
        return [f"{result.display}: too few configurations to compare (need k = 0 and k > 0)."]
    interval = min(intervals, key=lambda i: abs(math.log(i / DEFAULT_INTERVAL_MS)))
    cpus = int(result.context.get("usable_cpus") or result.context.get("cpus") or 1)
    k = max((x for x in ks if x <= cpus), default=ks[0])
    at = ("at the default 5 ms switch interval" if interval == DEFAULT_INTERVAL_MS
          else f"at a {interval:g} ms switch interval")
    found = {}
    for mode in MODES:
        row, base = _pick(rows, mode, k, interval), _pick(rows, mode, 0, interval)
        if row is not None and base is not None:
            found[mode] = (row, base, (
                f"{row['p50_ms']:.3g} ms at p50 ({_ratio(row['p50_ms'], base['p50_ms']):.3g} times the "
                f"{base['p50_ms']:.3g} ms with none) and {row['p99_ms']:.3g} ms at p99, {_rate(row.get('per_s'))} "
                f"round trips a second against {_rate(base.get('per_s'))} with none"))
    if not found:
        return [f"{result.display}: no configuration with and without CPU work beside it to compare."]
    (first, (_, _, text)), *others = found.items()
    lead = f"On {result.display}, w" if named else "W"
    sentence = (f"{lead}ith {k} CPU-bound {_workers(k, first).split()[1]} beside it {at}, a loopback round trip took "
                f"{text}")
    sentence += "".join(f"; with the CPU work in {_workers(k, mode)}: {t}" for mode, (_, _, t) in others)
    sentences = [sentence + "."]

    if "threads" in found:
        row, base, _ = found["threads"]
        kind = convoy_kind(row, base)
        line = [(_pick(rows, "threads", k, i), i) for i in intervals]
        p50s = ", ".join(f"{r['p50_ms']:.3g} ms at {i:g} ms" for r, i in line if r)
        p99s = ", ".join(f"{r['p99_ms']:.3g} ms at {i:g} ms" for r, i in line if r)
        if result.gil_enabled is False:
            sentences.append(
                "The GIL was off (free-threaded): the CPU-bound threads ran beside the measuring thread instead of "
                "taking turns with it, so no switch interval governs its wake-ups"
                + (f" (p50 {p50s})" if len(intervals) > 1 else "")
                + f"; what is left is competition for the {cpus} CPUs.")
        elif kind == "median":
            sentences.append(
                "That is the GIL's convoy: each time a socket call returns, the measuring thread waits for a "
                "CPU-bound thread to let go of the GIL, which it is asked to do only after the switch interval"
                + (f"; the p50 follows the interval ({p50s})." if len(intervals) > 1 else "."))
        elif kind == "tail":
            sentences.append(
                "A convoy in the tail: most round trips went through at full speed (the measuring thread took the "
                "GIL straight back after its fast socket calls, before a CPU-bound thread woke up to take it), but "
                "whenever a CPU-bound thread got the GIL the next round trip waited for a switch interval"
                + (f"; the p99 follows the interval ({p99s})." if len(intervals) > 1 else
                   f" (max {row['max_ms']:.3g} ms)."))
        else:
            sentences.append(
                f"No convoy here: CPU-bound threads moved neither the p50 nor the p99 {CONVOY_RATIO:g} times, nor "
                f"the round trips per second (max {row['max_ms']:.3g} ms).")
    over = max(ks)
    crowded = _pick(rows, "processes", over, interval) if over > cpus else None
    if "processes" in found and crowded is not None:
        sentences.append(
            f"CPU work in processes does not hold the measuring thread's GIL; what it costs is the OS scheduler's: "
            f"with {over} CPU-bound processes on {cpus} CPUs the p50 was {crowded['p50_ms']:.3g} ms and the p99 "
            f"{crowded['p99_ms']:.3g} ms.")
    return sentences


def convoy_figure(results: list[ExperimentResult]) -> Any:
    """p50 (solid) and p99 (dashed) round trip against k, a colour per switch interval; a row per
    interpreter, a column per where the CPU work ran; log y."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    modes = [m for m in MODES if any(r["mode"] == m for res in results for r in res.rows)]
    intervals = sorted({r["switch_interval_ms"] for res in results for r in res.rows})
    if not modes or not intervals:
        return None
    colors = {i: plt.get_cmap("viridis")(j / max(1, len(intervals) - 1) * 0.85) for j, i in enumerate(intervals)}
    fig, axes = plt.subplots(len(results), len(modes), figsize=(4.4 * len(modes) + 1.8, 3.2 * len(results)),
                             squeeze=False, sharey=True)
    handles: dict[str, Any] = {}
    for i, res in enumerate(results):
        for j, mode in enumerate(modes):
            ax = axes[i][j]
            for interval in intervals:
                line = sorted((r for r in res.rows if r["mode"] == mode and r["switch_interval_ms"] == interval),
                              key=lambda r: r["k"])
                if not line:
                    continue
                x = [r["k"] for r in line]
                (h,) = ax.plot(x, [r["p50_ms"] for r in line], "o-", color=colors[interval])
                ax.plot(x, [r["p99_ms"] for r in line], "s--", color=colors[interval], alpha=0.7)
                handles.setdefault(f"switch interval {interval:g} ms", h)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xticks(sorted({r["k"] for r in res.rows}))
            ax.set_title(f"{res.display}: CPU work in {mode}", fontsize=9)
            ax.set_xlabel("CPU-bound workers beside it (k)")
            if j == 0:
                ax.set_ylabel("round trip (ms)")
            ax.grid(alpha=0.3, which="both")
    (p50,) = axes[0][0].plot([], [], "k-", label="p50")
    (p99,) = axes[0][0].plot([], [], "k--", label="p99")
    handles.update({"p50 (solid)": p50, "p99 (dashed)": p99})
    fig.legend(list(handles.values()), list(handles.keys()), fontsize=8, loc="upper right")
    fig.tight_layout(rect=(0, 0, 1 - 1.8 / (4.4 * len(modes) + 1.8), 1))
    return fig

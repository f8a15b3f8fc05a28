"""One measured process: a pyperf worker of one cell in a process tree of its own, and its noise flags.

The unit is one pyperf worker process of one cell (``python -m gilbench.bench.measure.cell --worker``), started in
a new session with an environment the runner controls: pyperf's short list of inherited variables plus
``GILBENCH_LAYOUT_PAD``, whose size moves the process's memory layout (process k gets ``layout_pad(k)`` bytes).
Why apart from the schedules: what one process costs, leaves and reads back is the same whichever order
``bench.measure.schedule`` runs the processes in.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import psutil

from ..data.cells import Cell, CellRecord, ProcessRecord, Timing
from ..data.failure import Failure
from ..plan.matrix import cpu_list, layout_pad
from .child import run_limited, worker_environment
from .memory import MEMORY_INTERVAL_S, TreeMemory
from ..data.results import RunFolder

#: a process is "noisy" when other processes used more than this share of its CPUs while it ran,
NOISY_SHARE = 0.10
#: or when its canary ran this much slower than the median of the run's canaries so far (a 30 ms
#: loop varies by up to ~15 % on a quiet 2-core VM: flagging starts above that),
CANARY_SLOW = 1.25
#: or when the canary got less than this share of the CPU while it ran (throttled, preempted)
CANARY_ON_CPU = 0.90


def _busy_seconds(cpus: tuple[int, ...]) -> float:
    """CPU seconds spent busy so far on ``cpus``, all processes together."""
    per_cpu = psutil.cpu_times(percpu=True)
    total = 0.0
    for i in cpus:
        if i < len(per_cpu):
            t = per_cpu[i]
            total += sum(t) - t.idle - getattr(t, "iowait", 0.0)
    return total


def _tree_seconds() -> float:
    """CPU seconds of this process and of its reaped descendants (each unit's whole process tree)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _failure_from_log(log_text: str, returncode: int | None) -> Failure:
    """What the log says when a worker died without gilbench's own failure record."""
    codes = [int(c) for c in re.findall(r"exit code (-?\d+)", log_text)]
    code = next((c for c in codes if c < 0), codes[0] if codes else returncode)
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return Failure("signal", f"the pyperf worker was killed by signal {-code} ({name})", exitcode=code)
    return Failure("exited", f"the pyperf worker exited with code {returncode}", exitcode=code)


def _read_accounting(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the worker's measurements, its failure), from the line it appended."""
    measured = failure = None
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "failure" in record:
                failure = failure or record["failure"]
            else:
                measured = record
    return measured, failure


@dataclass
class ProcessOutcome:
    status: str  # ok, failed or timeout
    record: ProcessRecord
    output: Path
    error: Failure | None = None


def run_process(
    cell: Cell,
    timing: Timing,
    index: int,
    folder: RunFolder,
    timeout: float,
    python: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    fixture_cpu: Callable[[], float] | None = None,
    memory_interval: float | None = MEMORY_INTERVAL_S,
) -> ProcessOutcome:
    """Run pyperf process ``index`` of ``cell`` to its end or to ``timeout``.

    Besides the timing it measures how busy the cell's CPUs were with *other* processes: busy CPU
    seconds on those CPUs minus the CPU seconds of the process's own tree and of the cell's fixture
    (``fixture_cpu``: its processes' CPU seconds so far, see bench.measure.fixtures). While it waits, it polls
    the process tree's memory every ``memory_interval`` seconds (None: not at all; bench.measure.memory).
    """
    memory = TreeMemory()
    pad = layout_pad(index)
    stem = f"{cell.slug}.p{index}"
    out = folder.cell_file(stem, ".json")
    accounting = folder.cell_file(stem, ".accounting.jsonl")
    log = folder.cell_file(stem, ".log")
    for stale in (out, accounting):
        stale.unlink(missing_ok=True)
    cmd = [
        python, "-m", "gilbench.bench.measure.cell", "--worker", "--worker-task=0", "--quiet",
        "--cell", cell.to_json(),
        "--accounting", str(accounting),
        f"--values={timing.values}", f"--warmups={timing.warmups}", f"--loops={timing.loops}",
        f"--affinity={cpu_list(cell.cpus)}",
        "--output", str(out),
    ]  # fmt: skip
    started = time.time()
    own = fixture_cpu or (lambda: 0.0)
    busy0, tree0, wall0 = _busy_seconds(cell.cpus), _tree_seconds() + own(), time.monotonic()
    ended = run_limited(cmd, timeout, log=log, cwd=cwd, poll=memory.poll, poll_interval=memory_interval,
                        env=worker_environment(env if env is not None else os.environ, pad, extra_env))
    returncode = ended.returncode
    status = "timeout" if ended.timed_out else "ok" if returncode == 0 and out.exists() else "failed"
    wall = time.monotonic() - wall0
    others = max(0.0, (_busy_seconds(cell.cpus) - busy0) - (_tree_seconds() + own() - tree0))
    measured, failure = _read_accounting(accounting)
    record = ProcessRecord(index=index, pad=pad, started=started, ended=time.time(),
                           noise_share=round(others / (wall * len(cell.cpus)), 4) if wall > 0 and cell.cpus else 0.0)
    error = None
    if status == "ok" and measured:
        timed = measured["readings"][measured["warmups"]:]
        record.pid = measured["pid"]
        record.warmups = [w for w, _ in measured["readings"][: measured["warmups"]]]
        record.values = [w for w, _ in timed]
        record.cpu = [c for _, c in timed]
        record.canary = measured.get("canary", float("nan"))
        record.canary_cpu = measured.get("canary_cpu", float("nan"))
        record.pad = measured.get("pad", pad)  # what reached the process, not only what was meant
        record.gil_enabled = measured.get("gil_enabled")
        record.peak_rss_self = int(measured.get("peak_rss_self") or 0)
        record.peak_rss_child = int(measured.get("peak_rss_child") or 0)
        threads = (measured.get("thread_readings") or [])[measured["warmups"]:]
        if threads and all(t for t in threads):
            record.thread_cpu = [c for c, _ in threads]
            record.thread_wall = [w for _, w in threads]
    if memory.polls:
        record.mem_rss, record.mem_uss, record.mem_pss = memory.rss, memory.uss, memory.pss
        record.mem_processes, record.mem_polls = memory.processes, memory.polls
    if status == "ok" and not measured:  # (not "no memory poll": memory_interval=None polls none)
        status = "failed"
        error = Failure("exited", "the worker wrote no measurements")
    if status == "timeout":
        error = Failure("timeout", f"no result within the process's time limit of {timeout:.0f} s", limit_s=timeout)
    elif status == "failed" and error is None:
        text = log.read_text(encoding="utf-8", errors="replace")
        error = (Failure.from_dict(failure) if failure else _failure_from_log(text, returncode)).with_log(
            "\n".join(text.strip().splitlines()[-15:]))
    return ProcessOutcome(status, record, out, error)


def flag_noise(record: CellRecord, canaries: list[float]) -> None:
    """Flag each process that lost CPU to others or ran on a slower machine, and its cell as noisy.

    The process's ``flag`` says why; reports read it, they do not judge again.
    """
    reference = statistics.median(canaries) if canaries else float("nan")
    for p in record.processes:
        why = []
        if p.noise_share > NOISY_SHARE:
            why.append(f"others used {p.noise_share:.0%} of its CPUs")
        if p.canary == p.canary and reference == reference and p.canary > CANARY_SLOW * reference:
            why.append(f"canary {p.canary / reference - 1:+.0%} against the run's median")
        if p.canary == p.canary and p.canary > 0 and p.canary_cpu / p.canary < CANARY_ON_CPU:
            why.append(f"canary on the CPU {p.canary_cpu / p.canary:.0%} of its wall time")
        p.flag = "; ".join(why)
    record.noise_share = max((p.noise_share for p in record.processes), default=0.0)
    record.noisy = record.status == "ok" and any(p.flag for p in record.processes)
    record.note = "; ".join(f"process {p.index}: {p.flag}" for p in record.processes if p.flag)

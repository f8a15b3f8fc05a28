"""Runs a plan: each cell in its own pyperf process tree, results on disk after every cell.

For each cell the runner starts ``python -m bench.cell`` (pyperf's manager) in a new session, so
that the whole tree (manager, workers, their children) can be ended as one process group: on the
cell's time limit, on Ctrl-C or SIGTERM, and to clear anything a cell left behind. The cell's pyperf
JSON is merged into the run's suite and the manifest rewritten, both atomically, before the next cell.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

import workloads
from bench import __version__
from bench.machine import describe, gil_enabled
from bench.matrix import Cell, Plan, Timing, cpu_list
from bench.probe import probe
from bench.progress import Progress, estimate_cell_seconds, format_duration
from bench.results import RunFolder
from bench.sampler import DEFAULT_INTERVAL_S, Sampler

#: a cell may take this many times its estimate before it is ended, but never less than MIN_TIMEOUT_S
TIMEOUT_FACTOR = 10
MIN_TIMEOUT_S = 60.0
#: what one task is assumed to take, for estimates, when the probe could not time it
UNKNOWN_TASK_S = 1.0
#: a cell is "noisy" when other processes used more than this share of its CPUs while it ran
NOISY_SHARE = 0.10


class ResultsUnwritable(Exception):
    """The run folder cannot be written (disk full, read-only, ...); what was finished stays readable."""


class Interrupted(Exception):
    """The run was stopped by a signal; ``exit_status`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_status = 128 + signum
        super().__init__(signal.Signals(signum).name)


@dataclass
class RunOptions:
    output_root: Path = Path("results")
    timeout: float | None = None  # per cell; None: derived from the cell's estimate
    sample_interval: float = DEFAULT_INTERVAL_S
    sampler: bool = True
    lesson: bool = True
    python: str = sys.executable
    run_name: str | None = None


@dataclass
class RunOutcome:
    folder: RunFolder
    statuses: dict[str, int] = field(default_factory=dict)
    interrupted: Interrupted | None = None
    unwritable: str | None = None
    noisy: int = 0

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in ("ok", "pending"))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _end_tree(proc: subprocess.Popen[bytes], settle_s: float = 5.0) -> bool:
    """SIGKILL every process in ``proc``'s group and wait until the group is gone (zombies reaped).

    True if any process was still there to kill.
    """
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        proc.poll()  # the manager is our own child: reap it
        try:
            os.killpg(pgid, 0)  # a zombie still counts: wait until init has reaped the orphans
        except ProcessLookupError:
            break
        time.sleep(0.02)
    return True


def summarize_accounting(path: Path) -> tuple[dict[str, list[float]], dict[str, Any] | None]:
    """The measured batches' (wall, cpu) readings of every worker, and the first failure if any."""
    walls: list[float] = []
    cpus: list[float] = []
    failure = None
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "failure" in record:
                failure = failure or record["failure"]
                continue
            for wall, cpu in record["readings"][record["warmups"] :]:
                walls.append(wall)
                cpus.append(cpu)
    return {"wall": walls, "cpu": cpus}, failure


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
    """CPU seconds of this process and of its reaped descendants (each cell's whole pyperf tree)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _failure_from_log(log_text: str, returncode: int | None) -> dict[str, Any]:
    """What pyperf's log says when a worker died without gilbench's own failure record."""
    codes = [int(c) for c in re.findall(r"exit code (-?\d+)", log_text)]
    code = next((c for c in codes if c < 0), codes[0] if codes else returncode)
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return {"how": "signal", "exitcode": code, "message": f"a pyperf worker was killed by signal {-code} ({name})"}
    return {"how": "exited", "exitcode": code, "message": f"pyperf exited with code {returncode}"}


def run_cell(
    cell: Cell,
    plan: Plan,
    folder: RunFolder,
    timeout: float,
    python: str,
    tag: str = "",
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    merge: bool = True,
) -> dict[str, Any]:
    """Run one cell's pyperf tree to the end or to ``timeout``; returns the manifest fields for it.

    Besides the timing it measures how busy the cell's CPUs were with *other* processes: busy CPU
    seconds on those CPUs minus the CPU seconds of the cell's own tree. A cell where others took
    more than NOISY_SHARE of its CPUs is flagged noisy.

    ``tag`` names this invocation's files apart (one of several pyperf processes of a cell); ``cwd``
    and ``env`` choose what the workers import (``gilbench ab``); ``merge`` adds the result to the
    run's suite.
    """
    out = folder.cell_file(cell.slug + tag, ".json")
    accounting = folder.cell_file(cell.slug + tag, ".accounting.jsonl")
    log = folder.cell_file(cell.slug + tag, ".log")
    for stale in (out, accounting):
        stale.unlink(missing_ok=True)
    t = plan.timing
    cmd = [
        python, "-m", "bench.cell",
        "--cell", cell.to_json(),
        "--accounting", str(accounting),
        f"--processes={t.processes}", f"--values={t.values}", f"--warmups={t.warmups}", f"--loops={t.loops}",
        f"--affinity={cpu_list(cell.cpus)}",
        "--output", str(out),
    ]  # fmt: skip
    started = time.time()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    busy0, tree0, wall0 = _busy_seconds(cell.cpus), _tree_seconds(), time.monotonic()
    with open(log, "w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=cwd, env=env)
        try:
            returncode = proc.wait(timeout=timeout)
            status = "ok" if returncode == 0 and out.exists() else "failed"
        except subprocess.TimeoutExpired:
            returncode, status = None, "timeout"
        finally:
            leftovers = _end_tree(proc)  # whatever the cell left, and everything on timeout/interrupt
            proc.wait()
    wall = time.monotonic() - wall0
    others = max(0.0, (_busy_seconds(cell.cpus) - busy0) - (_tree_seconds() - tree0))
    noise = others / (wall * len(cell.cpus)) if wall > 0 and cell.cpus else 0.0
    record: dict[str, Any] = {
        "status": status,
        "started": started,
        "ended": time.time(),
        "returncode": returncode,
        "load_avg_before": load_before,
        "noise_share": round(noise, 4),
        "noisy": status == "ok" and noise > NOISY_SHARE,  # killed trees' CPU is not accounted: ok cells only
        "log": str(log.relative_to(folder.path)),
        "output": str(out.relative_to(folder.path)),
        "left_processes": leftovers and status == "ok",
    }
    record["accounting"], failure = summarize_accounting(accounting)
    if status == "timeout":
        record["error"] = {"how": "timeout", "message": f"no result within the cell's time limit of {timeout:.0f} s"}
    elif status == "failed":
        text = log.read_text(encoding="utf-8", errors="replace")
        record["error"] = failure or _failure_from_log(text, returncode)
        record["error"]["log_tail"] = "\n".join(text.strip().splitlines()[-15:])
    elif merge:
        folder.add_to_suite(out)
    return record


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def new_manifest(plan: Plan, options: RunOptions) -> dict[str, Any]:
    return {
        "gilbench_version": __version__,
        "created": now_iso(),
        "finished": None,
        "status": "running",
        "argv": sys.argv,
        "python": options.python,
        "sample_interval": options.sample_interval if options.sampler else None,
        "noise_threshold": NOISY_SHARE,
        **plan.to_dict(),
        "cells": [
            {**c.to_dict(), "id": c.id, "slug": c.slug, "kind": workloads.get(c.workload).kind, "status": "pending"}
            for c in plan.cells
        ],
    }


def plan_of(manifest: dict[str, Any]) -> Plan:
    """The plan a run folder's manifest was made from (to resume it)."""
    return Plan(
        profile=manifest["profile"],
        timing=Timing(**manifest["timing"]),
        cells=tuple(Cell.from_dict(c) for c in manifest["cells"]),
    )


def run(plan: Plan, options: RunOptions, progress_stream: Any = None, resume: RunFolder | None = None) -> RunOutcome:
    """Run every cell of ``plan`` into a new run folder, or the unfinished cells of ``resume``."""
    if resume is not None:
        folder, manifest = resume, resume.read_manifest()
        manifest["status"], manifest["finished"] = "running", None
        manifest.setdefault("resumed", []).append(now_iso())
    else:
        folder = RunFolder.create(options.output_root, options.run_name)
        manifest = new_manifest(plan, options)
    todo = [i for i, c in enumerate(manifest["cells"]) if c.get("status", "pending") == "pending"]
    outcome = RunOutcome(folder)
    task_s = probe({plan.cells[i].workload: {"params": plan.cells[i].params, "module": plan.cells[i].module}
                    for i in todo}, options.python)
    gil = gil_enabled()
    estimates = [
        estimate_cell_seconds(plan.cells[i], workloads.get(plan.cells[i].workload).kind,
                              task_s.get(plan.cells[i].workload, UNKNOWN_TASK_S), plan.timing, gil)
        for i in todo
    ]
    progress = Progress(estimates, progress_stream, total=len(plan.cells), offset=len(plan.cells) - len(todo))
    try:
        if resume is None:
            folder.write_json(folder.machine, describe())
        folder.write_manifest(manifest)
    except OSError as exc:
        raise ResultsUnwritable(f"cannot write to {folder.path}: {exc.strerror or exc}") from None
    t = plan.timing
    progress.say(
        f"gilbench: {len(todo)} cells{f' left of {len(plan.cells)}' if resume else ''}, profile {plan.profile}, "
        f"pyperf {t.processes} processes x ({t.warmups} warmup + {t.values} values) each; "
        f"estimated {format_duration(sum(estimates))}"
    )
    progress.say(f"gilbench: writing to {folder.path}")

    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGTERM,)}
    sampler = Sampler(folder.samples, options.sample_interval) if options.sampler else None
    try:
        if options.lesson and not folder.lesson.exists():
            from workloads.lesson import run_all

            folder.write_json(folder.lesson, run_all())
        if sampler:
            sampler.start()
        for k, i in enumerate(todo):
            cell = plan.cells[i]
            timeout = options.timeout or max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * estimates[k])
            t0 = time.monotonic()
            record = run_cell(cell, plan, folder, timeout, options.python)
            manifest["cells"][i].update(record)
            folder.write_manifest(manifest)
            notes = [record["error"]["message"][:60]] if record["status"] != "ok" else []
            if record["noisy"]:
                notes.append(f"noisy: others used {record['noise_share']:.0%} of its CPUs")
            progress.cell_done(k, cell, record["status"], time.monotonic() - t0, "; ".join(notes))
        manifest["status"] = "complete"
    except KeyboardInterrupt:
        outcome.interrupted = Interrupted(signal.SIGINT)
        manifest["status"] = "interrupted"
    except Interrupted as stop:
        outcome.interrupted = stop
        manifest["status"] = "interrupted"
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT):
            raise
        manifest["status"] = "unwritable"
        outcome.unwritable = f"cannot write to {folder.path}: {exc.strerror or exc}"
    finally:
        if sampler:
            sampler.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        manifest["finished"] = now_iso()
        try:
            folder.write_manifest(manifest)
        except OSError:
            pass  # the last complete manifest on disk still lists every finished cell
    for cell in manifest["cells"]:
        status = cell.get("status", "pending")
        outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
    outcome.noisy = sum(1 for c in manifest["cells"] if c.get("noisy"))
    return outcome

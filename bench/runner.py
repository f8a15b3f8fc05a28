"""Runs a plan: each cell in its own pyperf process tree, results on disk after every cell.

For each cell the runner starts ``python -m bench.cell`` (pyperf's manager) in a new session, so
that the whole tree (manager, workers, their children) can be ended as one process group: on the
cell's time limit, on Ctrl-C or SIGTERM, and to clear anything a cell left behind. The cell's pyperf
JSON is merged into the run's suite and the manifest rewritten, both atomically, before the next cell.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import workloads
from bench import __version__
from bench.machine import describe, gil_enabled
from bench.matrix import Cell, Plan, cpu_list
from bench.progress import Progress, estimate_cell_seconds, format_duration
from bench.results import RunFolder
from bench.sampler import DEFAULT_INTERVAL_S, Sampler

#: a cell may take this many times its estimate before it is ended, but never less than MIN_TIMEOUT_S
TIMEOUT_FACTOR = 10
MIN_TIMEOUT_S = 60.0


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

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "ok")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def measure_task_seconds(plan: Plan) -> dict[str, float]:
    """One task of each workload, timed in this process: for estimates only, never reported."""
    seconds: dict[str, float] = {}
    for cell in plan.cells:
        if cell.workload not in seconds:
            task = workloads.get(cell.workload).task(cell.params)
            t0 = time.perf_counter()
            task(0)
            seconds[cell.workload] = time.perf_counter() - t0
    return seconds


def _kill_group(pgid: int) -> bool:
    """SIGKILL every process in group ``pgid``; True if any was still there."""
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


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


def run_cell(cell: Cell, plan: Plan, folder: RunFolder, timeout: float, python: str) -> dict[str, Any]:
    """Run one cell's pyperf tree to the end or to ``timeout``; returns the manifest fields for it."""
    out = folder.cell_file(cell.slug, ".json")
    accounting = folder.cell_file(cell.slug, ".accounting.jsonl")
    log = folder.cell_file(cell.slug, ".log")
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
    with open(log, "w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = proc.wait(timeout=timeout)
            status = "ok" if returncode == 0 and out.exists() else "failed"
        except subprocess.TimeoutExpired:
            returncode, status = None, "timeout"
        finally:
            leftovers = _kill_group(proc.pid)  # whatever the cell left, and everything on timeout/interrupt
            proc.wait()
    record: dict[str, Any] = {
        "status": status,
        "started": started,
        "ended": time.time(),
        "returncode": returncode,
        "load_avg_before": load_before,
        "log": str(log.relative_to(folder.path)),
        "left_processes": leftovers and status == "ok",
    }
    record["accounting"], failure = summarize_accounting(accounting)
    if status == "timeout":
        record["error"] = {"how": "timeout", "message": f"no result within the cell's time limit of {timeout:.0f} s"}
    elif status == "failed":
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        record["error"] = failure or {"how": "exited", "message": f"pyperf exited with code {returncode}"}
        record["error"]["log_tail"] = "\n".join(tail)
    else:
        folder.add_to_suite(out)
    return record


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def run(plan: Plan, options: RunOptions, progress_stream: Any = None) -> RunOutcome:
    """Run every cell of ``plan`` into a new run folder under ``options.output_root``."""
    folder = RunFolder.create(options.output_root, options.run_name)
    outcome = RunOutcome(folder)
    task_s = measure_task_seconds(plan)
    gil = gil_enabled()
    estimates = [
        estimate_cell_seconds(c, workloads.get(c.workload).kind, task_s[c.workload], plan.timing, gil)
        for c in plan.cells
    ]
    progress = Progress(estimates, progress_stream)
    manifest: dict[str, Any] = {
        "gilbench_version": __version__,
        "created": now_iso(),
        "finished": None,
        "status": "running",
        "argv": sys.argv,
        "python": options.python,
        "sample_interval": options.sample_interval if options.sampler else None,
        **plan.to_dict(),
        "cells": [
            {**c.to_dict(), "id": c.id, "slug": c.slug, "kind": workloads.get(c.workload).kind, "status": "pending"}
            for c in plan.cells
        ],
    }
    folder.write_json(folder.machine, describe())
    folder.write_manifest(manifest)
    t = plan.timing
    progress.say(
        f"gilbench: {len(plan.cells)} cells, profile {plan.profile}, pyperf {t.processes} processes x "
        f"({t.warmups} warmup + {t.values} values) each; estimated {format_duration(sum(estimates))}"
    )
    progress.say(f"gilbench: writing to {folder.path}")

    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGTERM,)}
    sampler = Sampler(folder.samples, options.sample_interval) if options.sampler else None
    try:
        if options.lesson:
            from workloads.lesson import run_all

            folder.write_json(folder.lesson, run_all())
        if sampler:
            sampler.start()
        for i, cell in enumerate(plan.cells):
            timeout = options.timeout or max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * estimates[i])
            t0 = time.monotonic()
            record = run_cell(cell, plan, folder, timeout, options.python)
            manifest["cells"][i].update(record)
            folder.write_manifest(manifest)
            outcome.statuses[record["status"]] = outcome.statuses.get(record["status"], 0) + 1
            note = record.get("error", {}).get("message", "")[:60] if record["status"] != "ok" else ""
            progress.cell_done(i, cell, record["status"], time.monotonic() - t0, note)
        manifest["status"] = "complete"
    except KeyboardInterrupt:
        outcome.interrupted = Interrupted(signal.SIGINT)
        manifest["status"] = "interrupted"
    except Interrupted as stop:
        outcome.interrupted = stop
        manifest["status"] = "interrupted"
    finally:
        if sampler:
            sampler.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        manifest["finished"] = now_iso()
        folder.write_manifest(manifest)
    return outcome

"""Runs a run's experiments: each one its profile applies to, once per interpreter, after the cells.

An experiment (``gilbench.experiments``) is not a batch of tasks, so it does not go through pyperf:
its child, ``python -m gilbench.experiments NAME --params JSON --out FILE``, measures and writes one
``ExperimentResult``. The child gets what a cell's process gets (its interpreter's python, the
controlled environment with the interpreter's settings, a process group of its own that dies with
the runner) and a time limit; whatever it leaves (an echo server, pool workers) is killed with its
group. Each result is written atomically to ``experiments/<name>[@label].json`` in the run folder and
listed in the manifest; a failed or timed-out experiment is recorded as such and the run goes on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from .child import run_limited, worker_environment
from ..plan.experiments import ExperimentJob, plan_jobs
from ..plan.matrix import available_cpus
from ..data.durations import format_duration
from ..data.failure import Failure
from ..data.results import RunFolder
from ..data.experiment import ExperimentResult

if TYPE_CHECKING:
    from .lifecycle import Lane

#: an experiment may take this many times its estimate before it is ended, but never less than MIN_TIMEOUT_S
TIMEOUT_FACTOR = 5.0
MIN_TIMEOUT_S = 60.0


def time_limit(job: ExperimentJob, timeout: float | None = None) -> float:
    return timeout or max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * job.estimate)


def result_path(folder: RunFolder, name: str, label: str = "", suffix: str = ".json") -> Path:
    """``experiments/<name>[@label]<suffix>`` in the run folder, the label made file-name safe."""
    stem = re.sub(r"[^A-Za-z0-9._@-]+", "_", f"{name}@{label}" if label else name)
    return folder.experiments / f"{stem}{suffix}"


def _how_it_ended(returncode: int | None, log: Path) -> dict[str, Any]:
    """What a child that wrote no result says: its exit or signal, and its log's last lines."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        message = f"the experiment's process was killed by signal {-returncode} ({name})"
    else:
        message = f"the experiment's process exited with code {returncode} and wrote no result"
    return Failure("exited", message, exitcode=returncode, log_tail="\n".join(text.strip().splitlines()[-15:])).to_dict()


def run_one(job: ExperimentJob, folder: RunFolder, timeout: float | None = None, cwd: Path | None = None,
            base_env: Mapping[str, str] | None = None) -> ExperimentResult:
    """Run ``job`` in a child process to its end or its time limit; write and return its result.

    SIGINT and SIGTERM reach the runner, not the child (its own session): the runner's exception
    ends the child's whole process group on its way out and nothing is written.
    """
    folder.experiments.mkdir(parents=True, exist_ok=True)
    out, log = result_path(folder, job.name, job.label, ".out"), result_path(folder, job.name, job.label, ".log")
    out.unlink(missing_ok=True)
    limit = time_limit(job, timeout)
    cmd = [job.python, "-m", "gilbench.experiments", job.name, "--params", json.dumps(job.params),
           "--out", str(out), "--label", job.label]
    started, t0 = time.time(), time.monotonic()
    ended = run_limited(cmd, limit, log=log, cwd=cwd,  # its group ends with it: the echo server, pool workers
                        env=worker_environment(base_env if base_env is not None else os.environ, 0, job.env))
    returncode, timed_out = ended.returncode, ended.timed_out
    result = None
    if out.exists() and not timed_out:
        try:
            result = ExperimentResult.from_dict(json.loads(out.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            result = ExperimentResult(job.name, job.label, job.params, status="failed",
                                      error=Failure("unreadable", f"its result is not readable: {exc}").to_dict())
    if result is None:
        result = ExperimentResult(job.name, job.label, job.params, status="timeout" if timed_out else "failed")
        result.error = (Failure("timeout", f"no result within its time limit of {limit:.0f} s").to_dict()
                        if timed_out else _how_it_ended(returncode, log))
        result.started, result.ended, result.duration = started, time.time(), time.monotonic() - t0
    result.pid = ended.pid
    if result.ok and returncode != 0:  # a result that says ok from a process that did not end well
        result.status = "failed"
        result.error = _how_it_ended(returncode, log)
    folder.write_json(result_path(folder, job.name, job.label), result.to_dict())
    out.unlink(missing_ok=True)
    return result


def run_all(jobs: Sequence[ExperimentJob], folder: RunFolder, say: Callable[[str], None],
            timeout: float | None = None, done: Callable[[ExperimentResult], None] | None = None,
            cwd: Path | None = None, base_env: Mapping[str, str] | None = None) -> list[ExperimentResult]:
    """Run ``jobs`` one after another, a progress line each (elapsed and time left from the estimates,
    corrected as they finish); ``done`` is called with each result once it is on disk."""
    if not jobs:
        return []
    labels = list(dict.fromkeys(j.label for j in jobs))
    total = sum(j.estimate for j in jobs)
    say(f"gilbench: {len(jobs)} experiment runs ({', '.join(dict.fromkeys(j.name for j in jobs))} on "
        f"{len(labels)} interpreter{'s' if len(labels) > 1 else ''}); estimated {format_duration(total)}")
    results, started, spent, estimated = [], time.monotonic(), 0.0, 0.0
    width = len(str(len(jobs)))
    for i, job in enumerate(jobs):
        t0 = time.monotonic()
        result = run_one(job, folder, timeout, cwd, base_env)
        results.append(result)
        if done:
            done(result)
        spent += time.monotonic() - t0
        estimated += job.estimate
        left = sum(j.estimate for j in jobs[i + 1:]) * (spent / estimated if estimated > 0 else 1.0)
        note = f"  {(result.error or {}).get('message', '')[:70]}" if not result.ok else ""
        say(f"[exp {i + 1:>{width}}/{len(jobs)}] {job.id:<26} {result.status:<7} {time.monotonic() - t0:5.1f} s{note}"
            f"  | elapsed {format_duration(time.monotonic() - started)}, ~{format_duration(left)} left")
    return results


def manifest_entry(result: ExperimentResult, folder: RunFolder) -> dict[str, Any]:
    """What the manifest lists of one result (the result itself is its own file)."""
    entry = {"name": result.name, "python": result.python, "status": result.status,
             "file": str(result_path(folder, result.name, result.python).relative_to(folder.path)),
             "duration": round(result.duration, 3)}
    if result.error:
        entry["error"] = result.error.get("message", "")
    return entry


def run_for_lane(lane: "Lane", only: Sequence[str] | None, say: Callable[[str], None],
                 timeout: float | None = None) -> list[ExperimentResult]:
    """The experiments of a run (``gilbench run``): on every interpreter whose cells could run, in the
    profile's parameters; those a resumed run already finished are not run again. The manifest's
    ``experiments`` list is saved after each."""
    labels = list(dict.fromkeys(c.python for c in lane.plan.cells)) or [""]
    interpreters = []
    for label in labels:
        if label and label not in lane.interpreters:
            say(f"gilbench: {label}: not prepared; no experiments on it")
            continue
        python, env = lane.interpreters.get(label, (lane.python, {}))
        interpreters.append((label, python, env))
    entries: list[dict[str, Any]] = lane.manifest.setdefault("experiments", [])
    finished = {(e["name"], e.get("python", "")) for e in entries if e.get("status") == "ok"}
    jobs = [j for j in plan_jobs(lane.plan.profile, len(available_cpus()), interpreters, only)
            if (j.name, j.label) not in finished]

    def record(result: ExperimentResult) -> None:
        entries[:] = [e for e in entries if (e["name"], e.get("python", "")) != (result.name, result.python)]
        entries.append(manifest_entry(result, lane.folder))
        lane.save()

    return run_all(jobs, lane.folder, say, timeout, record, lane.cwd, lane.env)

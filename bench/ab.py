"""Baseline and candidate in one job, interleaved: the way to see a 10 % change on a noisy machine.

A side is a checkout whose ``workloads/`` is measured (a directory, or a git ref checked out into a
temporary worktree that is removed afterwards), run by an interpreter (``--base-python``,
``--cand-python``; default this one). The harness is always this gilbench. For every cell, each of
the profile's pyperf processes is run once per side, the two sides in random order, so that drift in
the machine's speed falls on both alike. Each side gets a complete run folder; ``compare`` reads them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyperf

import bench
from bench.matrix import Plan
from bench.probe import probe
from bench.progress import Progress, estimate_cell_seconds, format_duration
from bench.results import RunFolder
from bench.runner import MIN_TIMEOUT_S, TIMEOUT_FACTOR, UNKNOWN_TASK_S, RunOptions, new_manifest, now_iso, run_cell

SOURCE_ROOT = Path(bench.__file__).resolve().parent.parent


class SideError(ValueError):
    """A side that cannot be measured: not a checkout, an unknown ref, an interpreter without pyperf."""


@dataclass
class Side:
    name: str  # "base" or "cand"
    spec: str  # what the user gave
    root: Path  # the checkout whose workloads/ is measured
    python: str
    sandbox: Path  # the workers' working directory: holds only a link to root/workloads
    scale: float = 1.0

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # this gilbench's bench/ for the harness; the side's workloads/ wins through the working directory
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH", "")]))
        return env

    def describe(self) -> dict[str, Any]:
        code = "import json, bench.machine as m; print(json.dumps(m.describe()))"
        done = subprocess.run([self.python, "-c", code], capture_output=True, text=True, cwd=self.sandbox,
                              env=self.env(), timeout=120)
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            raise SideError(f"--{self.name}-python {self.python}: cannot run gilbench's harness ({last}); "
                            f"it needs pyperf and psutil: {self.python} -m pip install pyperf psutil")
        data = json.loads(done.stdout)
        data["checkout"] = str(self.root)
        data["side"] = f"{self.name}: {self.spec}"
        return data


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=cwd)
    if done.returncode:
        raise SideError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def open_side(name: str, spec: str, python: str | None, scale: float, stack: ExitStack) -> Side:
    """A directory as it is, or a git ref checked out into a temporary worktree (removed on exit)."""
    path = Path(spec)
    if path.is_dir():
        root = path.resolve()
    else:
        repo = Path(_git("rev-parse", "--show-toplevel", cwd=Path.cwd()))
        _git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", cwd=repo)
        root = Path(tempfile.mkdtemp(prefix=f"gilbench-{name}-"))
        _git("worktree", "add", "--detach", "--force", str(root), spec, cwd=repo)
        stack.callback(lambda: subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=repo,
                                              capture_output=True))
    if not (root / "workloads" / "__init__.py").is_file():
        raise SideError(f"{name} {spec}: {root} has no workloads/ package to measure")
    sandbox = Path(tempfile.mkdtemp(prefix=f"gilbench-{name}-sandbox-"))
    stack.callback(lambda: shutil.rmtree(sandbox, ignore_errors=True))
    (sandbox / "workloads").symlink_to(root / "workloads", target_is_directory=True)
    python = python or sys.executable
    if not shutil.which(python) and not Path(python).is_file():
        raise SideError(f"--{name}-python {python}: no such interpreter")
    return Side(name, spec, root, python, sandbox, scale)


def _scaled(plan: Plan, side: Side) -> Plan:
    import workloads

    if side.scale == 1.0:
        return plan
    cells = tuple(
        replace(c, params=workloads.get(c.workload).resolve(c.params, side.scale), scale=c.scale * side.scale)
        for c in plan.cells
    )
    return replace(plan, cells=cells)


def _merge_runs(folder: RunFolder, slug: str, parts: list[Path]) -> Path:
    """The pyperf runs of one cell's separate processes, as one benchmark file."""
    merged = pyperf.BenchmarkSuite.load(str(parts[0])).get_benchmarks()[0]
    for part in parts[1:]:
        merged.add_runs(pyperf.BenchmarkSuite.load(str(part)).get_benchmarks()[0])
    out = folder.cell_file(slug, ".json")
    out.unlink(missing_ok=True)
    merged.dump(str(out))
    return out


def run_ab(plan: Plan, sides: list[Side], output: Path, timeout: float | None, seed: int | None,
           stream: Any = None) -> dict[str, RunFolder]:
    """Run ``plan`` for both sides, interleaved; returns each side's complete run folder."""
    rng = random.Random(seed)
    # results/<stamp>-<host>/ holds base/ and cand/; results/latest stays on the newest single run
    root = RunFolder.create(output, latest=False).path
    plans = {s.name: _scaled(plan, s) for s in sides}
    folders, manifests = {}, {}
    for side in sides:
        folder = RunFolder(root / side.name)
        folder.cells.mkdir(parents=True)
        folders[side.name] = folder
        options = RunOptions(python=side.python, sampler=False, lesson=False)
        manifests[side.name] = {**new_manifest(plans[side.name], options), "side": side.spec,
                                "interleaved_with": str(root)}
        folder.write_json(folder.machine, side.describe())
        folder.write_manifest(manifests[side.name])
    task_s = probe({c.workload: {"params": c.params, "module": c.module} for c in plan.cells})
    estimates = [2 * estimate_cell_seconds(c, manifests["base"]["cells"][i]["kind"],
                                           task_s.get(c.workload, UNKNOWN_TASK_S), plan.timing)
                 for i, c in enumerate(plan.cells)]
    progress = Progress(estimates, stream)
    progress.say(f"gilbench ab: {len(plan.cells)} cells x {plan.timing.processes} pyperf processes x 2 sides, "
                 f"interleaved in random order; estimated {format_duration(sum(estimates))}")
    progress.say(f"gilbench ab: writing to {root}")
    one = replace(plan.timing, processes=1)
    single = {name: replace(p, timing=one) for name, p in plans.items()}  # one pyperf process per invocation
    for i, cell in enumerate(plan.cells):
        t0 = time.monotonic()
        parts: dict[str, list[Path]] = {s.name: [] for s in sides}
        records: dict[str, list[dict[str, Any]]] = {s.name: [] for s in sides}
        limit = timeout or max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * estimates[i])
        for k in range(plan.timing.processes):
            order = list(sides)
            rng.shuffle(order)
            for side in order:
                side_plan = single[side.name]
                record = run_cell(side_plan.cells[i], side_plan, folders[side.name], limit, side.python,
                                  tag=f".p{k}", cwd=side.sandbox, env=side.env(), merge=False)
                records[side.name].append(record)
                if record["status"] == "ok":
                    parts[side.name].append(folders[side.name].path / record["output"])
        statuses = []
        for side in sides:
            recs = records[side.name]
            failed = next((r for r in recs if r["status"] != "ok"), None)
            entry = dict(failed or recs[-1])
            entry["started"], entry["ended"] = recs[0]["started"], recs[-1]["ended"]
            entry["accounting"] = {key: [x for r in recs for x in r["accounting"][key]] for key in ("wall", "cpu")}
            if not failed:
                folders[side.name].add_to_suite(_merge_runs(folders[side.name], cell.slug, parts[side.name]))
            manifests[side.name]["cells"][i].update(entry)
            folders[side.name].write_manifest(manifests[side.name])
            statuses.append(f"{side.name} {entry['status']}")
        progress.cell_done(i, cell, ", ".join(statuses), time.monotonic() - t0)
    for side in sides:
        manifests[side.name].update(status="complete", finished=now_iso())
        folders[side.name].write_manifest(manifests[side.name])
    return folders

"""The two sides of ``gilbench ab``: a checkout, a git ref's worktree or a directory, each with its interpreter.

Why apart from ab's schedule: a side is opened (worktree, import root, its interpreter described) before
anything is measured, and a resumed ab opens the same sides again; both ends need the same checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ... import workloads
from .child import run_limited
from ..plan.importroot import shared_root, temporary_root
from ..plan.matrix import Plan


#: seconds a side's interpreter may take to describe its machine
DESCRIBE_LIMIT_S = 120.0


class SideError(ValueError):
    """A side that cannot be measured: not a checkout, an unknown ref, an interpreter without pyperf."""


@dataclass
class Side:
    name: str  # "base" or "cand"
    spec: str  # what the user gave
    root: Path  # the side's checkout
    python: str
    sandbox: Path  # on PYTHONPATH: gilbench, with root's workloads/ for a gilbench checkout (bench.plan.importroot)
    scale: float = 1.0
    commit: str | None = None  # a git ref's commit (what a resumed run checks out again)
    #: the folder of the current checkout that ``root`` stands for: a git ref's repository, or the current
    #: directory for a directory side; paths below it are taken in ``root`` instead (``local``)
    home: Path | None = None
    #: a user's project, not a gilbench checkout: its code, imported from root, runs on this gilbench
    project: bool = False

    def local(self, path: Path) -> Path:
        """``path`` of the current checkout, in this side's checkout; unchanged when outside it."""
        if self.home is None:
            return path
        try:
            return self.root / Path(path).resolve().relative_to(self.home)
        except ValueError:
            return path

    @property
    def cwd(self) -> Path:
        """The workers' working directory: for a project, the side's counterpart of the current directory,
        where ``python -m`` imports the user's packages from; for a gilbench checkout, its shim."""
        if not self.project:
            return self.sandbox
        here = self.local(Path.cwd())
        return here if here.is_dir() else self.root

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # this gilbench's bench/ for the harness, the side's workloads/ (bench.plan.importroot)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.sandbox), env.get("PYTHONPATH", "")]))
        return env

    def describe(self) -> dict[str, Any]:
        code = "import json, gilbench.bench.measure.machine as m; print(json.dumps(m.describe()))"
        done = run_limited([self.python, "-c", code], DESCRIBE_LIMIT_S, capture=True, cwd=self.cwd, env=self.env())
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1] if not done.timed_out else \
                f"no answer within {DESCRIBE_LIMIT_S:.0f} s"
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


def is_gilbench_checkout(root: Path) -> bool:
    """Whether ``root`` is a checkout of gilbench itself (its workloads/ are what a side measures)."""
    return (root / "gilbench" / "__init__.py").is_file() and (root / "workloads" / "__init__.py").is_file()


def open_side(name: str, spec: str, python: str | None, scale: float, stack: ExitStack) -> Side:
    """A directory as it is, or a git ref checked out into a temporary worktree (removed on exit)."""
    path = Path(spec)
    commit = None
    if path.is_dir():
        root, home = path.resolve(), Path.cwd().resolve()
    else:
        repo = Path(_git("rev-parse", "--show-toplevel", cwd=Path.cwd()))
        try:
            commit = _git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", cwd=repo)
        except SideError:
            raise SideError(f"{name} {spec}: neither a directory nor a git ref of {repo}") from None
        root = Path(tempfile.mkdtemp(prefix=f"gilbench-{name}-"))
        _git("worktree", "add", "--detach", "--force", str(root), commit, cwd=repo)
        stack.callback(lambda: subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=repo,
                                              capture_output=True))
        home = repo.resolve()
    project = not is_gilbench_checkout(root)
    if project:
        sandbox = shared_root()  # this gilbench, harness and workloads; the project's code comes from root
    else:
        sandbox = temporary_root(root / "workloads")
        stack.callback(lambda: shutil.rmtree(sandbox, ignore_errors=True))
    python = python or sys.executable
    if not shutil.which(python) and not Path(python).is_file():
        raise SideError(f"--{name}-python {python}: no such interpreter")
    return Side(name, spec, root, python, sandbox, scale, commit, home, project)


def check_checkouts_alike(sides: list[Side]) -> None:
    """Refuse a gilbench checkout against a project: one would measure its own workloads/, the other
    this gilbench's, and the difference would be no change of either."""
    projects = [s for s in sides if s.project]
    if projects and len(projects) < len(sides):
        p, c = projects[0], next(s for s in sides if not s.project)
        raise SideError(f"{p.name} {p.spec}: {p.root} is not a gilbench checkout (no workloads/ package of "
                        f"gilbench's at its root) while {c.name} {c.spec} is one; give two checkouts of gilbench, "
                        "or two of your project")


def _repointed(module: str | None, side: Side) -> str | None:
    """A cell's workload source, taken from the side's checkout instead of the current one.

    A function's source (JSON) names the folder its package was imported from, a module file its
    path: both are re-pointed into the side (``Side.local``). A dotted module name is left as it
    is: the workers import it from their working directory, the side's.
    """
    if not module:
        return module
    if module.startswith("{"):
        source = json.loads(module)
        if source.get("path"):
            source["path"] = str(side.local(Path(source["path"])))
        return json.dumps(source, sort_keys=True)
    if module.endswith(".py") or "/" in module:
        return str(side.local(Path(module)))
    return module


def side_plan(plan: Plan, side: Side) -> Plan:
    """The plan as one side runs it: its users' code from its checkout, its work scaled by its factor.

    ``ab.json`` records the plan once, as the current checkout sees it; each side's run folder gets
    its own version.
    """


    cells = tuple(replace(c, module=_repointed(c.module, side)) for c in plan.cells)
    if side.scale != 1.0:
        cells = tuple(
            replace(c, params=workloads.get(c.workload).resolve(c.params, side.scale), scale=c.scale * side.scale)
            for c in cells
        )
    return replace(plan, cells=cells)

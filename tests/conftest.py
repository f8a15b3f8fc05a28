"""Shared fixtures and helpers: one real smoke run, reused by every test that reads a run folder, and the
CLI called in-process for tests of its usage errors.

Markers (registered in pyproject.toml): ``slow`` tests start real runs (seconds each); ``make check`` leaves
them out. ``serial`` tests measure time or need the CPUs to themselves; ``make test`` runs them after the
others, one at a time, never beside another test. Every other test must pass on a busy machine (the
parallel pass is one): a test that loads the CPUs on purpose (the CPU hog of test_reliability) may run
beside them.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest


def gilbench(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the gilbench CLI as a user would, in a child interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "gilbench", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def gilbench_here(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The gilbench CLI in this process (``bench.cli.main``): its exit code, stdout and stderr, as
    :func:`gilbench` returns them, for commands that end before anything is run (usage errors, help,
    list). argparse's own exits (``SystemExit``) are caught and their code returned; ``cwd`` is the working
    directory during the call (as for a child started there)."""
    from gilbench.bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help (0), a malformed option (2)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(here)
    return subprocess.CompletedProcess(["gilbench", *args], code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class SmokeRun:
    """A finished `gilbench run --profile smoke`: its run folder and what the command printed."""

    folder: Path
    returncode: int
    stdout: str
    stderr: str


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where what is made once is kept: ``GILBENCH_TEST_SHARED`` when set (`make test` and `make check` set it
    for both of their passes), else this session's base folder (under xdist, the one above the workers')."""
    if os.environ.get("GILBENCH_TEST_SHARED"):
        return Path(os.environ["GILBENCH_TEST_SHARED"])
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(root: Path, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """What ``make(root)`` returned, made by the first of the pytest processes sharing ``root`` (xdist workers,
    a make target's two passes) to take its lock; the others wait, then read the record it left."""
    root.mkdir(parents=True, exist_ok=True)
    record = root / "made.json"
    with open(root / "made.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            record.write_text(json.dumps(make(root)))
    return json.loads(record.read_text())


def _smoke_run(root: Path) -> dict[str, Any]:
    done = gilbench("run", "--profile", "smoke", "--output", str(root / "results"))
    folder = (root / "results" / "latest").resolve() if done.returncode == 0 else root
    return {"folder": str(folder), "returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


@pytest.fixture(scope="session")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """One real `gilbench run --profile smoke` (both hello workloads, both experiments) for the session.
    Tests read it and copy it before they change anything."""
    saved = made_once(shared_folder(tmp_path_factory) / "shared-smoke", _smoke_run)
    done = SmokeRun(Path(saved["folder"]), saved["returncode"], saved["stdout"], saved["stderr"])
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="session")
def smoke_run(smoke: SmokeRun) -> Path:
    """The shared smoke run's folder."""
    return smoke.folder


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `slow` tests first, in their order: pytest-xdist hands tests out in this order, so the long ones start
    early and the short ones fill in at the end, rather than one worker finishing a long test while the
    other waits."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

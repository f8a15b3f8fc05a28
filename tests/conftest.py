"""Shared fixtures: one real smoke run, reused by the tests that read a run folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def gilbench(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the gilbench CLI as a user would, in a child interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "gilbench", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `gilbench run --profile smoke`, its run folder."""
    root = tmp_path_factory.mktemp("results")
    done = gilbench("run", "--profile", "smoke", "--output", str(root))
    assert done.returncode == 0, done.stderr
    return (root / "latest").resolve()

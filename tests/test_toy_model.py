"""Adding an execution model is one module: nothing in reports/ or the comparison is edited."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import gilbench

ROOT = Path(__file__).resolve().parent.parent
#: what a bare checkout runs from: the ``gilbench`` package and the parts its finder maps
CHECKOUT_PARTS = ("gilbench", "bench", "workloads", "reports", "experiments")
TOY = '''"""A toy execution model, written by tests/test_toy_model.py into a temporary copy of the checkout."""

from gilbench.bench.backends.threads import Threads


class ToyModel(Threads):
    name = "toy-model"
    description = "threads under another name: a model reports have never heard of"
    family = "toy"
'''


@pytest.fixture
def toy_checkout(tmp_path: Path) -> Path:
    """A copy of this checkout with one module added, bench/backends/toy_model.py: the checkout itself, which
    tests beside this one read (every model is listed, planned and reported), is never written."""
    checkout = tmp_path / "checkout"
    for part in CHECKOUT_PARTS:
        shutil.copytree(ROOT / part, checkout / part)  # with its bytecode caches (copied times keep them valid)
    path = checkout / "bench" / "backends" / "toy_model.py"
    assert not (ROOT / "bench" / "backends" / "toy_model.py").exists()
    path.write_text(TOY)
    return checkout


@pytest.mark.slow
def test_a_new_model_module_runs_and_appears_in_the_report(toy_checkout, tmp_path):
    # run from the copy: `python -m gilbench` there imports its gilbench, whose finder maps its parts
    done = gilbench("run", "--profile", "smoke", "--no-experiments", "--workload", "hello-cpu", "--backend",
                    "sequential,toy-model",
                    "--output", str(tmp_path / "r"), cwd=toy_checkout)
    assert done.returncode == 0, done.stderr
    from gilbench.bench.backends import all_backends

    assert "toy-model" not in all_backends()  # this checkout's models: it never had the module
    run = (tmp_path / "r" / "latest").resolve()
    table = pd.read_csv(run / "results.csv")
    toy = table[table["backend"] == "toy-model"]
    assert len(toy) == 2 and (toy["status"] == "ok").all() and (toy["family"] == "toy").all()
    html = (run / "report.html").read_text()
    assert "toy-model" in html  # in the verdicts, the tables and the start-cost table: no edit in reports/


def test_a_gil_state_other_than_asked_fails_the_cell(monkeypatch):
    from gilbench.bench.backends import TaskFailed
    from gilbench.bench.measure.cell import _check_gil
    from gilbench.bench.measure.machine import gil_enabled

    monkeypatch.setenv("PYTHON_GIL", "0" if gil_enabled() else "1")  # the opposite of this process's state
    with pytest.raises(TaskFailed, match="although PYTHON_GIL="):
        _check_gil()
    monkeypatch.setenv("PYTHON_GIL", "1" if gil_enabled() else "0")
    _check_gil()  # as asked: nothing to say

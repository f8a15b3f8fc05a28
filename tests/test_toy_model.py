"""Adding an execution model is one module: nothing in reports/ or the comparison is edited."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import gilbench

BACKENDS = Path(__file__).resolve().parent.parent / "bench" / "backends"
TOY = '''"""A toy execution model, written by tests/test_toy_model.py and removed after it."""

from gilbench.bench.backends.threads import Threads


class ToyModel(Threads):
    name = "toy-model"
    description = "threads under another name: a model reports have never heard of"
    family = "toy"
'''


@pytest.fixture
def toy_module():
    path = BACKENDS / "toy_model.py"
    assert not path.exists()
    path.write_text(TOY)
    try:
        yield path
    finally:
        path.unlink()


@pytest.mark.slow
def test_a_new_model_module_runs_and_appears_in_the_report(toy_module, tmp_path):
    done = gilbench("run", "--profile", "smoke", "--no-experiments", "--workload", "hello-cpu", "--backend",
                    "sequential,toy-model",
                    "--output", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
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

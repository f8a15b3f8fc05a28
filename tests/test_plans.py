"""bench.plan.plans: a request's matrix as a plan, the thinning it is fitted with, and a run folder's plan again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gilbench.bench.measure.run import RunOptions, new_manifest
from gilbench.bench.plan.budget import FULL
from gilbench.bench.plan.plans import check_writable, plan_for, plan_of, thinning_for
from gilbench.bench.plan.request import Matrix


def test_a_matrix_becomes_a_plan_and_its_manifest_gives_the_same_plan_back() -> None:
    plan = plan_for(Matrix("smoke", workloads=("hello-cpu",), backends=("sequential", "threads"), workers=(1, 2),
                           cores=(1,)), cpus=[0])
    assert plan.cells and {c.workload for c in plan.cells} <= {"hello-cpu", "noop"}
    assert {c.backend for c in plan.cells} == {"sequential", "threads"}
    again = plan_of(json.loads(json.dumps(new_manifest(plan, RunOptions()))))
    assert (again.profile, again.timing, again.cells, again.skipped) == (plan.profile, plan.timing, plan.cells, plan.skipped)


def test_an_explicit_grid_is_not_thinned_without_a_budget() -> None:
    assert thinning_for(Matrix("smoke", workers=(1, 2)), None, False) == (FULL, None)
    assert thinning_for(Matrix("smoke"), None, True) == (FULL, None)


def test_an_unwritable_output_is_refused_before_anything_runs(tmp_path: Path) -> None:
    check_writable(tmp_path / "new")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="cannot write there"):
        check_writable(tmp_path / "file" / "below")

"""bench.plan.specs: the workloads a user names on the command line, their parameters parsed."""

from __future__ import annotations

import pytest

from gilbench.bench.plan import specs
from gilbench.workloads import Declaration


def test_a_parameter_value_is_a_number_a_truth_value_or_the_text() -> None:
    assert [specs.parse_value(t) for t in ("3", "2.5", "True", "false", "fast")] == [3, 2.5, True, False, "fast"]
    assert specs.parse_params(["n=1000", " mode = fast "]) == {"n": 1000, "mode": "fast"}
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        specs.parse_params(["n"])
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        specs.parse_params(["1n=2"])


def test_built_in_names_pass_and_a_declaration_needs_a_spec_to_apply_to() -> None:
    assert specs.is_spec("pkg.mod:func") and not specs.is_spec("hello-cpu")
    assert specs.resolve(["hello-cpu", "noop"]) == ["hello-cpu", "noop"]
    with pytest.raises(ValueError, match="name one with --workload package.module:function"):
        specs.resolve(["hello-cpu"], specs.declaration("io-bound", None, None))
    assert specs.declaration(None, "n", ["n=3"]) == Declaration(kind="", size="n", params={"n": 3})

"""reports.outputs: the comparison and merge formats are outputs of their own, apart from a run's."""

from __future__ import annotations

import pytest


def test_comparison_and_merge_formats_are_outputs_apart_from_a_runs() -> None:
    from gilbench.reports.outputs import all_outputs, get_output

    assert set(all_outputs("comparison")) == {"compare-html", "compare-markdown", "compare-json", "compare-text"}
    assert set(all_outputs("merge")) == {"merged-html"}
    assert not set(all_outputs()) & (set(all_outputs("comparison")) | set(all_outputs("merge")))  # not in a run folder
    assert get_output("compare-json").filename == "compare.json"
    with pytest.raises(ValueError, match="unknown kind of output"):
        all_outputs("page")

"""The report's data for the fixture run folders is what it was before the run model was typed and its
queries gathered in one layer (bench.data.records, bench.data.query): tests/fixtures/report-data-golden.json was
written by tests/report_golden.py from the code before that change."""

from __future__ import annotations

import json

import matplotlib
import pytest

from tests import report_golden

pytestmark = pytest.mark.xdist_group("report_golden")  # its module fixtures: made once, on one xdist worker

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def now() -> dict:
    return json.loads(report_golden.dumps(report_golden.all_report_data()))


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(report_golden.GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("run", [*report_golden.REAL_RUNS, report_golden.SYNTHETIC, report_golden.FAILURES])
def test_report_data_is_unchanged(now: dict, golden: dict, run: str) -> None:
    assert set(now[run]) == set(golden[run])
    for part in golden[run]:
        assert now[run][part] == golden[run][part], report_golden.first_difference(now[run][part], golden[run][part],
                                                                                 f"{run}/{part}")

"""The export formats: bencher.json (Bencher Metric Format) and github-action-benchmark's two JSON files.

Each file is checked against its published shape (the BMF JSON Schema of bencher.dev/docs/reference/
bencher-metric-format, and the ``BenchmarkResult`` array github-action-benchmark's custom tools read,
src/extract.ts) by explicit structural checks below, on a real run (tests/fixtures/run-1cpu) and on the
synthetic run of tests/fixtures/make_runs.py, whose numbers are known: every process median is the cell's
time x 1.00, 1.02 or 0.98 (pads 0, 512, 1024), so each time's range is exactly x0.98 to x1.02 and every
per-process ratio of two cells equals the ratio of their times.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from gilbench.reports import build, frame
from gilbench.reports.outputs import all_outputs
from gilbench.reports.outputs.bencher import BencherOutput
from gilbench.reports.outputs.github_benchmark import GithubBenchmarkSpeedup, GithubBenchmarkTime
from tests.fixtures import make_runs as fx
from tests.fixtures.make_runs import FT_OFF, GIL, LAYOUT, TIMES, cell_id

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run-1cpu"
#: a Bencher measure slug: lowercase kebab case, at most 64 characters
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: how github-action-benchmark reads a range (src/extractRangeInfo.ts)
RANGE = re.compile(r"(?P<prefix>(\+-|±)\s*)(?P<value>\d.+)")


def strict_json(text: str) -> Any:
    """JSON without NaN or Infinity, which neither tool accepts."""
    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_bmf(data: Any) -> None:
    """The BMF JSON Schema (an object of benchmarks, each an object of measures, each an object with a required
    number ``value`` and optional numbers ``lower_value``/``upper_value``), plus what the export promises."""
    assert isinstance(data, dict) and data
    for benchmark, measures in data.items():
        assert isinstance(benchmark, str) and 0 < len(benchmark) <= 1024
        assert isinstance(measures, dict) and measures and "latency" in measures
        for slug, m in measures.items():
            assert SLUG.match(slug) and len(slug) <= 64, slug
            assert isinstance(m, dict) and "value" in m and set(m) <= {"value", "lower_value", "upper_value"}
            assert all(is_number(v) for v in m.values()), (benchmark, slug, m)
            if "lower_value" in m or "upper_value" in m:
                assert {"lower_value", "upper_value"} <= set(m)
                assert m["lower_value"] <= m["value"] <= m["upper_value"], (benchmark, slug, m)


def check_gab(data: Any, unit: str) -> None:
    """github-action-benchmark's custom format: an array of {name, unit, value, range?, extra?}."""
    assert isinstance(data, list) and data
    for e in data:
        assert set(e) <= {"name", "unit", "value", "range", "extra"} and {"name", "unit", "value"} <= set(e)
        assert isinstance(e["name"], str) and e["name"] and e["unit"] == unit and is_number(e["value"])
        assert isinstance(e.get("extra", ""), str)
        if "range" in e:
            found = RANGE.search(e["range"])
            assert found and math.isfinite(float(found["value"])) and float(found["value"]) >= 0, e["range"]
    assert len({e["name"] for e in data}) == len(data)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> frame.RunData:
    return frame.load(fx.write_run(tmp_path_factory.mktemp("runs")))


@pytest.fixture(scope="module")
def real() -> frame.RunData:
    return frame.load(FIXTURE)


def test_outputs_are_discovered_and_written_into_the_run_folder(tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    outputs = all_outputs()
    assert {"bencher", "github-benchmark-time", "github-benchmark-speedup"} <= set(outputs)
    written = {p.name for p in build(run)}
    assert {"bencher.json", "github-benchmark-time.json", "github-benchmark-speedup.json",
            "report.html", "results.csv"} <= written
    check_bmf(strict_json((run / "bencher.json").read_text()))
    check_gab(strict_json((run / "github-benchmark-time.json").read_text()), "ms")
    check_gab(strict_json((run / "github-benchmark-speedup.json").read_text()), "x")


@pytest.mark.parametrize("which", ["real", "synthetic"])
def test_bencher_json_has_the_published_shape_and_one_benchmark_per_finished_cell(which, request):
    run = request.getfixturevalue(which)
    data = strict_json(BencherOutput().render(run))
    check_bmf(data)
    ok = run.cells[run.cells["status"] == "ok"]
    assert set(data) == set(ok["id"])
    for r in ok.itertuples():
        assert data[r.id]["latency"]["value"] == pytest.approx(r.time * 1e9)
        assert ("speedup" in data[r.id]) == (not r.baseline)  # the baseline's speedup is 1 by definition
        if not r.baseline:
            assert data[r.id]["speedup"]["value"] == pytest.approx(r.speedup)
            assert data[r.id]["efficiency"]["value"] == pytest.approx(r.speedup / r.ideal)


def test_bencher_figures_and_ranges_match_the_known_process_medians(synthetic):
    data = strict_json(BencherOutput().render(synthetic))
    assert not any("asyncio" in name for name in data)  # skipped cells have no figures
    for label in (GIL, FT_OFF):
        base = TIMES[label][("sequential", 1)]
        for (backend, workers), time in TIMES[label].items():
            got = data[cell_id(label, backend, workers)]
            assert got["latency"] == pytest.approx({"value": time * 1e9, "lower_value": time * min(LAYOUT) * 1e9,
                                                   "upper_value": time * max(LAYOUT) * 1e9})
            if backend == "sequential":
                assert set(got) == {"latency", "parallelism"}
                continue
            speedup = base / time
            assert got["speedup"] == pytest.approx({"value": speedup, "lower_value": speedup, "upper_value": speedup})
            ideal = min(workers, fx.CORES)
            assert got["efficiency"]["value"] == pytest.approx(speedup / ideal)
    # parallelism: the synthetic processes report CPU = wall x 2 for process-based cells at 2 workers
    assert data[cell_id(GIL, "processes", 2)]["parallelism"]["value"] == pytest.approx(2.0)
    assert data[cell_id(GIL, "threads", 2)]["parallelism"]["value"] == pytest.approx(1.0)


@pytest.mark.parametrize("which", ["real", "synthetic"])
def test_github_action_benchmark_files_have_the_published_shape(which, request):
    run = request.getfixturevalue(which)
    ok = run.cells[run.cells["status"] == "ok"].set_index("id")
    times = strict_json(GithubBenchmarkTime().render(run))
    check_gab(times, "ms")
    assert [e["name"] for e in times] == list(ok.index)
    for e in times:
        assert e["value"] == pytest.approx(ok.loc[e["name"], "time"] * 1e3)
    speedups = strict_json(GithubBenchmarkSpeedup().render(run))
    check_gab(speedups, "x")
    assert [e["name"] for e in speedups] == list(ok.index[~ok["baseline"].astype(bool)])
    for e in speedups:
        assert e["value"] == pytest.approx(ok.loc[e["name"], "speedup"])
        assert "/ time of this cell" in e["extra"]


def test_github_action_benchmark_range_is_the_larger_distance_to_a_process(synthetic):
    times = {e["name"]: e for e in strict_json(GithubBenchmarkTime().render(synthetic))}
    time = TIMES[GIL][("threads", 2)]
    entry = times[cell_id(GIL, "threads", 2)]
    half = float(RANGE.search(entry["range"])["value"])
    assert half == pytest.approx(time * 0.02 * 1e3, rel=1e-3)  # pads' medians are x0.98 and x1.02
    assert "median of 3 pyperf processes" in entry["extra"]

"""Reports generic over execution models and interpreters, on a synthetic run folder with known times.

The run (tests/fixtures/make_runs.py, written into tmp_path) has a GIL build (3.14) and one free-threaded
binary run with PYTHON_GIL=0 and PYTHON_GIL=1, the models sequential (the baseline), threads, processes,
subinterpreters, a toy model that no report module knows, and asyncio, whose cells are skipped with a
reason; no-op cells give each model's start cost. Every expected number is computed here from the
fixture's tables, not copied from the report.
"""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from gilbench.reports import build, figures, frame
from gilbench.reports.builds import free_threaded_pairs, gil_effect_pairs
from gilbench.reports.outputs.csv import CsvOutput
from gilbench.reports.outputs.html import HtmlOutput
from gilbench.reports.verdicts import verdicts
from tests.fixtures import make_runs as fx
from tests.fixtures.make_runs import FT_OFF, FT_ON, GIL, TIMES, TOY, cell_id

pytestmark = pytest.mark.xdist_group("reports_generic")  # its fixtures: made once, on one xdist worker

REPORTS = Path(__file__).resolve().parent.parent / "reports"


def speed(label: str, backend: str, workers: int) -> float:
    return TIMES[label][("sequential", 1)] / TIMES[label][(backend, workers)]


def best(label: str, backend: str) -> float:
    return max(speed(label, backend, w) for (b, w) in TIMES[label] if b == backend)


@pytest.fixture(scope="module")
def run_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.write_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def run(run_path):
    return frame.load(run_path)


@pytest.fixture(scope="module")
def html(run):
    """The page's text, entities decoded (autoescaping writes an apostrophe as &#39;)."""
    return unescape(HtmlOutput().render(run))


def _cell(run, cid: str) -> pd.Series:
    return run.cells.set_index("id").loc[cid]


def test_frame_has_interpreter_and_family_and_speedups_stay_within_one_interpreter(run):
    for column in ("python", "family", "in_process", "build", "gil_enabled"):
        assert column in run.cells.columns, column
    assert list(run.interpreters) == [GIL, FT_OFF, FT_ON]  # the order the cells name them
    t = _cell(run, cell_id(FT_OFF, "threads", 2))
    assert (t["python"], t["family"], bool(t["in_process"]), t["build"]) == (FT_OFF, "threads", True, "free-threading")
    assert bool(t["gil_enabled"]) is False
    # against the free-threaded interpreter's own baseline (1.12 s), not the GIL build's (1.00 s)
    assert t["baseline_time"] == pytest.approx(1.12)
    assert t["speedup"] == pytest.approx(speed(FT_OFF, "threads", 2))
    assert t["scaling"] == pytest.approx(1.10 / 0.59)
    toy = _cell(run, cell_id(GIL, TOY, 2))
    assert toy["family"] == "threads" and toy["speedup"] == pytest.approx(1.0) and toy["scaling"] == pytest.approx(0.99)
    assert _cell(run, cell_id(GIL, "processes", 2))["in_process"] == False  # noqa: E712 - numpy bool
    # the main-thread gap per interpreter and per in-process model
    gaps = run.gaps.set_index(["python", "workload", "thread_id"])
    assert gaps.loc[(FT_ON, "hello-cpu", cell_id(FT_ON, TOY, 1)), "gap"] == pytest.approx(1.13 / 1.12)
    assert _cell(run, cell_id(GIL, TOY, 2))["main_thread_gap"] == pytest.approx(1.00 / 0.99)


def test_the_analyses_sections_are_on_the_page_and_none_failed(html):
    assert "Which work holds the GIL" in html and "Serial fraction (Amdahl's law)" in html
    assert "Section failed" not in html


def test_skipped_cells_are_listed_with_their_reasons_never_as_failures(run, html):
    skipped = run.skipped
    assert sorted(skipped["id"]) == sorted(cell_id(label, "asyncio", w) for label in fx.INTERPRETERS for w in (1, 2))
    assert set(skipped["note"]) == {fx.SKIP_NOTE}
    section = html[html.index('<h2 id="skipped">'):html.index('<h2 id="failed">')]
    for cid in skipped["id"]:
        assert cid in section
    assert section.count(fx.SKIP_NOTE) == 6
    assert "did not produce a timing" not in html  # no failure banner
    failed = html[html.index('<h2 id="failed">'):]
    assert "None: every cell completed every batch." in failed[:300]
    assert "6 cells not run, and why" in section


def test_start_cost_table_per_interpreter_and_model(run, html):
    costs = run.start_costs.set_index(["python", "backend"])
    assert set(costs.index.get_level_values("backend")) == {"threads", TOY, "processes", "subinterpreters"}
    threads = costs.loc[(GIL, "threads")]
    assert threads["start_ms"] == pytest.approx((100e-6 - 20e-6) * 1e3)
    assert (threads["low_ms"], threads["high_ms"]) == pytest.approx((0.079, 0.083))
    assert threads["layouts"] == 3
    assert costs.loc[(FT_OFF, "processes"), "start_ms"] == pytest.approx((3.3e-3 - 20e-6) * 1e3)
    section = html[html.index('<h2 id="start-cost">'):html.index('<h2 id="free-threaded">')]
    assert "0.080 ms" in section and "0.079 to 0.083 ms (3 processes)" in section  # threads on 3.14
    assert "2.980 ms" in section and "2.881 to 3.179 ms" in section  # processes on 3.14
    assert "3.280 ms" in section  # processes on the free-threaded build (1.1x the start cost)
    assert "4.980 ms" in section and TOY in section and "0.100 ms" in section
    for label in fx.INTERPRETERS:
        assert f"<td>{label}</td>" in section


def test_free_threaded_section_single_thread_cost_and_scaling_gain(run, html):
    pairs = {(p.a, p.b): p for p in free_threaded_pairs(run)}
    assert set(pairs) == {(FT_OFF, GIL), (FT_ON, GIL)}
    trade = pairs[(FT_OFF, GIL)].workloads
    assert [t.workload for t in trade] == ["hello-cpu"]  # the no-op workload has no scaling to compare
    t = trade[0]
    assert t.cost == pytest.approx(1.12) and (t.cost_low, t.cost_high, t.layouts) == pytest.approx((1.12, 1.12, 3))
    gains = {m.backend: m.gain for m in t.models}
    assert set(gains) == {"threads", TOY, "subinterpreters"}  # the models whose workers share the process
    assert gains["threads"] == pytest.approx(best(FT_OFF, "threads") / best(GIL, "threads"))
    assert t.top.backend == "threads"
    assert t.net == pytest.approx(0.59 / 0.53)
    section = html[html.index('<h2 id="free-threaded">'):html.index('<h2 id="layout">')]
    assert (f"the baseline takes 1.12x as long on {FT_OFF} as on {GIL} (the free-threaded build's single-thread cost: "
            "12 % slower") in section
    expected_gain = best(FT_OFF, "threads") / best(GIL, "threads")
    assert (f"best speedup of threads: {best(FT_OFF, 'threads'):.2f}x there against {best(GIL, 'threads'):.2f}x on "
            f"{GIL}, a scaling gain of {expected_gain:.2f}x") in section
    assert pairs[(FT_OFF, GIL)].summary in section
    assert f"single-thread cost 1.12x over 1 workload; scaling gain up to {expected_gain:.2f}x" in section
    assert f"1.13x as long on {FT_ON} as on {GIL}" in section  # the same build with the GIL on pays it too


def test_python_gil_comparison_isolates_the_gil(run, html):
    pairs = gil_effect_pairs(run)
    assert [(p.a, p.b) for p in pairs] == [(FT_OFF, FT_ON)]
    t = pairs[0].workloads[0]
    assert t.cost == pytest.approx(1.12 / 1.13)
    effect = best(FT_OFF, "threads") / best(FT_ON, "threads")
    assert t.top.backend == "threads" and t.top.gain == pytest.approx(effect)
    section = html[html.index("The GIL's own effect"):html.index('<h2 id="layout">')]
    assert (f"best speedup of threads: {best(FT_OFF, 'threads'):.2f}x with the GIL off against "
            f"{best(FT_ON, 'threads'):.2f}x with it on, so the GIL's own effect on its scaling is {effect:.2f}x") in section
    assert "the baseline takes 0.99x as long with the GIL off as with it on (1 % faster" in section
    assert "/opt/python/3.14t/bin/python3.14t" in section


def test_verdicts_per_interpreter_name_the_models_in_order(run, html):
    found = {(v.python, v.workers): v for v in verdicts(run.cells, True, run.gaps,
                                                        {k: d["display"] for k, d in run.interpreters.items()})}
    assert sorted(found) == sorted((label, 2) for label in fx.INTERPRETERS)
    on_gil = found[(GIL, 2)]
    assert [m.backend for m in on_gil.models] == ["processes", "subinterpreters", "threads", TOY]
    assert on_gil.sentence.startswith(
        f"CPU-bound hello-cpu on {GIL}, 2 cores, 2 workers: processes {speed(GIL, 'processes', 2):.2f}x, "
        f"subinterpreters {speed(GIL, 'subinterpreters', 2):.2f}x ({1.01 / 0.555:.2f}x its 1-worker time), "
        f"threads {speed(GIL, 'threads', 2):.2f}x "
        f"(0.99x its 1-worker time), {TOY} 1.00x (0.99x its 1-worker time)")
    assert on_gil.reason == (f"the GIL serializes threads and {TOY}; processes and subinterpreters run in parallel; "
                             "no clear winner between processes and subinterpreters (within 1.25x of each other)")
    off = found[(FT_OFF, 2)]
    assert not off.gil and off.serialized == [TOY]
    assert off.reason.startswith(f"{TOY} do not scale although the GIL is off: look for contention; "
                                 "processes, threads and subinterpreters run in parallel")
    assert found[(FT_ON, 2)].gil and found[(FT_ON, 2)].reason.startswith(f"the GIL serializes threads and {TOY}")
    # the page shows each, per interpreter, as one row of the verdict table (its words in the row, no second list)
    table = html[html.index('<table class="verdicts">'):]
    table = table[:table.index("</table>")]
    for v in found.values():
        assert f"<td>{v.interpreter}{'' if v.gil else ' (GIL off)'}</td>" in table and f"<td>{v.reason}</td>" in table
        assert v.sentence not in html


@pytest.mark.slow
def test_a_toy_model_appears_everywhere_without_an_edit_in_reports(run_path, run, html):
    assert TOY in html
    assert html.count(TOY) > 10  # verdicts, tables, layout groups, start costs, the models table
    assert f"<td>{TOY}</td><td>threads</td><td>yes</td>" in html  # the models table: family, in-process
    written = build(run_path)
    assert {p.name for p in written} >= {"report.html", "results.csv"}
    table = pd.read_csv(run_path / "results.csv")
    assert TOY in set(table["backend"])
    assert set(table.loc[table["backend"] == TOY, "family"]) == {"threads"}
    assert set(table["python"]) == set(fx.INTERPRETERS)
    # the speedup figure draws a curve per model, the toy one included, one column per interpreter
    fig = figures.speedup_figure(run.cells, {k: d["display"] for k, d in run.interpreters.items()})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert set(labels) == {"threads", TOY, "processes", "subinterpreters", "ideal"}
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"hello-cpu on {label}" for label in fx.INTERPRETERS]  # the no-op workload has no panel
    toy_lines = [line for ax in fig.axes for line in ax.get_lines() if line.get_label() == TOY]
    assert len(toy_lines) == 3
    assert list(toy_lines[1].get_ydata()) == pytest.approx([speed(FT_OFF, TOY, 1), speed(FT_OFF, TOY, 2)])
    colors = figures.backend_colors(run.cells["backend"])
    assert toy_lines[0].get_color() == colors[TOY] and len(set(map(str, colors.values()))) == len(colors)
    # the canary figure gives each model the colour it has in the speedup figure
    canary = figures.canary_figure(run.processes, colors)
    assert [line.get_color() for line in canary.axes[0].get_lines() if line.get_label() == TOY] == [colors[TOY]]
    # the comparison's overlay too: every model of both runs, a row per interpreter
    overlay = figures.speedup_overlay(run.cells, run.cells)
    assert f"{TOY}, candidate" in [t.get_text() for t in overlay.legends[0].get_texts()]
    assert [ax.get_title() for ax in overlay.axes] == [f"hello-cpu on {label}" for label in fx.INTERPRETERS]


def test_comparison_page_draws_every_model_across_interpreters(run_path):
    from gilbench.bench.data.thresholds import parse_threshold
    from gilbench.bench.judge.compare import compare
    from gilbench.bench.judge.sides import RunSide
    from gilbench.reports import comparison

    result = compare(RunSide.load(str(run_path)), RunSide.load(str(run_path)), [parse_threshold("time:10%")])
    assert any(r.id == cell_id(FT_OFF, TOY, 2) for r in result.rows)
    page = comparison.html(result)
    assert "Speedup curves, both runs" in page and page.count("data:image/png;base64,") == 2
    assert cell_id(FT_OFF, TOY, 2) in page


def test_csv_has_the_generic_columns(run):
    table = pd.read_csv(io.StringIO(CsvOutput().render(run)))
    for column in ("python", "family", "in_process", "n_processes", "speedup", "scaling", "note"):
        assert column in table.columns
    row = table[table["id"] == cell_id(FT_ON, "threads", 2)].iloc[0]
    assert row["speedup"] == pytest.approx(speed(FT_ON, "threads", 2))


def _names_in_reports() -> list[str]:
    from gilbench.bench.backends import all_backends

    return sorted(set(all_backends()) | {"threads", "processes", "sequential", TOY} | set(fx.INTERPRETERS)
                  | {"3.10", "3.11", "3.12", "3.13", "3.14", "3.14t"})


def test_nothing_in_reports_names_a_backend_or_an_interpreter():
    files = sorted(p for p in REPORTS.rglob("*") if p.suffix in (".py", ".j2"))
    assert len(files) >= 10
    pattern = re.compile("[\"'](" + "|".join(re.escape(n) for n in _names_in_reports()) + ")[\"']")
    found = [f"{p.relative_to(REPORTS.parent)}:{n}: {line.strip()}" for p in files
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []

"""The HTML pages as a reader's browser shows them, and what they say at the top.

A report is one self-contained file: opened in headless Chromium (``tests/browser.py``, DevTools over a
pipe) it must log no console error, request nothing but its own file and inlined data, and draw every
figure (each <img> loaded, with pixels that vary). The checker itself is tested on a page built to fail.
One browser is started per page. The headline and the speedup bands are tested without a browser too.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg
from matplotlib.collections import PolyCollection

from gilbench.reports import figures, frame, noise
from gilbench.reports.outputs.html import speedup_bands
from gilbench.reports.verdicts import headline, verdicts
from tests.browser import find_chromium, open_page, pixel_std
from tests.conftest import gilbench
from tests.fixtures import make_runs as fx

pytestmark = pytest.mark.xdist_group("pages")  # its fixtures: made once, on one xdist worker


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser, or a skip that says why there is none (``.ci/run`` installs it and, where it cannot,
    says why in GILBENCH_CHROMIUM_MISSING)."""
    found = find_chromium()
    if not found:
        pytest.skip(os.environ.get("GILBENCH_CHROMIUM_MISSING")
                    or "chromium is not installed (.ci/run installs it: apt-get install chromium)")
    return found


def png_uri(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    mpimg.imsave(buffer, pixels, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def assert_clean(page) -> None:
    assert page.problems() == []
    assert page.requests and page.requests[0] == page.url  # the observer saw the page's own request


# -- the checker ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_checker_catches_errors_remote_requests_and_figures_not_drawn(tmp_path, chromium):
    drawn = png_uri(np.tile(np.linspace(0, 1, 60), (40, 1)))
    blank = png_uri(np.ones((40, 60, 3)))
    page = tmp_path / "bad.html"
    page.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>bad</title></head><body>
<h1>A page that breaks every rule</h1>
<img alt="drawn" src="{drawn}" width="240" height="160">
<img alt="blank" src="{blank}" width="240" height="160">
<img alt="remote" src="http://example.invalid/x.png">
<script>console.error("deliberate error"); setTimeout(() => {{ throw new Error("deliberate throw"); }}, 0);</script>
</body></html>""")
    seen = open_page(page, chromium)
    problems = seen.problems()
    assert "console error: deliberate error" in problems
    assert any("deliberate throw" in p for p in problems)
    assert "network request: http://example.invalid/x.png" in problems
    assert {f.alt for f in seen.figures if not f.drawn} == {"blank", "remote"}
    assert [f.alt for f in seen.figures if f.drawn] == ["drawn"]
    assert not any("blank screenshot" in p for p in problems)


def test_pixel_spread_tells_a_blank_image_from_a_drawn_one():
    white, drawn = io.BytesIO(), io.BytesIO()
    mpimg.imsave(white, np.ones((20, 30, 3)), format="png")
    mpimg.imsave(drawn, np.tile(np.linspace(0, 1, 30), (20, 1)), format="png")
    assert pixel_std(white.getvalue()) == 0
    assert pixel_std(drawn.getvalue()) > 0.1


# -- the pages --------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_run_report_is_self_contained_error_free_and_drawn(smoke_run, chromium):
    seen = open_page(smoke_run / "report.html", chromium)
    assert_clean(seen)
    alts = {f.alt for f in seen.figures}
    assert "speedup against workers for every model and the ideal" in alts and len(seen.figures) >= 3
    # the headline is at the top, before the verdict table it is drawn from
    assert "Which model wins" in seen.text
    assert seen.text.index("Which model wins") < seen.text.index("Verdicts")
    assert "hello-cpu: " in seen.text and "hello-sleep: " in seen.text


@pytest.mark.slow
def test_a_report_over_three_interpreters_is_self_contained_error_free_and_drawn(tmp_path, chromium):
    run = fx.write_run(tmp_path)
    done = gilbench("report", str(run))
    assert done.returncode == 0, done.stderr
    seen = open_page(run / "report.html", chromium)
    assert_clean(seen)
    assert len(seen.figures) >= 2
    top = seen.text[seen.text.index("Which model wins"):seen.text.index("Verdicts")]
    assert all(f"on {label}" in top for label in fx.INTERPRETERS)


@pytest.mark.slow
def test_a_comparison_page_is_self_contained_error_free_and_drawn(smoke_run, tmp_path, chromium):
    cand = tmp_path / "cand"
    shutil.copytree(smoke_run, cand)
    out = tmp_path / "compare.html"
    done = gilbench("compare", str(smoke_run), str(cand), "--html", str(out))
    assert done.returncode == 0, done.stderr
    seen = open_page(out, chromium)
    assert_clean(seen)
    assert len(seen.figures) == 2


@pytest.mark.slow
def test_a_merged_report_is_self_contained_error_free_and_drawn(smoke_run, tmp_path, chromium):
    other = fx.write_run(tmp_path)  # another "machine" (hostname synthetic), hello-cpu in common
    out = tmp_path / "merged"
    done = gilbench("merge", str(smoke_run), str(other), "--output", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    seen = open_page(out / "report.html", chromium)
    assert_clean(seen)
    assert seen.figures


# -- the headline -----------------------------------------------------------------------------------------

MODELS = {"base": ("baseline", True), "shared": ("shared", True), "forked": ("forked", False)}


def cells_frame(times: dict[tuple[str, str, str, int], float], cores: int = 2) -> pd.DataFrame:
    """A cells frame from (interpreter, workload, model, workers) -> time; "base" is the baseline."""
    kinds = {"cpu": "cpu-bound", "wait": "io-bound", "noop": "cpu-bound"}
    rows = []
    for (python, workload, model, workers), time in times.items():
        family, in_process = MODELS[model]
        rows.append({"id": f"{workload}/{model}/w{workers}@{python}", "python": python, "workload": workload,
                     "kind": kinds[workload], "backend": model, "family": family, "in_process": in_process,
                     "baseline": model == "base", "workers": workers, "cores": cores, "tasks": 4, "time": time,
                     "status": "ok"})
    return frame.add_scaling(pd.DataFrame(rows))


def test_the_headline_has_one_sentence_per_workload_naming_the_winner_and_its_speedup():
    cells = cells_frame({
        ("", "cpu", "base", 1): 1.0, ("", "cpu", "shared", 1): 0.98, ("", "cpu", "shared", 2): 0.99,
        ("", "cpu", "forked", 1): 1.02, ("", "cpu", "forked", 2): 0.52,
        ("", "wait", "base", 1): 1.0, ("", "wait", "shared", 1): 1.0, ("", "wait", "shared", 2): 0.51,
        ("", "wait", "forked", 1): 1.05, ("", "wait", "forked", 2): 0.6,
        ("", "noop", "base", 1): 1e-5, ("", "noop", "shared", 1): 1e-4,  # one worker only: no verdict
    })
    lines = headline(verdicts(cells))
    assert len(lines) == 2
    cpu, wait = lines
    assert cpu.startswith("cpu: forked won, 1.92x at 2 workers on 2 cores")
    assert "the GIL serialized shared (0.99x its 1-worker time)" in cpu
    assert wait.startswith("wait: no clear winner at 2 workers on 2 cores: shared 1.96x and forked 1.67x")
    assert all(line.endswith(".") and line.count(". ") == 0 for line in lines)


def test_the_headline_takes_the_most_cores_and_says_each_interpreter():
    times = {}
    for python, shared in (("gil", 0.99), ("nogil", 0.5)):
        times.update({(python, "cpu", "base", 1): 1.0, (python, "cpu", "shared", 1): 1.0,
                      (python, "cpu", "shared", 2): shared, (python, "cpu", "forked", 2): 0.55})
    one_core = cells_frame({k: v * 2 for k, v in times.items()}, cores=1)
    cells = pd.concat([one_core, cells_frame(times)], ignore_index=True)
    cells["gil_enabled"] = cells["python"] == "gil"
    found = verdicts(cells, interpreters={"gil": "3.x", "nogil": "3.xt"})
    assert {v.cores for v in found} == {1, 2}
    (line,) = headline(found)
    assert line.startswith("cpu: on 3.x, forked won, 1.82x at 2 workers on 2 cores")
    assert "the GIL serialized shared" in line
    assert "; on 3.xt (GIL off), no clear winner at 2 workers on 2 cores: shared 2.00x and forked 1.82x" in line
    assert "1 core" not in line


def test_the_headline_agrees_with_the_verdicts_it_comes_from(tmp_path):
    run = frame.load(fx.write_run(tmp_path))
    found = verdicts(run.cells, interpreters={k: d["display"] for k, d in run.interpreters.items()})
    (line,) = headline(found)  # the no-op workload has one worker only: no verdict, no sentence
    for v in found:
        for m in v.models:
            if "fastest: " + m.backend in v.reason:
                assert f"{m.backend} won, {m.speedup:.2f}x" in line
            if m.serial:
                assert f"{m.backend} ({m.judged:.2f}x" in line
        assert f"on {v.interpreter}" in line


# -- the bands around the speedup curves ------------------------------------------------------------------

def test_each_curve_has_a_band_from_its_lowest_to_its_highest_speedup():
    cells = cells_frame({("", "cpu", "base", 1): 1.0, ("", "cpu", "shared", 1): 1.0, ("", "cpu", "shared", 2): 0.99,
                         ("", "cpu", "forked", 1): 1.02, ("", "cpu", "forked", 2): 0.52})
    bands = {"cpu/forked/w1@": (0.9, 1.0), "cpu/forked/w2@": (1.8, 2.1)}  # none for the shared model
    fig = figures.speedup_figure(cells, None, bands)
    (ax,) = fig.axes
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.9) and ys.max() == pytest.approx(2.1)
    assert band.get_facecolor()[0][:3] == pytest.approx(figures.backend_colors(cells["backend"])["forked"][:3])
    no_bands = figures.speedup_figure(cells, None)
    assert not [c for c in no_bands.axes[0].collections if isinstance(c, PolyCollection)]


@pytest.mark.slow
def test_the_bands_are_the_range_of_the_per_layout_speedups(smoke_run):
    run = frame.load(smoke_run)
    bands = speedup_bands(run)
    medians = {(p.id, p.process): p.median for p in run.processes.itertuples() if p.n}
    ok = run.cells[(run.cells["status"] == "ok") & run.cells["speedup"].notna() & ~frame.flag(run.cells, "baseline")]
    base = run.cells[frame.flag(run.cells, "baseline")].set_index(["workload", "cores"])["id"]
    assert set(bands) == set(ok["id"])
    for r in ok.itertuples():
        b = base[(r.workload, r.cores)]
        ratios = [medians[(b, k)] / medians[(r.id, k)] for (cid, k) in medians if cid == r.id and (b, k) in medians]
        low, high = bands[r.id]
        assert len(ratios) >= 2
        assert low == pytest.approx(min(min(ratios), r.speedup)) and high == pytest.approx(max(max(ratios), r.speedup))
        assert low <= r.speedup <= high


# -- what a reader takes in at a glance ---------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"
#: the page's text without its tables (visible text, whitespace collapsed) of run-16cpu-device's default
#: report at a051355, before the report led with its figure: 25,456 characters (tests/test_pages.py's
#: GLANCE expression on that commit's report.html of the same fixture)
TEXT_BEFORE = 25_456
GLANCE = {
    "first_figure_top": "document.images.length ? document.images[0].getBoundingClientRect().top + scrollY : null",
    "first_table_top": """(() => { const shown = Array.from(document.querySelectorAll('table'))
        .filter(t => t.checkVisibility());  // a table in a closed <details> is not seen
        return shown.length ? shown[0].getBoundingClientRect().top + scrollY : null; })()""",
    "text_without_tables": """(() => { const tables = Array.from(document.querySelectorAll('table'));
        tables.forEach(t => t.style.display = 'none');
        const text = document.body.innerText.replace(/\\s+/g, ' ').trim();
        tables.forEach(t => t.style.display = ''); return text; })()""",
    "noisy_rows": """Array.from(document.querySelectorAll('table.noisy tr')).slice(1)
        .map(r => Array.from(r.cells).map(c => c.textContent))""",
    "noise_banner": "(document.getElementById('noise') || {}).innerText || ''",
    "collapsed": "Array.from(document.querySelectorAll('details')).filter(d => !d.open).length",
    "headline": "(document.getElementById('headline') || {}).innerText || ''",
}


@pytest.fixture(scope="module")
def noisy_report(tmp_path_factory) -> tuple[Path, frame.RunData]:
    """The default report of the 16-core fixture run (49 of its 67 cells flagged by a slow canary)."""
    run = tmp_path_factory.mktemp("noisy") / "run"
    shutil.copytree(FIXTURES / "run-16cpu-device", run)
    done = gilbench("report", str(run))
    assert done.returncode == 0, done.stderr
    return run / "report.html", frame.load(run)


@pytest.mark.slow
def test_the_report_leads_with_its_figure_says_each_verdict_figure_once_and_noise_per_cell(noisy_report, chromium):
    page, run = noisy_report
    seen = open_page(page, chromium, evaluate=GLANCE)
    assert_clean(seen)
    m = seen.measured
    # the picture first: the overview figure sits above the first table the reader sees
    assert seen.figures[0].alt.startswith("speedup of each model at the most workers")
    assert m["first_figure_top"] is not None and m["first_table_top"] is not None
    assert m["first_figure_top"] < m["first_table_top"]
    # each verdict figure once: the headline names the winners in words, the table gives the figures
    assert "Which model wins" in m["headline"] and not re.search(r"\d\.\d\dx", m["headline"])
    text = seen.text
    found = verdicts(run.cells, True, run.gaps)
    assert found
    for v in found:
        assert v.sentence not in text
        for model in v.models:
            assert text.count(f"{model.backend} {model.speedup:.2f}x") == 1, (v.workload, model.backend)
            if model.in_process and model.layouts > 1:
                gap = f"{model.backend} {model.gap:.2f}x ({model.gap_low:.2f}\u2013{model.gap_high:.2f})"
                assert text.count(gap) == 1, gap
    # noise said plainly: a count, every flagged cell with the runner's reason and the figure it rests on
    noisy = run.cells[run.cells["noisy"].astype(bool)]
    rows = {cells[0]: cells for cells in m["noisy_rows"]}
    assert set(rows) == set(noisy["id"])
    for r in noisy.itertuples():
        _, kind, recorded = rows[r.id]
        assert kind and kind in {"others' CPU share", "slow canary", "starved canary"} | set(kind.split(", "))
        for flagged in run.processes[(run.processes["id"] == r.id) & run.processes["flagged"]].itertuples():
            assert f"process {flagged.process}: {flagged.flag}" in recorded
    banner = m["noise_banner"]
    assert f"{len(noisy)} of {int((run.cells['status'] == 'ok').sum())} finished cells flagged" in banner
    assert "slow canary" in banner and "The machine was noisy" in banner and banner.count("noisy") == 1
    assert "more than 10 %" not in banner  # no rule that the listed figures contradict
    # long lists collapsed, a table of contents, no script, and under half the text of before
    assert m["collapsed"] >= 5 and "Contents:" in text and "<script" not in page.read_text()
    assert len(m["text_without_tables"]) < TEXT_BEFORE / 2, len(m["text_without_tables"])


@pytest.mark.slow
def test_compare_and_merged_pages_put_their_headline_and_rows_that_matter_first(tmp_path, chromium):
    base, cand = tmp_path / "base", tmp_path / "cand"
    for folder in (base, cand):
        shutil.copytree(FIXTURES / "run-1cpu", folder)
    out = tmp_path / "compare.html"
    done = gilbench("compare", str(base), str(cand), "--html", str(out))
    assert done.returncode == 0, done.stderr
    seen = open_page(out, chromium, evaluate=GLANCE)
    assert_clean(seen)
    assert seen.text.index("regression") < seen.text.index("Change per cell")
    assert re.search(r"\d+ rows? with no change", seen.text)  # the quiet rows collapsed below the ones that matter
    merged = tmp_path / "merged"
    done = gilbench("merge", str(FIXTURES / "run-1cpu"), str(FIXTURES / "run-16cpu-device"), "--output", str(merged))
    assert done.returncode == 0, done.stdout + done.stderr
    seen = open_page(merged / "report.html", chromium, evaluate=GLANCE)
    assert_clean(seen)
    assert seen.text.index("Key numbers") < seen.text.index("Machines")
    assert seen.measured["first_figure_top"] < seen.measured["first_table_top"]


def test_the_headline_in_words_names_the_same_winners_without_their_figures():
    cells = cells_frame({
        ("", "cpu", "base", 1): 1.0, ("", "cpu", "shared", 1): 0.98, ("", "cpu", "shared", 2): 0.99,
        ("", "cpu", "forked", 1): 1.02, ("", "cpu", "forked", 2): 0.52,
        ("", "wait", "base", 1): 1.0, ("", "wait", "shared", 1): 1.0, ("", "wait", "shared", 2): 0.51,
        ("", "wait", "forked", 1): 1.05, ("", "wait", "forked", 2): 0.6,
    })
    cpu, wait = headline(verdicts(cells), figures=False)
    assert cpu == "cpu: forked won at 2 workers on 2 cores, while the GIL serialized shared."
    assert wait == "wait: no clear winner at 2 workers on 2 cores between shared and forked."


def test_the_overview_draws_each_model_at_the_most_workers_on_the_most_cores():
    one_core = cells_frame({("", "cpu", "base", 1): 2.0, ("", "cpu", "forked", 4): 1.9}, cores=1)
    cells = pd.concat([one_core, cells_frame({("", "cpu", "base", 1): 1.0, ("", "cpu", "shared", 1): 1.0,
                                              ("", "cpu", "shared", 2): 0.99, ("", "cpu", "forked", 2): 0.52,
                                              ("", "noop", "base", 1): 1e-5, ("", "noop", "forked", 1): 1e-4})],
                      ignore_index=True)
    points = figures.overview_points(cells)
    assert sorted(points["id"]) == ["cpu/forked/w2@", "cpu/shared/w2@"]  # 2 cores beat 1; no-op: one worker only
    assert figures.overview_figure(cells) is not None


def test_noise_reasons_are_read_from_what_the_runner_recorded():
    """Each of the runner's three reasons, as ``flag_noise`` words it, is named by its kind."""
    from gilbench.bench.data.cells import Cell
    from gilbench.bench.data.cells import CellRecord, ProcessRecord
    from gilbench.bench.measure.process import flag_noise

    record = CellRecord(Cell("hello-cpu", "threads", 2, 2, (0, 1), 4), "cpu-bound", status="ok", processes=[
        ProcessRecord(index=0, canary=0.010, canary_cpu=0.010, noise_share=0.5),  # others took its CPUs
        ProcessRecord(index=1, canary=0.020, canary_cpu=0.020),  # slow canary
        ProcessRecord(index=2, canary=0.010, canary_cpu=0.004),  # kept off the CPU
    ])
    flag_noise(record, [0.010] * 9)
    kinds = [[noise.kind_of(r) for r in noise.reasons(p.flag)] for p in record.processes]
    assert kinds == [["others' CPU share"], ["slow canary"], ["starved canary"]]
    assert noise.reasons("") == []

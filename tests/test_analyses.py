"""The scaling analyses (reports/analyses/gil_kind.py, amdahl.py) and their pure fits (reports/fits.py),
on synthetic curves and on synthetic run folders with known process medians (no benchmark runs)."""

from __future__ import annotations

import math
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import curve_fit

from gilbench.bench.data.cells import Cell
from gilbench.bench.data.cells import CellRecord, ProcessRecord
from gilbench.bench.data.results import RunFolder
from gilbench.reports import fits, frame
from gilbench.reports.analyses import all_analyses
from gilbench.reports.analyses.amdahl import FIT_TOLERANCE, AmdahlAnalysis, model_fits
from gilbench.reports.analyses.gil_kind import (HOLDS, NO_ANSWER, PARTLY, RELEASES, GilKindAnalysis, candidates,
                                                classify, gil_kinds)
from gilbench.reports.outputs.html import HtmlOutput
from tests.fixtures import make_runs as fx

WORKERS = (1, 2, 4, 8)
#: model -> (family, in_process, baseline); named only here, as the run's manifest would
MODELS = {
    "sequential": ("baseline", True, True),
    "threads": ("threads", True, False),
    "own-gil": ("own-gil", True, False),  # in-process workers that each have their own interpreter
    "processes": ("processes", False, False),
}
LAYOUT = (1.00, 1.01, 0.99, 1.02, 0.98)  # process k's median = the cell's time x LAYOUT[k]


# --- Amdahl's law, pure ----------------------------------------------------------------------------

@pytest.mark.parametrize("serial", [0.0, 0.25, 0.5, 1.0])
def test_fit_recovers_the_serial_fraction_of_an_exact_curve(serial):
    speedups = fits.amdahl(WORKERS, serial)
    assert float(fits.fit_serial_fraction(WORKERS, speedups)) == pytest.approx(serial, abs=1e-12)
    assert fits.max_residual(WORKERS, speedups, serial) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("serial", [0.0, 0.25, 0.5, 1.0])
def test_fit_recovers_the_serial_fraction_through_noise_and_equals_curve_fit(serial):
    rng = np.random.default_rng(7)
    speedups = fits.amdahl(WORKERS, serial) * np.exp(rng.normal(0, 0.02, len(WORKERS)))
    s = float(fits.fit_serial_fraction(WORKERS, speedups))
    assert s == pytest.approx(serial, abs=0.03)
    # scipy's bounded curve_fit on 1 / speedup with relative weights finds the same s
    y = 1 / speedups
    (expected,), _ = curve_fit(lambda n, v: 1 / n + v * (1 - 1 / n), np.array(WORKERS, float), y, p0=[0.5],
                               sigma=y, bounds=(0.0, 1.0))
    assert s == pytest.approx(expected, abs=1e-6)


def test_fit_is_vectorized_over_curves():
    curves = np.vstack([fits.amdahl(WORKERS, s) for s in (0.1, 0.6, 0.9)])
    assert fits.fit_serial_fraction(WORKERS, curves) == pytest.approx([0.1, 0.6, 0.9])


def test_a_capped_curve_is_not_amdahl():
    # speedup stuck at 2 from 2 workers on: more workers than cores
    speedups = [1.0, 2.0, 2.0, 2.0]
    s = float(fits.fit_serial_fraction(WORKERS, speedups))
    assert fits.max_residual(WORKERS, speedups, s) > FIT_TOLERANCE


def _samples(time: float, processes: int, rng: np.random.Generator, noise: float = 0.03) -> list[float]:
    return list(time * np.exp(rng.normal(0, noise, processes)))


def _curve(serial: float, processes: int, seed: int) -> fits.AmdahlFit:
    """A model measured against its own x1 cell: each cell's process medians noisy around Amdahl's times."""
    rng = np.random.default_rng(seed)
    cells = [_samples(1.0 / float(fits.amdahl(n, serial)), processes, rng) for n in WORKERS]
    return fits.fit_curve(WORKERS, cells[0], cells, seed=seed)


def test_the_interval_covers_the_truth_and_narrows_with_more_processes():
    serial = 0.3
    few = [_curve(serial, 5, seed) for seed in range(30)]
    many = [_curve(serial, 40, seed) for seed in range(30)]
    for group in (few, many):
        covered = sum(f.serial.low <= serial <= f.serial.high for f in group)
        assert covered >= 24, covered  # a nominal 95 % interval; percentile bootstrap of medians runs a little short
        assert all(f.fits(FIT_TOLERANCE) for f in group)
    width = lambda group: float(np.median([f.serial.high - f.serial.low for f in group]))  # noqa: E731
    assert width(many) < 0.6 * width(few)
    # seeded: the same data give the same interval
    assert _curve(serial, 5, 3) == _curve(serial, 5, 3)


def test_one_process_a_cell_gives_no_interval():
    fit = fits.fit_curve([1, 2], [1.0], [[1.0], [0.5]])
    assert fit.serial.value == pytest.approx(0.0) and not fit.serial.has_interval
    assert fit.serial.text() == "0.00"


# --- gil_kind's rule, pure ---------------------------------------------------------------------------

def test_classify_by_the_thresholds():
    assert classify(1.9, 1.95, 1.9 / 1.95) == RELEASES
    assert classify(1.0, 1.95, 1.0 / 1.95) == HOLDS
    assert classify(1.45, 1.9, 1.45 / 1.9) == PARTLY
    assert classify(1.0, 1.1, 1.0 / 1.1) == NO_ANSWER  # worker processes do not scale either


def test_an_interval_across_a_threshold_leaves_the_verdict_open():
    e = fits.Estimate
    assert candidates(e(1.9, 1.85, 1.95), e(1.95, 1.9, 2.0), e(0.97, 0.93, 1.0)) == [RELEASES]
    assert candidates(e(1.2, 1.1, 1.3), e(1.95, 1.9, 2.0), e(0.62, 0.56, 0.67)) == [HOLDS, PARTLY]
    assert candidates(e(1.6, 1.5, 1.7), e(1.9, 1.8, 2.0), e(0.84, 0.76, 0.92)) == [PARTLY, RELEASES]


# --- synthetic run folders ---------------------------------------------------------------------------

def _cell(workload: str, backend: str, workers: int, time: float, *, cores: int = 2, python: str = "",
          kind: str = "cpu-bound", layout: tuple[float, ...] = LAYOUT, params: dict | None = None) -> dict:
    family, in_process, baseline = MODELS[backend]
    cell = Cell(workload, backend, workers, cores, tuple(range(cores)), 8, dict(params or {}), python=python)
    record = CellRecord(cell, kind, baseline=baseline, family=family, in_process=in_process, status="ok",
                        started=fx.T0, ended=fx.T0 + 1)
    record.processes = [ProcessRecord(index=k, pad=16 * k, values=[time * f] * 3, cpu=[time * f] * 3, canary=0.01,
                                      canary_cpu=0.01, started=fx.T0 + k, ended=fx.T0 + k + 0.5)
                        for k, f in enumerate(layout)]
    return record.to_dict()


def _write(root: Path, cells: list[dict], gil: dict[str, bool] | None = None) -> frame.RunData:
    folder = RunFolder.create(root, "synthetic", latest=False)
    folder.write_manifest({"profile": "synthetic", "timing": {"processes": len(LAYOUT), "values": 3, "warmups": 0,
                                                              "loops": 1},
                           "created": "2026-01-01T00:00:00", "finished": "2026-01-01T00:10:00", "status": "complete",
                           "cells": cells})
    interpreters = {label: {"label": label, "version": "3.14.0", "build": "gil" if on else "free-threading",
                            "gil_enabled": on, "settings": {}} for label, on in (gil or {}).items()}
    folder.write_json(folder.machine, {"hostname": "synthetic", "python_version": "3.12.3", "python_build": "gil",
                                       "gil_enabled": True, "interpreters": interpreters})
    return frame.load(folder.path)


def _pair(workload: str, threads_scaling: float, processes_speedup: float, **kw) -> list[dict]:
    """Baseline 1.0 s; threads x1 0.98 s and x2 at ``threads_scaling``; processes x2 at ``processes_speedup``."""
    return [_cell(workload, "sequential", 1, 1.0, **kw), _cell(workload, "threads", 1, 0.98, **kw),
            _cell(workload, "threads", 2, 0.98 / threads_scaling, **kw),
            _cell(workload, "processes", 2, 1.0 / processes_speedup, **kw)]


@pytest.fixture(scope="module")
def gil_run(tmp_path_factory) -> frame.RunData:
    wide = (0.85, 0.95, 1.0, 1.05, 1.15)
    cells = (_pair("releases", 1.9, 1.95) + _pair("holds", 1.0, 1.95) + _pair("partly", 1.45, 1.9)
             + _pair("waits", 1.0, 1.95, kind="io-bound") + _pair("flat", 1.0, 1.05)
             + [_cell("unclear", "sequential", 1, 1.0), _cell("unclear", "threads", 1, 1.0),
                _cell("unclear", "threads", 2, 1.0 / 1.2, layout=wide), _cell("unclear", "processes", 2, 0.52)]
             # an in-process model whose workers escape the GIL scales: the least scaling model is judged
             + [_cell("holds", "own-gil", 1, 1.0), _cell("holds", "own-gil", 2, 0.52)]
             + _pair("releases", 1.9, 1.95, python="free") + _pair("holds", 1.0, 1.95, python="free"))
    return _write(tmp_path_factory.mktemp("gil"), cells, {"free": False})


def test_gil_kind_classifies_synthetic_cells(gil_run):
    found = {(a.workload, a.python): a for a in gil_kinds(gil_run)}
    assert found[("releases", "")].verdict == RELEASES
    assert found[("releases", "")].in_process.value == pytest.approx(1.9)
    assert found[("releases", "")].processes.value == pytest.approx(1.95)
    assert found[("releases", "")].in_process.has_interval and found[("releases", "")].share.has_interval
    holds = found[("holds", "")]
    assert holds.verdict == HOLDS and holds.model == "threads" and holds.other == "processes"
    assert found[("partly", "")].verdict == PARTLY
    assert found[("flat", "")].verdict == NO_ANSWER
    unclear = found[("unclear", "")]
    assert unclear.in_process.straddles(1.15) and not unclear.clear
    assert unclear.verdict == f"unclear: {HOLDS} or {PARTLY}"
    # the declared kind disagrees with what was measured: said so
    assert "CPU-bound, yet threads scale: it releases the GIL" in found[("releases", "")].sentence
    assert "I/O-bound, yet threads do not scale" in found[("waits", "")].sentence
    assert "yet" not in holds.sentence
    # the GIL off: worded as scaling
    assert found[("releases", "free")].verdict == "scales in threads"
    assert found[("holds", "free")].verdict == "does not scale in threads"
    assert found[("releases", "free")].sentence.startswith("releases on free, 2 workers on 2 cores: scales in threads")


def test_gil_kind_section_and_no_section_without_both_kinds_of_model(gil_run, tmp_path):
    (section,) = GilKindAnalysis().sections(gil_run)
    assert section.title == "Which work holds the GIL" and section.figure is not None
    assert len(section.table) == len(gil_kinds(gil_run)) == len(section.verdicts)
    assert "1.15" in section.rule and "1.3" in section.rule
    bars = [p for p in section.figure.axes[0].patches]
    assert len(bars) == 2 * len(section.table)
    only_threads = _write(tmp_path, [_cell("w", "sequential", 1, 1.0), _cell("w", "threads", 1, 1.0),
                                     _cell("w", "threads", 2, 1.0)])
    assert GilKindAnalysis().sections(only_threads) == []


@pytest.fixture(scope="module")
def amdahl_run(tmp_path_factory) -> frame.RunData:
    cells = []
    for fraction in (0.0, 0.5, 1.0):
        name, params = f"mixed-{fraction * 100:.0f}", {"cpu_fraction": fraction, "units": 10}
        cells.append(_cell(name, "sequential", 1, 1.0, cores=4, params=params))
        for n in (1, 2, 4):
            cells.append(_cell(name, "threads", n, 0.98 / float(fits.amdahl(n, fraction)), cores=4, params=params))
            cells.append(_cell(name, "processes", n, 1.0 / float(fits.amdahl(n, 0.0)), cores=4, params=params))
    cells.append(_cell("capped", "sequential", 1, 1.0, cores=2))
    cells += [_cell("capped", "processes", n, 1.0 / s, cores=2) for n, s in zip(WORKERS, (1.0, 2.0, 2.0, 2.0))]
    return _write(tmp_path_factory.mktemp("amdahl"), cells)


def test_amdahl_fits_each_model_against_its_reference(amdahl_run):
    found = {(m.curve.workload, m.curve.backend): m for m in model_fits(amdahl_run)}
    half = found[("mixed-50", "threads")]
    assert half.curve.basis == "own x1" and half.cpu_fraction == 0.5
    assert half.fit.serial.value == pytest.approx(0.5, abs=1e-6)
    assert half.fit.serial.low <= 0.5 <= half.fit.serial.high
    assert half.reading == "the CPU part runs serially: the GIL serializes it"
    assert found[("mixed-50", "processes")].curve.basis == "baseline"
    assert found[("mixed-50", "processes")].fit.serial.value == pytest.approx(0.0, abs=1e-6)
    assert found[("mixed-50", "processes")].reading == "it runs in parallel"
    assert found[("mixed-100", "threads")].fit.serial.value == pytest.approx(1.0, abs=1e-6)
    capped = found[("capped", "processes")]
    assert not capped.described and capped.reading.startswith("Amdahl does not fit (max residual")
    (section,) = AmdahlAnalysis().sections(amdahl_run)
    assert any(v.startswith("With 50 % of each task on the CPU (mixed-50, 4 cores), the fitted serial fraction was "
                            "0.50") for v in section.verdicts), section.verdicts
    assert any("Amdahl does not fit" in v for v in section.verdicts)
    assert sorted(section.table["cpu_fraction"].dropna()) == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    assert section.figure is not None and len(section.figure.axes[0].get_lines()) >= 1


def test_no_amdahl_section_without_two_worker_counts(tmp_path):
    run = _write(tmp_path, [_cell("w", "sequential", 1, 1.0), _cell("w", "threads", 2, 1.0),
                            _cell("w", "processes", 2, 0.5)])
    assert AmdahlAnalysis().sections(run) == []


@pytest.mark.slow
def test_the_sections_render_in_the_report(gil_run, amdahl_run, tmp_path):
    assert {"gil-kind", "amdahl"} <= set(all_analyses())
    page = unescape(HtmlOutput().render(gil_run))
    assert '<h2 id="gil-kind">Which work holds the GIL</h2>' in page
    assert "CPU-bound, yet threads scale: it releases the GIL" in page
    page = unescape(HtmlOutput().render(amdahl_run))
    assert "Serial fraction (Amdahl's law)" in page and "Section failed" not in page
    # the shared fixture run: threads serialized with the GIL on, scaling with it off (its page, with both
    # sections, is read by tests/test_reports_generic.py)
    run = frame.load(fx.write_run(tmp_path))
    found = {a.python: a for a in gil_kinds(run)}
    assert found[fx.GIL].verdict == HOLDS and found[fx.GIL].model == "threads"
    assert found[fx.FT_ON].verdict == HOLDS
    assert math.isfinite(found[fx.GIL].processes.value)


def test_a_serial_floor_near_a_small_cpu_share_is_not_read_as_the_cpu_part():
    """Worker processes have a floor of their own (start-up against a short batch): s = 0.18 at a CPU
    share of 0.25 is that floor, not the CPU part running serially; 0.26 in threads is the CPU part."""
    from gilbench.reports.analyses.amdahl import ModelFit
    from gilbench.reports.curves import Curve

    def reading(s: float, low: float, high: float, in_process: bool) -> str:
        curve = Curve("", "mixed-25", "cpu-bound", "m", "f", in_process, 2, True, "baseline", "", ((1, ""), (2, "")))
        fit = fits.AmdahlFit((1, 2), (1.0, 1.0), fits.Estimate(s, low, high), 0.0)
        return ModelFit(curve, fit, 0.25, "").reading

    assert reading(0.18, 0.16, 0.20, in_process=False) == "less serial than its CPU share"
    assert reading(0.26, 0.25, 0.28, in_process=True) == "the CPU part runs serially: the GIL serializes it"
    assert reading(0.18, 0.15, 0.30, in_process=False) == "the CPU part runs serially"  # 0.25 inside its interval

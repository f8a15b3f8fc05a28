"""The report's data for a run folder as one canonical JSON tree: what tests/test_report_golden.py holds
identical across refactors of the run model (records, query layer).

    python -m tests.report_golden          # rewrite tests/fixtures/report-data-golden.json

"Report data" is everything the outputs render, short of pixels: the frame's tables (cells, processes,
gaps, start costs, interpreters), the verdicts and headline, the curves and their process medians, the
exported figures (intervals, Bencher, github-action-benchmark, results.csv), the build comparisons, the
HTML page's tables, the analyses' sections (words and tables), and a comparison of each run with itself
(every metric, speedup included). Floats are rounded to 12 significant digits (summation order may move
the last bits) and NaN is written "nan".
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent
GOLDEN = ROOT / "fixtures" / "report-data-golden.json"
#: the run folders whose report data is held: two real runs and the synthetic three-interpreter run
REAL_RUNS = ("run-16cpu-device", "run-1cpu")
SYNTHETIC = "synthetic-3.14"
#: the synthetic run with failed cells, their errors in every shape a writer has given them
FAILURES = "synthetic-failures"
#: cell index -> (status, error) put into the synthetic run's manifest for FAILURES
FAILED_CELLS = {
    1: ("failed", {"how": "raised", "worker": 1, "error_type": "ValueError", "message": "bad input",
                   "traceback": "Traceback (most recent call last):\n  ...\nValueError: bad input\n", "exitcode": None,
                   "log_tail": "a log line\nValueError: bad input"}),
    2: ("failed", {"how": "signal", "exitcode": -9, "message": "the pyperf worker was killed by signal 9 (SIGKILL)",
                   "log_tail": "a log line"}),
    3: ("timeout", {"how": "timeout", "message": "no result within the process's time limit of 60 s"}),
    5: ("failed", {"how": "fixture", "message": "the fixture did not start"}),
    7: ("failed", {"how": "exited", "message": "the worker wrote no measurements"}),
}


def canonical(x: Any) -> Any:
    """Plain JSON data with rounded floats, "nan" for NaN, sorted keys (json.dumps sorts)."""
    if isinstance(x, pd.DataFrame):
        return {"columns": [str(c) for c in x.columns], "rows": canonical(x.to_dict("records"))}
    if isinstance(x, pd.Series):
        return canonical(x.to_dict())
    if hasattr(x, "to_dict") and not isinstance(x, type):  # a record: its JSON (what it replaced a dict with)
        return canonical(x.to_dict())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return canonical({f.name: getattr(x, f.name) for f in dataclasses.fields(x)})
    if isinstance(x, dict):
        return {str(k): canonical(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [canonical(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if hasattr(x, "item") and not isinstance(x, (int, float)):  # numpy scalars
        return canonical(x.item())
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return float(f"{x:.12g}")
    if x is pd.NA or x is pd.NaT:
        return "nan"
    return str(x)


def _sections(run: Any) -> list[dict[str, Any]]:
    import matplotlib.pyplot as plt

    from gilbench.reports.outputs.html import collect

    out = []
    for s in collect(run):
        out.append({"key": s.key, "title": s.title, "verdicts": s.verdicts, "rule": s.rule, "method": s.method,
                    "notes": s.notes, "table": s.table})
        if s.figure is not None:
            plt.close(s.figure)
    return out


def _self_comparison(path: Path) -> dict[str, Any]:
    from gilbench.bench.data.thresholds import Threshold
    from gilbench.bench.judge.compare import compare
    from gilbench.bench.judge.floor import Floor
    from gilbench.bench.judge.sides import RunSide

    side = RunSide.load(str(path))
    thresholds = [Threshold(m, 10.0) for m in ("time", "speedup", "parallelism", "memory")]
    found = compare(side, side, thresholds, floor=Floor(), with_mde=False).to_dict()
    found["base"] = found["cand"] = path.name  # not where the folder happened to be
    return found


def report_data(path: Path) -> dict[str, Any]:
    """The report data of the run folder at ``path`` as canonical JSON data."""
    from gilbench.reports import builds, curves, frame, intervals
    from gilbench.reports.outputs import html
    from gilbench.reports.outputs.bencher import bmf
    from gilbench.reports.outputs.csv import CsvOutput
    from gilbench.reports.outputs.github_benchmark import speedup_entries, time_entries
    from gilbench.reports.verdicts import headline, verdicts

    run = frame.load(path)
    cells = run.cells
    gil = {label: (True if d["gil_enabled"] is None else d["gil_enabled"]) for label, d in run.interpreters.items()}
    names = html.names(run)
    found = verdicts(cells, gil, run.gaps, names if html.several_interpreters(run) else None) if not cells.empty else []
    data = {
        "cells": cells,
        "processes": run.processes,
        "values": len(run.values),
        "gaps": run.gaps,
        "start_costs": run.start_costs,
        "interpreters": run.interpreters,
        "complete": run.complete,
        "skipped": list(run.skipped["id"]) if not run.skipped.empty else [],
        "verdicts": [{"sentence": v.sentence, "verdict": v} for v in found],
        "headline": headline(found),
        "headline_words": headline(found, figures=False),
        "curves": curves.curves(run),
        "process_medians": curves.process_medians(run),
        "gil_states": curves.gil_states(run),
        "cell_params": curves.cell_params(run),
        "cell_figures": intervals.cell_figures(run),
        "bencher": bmf(run),
        "github_time": time_entries(run),
        "github_speedup": speedup_entries(run),
        "csv": CsvOutput().render(run).splitlines(),
        "free_threaded": builds.free_threaded_pairs(run),
        "gil_effect": builds.gil_effect_pairs(run),
        "html": {
            "unit_costs": html.unit_costs(run),
            "baselines": html.baseline_names(run),
            "layout_groups": html.layout_groups(run),
            "interpreters": html.interpreter_rows(run),
            "models": html.model_rows(run),
            "start_costs": html.start_cost_rows(run),
            "skipped": html.skipped_rows(run),
            "machine_speed": html.machine_speed(run),
            "environment": html.environment(run),
            "speedup_bands": html.speedup_bands(run),
        },
        "sections": _sections(run),
        "self_comparison": _self_comparison(path),
    }
    return canonical(data)


def all_report_data() -> dict[str, Any]:
    """Every held run's report data, by run name (the synthetic run written to a temporary folder)."""
    from tests.fixtures import make_runs

    found = {name: report_data(ROOT / "fixtures" / name) for name in REAL_RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        found[SYNTHETIC] = report_data(make_runs.write_run(Path(tmp), SYNTHETIC))
        failures = make_runs.write_run(Path(tmp), FAILURES)
        manifest = json.loads((failures / "manifest.json").read_text(encoding="utf-8"))
        for index, (status, error) in FAILED_CELLS.items():
            cell = manifest["cells"][index]
            cell.update(status=status, error=error, processes=cell["processes"][:1])
        (failures / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        found[FAILURES] = report_data(failures)
    return found


def first_difference(now: Any, then: Any, path: str = "") -> str:
    """Where two canonical trees first differ, and how ("" where they do not)."""
    if type(now) is not type(then):
        return f"{path}: {str(now)[:200]} (was {str(then)[:200]})"
    if isinstance(now, dict):
        for key in sorted(set(now) | set(then)):
            if key not in now or key not in then:
                return f"{path}/{key}: {'added' if key in now else 'gone'}"
            found = first_difference(now[key], then[key], f"{path}/{key}")
            if found:
                return found
        return ""
    if isinstance(now, list):
        for i, (x, y) in enumerate(zip(now, then)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return f"{path}: {len(now)} items (were {len(then)})" if len(now) != len(then) else ""
    if now == then:
        return ""
    a, b = str(now), str(then)
    at = len(os.path.commonprefix([a, b]))
    start = max(0, at - 60)  # show where they part, not a prefix both share
    return f"{path} at character {at}: ...{a[start:at + 80]!r} (was ...{b[start:at + 80]!r})"


def dumps(data: dict[str, dict[str, Any]]) -> str:
    """One line per run and part (a changed part is one changed line), keys sorted."""
    runs = []
    for run, parts in sorted(data.items()):
        lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True, ensure_ascii=False)}"
                           for k, v in sorted(parts.items()))
        runs.append(f" {json.dumps(run)}: {{\n{lines}\n }}")
    return "{\n" + ",\n".join(runs) + "\n}\n"


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    GOLDEN.write_text(dumps(all_report_data()), encoding="utf-8")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)", file=sys.stderr)

"""report.html: one self-contained page (figures inlined as PNG, no network), the GIL-effect report.

Generic over execution models and interpreters: models are named as the manifest names them (with their
``family`` and ``in_process``), interpreters as machine.json describes them; nothing here knows either.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import fields
from types import SimpleNamespace
from typing import Any, Callable

import jinja2
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ...bench.data import query
from ...bench.data.cells import START_COST_WORKLOAD, Timing
from ...bench.data.durations import format_duration
from ...bench.data.manifest import RunManifest
from ...bench.data.precision import baseline_target
from .. import figures
from ..builds import free_threaded_pairs, gil_effect_pairs
from ..frame import SKIPPED, RunData, flag, start_cost_workloads
from ..intervals import cell_figures
from ..noise import noise
from .base import Output
from ..sections import Section
from ..verdicts import THRESHOLDS, Verdict, describe_gap, headline, verdicts


def collect(run: Any, providers: list[Callable[[Any], list[Section]]] | None = None) -> list[Section]:
    """Every section for ``run``: the analyses' and the experiments', by ``order`` then title.

    A provider that fails does not take the report down: its section says what went wrong.
    """
    if providers is None:
        from ..analyses import all_analyses

        providers = [a().sections for a in all_analyses().values()] + [_experiment_sections]
    found: list[Section] = []
    for provider in providers:
        try:
            found.extend(provider(run))
        except Exception as exc:  # noqa: BLE001  a report with one broken section beats no report
            name = getattr(provider, "__qualname__", repr(provider))
            found.append(Section(key=f"error-{len(found)}", title=f"Section failed: {name}",
                                 verdicts=[f"{type(exc).__name__}: {exc}"], order=999))
    return sorted(found, key=lambda s: (s.order, s.title))


def _experiment_sections(run: Any) -> list[Section]:
    """The experiments' sections; imported here, so that a failing import is a failed section like any other."""
    from ...experiments import sections_for

    return sections_for(run)


def figure_data_uri(fig: Figure | None) -> str:
    """A PNG data: URI of ``fig`` (closed afterwards); empty for no figure."""
    if fig is None:
        return ""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def fmt(value: Any, spec: str = ".2f", suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:{spec}}{suffix}"


def names(run: RunData) -> dict[str, str]:
    """Interpreter label -> how the report names it."""
    return {label: d.display for label, d in run.interpreters.items()}


def several_interpreters(run: RunData) -> bool:
    return not run.cells.empty and run.cells["python"].nunique() > 1


def _where(run: RunData, python: str) -> str:
    """" on 3.14" where the run has several interpreters or a named one, else ""."""
    return f" on {names(run).get(python, python)}" if python or several_interpreters(run) else ""


def unit_costs(run: RunData) -> list[str]:
    """One work unit's duration per sized workload and interpreter, from the baseline cell's time."""
    lines = []
    if run.cells.empty:
        return lines
    base = run.cells[flag(run.cells, "baseline") & (run.cells["status"] == "ok")].set_index("id")
    recorded = run.manifest.params()
    for r in base.itertuples():
        params = recorded.get(r.Index, {})
        if "units" not in params:
            continue
        per_unit = float(r.time) / (r.tasks * params["units"])
        lines.append(
            f"{r.workload}{_where(run, r.python)}: one unit = {per_unit * 1e3:.3f} ms, one task of {params['units']} "
            f"units = {per_unit * params['units'] * 1e3:.1f} ms ({r.backend} time, {r.cores} cores)"
        )
    return lines


def baseline_names(run: RunData) -> list[str]:
    """The models whose cells are the speedup baseline (by the manifest's flag)."""
    if run.cells.empty:
        return []
    return sorted(set(run.cells.loc[flag(run.cells, "baseline"), "backend"]))


def layout_groups(run: RunData) -> list[dict[str, Any]]:
    """Per interpreter, workload and cores: its main-thread gap(s) and the layout figures of each finished cell."""
    cells = run.cells
    if cells.empty:
        return []
    ok = cells[cells["status"] == "ok"]
    order = {label: i for i, label in enumerate(run.interpreters)}
    groups = []
    keys = sorted({(r.python, r.workload, r.cores) for r in ok.itertuples()},
                  key=lambda k: (k[1], order.get(k[0], len(order)), k[2]))
    for python, workload, cores in keys:
        group = ok[(ok["python"] == python) & (ok["workload"] == workload) & (ok["cores"] == cores)]
        gaps = run.gaps[(run.gaps["python"] == python) & (run.gaps["workload"] == workload) & (run.gaps["cores"] == cores)]
        groups.append({
            "workload": workload,
            "python": python,
            "where": _where(run, python),
            "cores": int(cores),
            "gaps": [
                {**g, "text": describe_gap(g["gap"], g["gap_low"], g["gap_high"], int(g["layouts"] or 0)),
                 "layouts_text": ", ".join(f"pad {x['pad']}: {x['ratio']:.3f}x" for x in g["per_layout"])}
                for g in gaps.to_dict("records")
            ],
            "cells": figures.model_order(group).to_dict("records"),
        })
    return groups


def interpreter_rows(run: RunData) -> list[dict[str, Any]]:
    """The run's interpreters as described, with how many of their cells ran and were skipped."""
    rows = []
    cells = run.cells
    for label, d in run.interpreters.items():
        mine = cells[cells["python"] == label] if not cells.empty else cells
        gil = d.gil_enabled
        rows.append({
            **d.to_dict(),
            "gil_text": "unknown" if gil is None else "on" if gil else "off",
            "settings_text": d.settings_text or "–",
            "cells": int(len(mine)),
            "ok": int((mine["status"] == "ok").sum()) if len(mine) else 0,
            "skipped": int((mine["status"] == SKIPPED).sum()) if len(mine) else 0,
        })
    return rows


def model_rows(run: RunData) -> list[dict[str, Any]]:
    """Every model of the run: its family, whether its workers share the process, and where it ran."""
    cells = run.cells
    if cells.empty:
        return []
    rows = []
    for backend, group in figures.model_order(cells.drop_duplicates(["backend"])).groupby("backend", sort=False):
        mine = cells[cells["backend"] == backend]
        ran = [names(run).get(p, p) for p in run.interpreters if ((mine["python"] == p) & (mine["status"] == "ok")).any()]
        skipped = [names(run).get(p, p) for p in run.interpreters
                   if ((mine["python"] == p) & (mine["status"] == SKIPPED)).any()]
        rows.append({"backend": backend, "family": group["family"].iloc[0], "in_process": bool(group["in_process"].iloc[0]),
                     "baseline": bool(flag(group, "baseline").iloc[0]), "ran": ran, "skipped": skipped})
    return rows


def start_cost_rows(run: RunData) -> list[dict[str, Any]]:
    costs = run.start_costs
    if costs.empty:
        return []
    order = {label: i for i, label in enumerate(run.interpreters)}
    rows = [{**r, "interpreter": names(run).get(r["python"], r["python"]) or "this interpreter"}
            for r in costs.to_dict("records")]
    return sorted(rows, key=lambda r: (order.get(r["python"], len(order)), r["cores"], r["family"], r["backend"]))


def skipped_rows(run: RunData) -> list[dict[str, Any]]:
    skipped = run.skipped
    if skipped.empty:
        return []
    return [{**r, "interpreter": names(run).get(r["python"], r["python"])} for r in skipped.to_dict("records")]


def machine_speed(run: RunData) -> dict[str, Any]:
    """The canary over the run: its median, range and the processes flagged as on a different machine."""
    procs = run.processes
    canaries = procs["canary"].dropna() if not procs.empty else procs.get("canary", [])
    if len(canaries) == 0:
        return {"measured": False, "flagged": [], "count": len(procs)}
    median = float(canaries.median())
    return {
        "measured": True,
        "count": int(len(canaries)),
        "median_ms": median * 1e3,
        "low": float(canaries.min()) / median - 1 if median else math.nan,
        "high": float(canaries.max()) / median - 1 if median else math.nan,
        "flagged": procs[procs["flagged"]].to_dict("records"),
    }


def timing_of(manifest: RunManifest) -> SimpleNamespace:
    """The manifest's timing (its ``Timing`` fields) as attributes, "?" for any it lacks."""
    recorded = manifest.timing
    return SimpleNamespace(**{f.name: recorded.get(f.name, "?") for f in fields(Timing)})


def precision_rows(run: RunData) -> list[tuple[str, str]]:
    """The run's precision target and budget, in words, for its context (none for a run without a target)."""
    target = run.manifest.precision
    if target is None:
        return []
    baseline = baseline_target(target.target, True, target.floor)
    aim = (f"±{target.target * 100:g} % at {target.confidence * 100:g} % (where a repeat run's figure would fall: t on "
           f"the log process medians, never under ±{target.floor * 100:g} %): a baseline's time (±{baseline * 100:.1f} % "
           "where speedups rest on it), a start cost's own time, every other cell's speedup; a cell ran "
           f"{target.first} processes, then {target.block} at a time while its interval was wider, up to {target.cap}")
    if target.budget_s is None:
        budget = "none: only the cap stopped a cell"
    else:
        cells = f"; the cells {format_duration(target.cells_s)} of it" if target.cells_s is not None else ""
        budget = (f"{format_duration(target.budget_s)}{cells}, each cell its share of what was left when it "
                  "started (by the estimates)")
    return [("precision target", aim), ("budget", budget)]


def precision_view(run: RunData) -> dict[str, Any]:
    """What the report says of the precision target: whether the run had one, the cells short of it with their
    reason (by id, for the verdicts' marks), and how many reached it."""
    records = [r for r in run.manifest.records if r.precision is not None and r.status == "ok"]
    short = [r for r in records if not r.precision.reached]
    return {"target": run.manifest.precision is not None, "judged": len(records), "reached": len(records) - len(short),
            "short": [{"id": r.id, "text": r.precision.text()} for r in short],
            "marks": {r.id: r.precision.text() for r in short}}


def environment(run: RunData) -> list[tuple[str, str]]:
    m, man = run.machine, run.manifest
    loads = run.cells["load_avg_1min"].dropna() if "load_avg_1min" in run.cells else []
    methods = sorted({r.cell.start_method for r in man.records if r.cell.start_method})
    t = timing_of(man)
    return [
        ("host", m.get("hostname", "?")),
        ("CPU model", m.get("cpu_model", "?")),
        ("logical CPUs / physical cores", f"{m.get('logical_cpus', '?')} / {m.get('physical_cores', '?')}"),
        ("affinity of the run", ",".join(map(str, m.get("affinity", []))) or "?"),
        ("memory", fmt((m.get("memory_total_bytes") or math.nan) / 2**30, ".1f", " GiB")),
        ("OS", m.get("os", "?")),
        ("Python running gilbench", f"{m.get('python_implementation', '?')} {m.get('python_version', '?')} "
                                    f"({m.get('python_executable', '?')})"),
        ("its build / GIL", f"{m.get('python_build', '?')} / {'enabled' if m.get('gil_enabled', True) else 'disabled'}"),
        ("multiprocessing start method", ", ".join(methods) or m.get("default_start_method", "?")),
        ("packages", ", ".join(f"{k} {v}" for k, v in (m.get("packages") or {}).items())),
        ("load average at start (1, 5, 15 min)", ", ".join(f"{x:.2f}" for x in m.get("load_avg") or []) or "?"),
        ("highest 1-min load during a cell", fmt(max(loads) if len(loads) else math.nan)),
        ("profile", f"{man.profile or None}: pyperf {t.processes} processes x ({t.warmups} warmup + "
                    f"{t.values} values), loops {t.loops}"),
        *precision_rows(run),
        ("run", f"{man.created or None} to {man.finished or '(not finished)'}; status {man.status or None}"),
    ]


def section_views(run: RunData) -> list[SimpleNamespace]:
    """The run's sections (analyses and experiments) with their chart as PNG and table as HTML."""
    views = []
    for s in collect(run):
        table = ""
        if s.table is not None and not s.table.empty:
            table = s.table.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="–", border=0)
        views.append(SimpleNamespace(key=s.key, title=s.title, verdicts=s.verdicts, rule=s.rule, method=s.method,
                                     notes=s.notes, png=figure_data_uri(s.figure), table_html=table))
    return views


def verdict_rows(found: list[Verdict]) -> list[dict[str, Any]]:
    """The verdicts as table rows; a group's main-thread gaps (one per in-process model, the same at every
    worker count) sit in its first row only (``gap_rows``: how many rows they span, 0 for the rest)."""
    rows = []
    for i, v in enumerate(found):
        key = (v.python, v.workload, v.cores)
        first = i == 0 or (found[i - 1].python, found[i - 1].workload, found[i - 1].cores) != key
        span = sum(1 for w in found[i:] if (w.python, w.workload, w.cores) == key) if first else 0
        rows.append({"v": v, "gap_rows": span})
    return rows


def speedup_bands(run: RunData) -> dict[str, tuple[float, float]]:
    """Cell id -> the lowest and highest speedup over its processes (process k against the baseline's
    process k, the same layout pad), for the bands around the speedup curves."""
    return {f.id: (f.speedup.low, f.speedup.high) for f in cell_figures(run) if f.speedup is not None and f.speedup.bounded}


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x


class HtmlOutput(Output):
    name = "html"
    filename = "report.html"

    def render(self, run: RunData) -> str:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("gilbench.reports", "templates"),
            autoescape=True,  # workload names, parameters and paths are user input
            undefined=jinja2.StrictUndefined,
        )
        env.filters["fmt"] = fmt
        cells = run.cells
        gil = {label: query.gil_on(d.gil_enabled) for label, d in run.interpreters.items()}
        reps = figures.representative_cells(cells) if not cells.empty else cells
        labels = names(run)
        ran = cells[cells["status"] != SKIPPED] if not cells.empty else cells
        bands = speedup_bands(run) if not cells.empty else {}
        flagged = noise(cells, run.processes)
        found = verdicts(cells, gil, run.gaps, labels if several_interpreters(run) else None) if not cells.empty else []
        return env.get_template("report.html.j2").render(
            run=run,
            title=f"gilbench report: {run.machine.get('hostname', '?')}, {run.manifest.created}",
            complete=run.complete,
            verdicts=found,
            verdict_rows=verdict_rows(found),
            overview_png=figure_data_uri(figures.overview_figure(cells, labels, bands)) if not cells.empty else "",
            noise=flagged,
            noise_kinds={c.id: ", ".join(c.kinds) for c in flagged.cells},
            headline=headline(found, figures=False),
            baselines=baseline_names(run),
            interpreters=interpreter_rows(run),
            several=several_interpreters(run),
            models=model_rows(run),
            start_costs=start_cost_rows(run),
            start_cost_workload=" or ".join(start_cost_workloads(run.cells) or [START_COST_WORKLOAD]),
            free_threaded=free_threaded_pairs(run),
            gil_effect=gil_effect_pairs(run),
            skipped=skipped_rows(run),
            layout_groups=layout_groups(run),
            pads=sorted({int(p) for p in run.processes["pad"].dropna()}) if not run.processes.empty else [],
            speed=machine_speed(run),
            canary_png=figure_data_uri(figures.canary_figure(
                run.processes, figures.backend_colors(cells["backend"]) if not cells.empty else None)),
            canary_threshold=_or_nan(run.manifest.canary_slow) - 1,
            canary_cpu_share=_or_nan(run.manifest.canary_on_cpu),
            thresholds=THRESHOLDS,
            cells=cells.to_dict("records"),
            failed=ran[~ran["status"].isin(["ok"])].to_dict("records") if not cells.empty else [],
            noisy=cells[cells["noisy"]].to_dict("records") if not cells.empty else [],
            noisy_share=_or_nan(run.manifest.noise_threshold),
            speedup_png=figure_data_uri(figures.speedup_figure(cells, labels, bands)) if not cells.empty else "",
            heatmap_png=figure_data_uri(figures.heatmap_figure(run.samples, reps)) if not reps.empty else "",
            distribution_png=figure_data_uri(figures.distribution_figure(cells, run.values, labels)) if not cells.empty else "",
            environment=environment(run),
            precision=precision_view(run),
            unit_costs=unit_costs(run),
            lesson=run.lesson,
            interval=run.manifest.sample_interval,
            timing=run.manifest.timing,
            sections=section_views(run),
        )

"""report.html: one self-contained page (figures inlined as PNG, no network), the GIL-effect report."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import jinja2
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from reports import figures
from reports.frame import RunData
from reports.outputs.base import Output
from reports.verdicts import THRESHOLDS, describe_gap, verdicts


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


def unit_costs(run: RunData) -> list[str]:
    """One work unit's duration per sized workload, from the baseline cell's time."""
    lines = []
    if run.cells.empty:
        return lines
    base = run.cells[run.cells["baseline"].fillna(False).astype(bool) & (run.cells["status"] == "ok")]
    for cell in run.manifest["cells"]:
        if not cell.get("baseline") or "units" not in (cell.get("params") or {}):
            continue
        row = base[base["id"] == cell["id"]]
        if row.empty:
            continue
        per_unit = float(row["time"].iloc[0]) / (cell["tasks"] * cell["params"]["units"])
        lines.append(
            f"{cell['workload']}: one unit = {per_unit * 1e3:.3f} ms, one task of {cell['params']['units']} "
            f"units = {per_unit * cell['params']['units'] * 1e3:.1f} ms ({cell['backend']} time, {cell['cores']} cores)"
        )
    return lines


def baseline_names(run: RunData) -> list[str]:
    """The backends whose cells are the speedup baseline (by the manifest's flag)."""
    if run.cells.empty:
        return []
    return sorted(set(run.cells.loc[run.cells["baseline"].fillna(False).astype(bool), "backend"]))


def layout_groups(run: RunData) -> list[dict[str, Any]]:
    """Per workload and cores: its main-thread gap(s) and the layout figures of each finished cell."""
    cells = run.cells
    if cells.empty:
        return []
    ok = cells[cells["status"] == "ok"]
    groups = []
    for (workload, cores), group in ok.groupby(["workload", "cores"], sort=True):
        gaps = run.gaps[(run.gaps["workload"] == workload) & (run.gaps["cores"] == cores)]
        order = group.assign(_b=~group["baseline"].fillna(False).astype(bool),
                             _p=~group["in_process"].fillna(False).astype(bool)).sort_values(["_b", "_p", "backend", "workers"])
        groups.append({
            "workload": workload,
            "cores": int(cores),
            "gaps": [
                {**g, "text": describe_gap(g["gap"], g["gap_low"], g["gap_high"], int(g["layouts"] or 0)),
                 "layouts_text": ", ".join(f"pad {x['pad']}: {x['ratio']:.3f}x" for x in g["per_layout"])}
                for g in gaps.to_dict("records")
            ],
            "cells": order.drop(columns=["_b", "_p"]).to_dict("records"),
        })
    return groups


def machine_speed(run: RunData) -> dict[str, Any]:
    """The canary over the run: its median, range and the processes flagged as on a different machine."""
    procs = run.processes
    canaries = procs["canary"].dropna() if not procs.empty else procs.get("canary", [])
    if len(canaries) == 0:
        return {"measured": False, "flagged": [], "processes": len(procs)}
    median = float(canaries.median())
    return {
        "measured": True,
        "processes": int(len(canaries)),
        "median_ms": median * 1e3,
        "low": float(canaries.min()) / median - 1 if median else math.nan,
        "high": float(canaries.max()) / median - 1 if median else math.nan,
        "flagged": procs[procs["flagged"]].to_dict("records"),
    }


def environment(run: RunData) -> list[tuple[str, str]]:
    m, man = run.machine, run.manifest
    loads = run.cells["load_avg_1min"].dropna() if "load_avg_1min" in run.cells else []
    methods = sorted({c["start_method"] for c in man["cells"] if c.get("start_method")})
    t = man.get("timing", {})
    return [
        ("host", m.get("hostname", "?")),
        ("CPU model", m.get("cpu_model", "?")),
        ("logical CPUs / physical cores", f"{m.get('logical_cpus', '?')} / {m.get('physical_cores', '?')}"),
        ("affinity of the run", ",".join(map(str, m.get("affinity", []))) or "?"),
        ("memory", fmt((m.get("memory_total_bytes") or math.nan) / 2**30, ".1f", " GiB")),
        ("OS", m.get("os", "?")),
        ("Python", f"{m.get('python_implementation', '?')} {m.get('python_version', '?')} ({m.get('python_executable', '?')})"),
        ("build / GIL", f"{m.get('python_build', '?')} / {'enabled' if m.get('gil_enabled', True) else 'disabled'}"),
        ("multiprocessing start method", ", ".join(methods) or m.get("default_start_method", "?")),
        ("packages", ", ".join(f"{k} {v}" for k, v in (m.get("packages") or {}).items())),
        ("load average at start (1, 5, 15 min)", ", ".join(f"{x:.2f}" for x in m.get("load_avg") or []) or "?"),
        ("highest 1-min load during a cell", fmt(max(loads) if len(loads) else math.nan)),
        ("profile", f"{man.get('profile')}: pyperf {t.get('processes')} processes x ({t.get('warmups')} warmup + "
                    f"{t.get('values')} values), loops {t.get('loops')}"),
        ("run", f"{man.get('created')} to {man.get('finished') or '(not finished)'}; status {man.get('status')}"),
    ]


class HtmlOutput(Output):
    name = "html"
    filename = "report.html"

    def render(self, run: RunData) -> str:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("reports", "templates"),
            autoescape=True,  # workload names, parameters and paths are user input
            undefined=jinja2.StrictUndefined,
        )
        env.filters["fmt"] = fmt
        cells = run.cells
        gil = bool(run.machine.get("gil_enabled", True))
        reps = figures.representative_cells(cells) if not cells.empty else cells
        return env.get_template("report.html.j2").render(
            run=run,
            title=f"gilbench report: {run.machine.get('hostname', '?')}, {run.manifest.get('created', '')}",
            complete=run.complete,
            verdicts=verdicts(cells, gil, run.gaps) if not cells.empty else [],
            baselines=baseline_names(run),
            layout_groups=layout_groups(run),
            pads=sorted({int(p) for p in run.processes["pad"].dropna()}) if not run.processes.empty else [],
            speed=machine_speed(run),
            canary_png=figure_data_uri(figures.canary_figure(run.processes)),
            canary_threshold=run.manifest.get("canary_slow", math.nan) - 1,
            canary_cpu_share=run.manifest.get("canary_on_cpu", math.nan),
            thresholds=THRESHOLDS,
            cells=cells.to_dict("records"),
            failed=cells[~cells["status"].isin(["ok"])].to_dict("records") if not cells.empty else [],
            noisy=cells[cells["noisy"]].to_dict("records") if not cells.empty else [],
            noisy_share=run.manifest.get("noise_threshold", math.nan),
            speedup_png=figure_data_uri(figures.speedup_figure(cells)) if not cells.empty else "",
            heatmap_png=figure_data_uri(figures.heatmap_figure(run.samples, reps)) if not reps.empty else "",
            distribution_png=figure_data_uri(figures.distribution_figure(cells, run.values)) if not cells.empty else "",
            environment=environment(run),
            unit_costs=unit_costs(run),
            lesson=run.lesson,
            interval=run.manifest.get("sample_interval"),
            timing=run.manifest.get("timing", {}),
        )

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
from reports.verdicts import THRESHOLDS, verdicts


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
    """One work unit's duration per sized workload, from the sequential baseline's median."""
    lines = []
    seq = run.cells[(run.cells["backend"] == "sequential") & (run.cells["status"] == "ok")]
    for cell in run.manifest["cells"]:
        if cell["backend"] != "sequential" or "units" not in (cell.get("params") or {}):
            continue
        row = seq[seq["id"] == cell["id"]]
        if row.empty:
            continue
        per_unit = float(row["median"].iloc[0]) / (cell["tasks"] * cell["params"]["units"])
        lines.append(
            f"{cell['workload']}: one unit = {per_unit * 1e3:.3f} ms, one task of {cell['params']['units']} "
            f"units = {per_unit * cell['params']['units'] * 1e3:.1f} ms (sequential median, {cell['cores']} cores)"
        )
    return lines


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
            verdicts=verdicts(cells, gil) if not cells.empty else [],
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

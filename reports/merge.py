"""Run folders of several machines -> one page: the machines side by side, the speedup curves overlaid per
workload, and the key numbers per workload and machine (``gilbench merge``).

Not ``compare``: compare asks whether a candidate regressed against a baseline on one machine and tests
it; merging shows how the same workloads scale on different machines, where each speedup is against its
own machine's baseline (same interpreter, workload and cores), so runs of different machines, which
compare calls not comparable, are the point here and nothing is tested.

A run is named by its machine: hostname and the CPUs the run could use (its affinity), e.g. "ci (4 CPUs)";
where two runs share both, each gets "#1", "#2", ... in the order given, so machines stay apart even with
equal hostnames. Refused, with the reason: fewer than two folders, a folder that is not a run (or of a
format this gilbench does not read), runs recording different run folder formats, two folders of the same
run, and runs without a workload in common. Nothing here names a model or an interpreter.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import jinja2
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..bench.data import query
from ..bench.data.results import RunFolder, RunFolderError, read_json, write_text_atomic
from .figures import interpreter_order
from .frame import RunData, flag, load, python_of, scaled_workloads
from .outputs import get_output
from .outputs.html import figure_data_uri, fmt, timing_of
from .verdicts import verdicts

#: a model's marker and line style in the overlay: markers vary fastest, 32 distinct pairs
MARKERS = "osD^vP*X"
LINESTYLES = ("-", "--", ":", "-.")
#: the file a merge writes into its output folder
REPORT = "report.html"


class MergeError(Exception):
    """Run folders that cannot be merged; the message says why."""


@dataclass(frozen=True)
class MergedRun:
    """One run folder in a merge, with the name the page gives its machine."""

    name: str
    run: RunData


def cpu_count(machine: dict[str, Any]) -> int:
    """The CPUs the run could use: its affinity, else the machine's logical CPUs (0: not recorded)."""
    return len(machine.get("affinity") or []) or int(machine.get("logical_cpus") or 0)


def machine_name(machine: dict[str, Any]) -> str:
    """"host (2 CPUs)": what tells machines apart at a glance."""
    host = machine.get("hostname") or "unknown host"
    n = cpu_count(machine)
    return f"{host} ({n} CPU{'' if n == 1 else 's'})" if n else host


def run_names(machines: Sequence[dict[str, Any]]) -> list[str]:
    """Each run's machine name; names shared by several runs get "#1", "#2", ... in the order given."""
    plain = [machine_name(m) for m in machines]
    counts, seen, names = Counter(plain), Counter(), []
    for name in plain:
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name} #{seen[name]}"
        names.append(name)
    return names


def _recorded_format(path: Path) -> Any:
    """The format a folder's manifest records; None where there is none to read (``load`` says why)."""
    try:
        manifest = read_json(RunFolder(path).manifest, "manifest.json")
    except RunFolderError:
        return None
    return manifest.get("format") if isinstance(manifest, dict) else None


def _identity(run: RunData) -> tuple[Any, ...]:
    """What one run has however its folder was copied or renamed: when it began and when each cell started."""
    return (run.manifest.created, tuple((c.get("id"), c.get("started")) for c in run.manifest.cells))


def _scaled(run: RunData) -> list[str]:
    """The run's workloads with a speedup curve: finished cells, the baseline and start-cost ones aside."""
    cells = run.cells
    if cells.empty:
        return []
    ok = cells[(cells["status"] == "ok") & ~flag(cells, "baseline") & cells["speedup"].notna()]
    return scaled_workloads(ok)


def load_runs(paths: Sequence[Path | str]) -> list[MergedRun]:
    """Read and check the run folders (MergeError or RunFolderError with the reason); each named by machine."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise MergeError(f"merge needs at least two run folders (one per machine), got {len(paths)}")
    formats = {p: _recorded_format(p) for p in paths}
    if len({f for f in formats.values() if f is not None}) > 1:
        listed = ", ".join(f"{p}: format {f}" for p, f in formats.items() if f is not None)
        raise MergeError(f"the runs have different run folder formats ({listed}); record them with one gilbench")
    runs = [load(p) for p in paths]
    seen: dict[tuple[Any, ...], Path] = {}
    for path, run in zip(paths, runs):
        first = seen.setdefault(_identity(run), path)
        if first is not path:
            raise MergeError(f"{first} and {path} are the same run (created {run.manifest.created or None}): "
                             "give each run once")
    merged = [MergedRun(name, run) for name, run in zip(run_names([r.machine for r in runs]), runs)]
    common_workloads(merged)
    return merged


def common_workloads(runs: Sequence[MergedRun]) -> list[str]:
    """The workloads every run has a speedup curve for; MergeError naming each run's where there is none."""
    each = [set(_scaled(r.run)) for r in runs]
    common = set.intersection(*each) if each else set()
    if not common:
        listed = "; ".join(f"{r.name}: {', '.join(sorted(w)) or 'none with a speedup'}" for r, w in zip(runs, each))
        raise MergeError(f"the runs have no workload in common ({listed})")
    return sorted(common)


def _curves(run: RunData, workload: str) -> pd.DataFrame:
    """The run's finished cells of ``workload`` with a speedup, the baseline aside."""
    cells = run.cells
    ok = cells[(cells["status"] == "ok") & ~flag(cells, "baseline") & cells["speedup"].notna()
               & (cells["workload"] == workload)]
    return ok.assign(python=python_of(ok))


def _at_most_cores(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["cores"] == frame["cores"].max()] if not frame.empty else frame


def _series(runs: Sequence[MergedRun], workloads: Sequence[str]) -> list[tuple[MergedRun, str, str]]:
    """(run, interpreter label, legend label) for each interpreter of each run: one colour each."""
    out = []
    for r in runs:
        cells = pd.concat([_curves(r.run, w) for w in workloads])
        for python in interpreter_order(cells):
            display = r.run.interpreter(python).display
            mine = cells[cells["python"] == python]
            cores = {int(group["cores"].max()) for _, group in mine.groupby("workload")}  # its most, per workload
            where = f", {cores.pop()} cores" if len(cores) == 1 else ""
            out.append((r, python, f"{r.name}, {display}{where}"))
    return out


def model_styles(models: Sequence[str]) -> dict[str, tuple[str, str]]:
    """A (marker, line style) per model over the sorted names: the same model looks the same in every panel."""
    return {m: (MARKERS[i % len(MARKERS)], LINESTYLES[(i + i // len(MARKERS)) % len(LINESTYLES)])
            for i, m in enumerate(sorted(set(models)))}


def overlay_figure(runs: Sequence[MergedRun], workloads: Sequence[str]) -> Figure | None:
    """One panel per workload: speedup against workers at each machine's most cores, one colour per machine
    (and interpreter), one marker and line style per model; each machine's ideal as a faint line."""
    series = _series(runs, workloads)
    if not series or not workloads:
        return None
    models = [b for r in runs for w in workloads for b in _curves(r.run, w)["backend"]]
    styles = model_styles(models)
    size = 10 if len(series) <= 10 else 20
    palette = plt.get_cmap(f"tab{size}")
    colors = {i: palette(i % size) for i in range(len(series))}
    ncols = min(len(workloads), 2)
    nrows = math.ceil(len(workloads) / ncols)
    labels = [label for _, _, label in series] + list(styles) + ["ideal (faint, per machine)"]
    legend_width = 1.0 + 0.065 * max(len(label) for label in labels)  # inches, at font size 8
    width = 5.2 * ncols + legend_width
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[len(workloads):]:
        ax.set_axis_off()
    for ax, workload in zip(axes.flat, workloads):
        ticks: set[int] = set()
        kinds = set()
        for i, (r, python, _) in enumerate(series):
            cells = _curves(r.run, workload)
            panel = _at_most_cores(cells[cells["python"] == python]).sort_values("workers")
            for backend, line in panel.groupby("backend", sort=True):
                marker, style = styles[backend]
                ax.plot(line["workers"], line["speedup"], marker=marker, ls=style, color=colors[i], ms=5)
            ideal = panel.drop_duplicates("workers")
            ax.plot(ideal["workers"], ideal["ideal"], color=colors[i], lw=1, alpha=0.35)
            ticks |= {int(w) for w in panel["workers"]}
            kinds |= set(panel["kind"])
        ax.axhline(1.0, color="0.8", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(ticks), labels=[str(t) for t in sorted(ticks)])
        ax.set_title(workload + (f" ({', '.join(sorted(kinds))})" if kinds else ""), fontsize=10)
        ax.set_xlabel("workers")
        ax.set_ylabel("speedup vs its machine's baseline")
        ax.grid(alpha=0.3)
    machines = [Line2D([], [], color=colors[i], lw=3, label=label) for i, (_, _, label) in enumerate(series)]
    machines.append(Line2D([], [], color="0.5", lw=1, alpha=0.5, label="ideal (faint, per machine)"))
    shapes = [Line2D([], [], color="0.2", marker=m, ls=s, label=b) for b, (m, s) in styles.items()]
    right = 1 - legend_width / width
    first = fig.legend(handles=machines, fontsize=8, loc="upper left", bbox_to_anchor=(right, 1.0), title="machine",
                       title_fontsize=8)
    fig.add_artist(first)
    fig.legend(handles=shapes, fontsize=8, loc="lower left", bbox_to_anchor=(right, 0.0), title="model",
               title_fontsize=8)
    fig.tight_layout(rect=(0, 0, right, 1))
    return fig


def _gil_text(value: Any) -> str:
    return "unknown" if value is None else "on" if value else "off"


def _describe(r: MergedRun) -> dict[str, str]:
    """One machine and its run, as the side-by-side table shows them."""
    m, man, run = r.run.machine, r.run.manifest, r.run
    used = list(dict.fromkeys(python_of(run.cells))) if not run.cells.empty else list(run.interpreters)
    interpreters = [run.interpreter(label) for label in used]
    memory = m.get("memory_total_bytes")
    cells = run.cells
    timing = timing_of(man)
    return {
        "host": str(m.get("hostname", "?")),
        "CPU model": str(m.get("cpu_model", "?")),
        "logical CPUs / physical cores": f"{m.get('logical_cpus', '?')} / {m.get('physical_cores', '?')}",
        "CPUs the run could use (affinity)": f"{cpu_count(m)}: {','.join(map(str, m.get('affinity') or [])) or '?'}",
        "CPU frequency": fmt(m.get("cpu_freq_mhz"), ".0f", " MHz"),
        "memory": fmt(memory / 2**30 if memory else None, ".1f", " GiB"),
        "OS": str(m.get("os", "?")),
        "interpreters": "; ".join(f"{d.display}: {d.implementation} {d.version}, {d.build or '?'} build"
                                  + "".join(f", {k}={v}" for k, v in d.settings.items()) for d in interpreters),
        "GIL": "; ".join(f"{d.display}: {_gil_text(d.gil_enabled)}" for d in interpreters),
        "default start method": "; ".join(f"{d.display}: {d.default_start_method or '?'}" for d in interpreters),
        "date": man.created or "?",
        "profile": f"{man.profile or '?'}: {timing.processes} processes x {timing.values} values a cell",
        "cells": (f"{int((cells['status'] == 'ok').sum())} ok of {len(cells)}"
                  + (f", {int(cells['noisy'].sum())} noisy" if not cells.empty and cells['noisy'].any() else ""))
                 if not cells.empty else "none",
        "gilbench": man.gilbench_version or "?",
        "run folder": str(run.path),
    }


def machine_rows(runs: Sequence[MergedRun]) -> list[tuple[str, list[str], bool]]:
    """(what, one value per machine, whether the machines differ in it), in a fixed order."""
    described = [_describe(r) for r in runs]
    return [(key, [d[key] for d in described], len({d[key] for d in described}) > 1) for key in described[0]]


def key_numbers(runs: Sequence[MergedRun], workloads: Sequence[str]) -> list[dict[str, Any]]:
    """Per workload, machine and interpreter, at that machine's most cores and most workers: the fastest model,
    its speedup, ideal and efficiency, the baseline's time, and the verdict's reason there."""
    rows = []
    for r in runs:
        run = r.run
        gil = {label: query.gil_on(d.gil_enabled) for label, d in run.interpreters.items()}
        judged = verdicts(run.cells, gil, run.gaps) if not run.cells.empty else []
        for workload in workloads:
            cells = _curves(run, workload)
            for python in interpreter_order(cells):
                at = _at_most_cores(cells[cells["python"] == python])
                at = at[at["workers"] == at["workers"].max()]
                best = at.sort_values(["speedup", "backend"], ascending=[False, True]).iloc[0]
                cores, workers = int(best["cores"]), int(best["workers"])
                verdict = next((v for v in judged if v.python == python and v.workload == workload
                                and v.cores == cores and v.workers == workers), None)
                rows.append({
                    "workload": workload, "machine": r.name, "interpreter": run.interpreter(python).display,
                    "cores": cores, "workers": workers, "best": str(best["backend"]),
                    "speedup": float(best["speedup"]), "ideal": float(best["ideal"]),
                    "efficiency": float(best["efficiency"]), "baseline_ms": float(best["baseline_time"]) * 1e3,
                    "reason": verdict.reason if verdict else "",
                })
    order = {w: i for i, w in enumerate(workloads)}
    return sorted(rows, key=lambda row: order[row["workload"]])


def render(runs: Sequence[MergedRun]) -> str:
    """The merged page: self-contained HTML (the figure inlined as PNG, no network)."""
    workloads = common_workloads(runs)
    others = sorted({w for r in runs for w in _scaled(r.run)} - set(workloads))
    env = jinja2.Environment(loader=jinja2.PackageLoader("gilbench.reports", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    env.filters["ms"] = lambda v: fmt(v, ".3g" if v < 100 else ".0f", " ms")
    return env.get_template("merged.html.j2").render(
        names=[r.name for r in runs],
        machines=machine_rows(runs),
        overlay_png=figure_data_uri(overlay_figure(runs, workloads)),
        workloads=workloads,
        others=others,
        rows=key_numbers(runs, workloads),
    )


def merge(paths: Sequence[Path | str], output: Path | str) -> Path:
    """Check the runs, write ``output/report.html`` (the folder made if missing); its path. Nothing is written
    when a check fails."""
    runs = load_runs(paths)
    page = get_output("merged-html")().render(runs)  # the Output every format is behind (reports.outputs)
    folder = Path(output)
    if (folder / "manifest.json").exists():
        raise MergeError(f"--output {folder}: a run folder; give the merged report a folder of its own")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / REPORT
        write_text_atomic(target, page)
    except OSError as exc:
        raise MergeError(f"--output {folder}: cannot write there ({exc.strerror or exc})") from None
    return target

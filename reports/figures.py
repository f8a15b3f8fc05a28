"""Frames -> matplotlib figures. No file I/O: an output decides how to embed them."""

from __future__ import annotations

from typing import Any, Mapping

import matplotlib

matplotlib.use("Agg")  # no display; figures are rendered to files or memory only

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .frame import flag, python_of, scaled_workloads  # noqa: E402

IDEAL_COLOR = "0.5"
#: line styles by whether a model's workers share the process
STYLES = {True: "o-", False: "s--"}


def backend_colors(names) -> dict[str, Any]:
    """A colour per model name from a fixed palette over the sorted names: the same model gets the same
    colour in every figure of a report, whatever models a run has."""
    palette = plt.get_cmap("tab10" if len(set(names)) <= 10 else "tab20")
    size = 10 if len(set(names)) <= 10 else 20
    return {name: palette(i % size) for i, name in enumerate(sorted(set(names)))}


def interpreter_order(cells: pd.DataFrame) -> list[str]:
    """The interpreter labels in the order the run's cells first name them."""
    return list(dict.fromkeys(python_of(cells)))


def _label(python: str, names: Mapping[str, str] | None) -> str:
    return (names or {}).get(python, python) or "this interpreter"


def model_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order a reader compares them: the baseline first, then by family, model and workers."""
    return frame.assign(_b=~flag(frame, "baseline"), _f=frame["family"].fillna("") if "family" in frame else "") \
        .sort_values(["_b", "_f", "backend", "workers"]).drop(columns=["_b", "_f"])


def speedup_figure(cells: pd.DataFrame, names: Mapping[str, str] | None = None,
                   bands: Mapping[str, tuple[float, float]] | None = None) -> Figure | None:
    """Speedup against workers, one curve per model (the baseline excepted) and the ideal; one column per
    interpreter (and core count, where the run has several), one row per workload.

    Speedup is on each cell's ``time`` (median of its process medians) against the baseline of the same
    interpreter, workload and cores. Workloads with a single worker count (nothing to draw a curve
    through, e.g. a start-cost workload) are left out. ``names``: interpreter label -> panel title.
    ``bands``: cell id -> (low, high) of its speedup over its processes, shaded around each curve so a
    reader sees which gaps between curves are larger than the cells' own spread; a cell without one
    shades nothing (the band narrows to its point).
    """
    ok = cells[(cells["status"] == "ok") & ~flag(cells, "baseline") & cells["speedup"].notna()].copy()
    if ok.empty:
        return None
    ok["python"] = python_of(ok)
    ok = ok[ok["workload"].isin(scaled_workloads(ok))]
    if ok.empty:
        return None
    colors = backend_colors(cells["backend"])
    workloads = sorted(ok["workload"].unique())
    columns = [(py, c) for py in interpreter_order(ok) for c in sorted(ok[ok["python"] == py]["cores"].unique())]
    several_cores = ok["cores"].nunique() > 1
    fig, axes = plt.subplots(
        len(workloads), len(columns), figsize=(3.6 * len(columns) + 1.6, 3.0 * len(workloads)), squeeze=False
    )
    shown: dict[str, Any] = {}
    for i, workload in enumerate(workloads):
        for j, (python, n_cores) in enumerate(columns):
            ax = axes[i][j]
            panel = ok[(ok["workload"] == workload) & (ok["cores"] == n_cores) & (ok["python"] == python)]
            if panel.empty:
                ax.set_axis_off()
                continue
            panel = panel.sort_values("workers")
            for backend, line in panel.groupby("backend", sort=True):
                inside = bool(flag(line, "in_process").iloc[0])
                (handle,) = ax.plot(line["workers"], line["speedup"], STYLES[inside], color=colors[backend], label=backend)
                shown.setdefault(backend, handle)
                _band(ax, line, bands or {}, colors[backend])
            ideal = panel.drop_duplicates("workers")
            (handle,) = ax.plot(ideal["workers"], ideal["ideal"], ":", color=IDEAL_COLOR, label="ideal")
            shown.setdefault("ideal", handle)
            ax.axhline(1.0, color="0.8", lw=0.8)
            ax.set_xscale("log", base=2)
            ticks = sorted(panel["workers"].unique())
            ax.set_xticks(ticks, labels=[str(w) for w in ticks])
            title = f"{workload} on {_label(python, names)}"
            if several_cores:
                title += f", {n_cores} core{'s' if n_cores > 1 else ''}"
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("workers")
            if j == 0:
                ax.set_ylabel("speedup vs baseline")
            ax.grid(alpha=0.3)
    fig.legend(list(shown.values()), list(shown.keys()), fontsize=8, loc="upper right")
    fig.tight_layout(rect=(0, 0, 1 - 1.4 / (3.6 * len(columns) + 1.6), 1))
    return fig


def overview_points(cells: pd.DataFrame) -> pd.DataFrame:
    """Per interpreter and workload at its most cores and most workers: every model's cell there (the
    baseline excepted), the points the overview figure draws."""
    ok = cells[(cells["status"] == "ok") & ~flag(cells, "baseline") & cells["speedup"].notna()].copy()
    if ok.empty:
        return ok
    ok["python"] = python_of(ok)
    ok = ok[ok["workload"].isin(scaled_workloads(ok))]
    chosen = []
    for _, group in ok.groupby(["python", "workload"], sort=False):
        top = group[group["cores"] == group["cores"].max()]
        chosen.append(top[top["workers"] == top["workers"].max()])
    return pd.concat(chosen) if chosen else ok


def overview_figure(cells: pd.DataFrame, names: Mapping[str, str] | None = None,
                    bands: Mapping[str, tuple[float, float]] | None = None) -> Figure | None:
    """The report's first picture: per workload (one row each), every model's speedup at the most workers
    on the most cores, as a dot with its band (lowest to highest over the cell's processes) and the ideal
    as a grey bar; one column per interpreter. Which model is ahead, and by more than its spread, at a glance."""
    points = overview_points(cells)
    if points.empty:
        return None
    colors = backend_colors(cells["backend"])
    pythons = interpreter_order(points)
    workloads = sorted(points["workload"].unique())
    models = list(dict.fromkeys(model_order(points.drop_duplicates("backend"))["backend"]))
    step = 0.8 / max(len(models), 1)
    column = min(6.8, 11.0 / len(pythons))
    width = column * len(pythons) + 1.8
    fig, axes = plt.subplots(1, len(pythons), figsize=(width, 1.3 + len(workloads) * max(0.45, 0.16 * len(models))),
                             squeeze=False, sharey=True)
    shown: dict[str, Any] = {}
    for ax, python in zip(axes[0], pythons):
        mine = points[points["python"] == python]
        for row, workload in enumerate(workloads):
            here = mine[mine["workload"] == workload]
            if here.empty:
                continue
            y0 = len(workloads) - 1 - row
            ideal = float(here["ideal"].iloc[0])
            (handle,) = ax.plot([ideal, ideal], [y0 - 0.45, y0 + 0.45], "-", color=IDEAL_COLOR, lw=3, alpha=0.6)
            shown.setdefault("ideal", handle)
            for k, backend in enumerate(models):
                cell = here[here["backend"] == backend]
                if cell.empty:
                    continue
                r = cell.iloc[0]
                y = y0 + 0.4 - step / 2 - k * step
                low, high = (bands or {}).get(r["id"], (r["speedup"], r["speedup"]))
                if not (np.isfinite(low) and np.isfinite(high)):
                    low = high = r["speedup"]
                ax.plot([low, high], [y, y], "-", color=colors[backend], lw=2, alpha=0.5)
                (handle,) = ax.plot([r["speedup"]], [y], STYLES[bool(r["in_process"])][0], color=colors[backend], ms=5)
                shown.setdefault(backend, handle)
        ax.axvline(1.0, color="0.75", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.set_yticks(range(len(workloads)), labels=[_overview_label(mine, w) for w in reversed(workloads)], fontsize=8)
        ax.set_ylim(-0.6, len(workloads) - 0.4)
        ax.set_xlabel("speedup vs baseline at the most workers")
        if python or len(pythons) > 1:
            ax.set_title(_label(python, names), fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    fig.legend(list(shown.values()), list(shown.keys()), fontsize=8, loc="upper right")
    fig.tight_layout(rect=(0, 0, 1 - 1.5 / width, 1))
    return fig


def _overview_label(points: pd.DataFrame, workload: str) -> str:
    """"sha256\n16 workers, 16 cores" for one row of the overview."""
    here = points[points["workload"] == workload]
    if here.empty:
        return workload
    w, c = int(here["workers"].iloc[0]), int(here["cores"].iloc[0])
    return f"{workload}\n{w} worker{'s' if w != 1 else ''}, {c} core{'s' if c != 1 else ''}"


def _band(ax: Any, line: pd.DataFrame, bands: Mapping[str, tuple[float, float]], color: Any) -> None:
    """Shade one model's speedup range (``bands``, by cell id) around its curve, if any cell has one."""
    speedups = line["speedup"].to_numpy(dtype=float)
    known = [bands.get(cid) for cid in line["id"]]
    usable = [b is not None and bool(np.isfinite(b).all()) for b in known]
    if not any(usable):
        return
    low = [b[0] if ok else s for b, ok, s in zip(known, usable, speedups)]
    high = [b[1] if ok else s for b, ok, s in zip(known, usable, speedups)]
    ax.fill_between(line["workers"].to_numpy(dtype=float), low, high, color=color, alpha=0.18, lw=0)


def representative_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Per interpreter and workload at the most cores, with workers = cores (or nearest above): the fastest
    and the slowest model (the baseline excepted), so the heatmaps contrast what ran in parallel with what
    did not."""
    ok = cells[(cells["status"] == "ok") & ~flag(cells, "baseline") & cells["speedup"].notna()]
    ok = ok[ok["workload"].isin(scaled_workloads(ok))]
    if ok.empty:
        return ok
    ok = ok.assign(python=python_of(ok))
    top = ok[ok["cores"] == ok["cores"].max()]
    chosen = []
    for _, group in top.groupby(["python", "workload"], sort=False):
        cores = int(group["cores"].iloc[0])
        counts = sorted(group["workers"].unique())
        workers = next((w for w in counts if w >= cores), counts[-1])
        at = group[group["workers"] == workers].sort_values(["speedup", "backend"], ascending=[False, True])
        chosen.append(at.iloc[[0, -1]].drop_duplicates("id"))
    return pd.concat(chosen) if chosen else ok.iloc[0:0]


def heatmap_figure(samples: pd.DataFrame, cells: pd.DataFrame) -> Figure | None:
    """Per-core utilization (core x time) while each of ``cells`` ran."""
    cpu_cols = [c for c in samples.columns if c.startswith("cpu")]
    if not cpu_cols or cells.empty:
        return None
    height = max(2.0, (0.6 + 0.3 * len(cpu_cols)) * len(cells))
    fig, axes = plt.subplots(len(cells), 1, figsize=(9, height), squeeze=False)
    image = None
    for ax, row in zip(axes[:, 0], cells.itertuples()):
        window = samples[(samples["time"] >= row.started) & (samples["time"] <= row.ended)]
        if window.empty:
            ax.set_axis_off()
            continue
        t = window["time"].to_numpy() - row.started
        grid = window[cpu_cols].to_numpy().T
        image = ax.imshow(grid, aspect="auto", origin="lower", vmin=0, vmax=100, cmap="viridis",
                          extent=(t[0], t[-1] if len(t) > 1 else t[0] + 0.1, -0.5, len(cpu_cols) - 0.5),
                          interpolation="nearest")
        ax.set_yticks(range(len(cpu_cols)), labels=[c.replace("cpu", "") for c in cpu_cols], fontsize=7)
        ax.set_ylabel("CPU", fontsize=8)
        ax.set_title(f"{row.id}: {row.busy_cores:.2f} cores busy on average", fontsize=9, loc="left")
    axes[-1][0].set_xlabel("seconds since the cell started (includes pyperf's process start-up)")
    fig.tight_layout()
    if image is not None:
        fig.colorbar(image, ax=axes[:, 0].tolist(), label="busy %", fraction=0.03)
    return fig


def distribution_figure(cells: pd.DataFrame, values: pd.DataFrame, names: Mapping[str, str] | None = None) -> Figure | None:
    """Every timed batch of each cell at the most cores, one panel per interpreter and workload: a box over
    all the cell's values, and the values as dots coloured by their pyperf process (process k of every cell
    ran with the same layout pad), so a process that sat apart shows as a cluster of one colour."""
    ok = cells[cells["status"] == "ok"]
    if ok.empty or values.empty:
        return None
    ok = ok.assign(python=python_of(ok))
    top = ok[ok["cores"] == ok["cores"].max()]
    panels = [(py, w) for w in sorted(top["workload"].unique()) for py in interpreter_order(top)
              if not top[(top["workload"] == w) & (top["python"] == py)].empty]
    by_process = "process" in values.columns
    process_ids = sorted(values["process"].dropna().unique()) if by_process else []
    palette = plt.get_cmap("tab10")
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.8 * len(panels)), squeeze=False)
    for ax, (python, workload) in zip(axes[:, 0], panels):
        group = model_order(top[(top["workload"] == workload) & (top["python"] == python)])
        data = [values.loc[values["id"] == cid, "value"].to_numpy() * 1e3 for cid in group["id"]]
        labels = [f"{b}\nx{w}" for b, w in zip(group["backend"], group["workers"])]
        ax.boxplot(data, showfliers=False)
        for k, cid in enumerate(group["id"], start=1):
            mine = values[values["id"] == cid]
            if not by_process:
                ax.plot(np.full(len(mine), k), mine["value"] * 1e3, ".", color="0.3", alpha=0.6, ms=3)
                continue
            for j, proc in enumerate(process_ids):
                dots = mine[mine["process"] == proc]["value"].to_numpy() * 1e3
                if dots.size == 0:
                    continue
                offset = (j - (len(process_ids) - 1) / 2) * min(0.6 / max(len(process_ids), 1), 0.15)
                ax.plot(np.full(dots.size, k + offset), dots, "o", color=palette(j % 10), alpha=0.8, ms=3,
                        label=f"process {int(proc)}" if k == 1 else None)
        ax.set_xticks(range(1, len(labels) + 1), labels=labels, fontsize=7)
        ax.set_ylabel("batch time (ms)")
        where = f" on {_label(python, names)}" if len(interpreter_order(top)) > 1 or python else ""
        ax.set_title(f"{workload}{where}, {int(group['cores'].iloc[0])} cores: every timed batch", fontsize=9, loc="left")
        ax.grid(alpha=0.3, axis="y")
        if by_process and 1 < len(process_ids) <= 10:
            ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=min(len(process_ids), 5),
                      frameon=False, borderaxespad=0.1)
    fig.tight_layout()
    return fig


def canary_figure(processes: pd.DataFrame, colors: Mapping[str, Any] | None = None) -> Figure | None:
    """Every process's canary (ms) against when the process started (s since the run's first one),
    coloured by the cell's model (``colors``: the run's ``backend_colors``, so a model has the colour it
    has in the other figures); flagged processes ringed in red. A machine that slowed down shows as
    canaries drifting up."""
    if processes.empty or "canary" not in processes:
        return None
    rows = processes[processes["canary"].notna() & (processes["canary"] > 0)]
    rows = rows[rows["started"].notna() & (rows["started"] > 0)]
    if rows.empty:
        return None
    t0 = float(rows["started"].min())
    fig, ax = plt.subplots(figsize=(9, 2.8))
    colors = colors or backend_colors(rows["backend"])
    backends = sorted(set(rows["backend"]))
    for backend in backends:
        sel = rows[rows["backend"] == backend]
        ax.plot(sel["started"] - t0, sel["canary"] * 1e3, "o", color=colors[backend], ms=4, alpha=0.8, label=backend)
    if "flagged" in rows:
        bad = rows[rows["flagged"].fillna(False).astype(bool)]
        if not bad.empty:
            ax.plot(bad["started"] - t0, bad["canary"] * 1e3, "o", mfc="none", mec="tab:red", ms=9, label="flagged")
    ax.axhline(float(rows["canary"].median() * 1e3), color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("seconds since the run's first process started")
    ax.set_ylabel("canary (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=min(len(backends) + 1, 5))
    fig.tight_layout()
    return fig


def change_figure(rows: list) -> Figure | None:
    """Each compared row's change (candidate / baseline - 1) with its bounds, and half of each threshold
    (where the gate's rule draws the line: a regression's upper bound reaches it)."""
    rows = [r for r in rows if not np.isnan(r.ratio)]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.8 + 0.28 * len(rows)))
    y = np.arange(len(rows))[::-1]
    change = np.array([r.change for r in rows]) * 100
    # an unbounded side (too few rounds for the look's level) is drawn without its whisker
    low = np.nan_to_num(change - (np.array([r.ci_low for r in rows]) - 1) * 100, posinf=0.0, neginf=0.0)
    high = np.nan_to_num((np.array([r.ci_high for r in rows]) - 1) * 100 - change, posinf=0.0, neginf=0.0)
    colors = ["tab:red" if r.regression else "tab:green" if r.verdict in ("faster", "better") else "0.6" for r in rows]
    ax.barh(y, change, color=colors, xerr=[np.maximum(low, 0), np.maximum(high, 0)], ecolor="0.2", capsize=2)
    for t in {r.threshold for r in rows}:
        ax.axvline(t * 50, color="tab:red", ls=":", lw=0.8)
        ax.axvline(-t * 50, color="tab:red", ls=":", lw=0.8)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, labels=[f"{r.id}: {r.label}" for r in rows], fontsize=7)
    ax.set_xlabel("change, candidate vs baseline (%)")
    fig.tight_layout()
    return fig


def speedup_overlay(base: pd.DataFrame, cand: pd.DataFrame) -> Figure | None:
    """Both runs' speedup curves at the most cores: one row per interpreter, one column per workload, a
    curve per model present in either run (the baseline excepted); baseline run solid, candidate dashed."""
    frames = {"baseline": base, "candidate": cand}
    ok = {}
    for key, f in frames.items():
        sel = f[(f["status"] == "ok") & ~flag(f, "baseline") & f["speedup"].notna()]
        ok[key] = sel.assign(python=python_of(sel))
    if any(f.empty for f in ok.values()):
        return None
    both = pd.concat(list(ok.values()))
    workloads = scaled_workloads(both) or sorted(both["workload"].unique())
    pythons = list(dict.fromkeys(list(ok["baseline"]["python"]) + list(ok["candidate"]["python"])))
    colors = backend_colors(both["backend"])
    fig, axes = plt.subplots(len(pythons), len(workloads), figsize=(4.2 * len(workloads) + 1.6, 3.2 * len(pythons)),
                             squeeze=False)
    shown: dict[str, Any] = {}
    for i, python in enumerate(pythons):
        for j, workload in enumerate(workloads):
            ax = axes[i][j]
            drawn = False
            for label, frame in ok.items():
                mine = frame[(frame["python"] == python) & (frame["workload"] == workload)]
                sel = mine[mine["cores"] == mine["cores"].max()] if not mine.empty else mine
                for backend, line in sel.groupby("backend", sort=True):
                    line = line.sort_values("workers")
                    name = f"{backend}, {label}"
                    (handle,) = ax.plot(line["workers"], line["speedup"], "o-" if label == "baseline" else "s--",
                                        color=colors[backend], alpha=1 if label == "baseline" else 0.7, label=name)
                    shown.setdefault(name, handle)
                    drawn = True
            if not drawn:
                ax.set_axis_off()
                continue
            ax.set_xscale("log", base=2)
            ticks = sorted(set(both[(both["python"] == python) & (both["workload"] == workload)]["workers"]))
            ax.set_xticks(ticks, labels=[str(t) for t in ticks])
            ax.set_title(workload + (f" on {python}" if python else ""), fontsize=10)
            ax.set_xlabel("workers")
            ax.set_ylabel("speedup vs baseline")
            ax.grid(alpha=0.3)
    fig.legend(list(shown.values()), list(shown.keys()), fontsize=7, loc="upper right")
    fig.tight_layout(rect=(0, 0, 1 - 1.5 / (4.2 * len(workloads) + 1.6), 1))
    return fig

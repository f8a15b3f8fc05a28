"""Frames -> matplotlib figures. No file I/O: an output decides how to embed them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display; figures are rendered to files or memory only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

COLORS = {"threads": "tab:blue", "processes": "tab:orange", "sequential": "tab:green", "ideal": "0.5"}
#: backends in the order a reader compares them: the baseline first
BACKEND_ORDER = {"sequential": 0, "threads": 1, "processes": 2}


def speedup_figure(cells: pd.DataFrame) -> Figure | None:
    """Speedup against workers: threads, processes and the ideal; one panel per workload and cores.

    Speedup is on each cell's ``time`` (median of its process medians) against the baseline's.
    """
    ok = cells[(cells["status"] == "ok") & cells["backend"].isin(["threads", "processes"])]
    if ok.empty:
        return None
    workloads, cores = sorted(ok["workload"].unique()), sorted(ok["cores"].unique())
    fig, axes = plt.subplots(
        len(workloads), len(cores), figsize=(3.6 * len(cores) + 0.8, 3.0 * len(workloads)), squeeze=False
    )
    for i, workload in enumerate(workloads):
        for j, n_cores in enumerate(cores):
            ax = axes[i][j]
            panel = ok[(ok["workload"] == workload) & (ok["cores"] == n_cores)].sort_values("workers")
            for backend in ("threads", "processes"):
                line = panel[panel["backend"] == backend]
                ax.plot(line["workers"], line["speedup"], "o-", color=COLORS[backend], label=backend)
            ideal = panel.drop_duplicates("workers")
            ax.plot(ideal["workers"], ideal["ideal"], "--", color=COLORS["ideal"], label="ideal")
            ax.axhline(1.0, color="0.8", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(panel["workers"].unique()), labels=[str(w) for w in sorted(panel["workers"].unique())])
            ax.set_title(f"{workload}, {n_cores} core{'s' if n_cores > 1 else ''}", fontsize=10)
            ax.set_xlabel("workers")
            if j == 0:
                ax.set_ylabel("speedup vs baseline")
            ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def representative_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Threads and processes for each workload at the most cores, with workers = cores (or nearest above)."""
    ok = cells[(cells["status"] == "ok") & cells["backend"].isin(["threads", "processes"])]
    if ok.empty:
        return ok
    top = ok[ok["cores"] == ok["cores"].max()]
    chosen = []
    for _, group in top.groupby("workload", sort=True):
        cores = int(group["cores"].iloc[0])
        counts = sorted(group["workers"].unique())
        workers = next((w for w in counts if w >= cores), counts[-1])
        chosen.append(group[group["workers"] == workers].sort_values("backend", ascending=False))
    return pd.concat(chosen)


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


def distribution_figure(cells: pd.DataFrame, values: pd.DataFrame) -> Figure | None:
    """Every timed batch of each cell at the most cores, one panel per workload: a box over all the
    cell's values, and the values as dots coloured by their pyperf process (process k of every cell
    ran with the same layout pad), so a process that sat apart shows as a cluster of one colour."""
    ok = cells[cells["status"] == "ok"]
    if ok.empty or values.empty:
        return None
    top = ok[ok["cores"] == ok["cores"].max()]
    workloads = sorted(top["workload"].unique())
    by_process = "process" in values.columns
    process_ids = sorted(values["process"].dropna().unique()) if by_process else []
    palette = plt.get_cmap("tab10")
    fig, axes = plt.subplots(len(workloads), 1, figsize=(9, 2.8 * len(workloads)), squeeze=False)
    for ax, workload in zip(axes[:, 0], workloads):
        group = top[top["workload"] == workload]
        order = group["baseline"].map({True: -1}).fillna(group["backend"].map(BACKEND_ORDER)).fillna(9) \
            if "baseline" in group else group["backend"].map(BACKEND_ORDER).fillna(9)
        group = group.assign(order=order).sort_values(["order", "workers"])
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
        ax.set_title(f"{workload}, {int(group['cores'].iloc[0])} cores: every timed batch", fontsize=9, loc="left")
        ax.grid(alpha=0.3, axis="y")
        if by_process and 1 < len(process_ids) <= 10:
            ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=min(len(process_ids), 5),
                      frameon=False, borderaxespad=0.1)
    fig.tight_layout()
    return fig


def canary_figure(processes: pd.DataFrame) -> Figure | None:
    """Every process's canary (ms) against when the process started (s since the run's first one),
    coloured by the cell's backend; flagged processes ringed in red. A machine that slowed down shows
    as canaries drifting up."""
    if processes.empty or "canary" not in processes:
        return None
    rows = processes[processes["canary"].notna() & (processes["canary"] > 0)]
    rows = rows[rows["started"].notna() & (rows["started"] > 0)]
    if rows.empty:
        return None
    t0 = float(rows["started"].min())
    fig, ax = plt.subplots(figsize=(9, 2.8))
    palette = plt.get_cmap("tab10")
    backends = sorted(rows["backend"].unique(), key=lambda b: (BACKEND_ORDER.get(b, 9), b))
    for i, backend in enumerate(backends):
        sel = rows[rows["backend"] == backend]
        color = COLORS.get(backend, palette((i + 2) % 10))
        ax.plot(sel["started"] - t0, sel["canary"] * 1e3, "o", color=color, ms=4, alpha=0.8, label=backend)
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
    """Each compared cell's change (candidate / baseline - 1) with its interval and the threshold."""
    rows = [r for r in rows if not np.isnan(r.ratio)]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.8 + 0.28 * len(rows)))
    y = np.arange(len(rows))[::-1]
    change = np.array([r.change for r in rows]) * 100
    low = change - (np.array([r.ci_low for r in rows]) - 1) * 100
    high = (np.array([r.ci_high for r in rows]) - 1) * 100 - change
    colors = ["tab:red" if r.regression else "tab:green" if r.verdict in ("faster", "better") else "0.6" for r in rows]
    ax.barh(y, change, color=colors, xerr=[np.maximum(low, 0), np.maximum(high, 0)], ecolor="0.2", capsize=2)
    for t in {r.threshold for r in rows}:
        ax.axvline(t * 100, color="tab:red", ls=":", lw=0.8)
        ax.axvline(-t * 100, color="tab:red", ls=":", lw=0.8)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, labels=[f"{r.id} ({r.metric})" for r in rows], fontsize=7)
    ax.set_xlabel("change, candidate vs baseline (%)")
    fig.tight_layout()
    return fig


def speedup_overlay(base: pd.DataFrame, cand: pd.DataFrame) -> Figure | None:
    """Both runs' speedup curves, per workload at the most cores: baseline solid, candidate dashed."""
    frames = {"baseline": base, "candidate": cand}
    ok = {k: f[(f["status"] == "ok") & f["backend"].isin(["threads", "processes"])] for k, f in frames.items()}
    if any(f.empty for f in ok.values()):
        return None
    workloads = sorted(set(ok["baseline"]["workload"]) | set(ok["candidate"]["workload"]))
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads), 3.2), squeeze=False)
    for ax, workload in zip(axes[0], workloads):
        for label, frame in ok.items():
            sel = frame[(frame["workload"] == workload) & (frame["cores"] == frame["cores"].max())]
            for backend in ("threads", "processes"):
                line = sel[sel["backend"] == backend].sort_values("workers")
                ax.plot(line["workers"], line["speedup"], "o-" if label == "baseline" else "s--",
                        color=COLORS[backend], alpha=1 if label == "baseline" else 0.7, label=f"{backend}, {label}")
        ax.set_xscale("log", base=2)
        ticks = sorted(set(ok["baseline"]["workers"]) | set(ok["candidate"]["workers"]))
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
        ax.set_title(workload, fontsize=10)
        ax.set_xlabel("workers")
        ax.set_ylabel("speedup vs baseline")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig

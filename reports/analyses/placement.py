"""Which CPUs the cells ran on, and whether any two of them were SMT siblings of one physical core.

Two hardware threads of one core share its execution units, so workers on siblings do not get two
cores' worth of CPU. ``--cores N`` picks N distinct physical cores before any sibling (``bench.data.topology``;
``--logical-cpus``: the first N CPUs as listed); the machine's topology as the OS reported it is in
machine.json, and each cell's CPUs in the manifest. This section says what the topology was and which
cells, if any, had workers on siblings. Where the run asked for several placements (``--placement
physical,siblings``), a second section puts each model's speedup under each placement side by side, every
speedup against the baseline measured under the same placement, and names the placements not measured
because they picked the same CPUs as another.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ...bench.data.topology import Topology
from .base import Analysis
from .panels import workload_panels
from ..curves import interpreter_name
from ..figures import backend_colors
from ..frame import RunData, flag, python_of
from ..sections import Section

#: how a placement picks a cell's CPUs, as a sentence ends
HOW = {"physical": "distinct physical cores first", "logical": "the first logical CPUs as listed (--placement logical)",
       "siblings": "every SMT sibling of a core before the next core (--placement siblings)"}
COMPARE_METHOD = ("Each placement after the run's first measured the same cells again on the CPUs it picks (cell ids "
                  "ending in -<placement>), its own baseline included: every speedup is against the baseline measured "
                  "under the same placement. A placement that picks the same CPUs as another at some core count is "
                  "not measured twice there.")
METHOD = ("Topology: each logical CPU's package and core id as the OS reports them (Linux: "
          "/sys/devices/system/cpu/cpuN/topology), read when the run started. A cell's CPUs are the affinity its "
          "pyperf process and everything it started ran under.")


def topology_sentence(topology: Topology, cpus: list[int]) -> str:
    """What the OS said about the CPUs the run could use."""
    if not topology.cores:
        return "This run's machine.json records no CPU topology (a run from before gilbench recorded it)."
    if not topology.known:
        return ("The OS did not report which logical CPUs share a physical core: every CPU was taken as a core of "
                "its own, so whether workers shared a core is not known.")
    chosen = cpus or sorted(topology.cores)
    pairs = topology.shared_cores(chosen)
    cores = len({topology.core_of(c) for c in chosen})
    head = f"The run's {len(chosen)} logical CPUs ({', '.join(map(str, chosen))}) sit on {cores} physical core" + (
        "s" if cores != 1 else "")
    if not pairs:
        return f"{head}: no two of them are SMT siblings."
    shown = ", ".join("+".join(map(str, g)) for g in pairs[:8]) + (" ..." if len(pairs) > 8 else "")
    return f"{head}: SMT siblings {shown}."


def cell_sentences(run: RunData) -> list[str]:
    cells = run.cells
    if cells.empty or "shared_core" not in cells:
        return []
    ran = cells[cells["status"] == "ok"]
    shared = ran[flag(ran, "shared_core")]
    how = HOW.get(run.manifest.placement, "the first logical CPUs as listed (--logical-cpus)")
    if shared.empty:
        known = ran["shared_core"].notna().any()
        return [f"Cells took their CPUs by {how}; "
                + ("no cell's workers shared a physical core." if known else "whether they shared one is not known.")]
    ids = ", ".join(f"{r.id} (CPUs {r.shared_cpus})" for r in shared.head(6).itertuples())
    more = f" and {len(shared) - 6} more" if len(shared) > 6 else ""
    return [f"Cells took their CPUs by {how}; {len(shared)} of {len(ran)} ran with workers on SMT siblings of one "
            f"core, so their figures are for hardware threads, not cores: {ids}{more}."]


def other_placement_sentences(run: RunData) -> list[str]:
    """For each placement the cores were measured again under: how many of its cells had workers on siblings."""
    placed = run.other_placements
    if placed.empty or "shared_core" not in placed:
        return []
    out = []
    for name, group in placed[placed["status"] == "ok"].groupby("placement", sort=False):
        shared = group[flag(group, "shared_core")]
        how = HOW.get(str(name), str(name))
        if shared.empty:
            known = group["shared_core"].notna().any()
            tail = "none shared a physical core." if known else "whether they shared one is not known."
        else:
            cores = ", ".join(sorted({f"{int(c)} cores" for c in shared["cores"]}))
            tail = (f"{len(shared)} of {len(group)} ran with workers on SMT siblings of one core ({cores}; "
                    f"CPUs {', '.join(dict.fromkeys(shared['shared_cpus']))}).")
        out.append(f"Measured again with CPUs taken by {how}: {tail}")
    return out


def table(run: RunData) -> pd.DataFrame:
    cells = run.cells
    if cells.empty or "cpus" not in cells:
        return pd.DataFrame()
    ran = cells[cells["status"] == "ok"]
    rows = ran.groupby(["cores", "cpus"], sort=True).agg(cells=("id", "count"), shared_core=("shared_core", "first"),
                                                        siblings=("shared_cpus", "first")).reset_index()
    rows["shared_core"] = rows["shared_core"].map({True: "yes", False: "no"}).fillna("unknown")
    return rows.rename(columns={"cpus": "CPUs", "shared_core": "workers shared a core", "siblings": "sibling CPUs"})


def _cpus_text(topology: Topology, cpus: str) -> str:
    """"0,8" -> "CPUs 0,8, 1 physical core, workers shared a core (0+8)"."""
    chosen = [int(c) for c in str(cpus).split(",") if c.strip()]
    cores = len({topology.core_of(c) for c in chosen})
    head = f"CPUs {','.join(map(str, chosen))}, {cores} physical core{'s' if cores != 1 else ''}"
    if not topology.known:
        return head + " (whether any share a core is not known)"
    pairs = topology.shared_cores(chosen)
    return head + (f", workers shared a core ({' '.join('+'.join(map(str, g)) for g in pairs)})" if pairs else "")


def side_by_side(run: RunData) -> pd.DataFrame:
    """One row per model, workers, cores, workload and interpreter measured under more than one placement:
    its speedup (and CPUs) under each, the run's first placement first."""
    placed = run.other_placements
    if placed.empty or run.cells.empty:
        return pd.DataFrame()
    first = str(run.manifest.get("placement") or "physical")
    key = ["python", "workload", "cores", "backend", "workers"]
    both = pd.concat([run.cells.assign(placement=first), placed], ignore_index=True)
    both = both[both["status"] == "ok"].assign(python=lambda f: python_of(f))
    order = list(dict.fromkeys([first, *placed["placement"]]))
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in both.itertuples():
        k = tuple(getattr(r, c) for c in key)
        row = rows.setdefault(k, {"python": r.python, "baseline": bool(r.baseline), "workload": r.workload,
                                  "interpreter": interpreter_name(run, r.python), "cores": int(r.cores),
                                  "model": r.backend, "workers": int(r.workers)})
        row[f"speedup, {r.placement}"] = r.speedup
        row[f"CPUs, {r.placement}"] = r.cpus
    found = [row for row in rows.values() if sum(f"speedup, {p}" in row for p in order) > 1]
    if not found:
        return pd.DataFrame()
    columns = ["python", "baseline", "workload", "interpreter", "cores", "model", "workers"]
    columns += [f"{what}, {p}" for p in order for what in ("speedup", "CPUs")]
    return pd.DataFrame(found).reindex(columns=columns).sort_values(["python", "workload", "cores", "model", "workers"])


def compare_sentences(run: RunData, table: pd.DataFrame, topology: Topology) -> list[str]:
    """Per interpreter, workload, cores and other placement: each model's speedup at its most workers under
    the first placement against the other, and which CPUs each gave it."""
    first = str(run.manifest.get("placement") or "physical")
    others = [c.split(", ", 1)[1] for c in table.columns if c.startswith("speedup, ") and not c.endswith(f", {first}")]
    several = table["python"].nunique() > 1
    out = []
    for (python, workload, cores), group in table.groupby(["python", "workload", "cores"], sort=False):
        for other in others:
            rows = group[~group["baseline"]].dropna(subset=[f"speedup, {other}", f"speedup, {first}"])
            if rows.empty:
                continue
            most = rows.sort_values("workers").groupby("model", sort=False).tail(1)
            pairs = ", ".join(f"{r['model']} x{r['workers']} {_x(r[f'speedup, {first}'])} against "
                              f"{_x(r[f'speedup, {other}'])}" for r in most.to_dict("records"))
            inter = f" on {interpreter_name(run, python)}" if several else ""
            a, b = rows.iloc[0][f"CPUs, {first}"], rows.iloc[0][f"CPUs, {other}"]
            out.append(f"{workload}{inter}, {cores} core{'s' if cores != 1 else ''}: speedup under {first} "
                       f"({_cpus_text(topology, a)}) against {other} ({_cpus_text(topology, b)}): {pairs}.")
    return out


def _x(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}x"


def skipped_sentences(run: RunData) -> list[str]:
    """The placements not measured at some core count, and why (they picked CPUs another had)."""
    skipped = run.manifest.get("placement_skipped") or {}
    if not skipped:
        return []
    return ["Not measured twice: " + "; ".join(f"{why}" for why in skipped.values()) + "."]


def compare_figure(run: RunData, table: pd.DataFrame) -> Figure | None:
    """Speedup at each model's most workers, a bar per placement, a panel per workload (and interpreter)."""
    speedups = [c for c in table.columns if c.startswith("speedup, ")]
    rows = table.sort_values("workers").groupby(["python", "workload", "cores", "model"], sort=False).tail(1)
    grid = workload_panels(run, rows, 4.4, 3.4)
    if grid is None:
        return None
    fig, panels = grid
    colors = backend_colors([c.split(", ", 1)[1] for c in speedups])
    width = 0.8 / len(speedups)
    for ax, group in panels:
        labels = [f"{r.model} x{r.workers}, {r.cores}c" for r in group.itertuples()]
        for k, column in enumerate(speedups):
            name = column.split(", ", 1)[1]
            ax.bar([i + k * width for i in range(len(group))], group[column], width, color=colors[name], label=name)
        ax.set_xticks([i + width * (len(speedups) - 1) / 2 for i in range(len(group))], labels, rotation=30,
                      ha="right", fontsize=7)
        ax.set_ylabel("speedup")
        ax.legend(fontsize=7, title="placement", title_fontsize=7)
    fig.tight_layout()
    return fig


class PlacementAnalysis(Analysis):
    """The CPU topology and each cell's CPUs: did any workers share a physical core?"""

    name = "placement"

    def sections(self, run: RunData) -> list[Section]:
        if run.cells.empty:
            return []
        topology = Topology.from_dict(run.machine.get("topology"))
        affinity = [int(c) for c in run.machine.get("affinity") or []]
        sections = [Section(
            key="placement", title="CPU placement: physical cores and SMT siblings",
            verdicts=[topology_sentence(topology, affinity), *cell_sentences(run), *other_placement_sentences(run),
                      *skipped_sentences(run)],
            method=METHOD, table=table(run), order=85,
        )]
        compared = side_by_side(run)
        if not compared.empty:
            shown = compared.drop(columns=["python", "baseline"])
            sections.append(Section(
                key="placement-compare", title="Speedup under each CPU placement",
                verdicts=compare_sentences(run, compared, topology), method=COMPARE_METHOD,
                figure=compare_figure(run, compared), table=shown, order=86,
            ))
        return sections

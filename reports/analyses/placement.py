"""Which CPUs the cells ran on, and whether any two of them were SMT siblings of one physical core.

Two hardware threads of one core share its execution units, so workers on siblings do not get two
cores' worth of CPU. ``--cores N`` picks N distinct physical cores before any sibling (``bench.topology``;
``--logical-cpus``: the first N CPUs as listed); the machine's topology as the OS reported it is in
machine.json, and each cell's CPUs in the manifest. This section says what the topology was and which
cells, if any, had workers on siblings.
"""

from __future__ import annotations

import pandas as pd

from ...bench.topology import Topology
from .base import Analysis
from ..frame import RunData, flag
from ..sections import Section

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
    placement = run.manifest.placement
    how = ("distinct physical cores first" if placement == "physical"
           else "the first logical CPUs as listed (--logical-cpus)")
    if shared.empty:
        known = ran["shared_core"].notna().any()
        return [f"Cells took their CPUs by {how}; "
                + ("no cell's workers shared a physical core." if known else "whether they shared one is not known.")]
    ids = ", ".join(f"{r.id} (CPUs {r.shared_cpus})" for r in shared.head(6).itertuples())
    more = f" and {len(shared) - 6} more" if len(shared) > 6 else ""
    return [f"Cells took their CPUs by {how}; {len(shared)} of {len(ran)} ran with workers on SMT siblings of one "
            f"core, so their figures are for hardware threads, not cores: {ids}{more}."]


def table(run: RunData) -> pd.DataFrame:
    cells = run.cells
    if cells.empty or "cpus" not in cells:
        return pd.DataFrame()
    ran = cells[cells["status"] == "ok"]
    rows = ran.groupby(["cores", "cpus"], sort=True).agg(cells=("id", "count"), shared_core=("shared_core", "first"),
                                                        siblings=("shared_cpus", "first")).reset_index()
    rows["shared_core"] = rows["shared_core"].map({True: "yes", False: "no"}).fillna("unknown")
    return rows.rename(columns={"cpus": "CPUs", "shared_core": "workers shared a core", "siblings": "sibling CPUs"})


class PlacementAnalysis(Analysis):
    """The CPU topology and each cell's CPUs: did any workers share a physical core?"""

    name = "placement"

    def sections(self, run: RunData) -> list[Section]:
        if run.cells.empty:
            return []
        topology = Topology.from_dict(run.machine.get("topology"))
        affinity = [int(c) for c in run.machine.get("affinity") or []]
        return [Section(
            key="placement", title="CPU placement: physical cores and SMT siblings",
            verdicts=[topology_sentence(topology, affinity), *cell_sentences(run)],
            method=METHOD, table=table(run), order=85,
        )]

"""Why each noisy cell was flagged, as the runner recorded it: read, never judged again.

``bench.measure.process.flag_noise`` writes each process's ``flag`` as "; "-joined reasons, each with the figure it
rests on ("others used 12% of its CPUs", "canary +30% against the run's median", "canary on the CPU 60%
of its wall time"). The report names each reason by its kind, so that a reader sees at once which of the
three the machine did, and shows the recorded text next to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

#: the kind of a recorded reason, by how ``flag_noise`` words it (first match wins)
KINDS = (
    ("others used ", "others' CPU share"),
    ("canary on the CPU ", "starved canary"),
    ("canary ", "slow canary"),
)
#: "the machine was noisy" is said once when at least this share of the finished cells is flagged
MOSTLY = 0.5


def kind_of(reason: str) -> str:
    """"slow canary" for "canary +30% against the run's median"; an unknown wording is its own kind."""
    return next((label for prefix, label in KINDS if reason.startswith(prefix)), reason)


def reasons(flag: str) -> list[str]:
    """The recorded reasons of one process ("" -> none)."""
    return [r.strip() for r in str(flag or "").split(";") if r.strip()]


@dataclass
class NoisyCell:
    """One flagged cell: its kinds of reason and, per flagged process, what the runner recorded."""

    id: str
    kinds: list[str]
    processes: list[tuple[int, str]]  # (process index, its recorded flag)
    noise_share: float  # the highest share of its CPUs that other processes took, over its processes

    @property
    def text(self) -> str:
        return "; ".join(f"process {k}: {why}" for k, why in self.processes)


@dataclass
class Noise:
    """A run's noise, for the top of the report: how many cells, why, and whether most were hit."""

    cells: list[NoisyCell] = field(default_factory=list)
    finished: int = 0

    @property
    def counts(self) -> list[tuple[str, int]]:
        """Each kind of reason and the number of cells it flagged, most first."""
        found = Counter(k for c in self.cells for k in c.kinds)
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))

    @property
    def mostly(self) -> bool:
        return bool(self.finished) and len(self.cells) >= MOSTLY * self.finished


def noise(cells: pd.DataFrame, processes: pd.DataFrame) -> Noise:
    """The flagged cells of a run (``RunData.cells`` and ``.processes``), each with the reasons its
    processes recorded."""
    if cells.empty or "noisy" not in cells:
        return Noise()
    finished = cells[cells["status"] == "ok"]
    flagged = []
    for r in finished[finished["noisy"].fillna(False).astype(bool)].itertuples():
        mine = processes[processes["id"] == r.id] if not processes.empty else processes
        recorded = [(int(p.process), str(p.flag)) for p in mine.sort_values("process").itertuples() if reasons(p.flag)]
        kinds = list(dict.fromkeys(kind_of(why) for _, f in recorded for why in reasons(f)))
        flagged.append(NoisyCell(str(r.id), kinds or ["no reason recorded"], recorded, float(r.noise_share)))
    return Noise(flagged, int(len(finished)))

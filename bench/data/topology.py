"""Which logical CPUs share a physical core (SMT siblings), and which CPUs a cell of N cores gets.

Two hardware threads of one core share its execution units: two CPU-bound workers placed on siblings
get far less than two cores' worth of work done, and a "2 cores" figure measured there says something
else than one measured on two cores. So ``--cores N`` takes N distinct physical cores first and an SMT
sibling only once every core has one CPU (``pick``); ``--logical-cpus`` (``--placement logical``) takes the
first N CPUs as listed, as before; ``--placement siblings`` fills every hardware thread of a core before
the next core, the opposite of ``physical`` (where Linux lists every core before any sibling, as on
x86, the first N CPUs are N distinct cores, so only ``siblings`` shows what sharing a core costs).

The topology is what the OS reports (Linux: ``/sys/devices/system/cpu/cpuN/topology``: the package and
core id of each logical CPU). Where it reports nothing, every CPU counts as a core of its own
(``known`` False), and the report says that it could not tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

SYSFS_CPUS = Path("/sys/devices/system/cpu")
#: how cells pick their CPUs: distinct physical cores first, the first logical CPUs as listed, or every
#: SMT sibling of a core before the next core
PHYSICAL, LOGICAL, SIBLINGS = "physical", "logical", "siblings"
PLACEMENTS = (PHYSICAL, LOGICAL, SIBLINGS)


@dataclass(frozen=True)
class Topology:
    """Logical CPU -> its physical core, as (package id, core id)."""

    cores: dict[int, tuple[int, int]] = field(default_factory=dict)
    known: bool = True  # False: the OS reported nothing and every CPU stands for a core of its own
    source: str = "sysfs"

    def core_of(self, cpu: int) -> tuple[int, int]:
        """The physical core of ``cpu`` (an unknown CPU is a core of its own)."""
        return self.cores.get(cpu, (-1, cpu))

    @property
    def physical_cores(self) -> int:
        return len(set(self.cores.values()))

    @property
    def smt(self) -> bool:
        """Whether any physical core has more than one logical CPU."""
        return len(self.cores) > self.physical_cores

    def shared_cores(self, cpus: Iterable[int]) -> list[tuple[int, ...]]:
        """The groups of ``cpus`` that are siblings on one physical core (none: every CPU on its own core)."""
        groups: dict[tuple[int, int], list[int]] = {}
        for cpu in sorted(set(cpus)):
            groups.setdefault(self.core_of(cpu), []).append(cpu)
        return [tuple(g) for g in groups.values() if len(g) > 1]

    def pick(self, available: Sequence[int], n: int, placement: str = PHYSICAL) -> tuple[int, ...]:
        """``n`` CPUs of ``available``, sorted: with ``physical``, one per physical core (in the order the
        cores first appear in ``available``) before any core gets a second; with ``logical``, the first
        ``n`` as listed; with ``siblings``, every CPU of a core (in that order) before the next core."""
        if placement == LOGICAL:
            return tuple(sorted(available[:n]))
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
        by_core: dict[tuple[int, int], list[int]] = {}
        for cpu in available:
            by_core.setdefault(self.core_of(cpu), []).append(cpu)
        if placement == SIBLINGS:
            return tuple(sorted([cpu for cpus in by_core.values() for cpu in cpus][:n]))
        order: list[int] = []
        depth = 0
        while len(order) < len(available):
            order.extend(cpus[depth] for cpus in by_core.values() if len(cpus) > depth)
            depth += 1
        return tuple(sorted(order[:n]))

    def to_dict(self) -> dict[str, Any]:
        return {"known": self.known, "source": self.source, "smt": self.smt, "physical_cores": self.physical_cores,
                "cores": {str(cpu): list(core) for cpu, core in sorted(self.cores.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Topology":
        data = data or {}
        cores = {int(cpu): (int(core[0]), int(core[1])) for cpu, core in (data.get("cores") or {}).items()}
        return cls(cores, bool(data.get("known", bool(cores))), str(data.get("source", "")))


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def read_topology(root: Path = SYSFS_CPUS, cpus: Iterable[int] | None = None) -> Topology:
    """The topology the OS reports for ``cpus`` (default: every CPU under ``root``).

    A CPU whose core id cannot be read counts as a core of its own, and the topology as not known.
    """
    if cpus is None:
        found = [p.name[3:] for p in root.glob("cpu[0-9]*") if p.name[3:].isdigit()] if root.is_dir() else []
        cpus = sorted(int(x) for x in found)
    cores: dict[int, tuple[int, int]] = {}
    known = True
    for cpu in sorted(cpus):
        base = root / f"cpu{cpu}" / "topology"
        core, package = _read_int(base / "core_id"), _read_int(base / "physical_package_id")
        if core is None:
            known = False
            cores[cpu] = (-1, cpu)
        else:
            cores[cpu] = (package if package is not None else 0, core)
    return Topology(cores, known and bool(cores), "sysfs" if known and cores else "none")


def placements(text: str | Sequence[str]) -> tuple[str, ...]:
    """"physical,logical" (or a sequence) -> the placements asked for, each once, in ``PLACEMENTS`` order,
    so that the first (the one whose cells keep their plain ids) is ``physical`` whenever it is asked for;
    a ValueError naming the accepted ones for anything else."""
    names = [x.strip() for x in (text.split(",") if isinstance(text, str) else text) if x.strip()]
    unknown = [x for x in names if x not in PLACEMENTS]
    if unknown or not names:
        raise ValueError(f"placements must be one or more of {', '.join(PLACEMENTS)} (comma-separated), "
                         f"not {','.join(names) if names else repr(text)}")
    return tuple(p for p in PLACEMENTS if p in names)

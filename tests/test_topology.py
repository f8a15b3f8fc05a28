"""Physical cores first: the CPUs a cell of N cores gets, from a recorded topology."""

from __future__ import annotations

from pathlib import Path

import pytest

from gilbench.bench.matrix import PROFILES, expand
from gilbench.bench.topology import Topology, read_topology


def recorded_sysfs(root: Path, siblings: dict[int, int]) -> Path:
    """A /sys/devices/system/cpu tree as Linux writes it: cpu -> core id (one package)."""
    for cpu, core in siblings.items():
        topo = root / f"cpu{cpu}" / "topology"
        topo.mkdir(parents=True)
        (topo / "core_id").write_text(f"{core}\n")
        (topo / "physical_package_id").write_text("0\n")
    (root / "cpufreq").mkdir()  # not a CPU: ignored
    return root


#: 8 cores x 2 threads, numbered as Linux on x86 does: CPU i and CPU i + 8 are siblings of core i
SMT_16 = {cpu: cpu % 8 for cpu in range(16)}
#: the same machine numbered sibling-adjacent (as some ARM and AMD firmware does): 2k and 2k + 1
SMT_16_ADJACENT = {cpu: cpu // 2 for cpu in range(16)}


@pytest.mark.parametrize("layout", [SMT_16, SMT_16_ADJACENT])
def test_cores_8_on_a_16_cpu_smt_machine_get_8_distinct_cores(tmp_path: Path, layout: dict[int, int]) -> None:
    topology = read_topology(recorded_sysfs(tmp_path, layout))
    assert topology.known and topology.smt and topology.physical_cores == 8
    plan = expand(PROFILES["smoke"], workload_names=["hello-cpu"], backend_names=["threads"], cores=[8],
                  cpus=list(range(16)), topology=topology)
    for cell in plan.cells:
        assert len(cell.cpus) == 8
        assert len({layout[c] for c in cell.cpus}) == 8  # one CPU on each physical core
        assert topology.shared_cores(cell.cpus) == []
    assert plan.placement == "physical"


def test_siblings_only_after_every_core_has_one(tmp_path: Path) -> None:
    topology = read_topology(recorded_sysfs(tmp_path, SMT_16))
    cpus = topology.pick(list(range(16)), 10)
    assert len({SMT_16[c] for c in cpus}) == 8
    assert topology.shared_cores(cpus) == [(0, 8), (1, 9)]


def test_logical_placement_takes_the_first_cpus_as_listed(tmp_path: Path) -> None:
    topology = read_topology(recorded_sysfs(tmp_path, SMT_16_ADJACENT))
    plan = expand(PROFILES["smoke"], workload_names=["hello-cpu"], backend_names=["threads"], cores=[4],
                  cpus=list(range(16)), topology=topology, placement="logical")
    assert {c.cpus for c in plan.cells} == {(0, 1, 2, 3)}
    assert topology.shared_cores((0, 1, 2, 3)) == [(0, 1), (2, 3)]


def test_unknown_topology_counts_every_cpu_as_a_core(tmp_path: Path) -> None:
    topology = read_topology(tmp_path / "missing", cpus=[0, 1, 2])
    assert not topology.known and not topology.smt
    assert topology.pick([0, 1, 2], 2) == (0, 1)


def test_round_trip_and_this_machine() -> None:
    topology = Topology({0: (0, 0), 1: (0, 0), 2: (0, 1)})
    again = Topology.from_dict(topology.to_dict())
    assert again.cores == topology.cores and again.smt
    here = read_topology()  # whatever this machine reports: every CPU listed once
    assert here.physical_cores <= len(here.cores)

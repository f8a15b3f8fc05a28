"""Physical cores first: the CPUs a cell of N cores gets, from a recorded topology."""

from __future__ import annotations

from pathlib import Path

import pytest

from gilbench.bench.plan.matrix import PROFILES, expand
from gilbench.bench.data.topology import Topology, read_topology


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


# --- several placements in one run ------------------------------------------------------------

def _both(topology: Topology, cores: int, asked: str, cpus: int = 16):
    return expand(PROFILES["smoke"], workload_names=["hello-cpu"], backend_names=["sequential", "threads"],
                  cores=[cores], cpus=list(range(cpus)), topology=topology, placement=asked)


def test_both_placements_at_8_cores_on_8_cores_x_2_threads(tmp_path: Path) -> None:
    """Numbered sibling-adjacent, the first 8 CPUs are 4 cores x 2 threads: logical is measured as well,
    its cells under their own ids; physical's keep the ids a run of one placement gives them."""
    topology = read_topology(recorded_sysfs(tmp_path, SMT_16_ADJACENT))
    plan = _both(topology, 8, "physical,logical")
    physical = [c for c in plan.cells if not c.placement]
    logical = [c for c in plan.cells if c.placement == "logical"]
    assert physical and len(logical) == len(physical)
    assert {len({SMT_16_ADJACENT[c] for c in cell.cpus}) for cell in physical} == {8}  # 8 distinct cores
    for cell in logical:
        assert len({SMT_16_ADJACENT[c] for c in cell.cpus}) == 4 and len(topology.shared_cores(cell.cpus)) == 4
        assert cell.id.endswith("/c8-logical") and cell.to_dict()["placement"] == "logical"
    assert {c.id for c in physical} == {c.id for c in _both(topology, 8, "physical").cells}
    assert "placement" not in physical[0].to_dict()
    assert plan.placements == ("physical", "logical") and plan.placement == "physical" and not plan.placement_skipped
    assert plan.to_dict()["placements"] == ["physical", "logical"]


def test_logical_is_skipped_where_linux_lists_every_core_first(tmp_path: Path) -> None:
    """x86 numbering (CPU i and i + 8 on core i): the first 8 CPUs are 8 distinct cores, what physical picks;
    logical is not measured twice, and siblings is what shows 4 cores x 2 threads."""
    topology = read_topology(recorded_sysfs(tmp_path, SMT_16))
    plan = _both(topology, 8, "logical,physical,siblings")
    assert plan.placements == ("physical", "logical", "siblings")  # physical first, whatever the order asked
    assert {c.placement for c in plan.cells} == {"", "siblings"}
    assert "same CPUs (0,1,2,3,4,5,6,7) as physical" in plan.placement_skipped["logical/c8"]
    for cell in (c for c in plan.cells if c.placement == "siblings"):
        assert cell.cpus == (0, 1, 2, 3, 8, 9, 10, 11)
        assert topology.shared_cores(cell.cpus) == [(0, 8), (1, 9), (2, 10), (3, 11)]


def test_on_two_vcpus_without_smt_a_second_placement_adds_no_cell() -> None:
    """This machine's kind (2 vCPUs, each its own core): both placements pick CPUs 0,1 at --cores 2."""
    topology = Topology({0: (0, 0), 1: (0, 1)})
    plan = _both(topology, 2, "physical,logical", cpus=2)
    assert {c.id for c in plan.cells} == {c.id for c in _both(topology, 2, "physical", cpus=2).cells}
    assert set(plan.placement_skipped) == {"logical/c2"}
    assert "measured once" in plan.placement_skipped["logical/c2"]


def test_the_default_profile_runs_the_same_cells_here_whatever_the_placements() -> None:
    """`make bench` on a machine without SMT: asking for every placement adds no cell."""
    here = read_topology()
    one = expand(PROFILES["default"], topology=here)
    every = expand(PROFILES["default"], topology=here, placement="physical,logical,siblings")
    if not here.smt:
        assert [c.id for c in every.cells] == [c.id for c in one.cells]
    assert one.placements == ("physical",) and "placements" not in one.to_dict()


def test_placements_are_checked() -> None:
    with pytest.raises(ValueError, match="physical, logical, siblings"):
        expand(PROFILES["smoke"], placement="physical,cores")

"""The gate's error rates with noise replayed from real recorded ab rounds (scripts/simulate_gate.py).

The recordings (tests/fixtures/gate-rounds/) are A/A ``gilbench ab --profile gate --all-rounds`` runs of
a 2-vCPU machine; each gate goes through the real comparison with the gate's sequential design.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "simulate_gate", Path(__file__).resolve().parent.parent / "scripts" / "simulate_gate.py")
sim = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("simulate_gate", sim)  # dataclasses look their module up there
_spec.loader.exec_module(sim)


@pytest.fixture(scope="module")
def recordings():
    found = sim.load_recordings()
    assert found and all(r.rounds >= 24 for r in found)  # the gate's design has its looks up to 32 rounds
    return found


@pytest.mark.slow
def test_replayed_equal_runs_fail_the_gate_at_most_one_percent_of_the_time(recordings):
    rates = sim.simulate(recordings, gates=300, seed=11, slowdown=0.0)
    assert rates["failed"] <= 0.01


def test_a_replayed_5_percent_slowdown_is_caught(recordings):
    rates = sim.simulate(recordings, gates=120, seed=12, slowdown=0.05)
    assert rates["failed"] >= 0.95, rates  # the bar: >= 19 of 20 gates
    cells = rates["cells"]
    assert len(cells) == 3 and cells["hello-cpu/threads/w2/c2"] >= 0.85, rates  # >= 17/20
    # the recorded machine (2 shared vCPUs) often lost one CPU for a while: processes x2's batch time then
    # doubles on one side of a round, and 40 rounds see 5 % there only some of the time (the resolution
    # of issue 14 gives the figures); asserted is that the cell is seen at all, and more often at 10 %
    assert cells["hello-cpu/sequential/w1/c2"] >= 0.6 and cells["hello-cpu/processes/w2/c2"] >= 0.1, rates


def test_a_replayed_10_percent_slowdown_is_always_caught(recordings):
    rates = sim.simulate(recordings, gates=60, seed=13, slowdown=0.10)
    assert rates["failed"] == 1.0, rates
    assert rates["cells"]["hello-cpu/sequential/w1/c2"] >= 0.9 and rates["cells"]["hello-cpu/threads/w2/c2"] >= 0.95
    assert rates["cells"]["hello-cpu/processes/w2/c2"] >= 0.5, rates


def test_swapping_sides_keeps_each_rounds_pair_and_the_slowdown_multiplies_only_hello_cpu(recordings):
    import numpy as np

    rec = recordings[0]
    base, cand = sim.draw(rec, np.random.default_rng(0), 0.5)
    for cell in rec.sides["base"]:
        cid = cell["id"]
        other = next(c for c in rec.sides["cand"] if c["id"] == cid)
        factor = 1.5 if cell["workload"] == "hello-cpu" else 1.0
        for k, (pb, pc) in enumerate(zip(base.cells[cid].processes, cand.cells[cid].processes)):
            pair = {tuple(cell["processes"][k]["values"]), tuple(other["processes"][k]["values"])}
            assert {tuple(pb.values), tuple(v / factor for v in pc.values)} == pair or \
                pytest.approx(sorted(pair)) == sorted([tuple(pb.values), tuple(v / factor for v in pc.values)])


def test_the_script_prints_each_kind(capsys):
    assert sim.main(["--gates", "4", "--slowdowns", "5"]) == 0
    out = capsys.readouterr().out
    assert "A/A: gates failed" in out and "5 % slower" in out and "sequential" in out

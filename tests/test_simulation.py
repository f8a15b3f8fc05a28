"""The gate's error rates on synthetic runs, through the real comparison (a fast scripts/simulate_gate.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from gilbench.bench.matrix import PROFILES

_spec = importlib.util.spec_from_file_location(
    "simulate_gate", Path(__file__).resolve().parent.parent / "scripts" / "simulate_gate.py")
sim = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("simulate_gate", sim)  # dataclasses look their module up there
_spec.loader.exec_module(sim)

GATE = PROFILES["gate"].timing


@pytest.mark.parametrize("paired", [True, False], ids=["paired", "unpaired"])
def test_equal_runs_rarely_fail_the_gate_under_clustered_noise(paired):
    # the noisier level (between-process CV 10 %), the gate profile's processes and values
    setup = sim.Setup(GATE.processes, GATE.values, 0.10, 0.02, paired)
    rates = sim.simulate(setup, gates=200, seed=7, kinds=("aa",))
    assert rates["aa_failed"] <= 0.03  # Holm at 1 %: about 1 % or less; 3 % leaves room for 200 draws


@pytest.mark.parametrize("paired", [True, False], ids=["paired", "unpaired"])
def test_a_slowdown_at_the_threshold_is_caught_far_more_often_than_equal_runs_fail(paired):
    # the quieter level (3 %), 14 rounds of 3 values: the gate shape of the design, whatever the profile says
    setup = sim.Setup(14, 3, 0.03, 0.01, paired)
    rates = sim.simulate(setup, gates=60, seed=8)
    assert rates["ab_failed"] >= 0.8 and rates["ab_failed"] >= rates["aa_failed"] + 0.5
    assert rates["ab_cpu_rows_caught"] > rates["aa_cpu_rows_caught"] + 0.5


def test_the_script_prints_both_noise_levels_and_pairings(capsys):
    assert sim.main(["--gates", "5", "--rounds", "8", "--values", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("paired") == 4 and "A/A failed" in out and "10%" in out and "3%" in out

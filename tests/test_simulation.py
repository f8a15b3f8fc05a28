"""The gate's error rates with noise replayed from real recorded ab rounds (scripts/simulate_gate.py).

The recordings (tests/fixtures/gate-rounds/) are A/A ``gilbench ab --profile gate --all-rounds`` runs of
a 2-vCPU machine: ``quiet/`` made with nothing else running (the issue's bars hold there), ``loaded/``
made while other work shared both CPUs (no false alarm may come of it; catches are rarer there, and
what they are is asserted). Each gate goes through the real comparison with the gate's sequential design.
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


CELLS = ("hello-cpu/processes/w2/c2", "hello-cpu/sequential/w1/c2", "hello-cpu/threads/w2/c2")


def _load(which: str) -> list:
    found = sim.load_recordings(sim.RECORDINGS / which)
    assert len(found) >= 3 and all(r.rounds >= 40 for r in found)  # the gate's design looks up to 40 rounds
    assert all(r.machine["logical_cpus"] == 2 for r in found)  # this machine's noise, not a model's
    return found


@pytest.fixture(scope="module")
def quiet():
    return _load("quiet")


@pytest.fixture(scope="module")
def loaded():
    return _load("loaded")


TIME5, TIME10 = sim.parse_threshold("time:5%"), sim.parse_threshold("time:10%")


def _curve(recordings, threshold, gates: int, seed: int, swap: str = "rounds") -> dict:
    """The operating curve at no change, at the tolerance M and at the threshold T."""
    points = (0.0, threshold.tolerance * 100, threshold.percent)
    return sim.operating_curve(recordings, threshold, gates, seed, points, swap)


def _assert_guarantees(curve: dict, threshold, resolving: tuple[str, ...]) -> None:
    """The rule's three promises (bench/judge/compare.py, step 0), with room for 150-200 replayed gates:
    no change and a change of M fail at most ALPHA (1 %: at most 3 of 150-200 gates, whose chance is
    under 5 % were the rate 1 %); a change of T fails at least 95 % of gates, and each cell that
    resolves T on this noise catches it in at least 90 %."""
    none, tol, at_t = (curve[p] for p in (0.0, threshold.tolerance * 100, threshold.percent))
    assert none["failed"] <= 0.015 and tol["failed"] <= 0.015, curve
    assert at_t["failed"] >= 0.95, curve
    for cell in resolving:
        assert at_t["cells"][cell] >= 0.90, (cell, curve)


@pytest.mark.slow  # ~5 s of replays: make test runs it, make check (the fast tier) does not
def test_quiet_time_5_percent_holds_its_three_guarantees(quiet):
    """Issue 22: at time:5% a 2 % change failed 99.8 % of gates; now a change of M = 2.5 % fails at most
    ALPHA, and 5 % fails in every gate, sequential and threads x2 each catching it."""
    curve = _curve(quiet, TIME5, gates=200, seed=11)
    _assert_guarantees(curve, TIME5, ("hello-cpu/sequential/w1/c2", "hello-cpu/threads/w2/c2"))
    # --fail-on-inconclusive is usable: an A/A gate ends with an undecided row in at most 1 of 20
    assert curve[0.0]["inconclusive"] <= 0.05, curve


@pytest.mark.slow  # ~3 s of replays: make test runs it, make check (the fast tier) does not
def test_quiet_time_10_percent_holds_its_three_guarantees_in_every_cell(quiet):
    curve = _curve(quiet, TIME10, gates=150, seed=12)
    _assert_guarantees(curve, TIME10, CELLS)
    assert curve[0.0]["inconclusive"] <= 0.05, curve


@pytest.mark.slow
def test_loaded_recordings_keep_the_error_guarantees_and_catch_10_percent(loaded):
    """Under load no false alarm may come of the noise (A/A and M), and 10 % is still caught by the gate;
    at 5 % most cells cannot resolve T there, and say so rather than failing at random."""
    for threshold, resolving in ((TIME10, ("hello-cpu/threads/w2/c2",)), (TIME5, ())):
        curve = _curve(loaded, threshold, gates=150, seed=13)
        none, tol = curve[0.0], curve[threshold.tolerance * 100]
        assert none["failed"] <= 0.015 and tol["failed"] <= 0.015, curve
        if threshold is TIME10:
            _assert_guarantees(curve, threshold, resolving)


@pytest.mark.slow
def test_whole_sides_swapped_with_their_recorded_offsets_raise_no_false_alarm_on_a_quiet_machine(quiet):
    """The pessimistic replay (each recording's side offset kept, rounds resampled: the offset's own
    sampling noise counted twice) raises no false alarm on the quiet recordings. (At the tolerance it
    fails more than ALPHA: a kept offset of +0.6 % plus M is a change above M; docs/gate.md gives both
    replays' curves.)"""
    for threshold in (TIME5, TIME10):
        curve = sim.operating_curve(quiet, threshold, 150, 15, (0.0,), "sides")
        assert curve[0.0]["failed"] <= 0.015, curve


def test_a_change_inside_the_indifference_zone_mostly_passes(quiet):
    """time:5% is what a user who accepts a 2 % drift writes: a 2 % change passes at least 19 of 20 gates
    (it failed 99.8 % under the old rule: L > 0 and U >= T/2)."""
    rates = sim.simulate(quiet, gates=150, seed=14, slowdown=0.02, thresholds=[TIME5])
    assert rates["failed"] <= 0.05, rates


def test_the_sides_replay_keeps_side_offsets_and_makes_the_null_true_by_swapping_sides(quiet):
    """``--swap sides`` swaps whole sides (never single rounds), so a recording's side offset is kept in
    every pair with a random sign; rounds are drawn with their pairs intact."""
    import numpy as np

    recording = quiet[0]
    rng = np.random.default_rng(5)
    signs = set()
    for _ in range(12):
        base, cand = sim.draw(recording, rng, 0.0, swap="sides")
        cid = "hello-cpu/sequential/w1/c2"
        pairs = {(tuple(b.values), tuple(c.values)) for b, c in zip(base.cells[cid].processes, cand.cells[cid].processes)}
        recorded = [(tuple(b["values"]), tuple(c["values"])) for b, c in zip(
            next(x for x in recording.sides["base"] if x["id"] == cid)["processes"],
            next(x for x in recording.sides["cand"] if x["id"] == cid)["processes"])]
        as_recorded = all(p in recorded for p in pairs)
        swapped = all((c, b) in recorded for b, c in pairs)
        assert as_recorded != swapped  # the whole gate one way round: never a mix of rounds
        signs.add(as_recorded)
    assert signs == {True, False}

"""bench.measure.canary and bench.measure.gil: what every measured process reads besides its own work."""

from __future__ import annotations

import sys

from gilbench.bench.measure import canary, gil


def test_the_canary_times_its_fixed_loop_in_wall_and_cpu_seconds() -> None:
    wall, cpu = canary.measure(iterations=20_000, repeats=2)
    assert 0 < wall < 5 and 0 < cpu < 5


def test_the_gil_state_and_a_setting_it_contradicts(monkeypatch) -> None:
    on = gil.gil_enabled()
    assert on is bool(getattr(sys, "_is_gil_enabled", lambda: True)())
    monkeypatch.delenv("PYTHON_GIL", raising=False)
    assert gil.mismatch() is None
    monkeypatch.setenv("PYTHON_GIL", "1" if on else "0")
    assert gil.mismatch() is None
    monkeypatch.setenv("PYTHON_GIL", "0" if on else "1")
    assert "PYTHON_GIL=" in (gil.mismatch() or "")

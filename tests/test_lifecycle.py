"""bench.measure.lifecycle: what `run` and `ab` share around their schedules: signals and a full disk turned into
outcomes, every lane saved, handlers restored, a run folder reopened to resume. Fast: in this process."""

from __future__ import annotations

import errno
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gilbench.bench.measure.lifecycle import Interrupted, Lifecycle, ResultsUnwritable, reopen


@dataclass
class FakeLane:
    """What a Lifecycle touches of a lane: its name, manifest, records, and save."""

    name: str
    root: Path
    manifest: dict = field(default_factory=lambda: {"status": "running", "finished": None})
    records: list = field(default_factory=list)
    refuse: bool = False
    saved: list = field(default_factory=list)

    @property
    def folder(self):  # noqa: ANN201
        from gilbench.bench.data.results import RunFolder

        return RunFolder(self.root / self.name)

    def save(self) -> None:
        if self.refuse:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.saved.append(dict(self.manifest))


def test_the_lifecycle_turns_signals_and_a_full_disk_into_outcomes_and_saves_every_lane(tmp_path: Path) -> None:
    for raised, status in ((None, "complete"), (KeyboardInterrupt(), "interrupted"),
                           (Interrupted(signal.SIGTERM), "interrupted"),
                           (OSError(errno.ENOSPC, "No space left on device"), "unwritable")):
        lanes = [FakeLane("base", tmp_path), FakeLane("cand", tmp_path)]
        life = Lifecycle(lanes, tmp_path)
        with life:
            if raised is not None:
                raise raised
        assert [lane.saved[-1]["status"] for lane in lanes] == [status, status]
        assert all(lane.saved[-1]["finished"] for lane in lanes)
        outcome = life.outcome()
        assert set(outcome.folders) == {"base", "cand"} and outcome.root == tmp_path
        if isinstance(raised, KeyboardInterrupt):
            assert outcome.interrupted.exit_status == 130
        elif isinstance(raised, Interrupted):
            assert outcome.interrupted.exit_status == 143
        elif raised is not None:
            assert outcome.unwritable == f"cannot write to {tmp_path}: No space left on device"


def test_the_lifecycle_lets_a_bug_through_and_survives_a_disk_that_refuses_the_final_save(tmp_path: Path) -> None:
    lanes = [FakeLane("", tmp_path, refuse=True)]
    with pytest.raises(ZeroDivisionError):
        with Lifecycle(lanes, tmp_path):
            1 / 0  # noqa: B018
    with Lifecycle(lanes, tmp_path) as life:  # the final save fails too: no second exception
        raise OSError(errno.EDQUOT, "Disk quota exceeded")
    assert life.unwritable and lanes[0].manifest["status"] == "unwritable"
    with pytest.raises(ResultsUnwritable, match="No space left on device"):
        Lifecycle(lanes, tmp_path).begin()  # the first writes refused: nothing runs


def test_signal_handlers_are_restored_after_the_lifecycle(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with Lifecycle([FakeLane("", tmp_path)], tmp_path):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_reopen_marks_a_run_running_again_and_records_when(tmp_path: Path) -> None:
    from gilbench.bench.data.results import FORMAT, RunFolder

    folder = RunFolder(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": FORMAT, "cells": [], "status": "interrupted",
                                                          "finished": "x", "profile": "smoke"}))
    manifest = reopen(folder)
    assert manifest["status"] == "running" and manifest["finished"] is None and len(manifest["resumed"]) == 1

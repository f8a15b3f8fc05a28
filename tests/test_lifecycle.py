"""The pieces `run` and `ab` share: one way to start a limited child (bench.measure.child), one lifecycle
(bench.measure.lifecycle), one typed request (bench.plan.request), and the comparison and merge formats as outputs.
Fast: in this process, children of a few tenths of a second."""

from __future__ import annotations

import errno
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from gilbench.bench.measure.child import run_limited
from gilbench.bench.measure.lifecycle import Interrupted, Lifecycle, ResultsUnwritable, reopen

# --- bench.measure.child ---------------------------------------------------------------------------------

#: a child that starts a grandchild in its group, prints, and sleeps
PARENT_OF_ONE = ("import subprocess, sys, time\n"
                 "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                 "print(kid.pid, flush=True)\n"
                 "time.sleep({sleep})\n")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_limited_child_past_its_limit_is_ended_with_its_group_and_what_it_printed_is_kept() -> None:
    t0 = time.monotonic()
    ended = run_limited([sys.executable, "-c", PARENT_OF_ONE.format(sleep=60)], 2.0, capture=True)
    assert ended.timed_out and ended.returncode is None and time.monotonic() - t0 < 20
    grandchild = int(ended.stdout.split()[0])  # printed before its time limit
    assert _gone(ended.pid) and _gone(grandchild)


def test_a_limited_child_that_ends_takes_what_it_left_with_it_and_writes_its_log(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    ended = run_limited([sys.executable, "-c", PARENT_OF_ONE.format(sleep=0)], 30, log=log, env={"PATH": "/usr/bin"})
    assert ended.returncode == 0 and not ended.timed_out
    assert _gone(int(log.read_text().split()[0]))  # the grandchild did not outlive it


def test_a_limited_child_is_polled_while_it_runs() -> None:
    seen: list[int] = []
    ended = run_limited([sys.executable, "-c", "import time; time.sleep(0.5)"], 30, poll=seen.append,
                        poll_interval=0.05)
    assert ended.returncode == 0 and len(seen) >= 3 and set(seen) == {ended.pid}


# --- bench.measure.lifecycle -----------------------------------------------------------------------------

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


def _pidfd_works() -> bool:
    import os

    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except (AttributeError, OSError):
        return False


@pytest.mark.serial  # times a wake-up: nothing beside it
@pytest.mark.skipif(not _pidfd_works(), reason="no pidfd_open here (Linux 5.3+, Python 3.9+): Popen.wait's own polling")
def test_a_waited_child_is_seen_ending_at_once_not_after_a_nap() -> None:
    """Popen.wait(timeout) naps up to 50 ms between checks; each pyperf process lost about 25 ms to it, and
    its wall time (the base of its others' CPU share) counted the nap. The wait returns as the child ends."""
    import statistics
    import subprocess

    from gilbench.bench.measure.child import wait_polling

    lags = []
    for _ in range(9):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2); print(time.time())"],
                                 stdout=subprocess.PIPE, text=True)
        assert wait_polling(child, 30, None, None) == 0
        lags.append(time.time() - float(child.stdout.read()))
        child.stdout.close()
    # its ending (interpreter shutdown) takes a few ms; a nap would add 0-50 ms, 25 ms on average
    assert statistics.median(lags) < 0.012, lags


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


# --- bench.plan.request -------------------------------------------------------------------------------

def _args(*argv: str):  # noqa: ANN202
    from gilbench.bench.cli import build_parser

    return build_parser().parse_args(list(argv))


def test_a_request_merges_the_config_under_the_options_without_touching_them(tmp_path: Path, monkeypatch) -> None:
    from gilbench.bench.plan.request import AbRequest, RunRequest

    (tmp_path / "gilbench.toml").write_text('profile = "smoke"\nworkers = [2, 1]\nfail_on = ["time:5%"]\n'
                                            'output = "out"\n')
    monkeypatch.chdir(tmp_path)
    args = _args("run", "--workers", "4,2", "--backend", "threads,processes", "--backend", "sequential")
    request = RunRequest.from_args(args)
    assert args.profile is None and args.output is None  # the parsed options are left as parsed
    assert request.matrix.profile == "smoke" and request.matrix.workers == (2, 4)  # the option wins
    assert request.matrix.backends == ("threads", "processes", "sequential")
    assert request.output == tmp_path / "out" and request.config.path == tmp_path / "gilbench.toml"
    ab = AbRequest.from_args(_args("ab", ".", "HEAD", "--rounds", "12", "--cand-scale", "1.5"))
    assert ab.matrix.processes == 12 and ab.matrix.profile == "smoke"
    assert [(s.name, s.spec, s.scale) for s in ab.sides] == [("base", ".", 1.0), ("cand", "HEAD", 1.5)]
    from gilbench.bench.data.thresholds import Threshold

    assert ab.comparison.thresholds.default == (Threshold("time", 5.0),)  # the config's fail_on


@pytest.mark.parametrize("argv, message", [
    (("run", "--force"), "--force replaces the run folder named with --name"),
    (("run", "--resume", "x", "--workers", "2"), "drop --workers"),
    (("run", "--no-experiments", "--experiment", "x"), "exclude each other"),
    (("ab", "--resume", "x", "."), "drop ."),
    (("ab", "."), "give BASE and CAND"),
    (("run", "--workers", "two"), "--workers must be comma-separated whole numbers"),
])
def test_a_request_names_the_first_problem(argv, message, tmp_path: Path, monkeypatch) -> None:
    from gilbench.bench.plan.request import AbRequest, RunRequest

    monkeypatch.chdir(tmp_path)
    kind = RunRequest if argv[0] == "run" else AbRequest
    with pytest.raises(ValueError, match=message):
        kind.from_args(_args(*argv, "--no-config"))


# --- comparison and merge formats are outputs ------------------------------------------------------

def test_comparison_and_merge_formats_are_outputs_apart_from_a_runs() -> None:
    from gilbench.reports.outputs import all_outputs, get_output

    assert set(all_outputs("comparison")) == {"compare-html", "compare-markdown", "compare-json", "compare-text"}
    assert set(all_outputs("merge")) == {"merged-html"}
    assert not set(all_outputs()) & (set(all_outputs("comparison")) | set(all_outputs("merge")))  # not in a run folder
    assert get_output("compare-json").filename == "compare.json"
    with pytest.raises(ValueError, match="unknown kind of output"):
        all_outputs("page")

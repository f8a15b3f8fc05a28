import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from gilbench.bench.measure import lifeline


@pytest.mark.serial  # 0.5 s at 0.05 s a tick: a busy machine delays ticks
def test_sampler_writes_one_row_per_tick_for_every_cpu(tmp_path):
    out = tmp_path / "samples.csv"
    subprocess.run([sys.executable, "-m", "gilbench.bench.measure.sampler", "--out", str(out), "--interval", "0.05",
                    "--duration", "0.5"], check=True, timeout=30)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["time"] + [f"cpu{i}" for i in range(psutil.cpu_count())]
    assert 4 <= len(frame) <= 11
    assert frame.drop(columns="time").stack().between(0, 100).all()
    assert frame["time"].is_monotonic_increasing


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sampler_stops_cleanly_on_sigterm_and_sighup(tmp_path, signum):
    out = tmp_path / "samples.csv"
    proc = subprocess.Popen([sys.executable, "-m", "gilbench.bench.measure.sampler", "--out", str(out), "--interval", "0.05"])
    time.sleep(1.0)
    proc.send_signal(signum)
    assert proc.wait(timeout=10) == 0
    assert len(pd.read_csv(out)) >= 1


# --- nothing left behind: the sampler, and anything started with bench.measure.lifeline, ends with its parent

ROOT = Path(__file__).resolve().parents[1]

# a runner stand-in: starts a Sampler, records its pid, then dies without cleaning up
RUNNER = """
import os, signal, sys, time
from pathlib import Path
from gilbench.bench.measure.sampler import Sampler
out, pidfile, how, after = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
sampler = Sampler(out, 0.05)
sampler.start()
pidfile.write_text(str(sampler.proc.pid))
time.sleep(after)
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
os._exit(0)
"""

# a parent that starts a long sleeper which should die with it, then gets SIGKILL
PARENT = """
import os, signal, subprocess, sys, time
from pathlib import Path
from gilbench.bench.measure.lifeline import on_parent_death
pidfile = Path(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", sys.argv[1]],
                         preexec_fn=on_parent_death())
pidfile.write_text(str(child.pid))
time.sleep(0.3)
os.kill(os.getpid(), signal.SIGKILL)
"""


def running(marker: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose command line mentions ``marker``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and marker in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def wait_gone(marker: str, timeout: float = 5.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := running(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _still_ours(pid: int, marker: str) -> bool:
    """Whether ``pid`` is still the sampler (alive, not a zombie, ``marker`` in its command line): after
    tens of thousands of processes a machine with pid_max 32768 may give the number to another process."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and any(marker in a for a in proc.cmdline())
    except psutil.Error:
        return False


def kill_all(procs: list[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass


@pytest.mark.parametrize("how, after", [("kill", 1.0), ("exit", 1.0), ("kill", 0.0)])
def test_the_sampler_exits_when_its_runner_dies(tmp_path, how, after):
    # "kill" after 1 s: kill -9 of a runner mid-run; after 0 s: dead before the sampler set its
    # death signal, so only the parent check can notice
    out, pidfile = tmp_path / "samples.csv", tmp_path / "sampler.pid"
    runner = subprocess.run([sys.executable, "-c", RUNNER, str(out), str(pidfile), how, str(after)],
                            cwd=ROOT, timeout=30)
    assert runner.returncode == (-signal.SIGKILL if how == "kill" else 0)
    pid = int(pidfile.read_text())
    left = wait_gone(str(tmp_path))
    kill_all(left)
    assert left == [], f"sampler {pid} still running after its runner died"
    assert not _still_ours(pid, str(tmp_path)), f"sampler {pid} still running after its runner died"
    if after:
        assert len(pd.read_csv(out)) >= 2  # it was sampling until then
    size = out.stat().st_size if out.exists() else 0
    time.sleep(0.3)
    assert (out.stat().st_size if out.exists() else 0) == size


def test_the_sampler_stops_when_its_given_parent_is_not_its_parent(tmp_path):
    # --parent names a process that is not (or no longer) the parent: the sampler stops at once
    out = tmp_path / "samples.csv"
    proc = subprocess.run([sys.executable, "-m", "gilbench.bench.measure.sampler", "--out", str(out), "--interval", "0.05",
                           "--parent", "1" if os.getpid() != 1 else "2"], timeout=30)
    assert proc.returncode == 0


@pytest.mark.skipif(not lifeline.available(), reason="PR_SET_PDEATHSIG is Linux only")
def test_a_child_started_with_on_parent_death_dies_with_its_parent(tmp_path):
    pidfile = tmp_path / "child.pid"
    parent = subprocess.run([sys.executable, "-c", PARENT, str(pidfile)], cwd=ROOT, timeout=30)
    assert parent.returncode == -signal.SIGKILL
    left = wait_gone(str(pidfile))
    kill_all(left)
    assert left == []


@pytest.mark.skipif(not lifeline.available(), reason="PR_SET_PDEATHSIG is Linux only")
def test_die_with_parent_signals_at_once_when_the_parent_is_already_gone():
    # the parent recorded before the start (here: a pid that is not the parent) differs from
    # os.getppid(): the death signal would never come, so the process ends itself
    code = "import os, signal; from gilbench.bench.measure.lifeline import die_with_parent; " \
           "die_with_parent(signal.SIGKILL, os.getppid() + 1); print('survived')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == -signal.SIGKILL and "survived" not in done.stdout
    same = "import os, signal; from gilbench.bench.measure.lifeline import die_with_parent; " \
           "print(die_with_parent(signal.SIGKILL, os.getppid()))"
    done = subprocess.run([sys.executable, "-c", same], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "True"


def test_parent_alive_compares_with_the_recorded_parent():
    assert lifeline.parent_alive(os.getppid())
    assert not lifeline.parent_alive(os.getppid() + 1)

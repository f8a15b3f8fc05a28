import signal
import subprocess
import sys
import time

import pandas as pd
import psutil


def test_sampler_writes_one_row_per_tick_for_every_cpu(tmp_path):
    out = tmp_path / "samples.csv"
    subprocess.run([sys.executable, "-m", "bench.sampler", "--out", str(out), "--interval", "0.05",
                    "--duration", "0.5"], check=True, timeout=30)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["time"] + [f"cpu{i}" for i in range(psutil.cpu_count())]
    assert 4 <= len(frame) <= 11
    assert frame.drop(columns="time").stack().between(0, 100).all()
    assert frame["time"].is_monotonic_increasing


def test_sampler_stops_cleanly_on_sigterm(tmp_path):
    out = tmp_path / "samples.csv"
    proc = subprocess.Popen([sys.executable, "-m", "bench.sampler", "--out", str(out), "--interval", "0.05"])
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert len(pd.read_csv(out)) >= 1

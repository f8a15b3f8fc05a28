"""Separate-run `compare` against a slower host: one quick run as it is, one inside a CPU quota.

A cgroup v1 CFS quota (``tests/cgroup.py``; root) makes the host slower for the second run only, as a
busy CI machine would; nothing in the code differs. `gilbench compare` must not call any time row
"no change" without saying why (a slower host is a change that the machine made; the canary's line
says so). Sleep-bound rows may read "no change": a CPU quota does not slow a sleep, so there the
verdict is the truth; a CPU-bound row that reads "no change" is a failure of the gate.

    sudo .venv/bin/python scripts/quota_trial.py [--quota 0.7] [--base RUN_FOLDER] [--profile quick]

Prints the comparison, the cgroup's throttling and the time verdicts per kind of work; exit 1 when a
CPU-bound time row reads "no change".
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import cgroup  # noqa: E402  (tests/cgroup.py)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quota", type=float, default=0.7, help="CPUs the second run gets (default: %(default)s)")
    parser.add_argument("--base", type=Path, help="an existing run folder to compare against (else one is made)")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()
    ok, why = cgroup.available()
    if not ok:
        raise SystemExit(f"no CPU quota here: {why}")
    with tempfile.TemporaryDirectory(prefix="gilbench-quota-") as tmp:
        results = Path(tmp)
        cmd = [sys.executable, "-m", "gilbench", "run", "--profile", args.profile, "--no-experiments",
               "--no-report", "--output", str(results)]
        base = args.base
        if base is None:
            subprocess.run([*cmd, "--name", "base"], cwd=ROOT, check=True, capture_output=True)
            base = results / "base"
        with cgroup.cpu_quota(args.quota) as quota:
            quota.run([*cmd, "--name", "quota"], cwd=ROOT, check=True, capture_output=True)
            throttled = quota.stat()
        report = results / "compare.json"
        done = subprocess.run([sys.executable, "-m", "gilbench", "compare", str(base), str(results / "quota"),
                               "--json", str(report)], cwd=ROOT, capture_output=True, text=True)
        data = json.loads(report.read_text())
    rows = [r for r in data["rows"] if r["metric"] == "time"]
    print(done.stdout)
    print(f"quota {args.quota:g} CPU: cgroup stat {throttled}")
    print(f"compare exit {done.returncode}")
    for kind in sorted({r["kind"] for r in rows}):
        counts = collections.Counter(r["verdict"] for r in rows if r["kind"] == kind)
        print(f"  {kind} time rows: {dict(counts)}")
    return 1 if any(r["verdict"] == "no change" and r["kind"] == "cpu-bound" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())

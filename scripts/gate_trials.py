"""The gate's own benchmark: how often `gilbench ab` cries wolf, and how often it catches a slowdown.

Each trial is one whole `gilbench ab . .` as a user would run it in CI: A/A trials measure the same
code twice (any failure is a false alarm); A/B trials make the candidate do 10 % more work
(`--cand-scale 1.10`; a failure is a catch). A/A and A/B trials alternate.

    .venv/bin/python scripts/gate_trials.py [--trials 20] [--profile gate] [--fail-on time:10%]

Prints false alarms, catches, each trial's duration, and the minimum detectable effect per cell.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def trial(kind: str, args: argparse.Namespace, out: Path) -> dict:
    report = out / "compare.json"
    out.mkdir(parents=True)
    cmd = [sys.executable, "-m", "bench", "ab", ".", ".", "--profile", args.profile, "--output", str(out),
           "--json", str(report)] + [f"--fail-on={t}" for t in args.fail_on]
    if kind == "A/B":
        cmd += ["--cand-scale", str(args.scale)]
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"trial failed to run (exit {done.returncode}):\n{done.stderr[-2000:]}")
    rows = json.loads(report.read_text())["rows"]
    return {"kind": kind, "failed": done.returncode == 1, "seconds": seconds, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials of each kind (default: %(default)s)")
    parser.add_argument("--profile", default="gate")
    parser.add_argument("--fail-on", action="append", default=None)
    parser.add_argument("--scale", type=float, default=1.10, help="the A/B candidate's work factor")
    args = parser.parse_args()
    args.fail_on = args.fail_on or ["time:10%"]
    results = []
    with tempfile.TemporaryDirectory(prefix="gilbench-trials-") as tmp:
        for i in range(args.trials):
            for kind in ("A/A", "A/B"):
                result = trial(kind, args, Path(tmp) / f"{i}-{kind.replace('/', '')}")
                results.append(result)
                verdicts = ", ".join(f"{r['id'].split('/', 1)[0][6:]}/{r['id'].split('/')[1]}:{r['verdict']}"
                                     for r in result["rows"])
                print(f"trial {i + 1:>2} {kind}: {'FAIL' if result['failed'] else 'pass'} in {result['seconds']:.0f} s"
                      f"  [{verdicts}]", flush=True)
    aa = [r for r in results if r["kind"] == "A/A"]
    ab = [r for r in results if r["kind"] == "A/B"]
    durations = [r["seconds"] for r in results]
    print()
    print(f"false alarms: {sum(r['failed'] for r in aa)} of {len(aa)} A/A trials")
    print(f"catches:      {sum(r['failed'] for r in ab)} of {len(ab)} A/B trials (candidate x{args.scale})")
    print(f"trial duration: median {statistics.median(durations):.0f} s, max {max(durations):.0f} s")
    print("per cell and metric: A/B regressions found, A/A false alarms, median MDE in A/A:")
    for cid, metric in [(r["id"], r["metric"]) for r in aa[0]["rows"]]:
        def rows(trials: list[dict]) -> list[dict]:
            return [row for r in trials for row in r["rows"] if (row["id"], row["metric"]) == (cid, metric)]

        caught = sum(row["regression"] for row in rows(ab))
        false = sum(row["regression"] for row in rows(aa))
        mdes = [row["mde"] for row in rows(aa) if row["mde"] is not None]
        mde = statistics.median(mdes) if mdes else float("nan")
        print(f"  {cid:<32} {metric:<11} found {caught:>2}/{len(ab)}  false alarms {false:>2}/{len(aa)}  MDE {mde * 100:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The gate's own benchmark: how often `gilbench ab` cries wolf, and how often it catches a slowdown.

Each trial is one whole `gilbench ab BASE CAND` between git refs, as the CI recipe runs it: A/A
trials compare HEAD with HEAD (any failure is a false alarm); A/B trials compare HEAD with a real
commit, made here on a detached worktree, whose hello-cpu inner loop runs 10 % more iterations
(a failure is a catch). A/A and A/B trials alternate.

    .venv/bin/python scripts/gate_trials.py [--trials 20] [--profile gate] [--fail-on time:10%] [--scale 1.10]

`--scale X` makes the slow commit run X times the iterations (default 1.10); `--cand-scale`-style
runs are gone: the candidate is real code. Prints false alarms, catches, each trial's duration, and
per cell and metric the catches, false alarms and median MDE.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def slow_commit(scale: float, tmp: Path) -> str:
    """A commit on top of HEAD whose hello-cpu inner loop runs ``scale`` times the iterations."""
    tree = tmp / "slow"
    git("worktree", "add", "--detach", str(tree), "HEAD")
    try:
        hello = tree / "workloads" / "hello.py"
        text = hello.read_text()
        match = re.search(r"^UNIT_ITERATIONS = ([0-9_]+)", text, re.M)
        if not match:
            raise SystemExit("workloads/hello.py has no UNIT_ITERATIONS to change")
        slower = round(int(match.group(1).replace("_", "")) * scale)
        hello.write_text(text.replace(match.group(0), f"UNIT_ITERATIONS = {slower}"))
        git("-c", "user.name=gate trials", "-c", "user.email=trials@localhost", "commit", "-qam",
            f"hello-cpu: {scale:g}x the inner loop's iterations", cwd=tree)
        return git("rev-parse", "HEAD", cwd=tree)
    finally:
        git("worktree", "remove", "--force", str(tree))


def trial(kind: str, args: argparse.Namespace, out: Path) -> dict:
    report = out / "compare.json"
    out.mkdir(parents=True)
    cand = args.slow if kind == "A/B" else "HEAD"
    cmd = [sys.executable, "-m", "gilbench", "ab", "HEAD", cand, "--profile", args.profile, "--output", str(out),
           "--json", str(report)] + [f"--fail-on={t}" for t in args.fail_on]
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
    parser.add_argument("--scale", type=float, default=1.10,
                        help="the slow commit's factor on hello-cpu's inner-loop iterations (default: %(default)s)")
    args = parser.parse_args()
    args.fail_on = args.fail_on or ["time:10%"]
    results = []
    with tempfile.TemporaryDirectory(prefix="gilbench-trials-") as tmp:
        args.slow = slow_commit(args.scale, Path(tmp))
        print(f"A/B candidate: commit {args.slow[:12]} (hello-cpu inner loop x{args.scale:g})", flush=True)
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
    print(f"catches:      {sum(r['failed'] for r in ab)} of {len(ab)} A/B trials (hello-cpu loop x{args.scale:g})")
    print(f"trial duration: median {statistics.median(durations):.0f} s, max {max(durations):.0f} s")
    print("per cell and metric: A/B regressions found, A/A false alarms, median MDE in A/A:")
    for cid, metric in [(r["id"], r["metric"]) for r in aa[0]["rows"]]:
        def rows(trials: list[dict]) -> list[dict]:
            return [row for r in trials for row in r["rows"] if (row["id"], row["metric"]) == (cid, metric)]

        caught = sum(row["regression"] for row in rows(ab))
        false = sum(row["regression"] for row in rows(aa))
        mdes = [row["mde"] for row in rows(aa) if row["mde"] is not None]
        mde = statistics.median(mdes) if mdes else float("nan")
        changes = [row["ratio"] - 1 for row in rows(ab) if row["ratio"] is not None]
        change = statistics.median(changes) if changes else float("nan")
        print(f"  {cid:<32} {metric:<8} found {caught:>2}/{len(ab)}  false alarms {false:>2}/{len(aa)}  "
              f"MDE {mde * 100:.1f} %  A/B change {change * 100:+.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

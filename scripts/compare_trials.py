"""Separate-run `compare`'s own benchmark: false alarms between equal runs, catches of a slower one.

Runs ``--pairs`` x 2 plain runs of one profile (A/A: the same code minutes apart) and ``--slow`` runs
at ``--scale`` (its work times the factor) into one results folder, alternating, then compares the
A/A runs pairwise and each slow run against an A/A run, as CI would with ``gilbench compare``. The
run-to-run spread is measured over the other runs of the same plan and code in that folder, the two
compared left out (``bench.judge.floor.run_to_run_floor``).

    .venv/bin/python scripts/compare_trials.py [--pairs 10] [--slow 10] [--scale 1.5] [--profile quick]

Prints each comparison's exit status and verdicts, the false alarms, the catches and the run-to-run
spreads (sd of a cell's log figure between runs).
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(results: Path, name: str, profile: str, scale: float) -> float:
    cmd = [sys.executable, "-m", "gilbench", "run", "--profile", profile, "--no-experiments", "--no-report",
           "--output", str(results), "--name", name] + (["--scale", f"{scale:g}"] if scale != 1 else [])
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return time.monotonic() - t0


def compare(results: Path, base: str, cand: str, out: Path) -> tuple[int, dict]:
    report = out / f"{base}-{cand}.json"
    done = subprocess.run([sys.executable, "-m", "gilbench", "compare", str(results / base), str(results / cand),
                           "--json", str(report)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare {base} {cand}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done.returncode, json.loads(report.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="A/A pairs (default: %(default)s)")
    parser.add_argument("--slow", type=int, default=10, help="runs at --scale (default: %(default)s)")
    parser.add_argument("--scale", type=float, default=1.5)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--keep", type=Path, help="keep the results folder here instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gilbench-compare-trials-") as tmp:
        results = args.keep or Path(tmp) / "results"
        out = Path(tmp)
        names = [f"aa{i:02d}" for i in range(2 * args.pairs)]
        slow = [f"slow{i:02d}" for i in range(args.slow)]
        order = []
        for i in range(max(len(names), len(slow))):  # alternate, so that the machine's moods fall on both
            order += names[i:i + 1] + (slow[i // 2:i // 2 + 1] if i % 2 else [])
        order += [s for s in slow if s not in order]
        for name in order:
            seconds = run(results, name, args.profile, args.scale if name.startswith("slow") else 1.0)
            print(f"{name}: {seconds:.0f} s", flush=True)
        verdicts: dict[str, collections.Counter] = {"A/A": collections.Counter(), "slow": collections.Counter()}
        failed = {"A/A": 0, "slow": 0}
        floors = []
        jobs = [("A/A", names[2 * i], names[2 * i + 1]) for i in range(args.pairs)]
        jobs += [("slow", names[i % len(names)], s) for i, s in enumerate(slow)]
        for kind, base, cand in jobs:
            code, report = compare(results, base, cand, out)
            failed[kind] += code == 1
            counts = collections.Counter(r["verdict"] for r in report["rows"] if r["metric"] == "time")
            verdicts[kind].update(counts)
            floors += [sd for _, _, sd, _ in report["floor"]["rows"]] if report.get("floor") else []
            print(f"{kind:>4} {base} vs {cand}: exit {code}; time rows {dict(counts)}; "
                  f"floor: {report['floor']['source'] if report.get('floor') else '-'}", flush=True)
    print()
    print(f"A/A pairs failing the gate (false alarms): {failed['A/A']} of {args.pairs}; time verdicts "
          f"{dict(verdicts['A/A'])}")
    print(f"runs at --scale {args.scale:g} failing the gate: {failed['slow']} of {args.slow}; time verdicts "
          f"{dict(verdicts['slow'])}")
    if floors:
        floors.sort()
        print(f"run-to-run sd of a cell's log figure: median {floors[len(floors) // 2] * 100:.1f} %, "
              f"max {floors[-1] * 100:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

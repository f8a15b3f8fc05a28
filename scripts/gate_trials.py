"""The gate's own benchmark: how often `gilbench ab` cries wolf, and how often it catches a real slowdown.

Each trial is one whole `gilbench ab BASE CAND --profile gate`, as the CI recipe runs it. A/A trials
compare HEAD with HEAD (any failure is a false alarm); a slowdown trial compares HEAD with a real
commit, made here on a detached worktree, whose hello-cpu inner loop runs PCT % more iterations (a
failure is a catch). Kinds alternate, so that the machine's moods fall on all of them alike.

    .venv/bin/python scripts/gate_trials.py [--trials 20] [--kinds aa,2,3,5,10] [--fail-on time:5%]
        [--load 1] [--json trials.json]
    .venv/bin/python scripts/gate_trials.py --record 3 --out tests/fixtures/gate-rounds/quiet

``--dirs`` uses directory copies of the checkout instead of commits (a machine without the git
history); ``--record N`` runs N A/A ab with every round (``--all-rounds``) and saves their rounds,
compactly, for ``scripts/simulate_gate.py`` to replay; ``--load N`` keeps N CPUs busy with a spinning
process for the whole of the trials (a shared CI runner). Prints false alarms, catches, the gates that
``--fail-on-inconclusive`` would also fail, each trial's duration, per cell and kind the catches and
the rounds used, and whether every cell that ended inconclusive was named at the first look as unable
to resolve its threshold.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(".git", ".venv", "results", "__pycache__", "*.egg-info", ".pytest_cache")


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _slow_down(tree: Path, percent: float) -> None:
    hello = tree / "workloads" / "hello.py"
    text = hello.read_text()
    match = re.search(r"^UNIT_ITERATIONS = ([0-9_]+)", text, re.M)
    if not match:
        raise SystemExit("workloads/hello.py has no UNIT_ITERATIONS to change")
    slower = round(int(match.group(1).replace("_", "")) * (1 + percent / 100))
    hello.write_text(text.replace(match.group(0), f"UNIT_ITERATIONS = {slower}"))


def slow_side(percent: float, tmp: Path, dirs: bool) -> str:
    """A side whose hello-cpu inner loop runs ``percent`` % more iterations: a commit on top of HEAD,
    or (``dirs``) a directory copy of this checkout."""
    tree = tmp / f"slow{percent:g}"
    if dirs:
        shutil.copytree(ROOT, tree, ignore=IGNORED)
        _slow_down(tree, percent)
        return str(tree)
    git("worktree", "add", "--detach", str(tree), "HEAD")
    try:
        _slow_down(tree, percent)
        git("-c", "user.name=gate trials", "-c", "user.email=trials@localhost", "commit", "-qam",
            f"hello-cpu: {percent:g} % more inner-loop iterations", cwd=tree)
        return git("rev-parse", "HEAD", cwd=tree)
    finally:
        git("worktree", "remove", "--force", str(tree))


def same_side(tmp: Path, dirs: bool) -> str:
    if not dirs:
        return "HEAD"
    tree = tmp / "same"
    if not tree.exists():
        shutil.copytree(ROOT, tree, ignore=IGNORED)
    return str(tree)


def ab(base: str, cand: str, out: Path, extra: list[str]) -> tuple[int, float, dict, str]:
    out.mkdir(parents=True)
    report = out / "compare.json"
    cmd = [sys.executable, "-m", "gilbench", "ab", base, cand, "--profile", "gate", "--output", str(out),
           "--json", str(report), *extra]
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"trial failed to run (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done.returncode, seconds, json.loads(report.read_text()), done.stdout + done.stderr


def named_unresolvable(output: str) -> set[str]:
    """The cells an ab named at its first look as unable to resolve their threshold."""
    return set(re.findall(r"^gilbench ab: (\S+) .*above its threshold", output, re.M))


def spin() -> subprocess.Popen:
    """A process that keeps one CPU busy until it is killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def record(args: argparse.Namespace, tmp: Path) -> int:
    """N A/A ab with every round, each saved as a compact recording for the replay simulation."""
    args.out.mkdir(parents=True, exist_ok=True)
    side = same_side(tmp, args.dirs)
    for i in range(args.record):
        out = tmp / f"rec{i}"
        _, seconds, _, _ = ab(side, side, out, ["--all-rounds"])
        root = next(p for p in out.iterdir() if (p / "ab.json").is_file())
        sides = {}
        for name in ("base", "cand"):
            manifest = json.loads((root / name / "manifest.json").read_text())
            sides[name] = [{**{k: c[k] for k in ("id", "kind", "baseline", "workload", "backend", "workers",
                                                  "cores", "python", "tasks")},
                            "processes": [{k: p[k] for k in ("index", "values", "cpu", "canary", "canary_cpu",
                                                             "order", "noise_share")} for p in c["processes"]]}
                           for c in manifest["cells"]]
        machine = json.loads((root / "base" / "machine.json").read_text())
        name = args.out / f"{time.strftime('%Y%m%d-%H%M%S')}-{i}.json"
        name.write_text(json.dumps({"machine": {k: machine.get(k) for k in ("cpu_model", "logical_cpus",
                                                                            "python_version")},
                                    "timing": manifest["timing"], "sides": sides}, separators=(",", ":")))
        print(f"recorded {name} ({seconds:.0f} s)", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials of each kind (default: %(default)s)")
    parser.add_argument("--kinds", default="aa,5,10",
                        help="comma-separated: aa (A/A) and slowdowns in percent (default: %(default)s)")
    parser.add_argument("--fail-on", action="append", default=None)
    parser.add_argument("--json", type=Path, help="write every trial's outcome and rows here")
    parser.add_argument("--dirs", action="store_true", help="directory copies instead of git commits")
    parser.add_argument("--record", type=int, default=0, help="record N A/A ab runs with every round instead")
    parser.add_argument("--load", type=int, default=0, help="keep N CPUs busy during the trials (default: 0)")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "gate-rounds" / "quiet",
                        help="where --record writes (default: %(default)s; recordings made under load go to loaded/)")
    args = parser.parse_args()
    extra = [f"--fail-on={t}" for t in (args.fail_on or [])]
    spinners = [spin() for _ in range(args.load)]
    try:
        return trials(args, extra)
    finally:
        for p in spinners:
            p.kill()


def trials(args: argparse.Namespace, extra: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="gilbench-trials-") as tmp_name:
        tmp = Path(tmp_name)
        if args.record:
            return record(args, tmp)
        kinds = [k.strip() for k in args.kinds.split(",")]
        sides = {k: same_side(tmp, args.dirs) if k == "aa" else slow_side(float(k), tmp, args.dirs) for k in kinds}
        base = same_side(tmp, args.dirs)
        for k in kinds:
            print(f"{k}: candidate {sides[k][:60]}", flush=True)
        results = []
        for i in range(args.trials):
            for k in kinds:
                code, seconds, report, output = ab(base, sides[k], tmp / f"{i}-{k}", extra)
                rows = report["rows"]
                # a cell left undecided: a row inconclusive and none of its rows a regression
                caught_cells = {r["id"] for r in rows if r["regression"]}
                unsure = sorted({r["id"] for r in rows if r["verdict"] == "inconclusive"} - caught_cells)
                named = sorted(named_unresolvable(output))
                results.append({"kind": k, "failed": code == 1, "seconds": seconds, "rows": rows,
                                "inconclusive": unsure, "named": named})
                caught = sorted({r["id"] for r in rows if r["regression"]})
                rounds = max((r["pairs"] for r in rows), default=0)
                print(f"trial {i + 1:>2} {k:>3}: {'FAIL' if code == 1 else 'pass'} in {seconds:.0f} s, "
                      f"{rounds} rounds; regressions: {', '.join(caught) or '-'}; inconclusive: "
                      f"{', '.join(unsure) or '-'}; named unresolvable at look 1: {', '.join(named) or '-'}",
                      flush=True)
                if args.json:
                    args.json.write_text(json.dumps(results))
    print()
    durations = [r["seconds"] for r in results]
    print(f"trial duration: median {statistics.median(durations):.0f} s, max {max(durations):.0f} s "
          f"({len(results)} trials)")
    for k in kinds:
        mine = [r for r in results if r["kind"] == k]
        what = "false alarms" if k == "aa" else f"caught ({k} % slower)"
        unsure = sum(bool(r["failed"] or r["inconclusive"]) for r in mine)
        unnamed = sum(bool(set(r["inconclusive"]) - set(r["named"])) for r in mine)
        print(f"{k:>3}: {what}: {sum(r['failed'] for r in mine)} of {len(mine)}; with --fail-on-inconclusive "
              f"{unsure} of {len(mine)}; trials with an inconclusive cell not named at look 1: {unnamed}; median "
              f"{statistics.median(r['seconds'] for r in mine):.0f} s")
        cells = sorted({row["id"] for r in mine for row in r["rows"]})
        for cid in cells:
            hit = sum(any(row["regression"] for row in r["rows"] if row["id"] == cid) for r in mine)
            changes = [row["ratio"] - 1 for r in mine for row in r["rows"]
                       if row["id"] == cid and row["summary"] == "min" and row["ratio"] is not None]
            print(f"      {cid:<32} regression in {hit:>2}/{len(mine)}; median change (min) "
                  f"{statistics.median(changes) * 100 if changes else float('nan'):+.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Whether the precision a run states holds up: the same profile run N times in a row, each cell's figure of
each run checked against the intervals the other runs stated (issue 25's check).

For each cell and each run i, a run j (j != i) agrees when run i's figure lies inside the interval run j
stated (flagged or not). A cell passes when each run's figure that its own report did not flag ("not at
precision") agrees with at least ``--need`` of the others (6 of 7 for 8 runs).

    python scripts/precision_honesty.py --runs 8 --profile quick            # runs them, then checks
    python scripts/precision_honesty.py results/run-a results/run-b ...     # checks finished run folders
    python scripts/precision_honesty.py --replay results/run-a ...          # as the rule states them now

``--replay`` restates each figure's interval with the current rule (``bench.data.precision.decide`` over all
of the cell's recorded processes, their canaries included), flagged where its ± is above the run's target:
how a change of the rule would have fared on runs already made.

Each run is ``gilbench run --profile P`` (its report included, as `make bench` runs it) in its own run folder under ``--out``; nothing else should
measure meanwhile. Prints one line per cell and writes the table as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from gilbench.bench.data import precision as rule
from gilbench.bench.data import query
from gilbench.bench.data.cells import CellPrecision, CellRecord


def run_once(profile: str, out: Path, name: str, extra: list[str]) -> Path:
    """One ``gilbench run`` into ``out/name``; its folder."""
    command = [sys.executable, "-m", "gilbench", "run", "--profile", profile, "--output", str(out), "--name", name,
               *extra]
    t0 = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"{name}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    return out / name


def figures(folder: Path, workloads: tuple[str, ...]) -> dict[str, dict]:
    """{cell id: its precision entry} for the cells of ``workloads`` whose headline figure is a speedup."""
    manifest = json.loads((folder / "manifest.json").read_text())
    found = {}
    for cell in manifest["cells"]:
        said = cell.get("precision")
        if cell["id"].split("/")[0] in workloads and said and said["figure"] == "speedup":
            found[cell["id"]] = said
    return found


def restated(folder: Path, workloads: tuple[str, ...]) -> dict[str, dict]:
    """``figures``, each interval stated again by the current rule from all of the cell's processes."""
    records = {c["id"]: CellRecord.from_dict(c) for c in json.loads((folder / "manifest.json").read_text())["cells"]}
    found = {}
    for cell_id, said in figures(folder, workloads).items():
        record, base = records[cell_id], records[said["against"]]
        medians = list(query.process_summaries(record).values())
        interval, _, _ = rule.decide(medians, list(query.process_summaries(base).values()), said["target"],
                                     len(medians), confidence=said.get("confidence", rule.CONFIDENCE),
                                     canaries=query.speed_canaries(record, base))
        at = rule.reached(interval, len(medians), said["target"])
        found[cell_id] = {**said, "value": interval.value, "low": interval.low, "high": interval.high,
                          "achieved": interval.relative, "reason": "" if at else "wide", "processes": len(medians)}
    return found


def flagged(said: dict) -> bool:
    """Whether the report flagged this figure "not at precision" (what the report reads: CellPrecision.reached)."""
    return not CellPrecision.from_dict(said).reached


def check(runs: list[dict[str, dict]], need: int) -> list[dict]:
    """Per cell: each run's figure and the count of other runs that agree with it (inside their stated
    interval), the least of those counts, the runs flagged, and whether the cell passes."""
    table = []
    for cell in sorted(set().union(*runs)):
        said = [r.get(cell) for r in runs]
        present = [i for i, s in enumerate(said) if s is not None and s.get("value") is not None]
        agree = []
        for i in present:
            v = said[i]["value"]
            agree.append(sum(1 for j in present if j != i and said[j]["low"] is not None
                             and said[j]["low"] <= v <= said[j]["high"]))
        own_flags = sum(1 for i in present if flagged(said[i]))
        least = min(agree) if agree else 0
        # a run flagged by its own report needs no agreement ("or the report had flagged it")
        unflagged_least = min((a for i, a in zip(present, agree) if not flagged(said[i])), default=len(present) - 1)
        table.append({"cell": cell, "runs": len(present), "flagged": own_flags, "least_agreement": least,
                      "least_agreement_unflagged": unflagged_least,
                      "passes": unflagged_least >= need,
                      "values": [round(said[i]["value"], 4) for i in present],
                      "widths": [None if said[i]["achieved"] is None else round(said[i]["achieved"], 4)
                                 for i in present]})
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="finished run folders (default: run them)")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--out", type=Path, default=Path("results/honesty"))
    parser.add_argument("--need", type=int, help="agreements each run needs (default: runs - 2)")
    parser.add_argument("--workloads", default="hello-cpu,hello-sleep")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--replay", action="store_true", help="restate the intervals with the current rule")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more gilbench run options")
    args = parser.parse_args(argv)
    folders = args.folders
    if not folders:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folders = [run_once(args.profile, args.out, f"{stamp}-{k}", [a for a in args.extra if a != "--"])
                   for k in range(args.runs)]
    need = args.need if args.need is not None else len(folders) - 2
    read = restated if args.replay else figures
    table = check([read(f, tuple(args.workloads.split(","))) for f in folders], need)
    for row in table:
        print(f"{row['cell']:<34} {'pass' if row['passes'] else 'FAIL'}  each unflagged run inside "
              f">= {row['least_agreement_unflagged']} of the other {row['runs'] - 1} (need {need}); "
              f"flagged {row['flagged']} of {row['runs']}; values {min(row['values']):.3f}-{max(row['values']):.3f}")
    passed = sum(r["passes"] for r in table)
    print(f"{passed} of {len(table)} cells pass", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"folders": [str(f) for f in folders], "need": need, "cells": table},
                                        indent=1))
    return 0 if passed == len(table) else 1


if __name__ == "__main__":
    raise SystemExit(main())

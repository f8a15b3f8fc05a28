"""Each metric's A/A spread per cell, from A/A recordings of `gilbench ab` (scripts/gate_trials.py --record).

For every cell of every recording: the sd over rounds of the paired log difference, candidate minus
baseline, of each process's fastest batch (``time``, what the gate's min row tests) and of that
batch-wise least CPU (``cpu``, ``ProcessRecord.cpu_best``). Both sides ran the same code, so this is
the noise a row of that metric must see past; the ratio says how much less a co-tenant moves CPU time
than wall time on this machine.

    .venv/bin/python scripts/metric_spread.py tests/fixtures/gate-rounds/quiet [more folders]
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections import defaultdict
from pathlib import Path

from simulate_gate import Recording, load_recordings  # scripts/ is this script's sys.path[0]

from gilbench.bench.data import query
from gilbench.bench.data.cells import ProcessRecord

#: metric -> the process figure (``bench.data.query.process_summary``) its gate row tests
SUMMARY = {"time": "min", "cpu": "cpu"}


def _log(process: dict, how: str) -> float:
    x = query.process_summary(ProcessRecord(index=process["index"], values=process["values"],
                                            cpu=process.get("cpu") or []), how)
    return math.log(x) if math.isfinite(x) and x > 0 else math.nan


def spreads(recording: Recording) -> dict[str, dict[str, list[float]]]:
    """cell id -> metric -> the paired log differences over the rounds of one recording."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    base = {c["id"]: c for c in recording.sides["base"]}
    for cand in recording.sides["cand"]:
        b = base.get(cand["id"])
        if b is None:
            continue
        bp = {p["index"]: p for p in b["processes"]}
        for p in cand["processes"]:
            q = bp.get(p["index"])
            if q is None:
                continue
            for metric, how in SUMMARY.items():
                d = _log(p, how) - _log(q, how)
                if math.isfinite(d):
                    out[cand["id"]][metric].append(d)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of recordings (searched with their subfolders)")
    args = parser.parse_args()
    recordings = [r for folder in args.folders for r in load_recordings(folder)]
    per_cell: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for recording in recordings:
        for cid, metrics in spreads(recording).items():
            for metric, sd in ((m, statistics.stdev(d)) for m, d in metrics.items() if len(d) >= 2):
                per_cell[cid][metric].append(sd)
    print(f"{len(recordings)} recording(s); per-round sd of the paired log difference, median over recordings")
    print("| cell | time (min) | cpu | cpu / time |\n| --- | --- | --- | --- |")
    for cid in sorted(per_cell):
        t, c = (statistics.median(per_cell[cid].get(m) or [math.nan]) for m in SUMMARY)
        print(f"| {cid} | {t * 100:.2f} % | {c * 100:.2f} % | {c / t:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

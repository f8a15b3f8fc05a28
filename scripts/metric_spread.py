"""Each metric's A/A spread per cell, from A/A recordings of `gilbench ab` (scripts/gate_trials.py --record).

For every cell of every recording: the sd over rounds of the paired log difference, candidate minus
baseline, of each process's fastest batch (``time``, what the gate's min row tests) and of that
batch-wise least CPU (``cpu``, ``ProcessRecord.cpu_best``). Both sides ran the same code, so this is
the noise a row of that metric must see past; the ratio says how much less a co-tenant moves CPU time
than wall time on this machine.

    .venv/bin/python scripts/metric_spread.py tests/fixtures/gate-rounds/quiet [more folders or files]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path


def _log_best(values: list[float]) -> float:
    good = [v for v in values if v and v > 0]
    return math.log(min(good)) if good else math.nan


def spreads(recording: dict) -> dict[str, dict[str, list[float]]]:
    """cell id -> metric -> the paired log differences over the rounds of one recording."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    base = {c["id"]: c for c in recording["sides"]["base"]}
    for cand in recording["sides"]["cand"]:
        b = base.get(cand["id"])
        if b is None:
            continue
        bp = {p["index"]: p for p in b["processes"]}
        for p in cand["processes"]:
            q = bp.get(p["index"])
            if q is None:
                continue
            for metric, key in (("time", "values"), ("cpu", "cpu")):
                d = _log_best(p.get(key) or []) - _log_best(q.get(key) or [])
                if math.isfinite(d):
                    out[cand["id"]][metric].append(d)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="recordings, or folders of them")
    args = parser.parse_args()
    files = [f for p in args.paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    per_cell: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for f in files:
        for cid, metrics in spreads(json.loads(f.read_text())).items():
            for metric, sd in ((m, statistics.stdev(d)) for m, d in metrics.items() if len(d) >= 2):
                per_cell[cid][metric].append(sd)
    print(f"{len(files)} recording(s); per-round sd of the paired log difference, median over recordings")
    print(f"| cell | time (min) | cpu | cpu / time |\n| --- | --- | --- | --- |")
    for cid in sorted(per_cell):
        t, c = (statistics.median(per_cell[cid].get(m) or [math.nan]) for m in ("time", "cpu"))
        print(f"| {cid} | {t * 100:.2f} % | {c * 100:.2f} % | {c / t:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

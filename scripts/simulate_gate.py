"""How often the gate cries wolf, and how often it catches a slowdown, with noise replayed from real rounds.

The noise is not a model: it is what real A/A ``gilbench ab --profile gate --all-rounds`` runs recorded
(``scripts/gate_trials.py --record N`` writes them; tests/fixtures/gate-rounds/ keeps ``quiet/`` ones,
made with nothing else running, and ``loaded/`` ones, made while other work shared the CPUs): every process's
batch times as measured, in their rounds and with their order, so that run offsets, one-sided delays
(preemption only adds time), drift and the order effect stay as they were. Nothing is measured here
and no process is started; every gate goes through the real ``bench.compare.compare`` with the gate's
design (``bench.sequential``), threshold time:10 %, the min and mean summaries.

A gate draws a recording, and for each cell and round swaps the two processes' sides with
probability 1/2: both sides ran the same code, so under no change the labels are exchangeable (the
very symmetry the signed-rank test rests on). An A/A gate compares the result as it is (any failed
gate is a false alarm); a slowdown gate multiplies every batch time of the candidate's hello-cpu
cells by 1 + PCT/100 (a failed gate is a catch).

    .venv/bin/python scripts/simulate_gate.py [--gates 2000] [--seed 1] [--slowdowns 5,10]

Prints, per kind, the share of gates that failed, each hello-cpu cell's catch rate, and the rounds the
gates used (median).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gilbench.bench.compare import RunSide, Threshold, compare  # noqa: E402
from gilbench.bench.matrix import Cell  # noqa: E402
from gilbench.bench.model import CellRecord, ProcessRecord  # noqa: E402
from gilbench.bench.sequential import design_for  # noqa: E402

RECORDINGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gate-rounds"
THRESHOLDS = [Threshold("time", 10.0)]


@dataclass
class Recording:
    """One recorded A/A ab: per side, per cell, its processes (one per round)."""

    name: str
    machine: dict
    sides: dict[str, list[dict]]

    @property
    def rounds(self) -> int:
        return min(len(c["processes"]) for cells in self.sides.values() for c in cells)


def load_recordings(folder: Path = RECORDINGS) -> list[Recording]:
    found = []
    for path in sorted(folder.rglob("*.json")):  # a folder and its subfolders (quiet/, loaded/)
        data = json.loads(path.read_text())
        found.append(Recording(path.name, data["machine"], data["sides"]))
    if not found:
        raise SystemExit(f"no recordings in {folder}: scripts/gate_trials.py --record 3 makes them")
    return found


def _record(cell: dict, processes: list[ProcessRecord]) -> CellRecord:
    c = Cell(cell["workload"], cell["backend"], cell["workers"], cell["cores"], tuple(range(cell["cores"])),
             tasks=cell["tasks"], python=cell.get("python", ""))
    return CellRecord(c, cell["kind"], baseline=cell["baseline"], status="ok", processes=processes)


def draw(recording: Recording, rng: np.random.Generator, slowdown: float) -> tuple[RunSide, RunSide]:
    """Both sides of one replayed gate: per cell and round the sides swapped with probability 1/2, the
    candidate's hello-cpu batch times multiplied by ``1 + slowdown``."""
    rounds = recording.rounds
    base_cells, cand_cells = {}, {}
    for b_cell, c_cell in zip(recording.sides["base"], recording.sides["cand"]):
        swap = rng.random(rounds) < 0.5
        factor = 1 + slowdown if b_cell["workload"] == "hello-cpu" else 1.0
        b_procs, c_procs = [], []
        for k in range(rounds):
            pb, pc = b_cell["processes"][k], c_cell["processes"][k]
            if swap[k]:
                pb, pc = pc, pb
            b_procs.append(ProcessRecord(index=k, values=list(pb["values"]), canary=pb["canary"], order=pb["order"]))
            c_procs.append(ProcessRecord(index=k, values=[v * factor for v in pc["values"]], canary=pc["canary"],
                                         order=pc["order"]))
        base_cells[b_cell["id"]] = _record(b_cell, b_procs)
        cand_cells[c_cell["id"]] = _record(c_cell, c_procs)
    design = design_for(rounds)
    machine = dict(recording.machine)
    return (RunSide("base", machine, base_cells, "replay", design=design),
            RunSide("cand", machine, cand_cells, "replay", design=design))


def simulate(recordings: list[Recording], gates: int, seed: int, slowdown: float) -> dict:
    """``gates`` replayed gates at ``slowdown`` (0: A/A): the share that failed, each hello-cpu cell's
    catch rate, the median of the most rounds a gate used."""
    rng = np.random.default_rng(seed)
    failed, rounds = 0, []
    caught: dict[str, int] = {}
    for _ in range(gates):
        recording = recordings[int(rng.integers(len(recordings)))]
        base, cand = draw(recording, rng, slowdown)
        result = compare(base, cand, THRESHOLDS, with_mde=False)
        failed += bool(result.regressions)
        rounds.append(result.rounds)
        for cid in base.cells:
            if cid.startswith("hello-cpu/"):
                caught[cid] = caught.get(cid, 0) + any(r.regression for r in result.rows if r.id == cid)
    return {"failed": failed / gates, "cells": {cid: n / gates for cid, n in sorted(caught.items())},
            "rounds": statistics.median(rounds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", type=int, default=2000, help="gates per kind (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    parser.add_argument("--slowdowns", default="5,10", help="slowdowns in percent (default: %(default)s)")
    parser.add_argument("--recordings", type=Path, default=RECORDINGS,
                        help="a folder of recordings, its subfolders included (default: %(default)s)")
    args = parser.parse_args(argv)
    recordings = load_recordings(args.recordings)
    print(f"{len(recordings)} recordings ({', '.join(r.name for r in recordings)}), "
          f"{recordings[0].rounds} rounds; {args.gates} gates per kind; time:10%; seed {args.seed}")
    for pct in [0.0] + [float(x) for x in args.slowdowns.split(",") if x.strip()]:
        r = simulate(recordings, args.gates, args.seed, pct / 100)
        what = "A/A: gates failed (false alarms)" if pct == 0 else f"{pct:g} % slower: gates failed (caught)"
        cells = ", ".join(f"{cid.split('/')[1]} {share:.1%}" for cid, share in r["cells"].items())
        print(f"{what}: {r['failed']:.2%}; hello-cpu cells caught: {cells}; median rounds {r['rounds']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

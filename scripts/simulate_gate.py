"""How often the gate cries wolf, and how often it catches a slowdown, with noise replayed from real rounds.

The noise is not a model: it is what real A/A ``gilbench ab --profile gate --all-rounds`` runs recorded
(``scripts/gate_trials.py --record N`` writes them; tests/fixtures/gate-rounds/ keeps ``quiet/`` ones,
made with nothing else running, and ``loaded/`` ones, made while other work shared the CPUs): every process's
batch times as measured, in their rounds and with their order, so that run offsets, one-sided delays
(preemption only adds time), drift and the order effect stay as they were. Nothing is measured here
and no process is started; every gate goes through the real ``bench.judge.compare.compare`` with the gate's
design (``bench.judge.sequential``), threshold time:10 %, the min and mean summaries.

A gate draws a recording and makes the null true by construction, one of two ways (``--swap``):

* ``rounds`` (default): each round's two processes swap sides with probability 1/2. Under no change
  the labels of one round are exchangeable (the very symmetry the signed-rank test rests on, and
  what ab's random order within a round gives a real A/A run); any systematic side offset is gone.
* ``sides``: the whole recording's two sides swap with probability 1/2, and its rounds are drawn with
  replacement, each round's pair kept together. The recording's side offset stays in every pair,
  with a random sign; being one 40-round sample, that offset carries its own sampling noise on top of
  the resampled rounds', so this mode is the pessimistic one for false alarms.

An A/A gate compares the result as it is (any failed gate is a false alarm); a slowdown gate
multiplies every batch time of the candidate's hello-cpu cells by 1 + PCT/100 (a failed gate is a
catch).

    .venv/bin/python scripts/simulate_gate.py [--gates 1000] [--seed 1] [--fail-on time:5%]
        [--slowdowns 0,1,2,3,5,7.5,10] [--swap rounds|sides]

Prints the operating curve: per change, the share of gates that failed, each hello-cpu cell's catch
rate, and the rounds the gates used (median).
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

from gilbench.bench.data.thresholds import Threshold, parse_threshold  # noqa: E402
from gilbench.bench.judge.compare import compare  # noqa: E402
from gilbench.bench.judge.sequential import design_for  # noqa: E402
from gilbench.bench.judge.sides import RunSide  # noqa: E402
from gilbench.bench.data.cells import Cell  # noqa: E402
from gilbench.bench.data.cells import CellRecord, ProcessRecord  # noqa: E402

RECORDINGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gate-rounds"
THRESHOLDS = [Threshold("time", 10.0)]
#: the changes of the operating curve, in percent
CURVE = (0.0, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0)


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


SWAPS = ("rounds", "sides")


def draw(recording: Recording, rng: np.random.Generator, slowdown: float, swap: str = "rounds"
         ) -> tuple[RunSide, RunSide]:
    """Both sides of one replayed gate, the null made true by ``swap`` (the module's docstring), the
    candidate's hello-cpu batch times multiplied by ``1 + slowdown``."""
    rounds = recording.rounds
    whole = swap == "sides"
    names = ("base", "cand") if not whole or rng.random() < 0.5 else ("cand", "base")
    picks = rng.integers(0, rounds, size=rounds) if whole else np.arange(rounds)
    base_cells, cand_cells = {}, {}
    for b_cell, c_cell in zip(recording.sides[names[0]], recording.sides[names[1]]):
        factor = 1 + slowdown if b_cell["workload"] == "hello-cpu" else 1.0
        flips = np.zeros(rounds, bool) if whole else rng.random(rounds) < 0.5
        b_procs, c_procs = [], []
        for k, pick in enumerate(picks):
            pb, pc = b_cell["processes"][pick], c_cell["processes"][pick]
            if flips[k]:
                pb, pc = pc, pb
            # no canary: it never changes a verdict, and its test over every round of every cell is the
            # slowest part of a comparison
            b_procs.append(ProcessRecord(index=k, values=list(pb["values"]), order=pb["order"]))
            c_procs.append(ProcessRecord(index=k, values=[v * factor for v in pc["values"]], order=pc["order"]))
        base_cells[b_cell["id"]] = _record(b_cell, b_procs)
        cand_cells[b_cell["id"]] = _record(b_cell, c_procs)
    design = design_for(rounds)
    machine = dict(recording.machine)
    return (RunSide("base", machine, base_cells, "replay", design=design),
            RunSide("cand", machine, cand_cells, "replay", design=design))


def simulate(recordings: list[Recording], gates: int, seed: int, slowdown: float,
             thresholds: list[Threshold] | None = None, swap: str = "rounds") -> dict:
    """``gates`` replayed gates at ``slowdown`` (0: A/A): the share that failed, each hello-cpu cell's
    catch rate, the share with an inconclusive row, the median of the most rounds a gate used."""
    rng = np.random.default_rng(seed)
    failed, unsure, rounds = 0, 0, []
    caught: dict[str, int] = {}
    for _ in range(gates):
        recording = recordings[int(rng.integers(len(recordings)))]
        base, cand = draw(recording, rng, slowdown, swap)
        result = compare(base, cand, thresholds or THRESHOLDS, with_mde=False)
        failed += bool(result.regressions)
        unsure += bool(result.inconclusive) and not result.regressions
        rounds.append(result.rounds)
        for cid in base.cells:
            if cid.startswith("hello-cpu/"):
                caught[cid] = caught.get(cid, 0) + any(r.regression for r in result.rows if r.id == cid)
    return {"failed": failed / gates, "cells": {cid: n / gates for cid, n in sorted(caught.items())},
            "inconclusive": unsure / gates, "rounds": statistics.median(rounds)}


def operating_curve(recordings: list[Recording], threshold: Threshold, gates: int, seed: int,
                    changes: tuple[float, ...] = CURVE, swap: str = "rounds") -> dict[float, dict]:
    """The gate's fail rate (and each cell's) at each change in percent: the whole operating curve."""
    return {pct: simulate(recordings, gates, seed + i, pct / 100, [threshold], swap) for i, pct in enumerate(changes)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", type=int, default=1000, help="gates per change (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    parser.add_argument("--fail-on", default="time:10%", help="the threshold (default: %(default)s)")
    parser.add_argument("--slowdowns", default=",".join(f"{c:g}" for c in CURVE),
                        help="changes in percent (default: %(default)s)")
    parser.add_argument("--swap", choices=SWAPS, default="rounds",
                        help="how the null is made true: per round, or whole sides (default: %(default)s)")
    parser.add_argument("--recordings", type=Path, default=RECORDINGS,
                        help="a folder of recordings, its subfolders included (default: %(default)s)")
    args = parser.parse_args(argv)
    recordings = load_recordings(args.recordings)
    threshold = parse_threshold(args.fail_on)
    print(f"{len(recordings)} recordings ({', '.join(r.name for r in recordings)}), "
          f"{recordings[0].rounds} rounds; {args.gates} gates per change; --fail-on {threshold.text} "
          f"(tolerance {threshold.tolerance * 100:g} %); swap {args.swap}; seed {args.seed}")
    changes = tuple(float(x) for x in args.slowdowns.split(",") if x.strip())
    for pct, r in operating_curve(recordings, threshold, args.gates, args.seed, changes, args.swap).items():
        cells = ", ".join(f"{cid.split('/')[1]} {share:.1%}" for cid, share in r["cells"].items())
        print(f"{pct:4g} % slower: gates failed {r['failed']:.1%} (inconclusive, not failed {r['inconclusive']:.1%}); "
              f"hello-cpu cells caught: {cells}; median rounds {r['rounds']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

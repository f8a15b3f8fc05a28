"""How often the gate cries wolf, and how often it catches a slowdown, on synthetic runs.

Thousands of synthetic comparisons go through the real ``bench.compare.compare`` (nothing is
measured, no process is started): each gate compares a baseline and a candidate with the gate
profile's shape (hello-cpu and hello-sleep x sequential w1, threads w2, processes w2, on 2 cores;
the profile's processes, or rounds, and values per process) and the thresholds time:10% and
speedup:10%.

Noise model, clustered as real pyperf processes are: each value of process k of a cell is

    value = mu x (1 + process effect) x (1 + value noise)

with the process effect ~ N(0, between CV) drawn once per process, and the value noise ~ N(0,
within CV) per value. ``--round-share`` puts that share of the process effect's variance on the
round (base and cand of one ab round share a layout; 0 by default: every process is independent,
the least that pairing can gain). Each process also reads a canary: 50 ms x (1 + N(0, between CV)).

A/A gates compare two draws of the same run (any failed gate is a false alarm); A/B gates make every
hello-cpu cell's time x1.10 in the candidate (a failed gate is a catch; speedups are unchanged).
Both paired (``gilbench ab``: same rounds, ``interleaved_with``) and unpaired (separate runs).

    .venv/bin/python scripts/simulate_gate.py [--gates 2000] [--seed 1] [--round-share 0]

Prints, per noise level and pairing, the share of A/A gates that failed, the share of A/B gates that
failed, the share of hello-cpu time rows caught, their median MDE, and the share of rows inconclusive.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gilbench.bench.compare import RunSide, Threshold, compare  # noqa: E402
from gilbench.bench.matrix import PROFILES, Cell  # noqa: E402
from gilbench.bench.model import CellRecord, ProcessRecord  # noqa: E402

#: cell -> (backend, workers, kind, seconds a batch): the gate profile's cells on 2 cores
CELLS = {
    ("hello-cpu", "sequential", 1): ("cpu-bound", 0.200),
    ("hello-cpu", "threads", 2): ("cpu-bound", 0.205),
    ("hello-cpu", "processes", 2): ("cpu-bound", 0.110),
    ("hello-sleep", "sequential", 1): ("io-bound", 0.200),
    ("hello-sleep", "threads", 2): ("io-bound", 0.101),
    ("hello-sleep", "processes", 2): ("io-bound", 0.104),
}
CORES = 2
THRESHOLDS = [Threshold("time", 10.0), Threshold("speedup", 10.0)]
NOISE = [(0.03, 0.01), (0.10, 0.02)]  # (between-process CV, within-process CV)
SLOWDOWN = 1.10
MACHINE = {"cpu_model": "synthetic", "logical_cpus": CORES, "python_version": "3.11"}


@dataclass(frozen=True)
class Setup:
    rounds: int
    values: int
    between: float
    within: float
    paired: bool
    round_share: float = 0.0


def _cell(workload: str, backend: str, workers: int) -> Cell:
    return Cell(workload, backend, workers, CORES, tuple(range(CORES)), tasks=4)


def draw_side(setup: Setup, rng: np.random.Generator, round_effects: np.ndarray, slow: float = 1.0,
              name: str = "run") -> RunSide:
    """One synthetic run: every cell's processes under the clustered noise model.

    ``round_effects`` (cells x rounds) is the share of each process's effect its round shares with
    the other side; ``slow`` multiplies every hello-cpu cell's time.
    """
    own_sd = setup.between * math.sqrt(1 - setup.round_share)
    cells = {}
    for i, ((workload, backend, workers), (kind, mu)) in enumerate(CELLS.items()):
        scale = slow if workload == "hello-cpu" else 1.0
        effects = round_effects[i] + rng.normal(0.0, own_sd, setup.rounds)
        noise = rng.normal(0.0, setup.within, (setup.rounds, setup.values))
        canaries = 0.05 * (1 + rng.normal(0.0, setup.between, setup.rounds))
        values = mu * scale * (1 + effects)[:, None] * (1 + noise)
        processes = [ProcessRecord(index=k, pad=64 * k, values=values[k].tolist(), canary=float(canaries[k]))
                     for k in range(setup.rounds)]
        record = CellRecord(_cell(workload, backend, workers), kind, baseline=backend == "sequential",
                            status="ok", processes=processes)
        cells[record.id] = record
    return RunSide(name, MACHINE, cells, "sim-ab" if setup.paired else "")


def one_gate(setup: Setup, rng: np.random.Generator, slow: float):
    """(gate failed, hello-cpu time rows caught, rows, inconclusive rows, the hello-cpu time rows' MDEs)
    of one synthetic comparison."""
    shared = rng.normal(0.0, setup.between * math.sqrt(setup.round_share), (len(CELLS), setup.rounds))
    base = draw_side(setup, rng, shared, name="base")
    # a separate run shares nothing with the baseline; an ab round shares its layout
    cand_shared = shared if setup.paired else rng.normal(0.0, setup.between * math.sqrt(setup.round_share),
                                                         shared.shape)
    cand = draw_side(setup, rng, cand_shared, slow=slow, name="cand")
    result = compare(base, cand, THRESHOLDS)
    cpu_time = [r for r in result.rows if r.metric == "time" and r.id.startswith("hello-cpu/")]
    caught = sum(r.regression for r in cpu_time)
    return bool(result.regressions), caught, len(result.rows), len(result.inconclusive), [r.mde for r in cpu_time]


def simulate(setup: Setup, gates: int, seed: int, kinds: tuple[str, ...] = ("aa", "ab")) -> dict[str, float]:
    """A/A and A/B rates of ``gates`` gates each (seeded): ``{kind}_failed`` (the share of gates that
    failed), ``{kind}_cpu_rows_caught`` (of hello-cpu time rows), ``{kind}_inconclusive`` (of rows),
    ``{kind}_cpu_mde`` (the median MDE of hello-cpu time rows)."""
    rng = np.random.default_rng(seed)
    out = {}
    for kind, slow in (("aa", 1.0), ("ab", SLOWDOWN)):
        if kind not in kinds:
            continue
        failed = caught = rows = inconclusive = 0
        mdes: list[float] = []
        for _ in range(gates):
            f, c, n, i, m = one_gate(setup, rng, slow)
            failed += f
            caught += c
            rows += n
            inconclusive += i
            mdes += m
        out[f"{kind}_failed"] = failed / gates
        out[f"{kind}_cpu_rows_caught"] = caught / (gates * 3)
        out[f"{kind}_inconclusive"] = inconclusive / rows
        out[f"{kind}_cpu_mde"] = float(np.median(mdes))
    return out


def main(argv: list[str] | None = None) -> int:
    gate = PROFILES["gate"].timing
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", type=int, default=2000, help="A/A and A/B gates per noise level and pairing "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=gate.processes,
                        help="processes (rounds) per cell (default: the gate profile's, %(default)s)")
    parser.add_argument("--values", type=int, default=gate.values,
                        help="values per process (default: the gate profile's, %(default)s)")
    parser.add_argument("--round-share", type=float, default=0.0,
                        help="share of the process effect's variance both sides of an ab round share "
                        "(default: %(default)s)")
    args = parser.parse_args(argv)
    print(f"{args.gates} A/A and {args.gates} A/B gates per line; {args.rounds} processes x {args.values} values a "
          f"cell, {len(CELLS)} cells, thresholds {', '.join(f'{t.metric}:{t.percent:g}%' for t in THRESHOLDS)}; "
          f"A/B: hello-cpu time x{SLOWDOWN:.2f}; seed {args.seed}")
    header = f"{'between':>8} {'within':>7} {'pairing':>9} {'A/A failed':>11} {'A/B failed':>11} " \
             f"{'cpu rows caught':>16} {'cpu MDE':>8} {'inconclusive A/A':>17} {'s':>5}"
    print(header)
    print("-" * len(header))
    for n, (between, within) in enumerate(NOISE):
        for paired in (True, False):
            started = time.perf_counter()
            setup = Setup(args.rounds, args.values, between, within, paired, args.round_share)
            r = simulate(setup, args.gates, args.seed * 1000 + n * 10 + paired)
            print(f"{between:>8.0%} {within:>7.0%} {'paired' if paired else 'unpaired':>9} "
                  f"{r['aa_failed']:>11.2%} {r['ab_failed']:>11.1%} {r['ab_cpu_rows_caught']:>16.1%} "
                  f"{r['aa_cpu_mde']:>8.1%} {r['aa_inconclusive']:>17.1%} {time.perf_counter() - started:>5.0f}")
    print("A/A failed: equal runs that failed the gate (target: at most 1 %); A/B failed: the gate caught the\n"
          "slowdown; cpu rows caught: hello-cpu time rows that were regressions in A/B; cpu MDE: their median\n"
          "minimum detectable effect in A/A (above 10 %: inconclusive, the noise hides a 10 % change)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

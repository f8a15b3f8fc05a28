"""The canary, shown: whether the two sides' machines ran at the same speed (step 6 of the rule in
``bench.judge.compare``).

Why apart: the canary (a fixed reference loop every measured process times before the workload is imported)
only ever adds a note; keeping it out of the verdict's modules makes it plain that it never excuses a row:
code that slows the interpreter slows the canary too.
"""

from __future__ import annotations

import math
import statistics

from ..data import stats
from .family import ALPHA
from .result import Comparison
from .sides import RunSide

#: the canary ratio beyond which (and significant) the two sides' machines differed in speed
MACHINE_TOLERANCE = 0.05


def machine_speed(base: RunSide, cand: RunSide, paired: bool) -> tuple[float, tuple[float, float], float, float]:
    """(canary ratio cand/base, its 1 - ALPHA interval, p, the canary's own A/A spread).

    Paired: the per-round log ratios of the canary (the spread is their sd: what the same fixed work
    moves between two processes of one round); unpaired: Welch on the logs (the spread is the sd of
    the logs within the baseline run)."""
    b, c = base.canaries(), cand.canaries()
    if paired:
        d = [math.log(c[k] / b[k]) for k in b if k in c]
        if len(d) < 2:
            return math.nan, (math.nan, math.nan), math.nan, math.nan
        low, high = stats.hodges_lehmann_bounds(d, ALPHA / 2)
        p = min(1.0, 2 * min(stats.signed_rank_p(d, "greater"), stats.signed_rank_p(d, "less")))
        return math.exp(stats.hodges_lehmann(d)), (math.exp(low), math.exp(high)), p, statistics.stdev(d)
    lb, lc = [math.log(x) for x in b.values()], [math.log(x) for x in c.values()]
    est, se, df = stats.welch([(+1, lc), (-1, lb)])
    if math.isnan(est):
        return math.nan, (math.nan, math.nan), math.nan, math.nan
    half = stats.t_quantile(1 - ALPHA / 2, df) * se
    return (math.exp(est), (math.exp(est - half), math.exp(est + half)), stats.welch_p(est, se, df),
            statistics.stdev(lb))


def check_machine_speed(result: Comparison, base: RunSide, cand: RunSide) -> None:
    """Fill in the comparison's machine speed fields and note; whether it differed beyond ``MACHINE_TOLERANCE``
    only ever adds a note to a time row of CPU work."""
    ratio, ci, p, spread = machine_speed(base, cand, result.paired)
    result.machine_speed_ratio, result.machine_speed_ci, result.machine_speed_p = ratio, ci, p
    result.machine_speed_spread = spread
    if math.isnan(p):
        result.machine_speed_note = "machine speed not checked: too few processes with a canary"
        return
    differs = p < ALPHA and abs(ratio - 1) > MACHINE_TOLERANCE
    change = f"{(ratio - 1) * 100:+.1f} %"
    if differs:
        faster = "slower" if ratio > 1 else "faster"
        result.machine_speed_note = (f"the candidate's machine ran {faster}: canary {change}, the canary's own "
                                     f"spread {spread * 100:.1f} %")
    elif p >= ALPHA:
        result.machine_speed_note = f"machine speed the same within the noise (canary {change}, p {p:.2g})"
    else:
        result.machine_speed_note = (f"machine speed the same within {MACHINE_TOLERANCE * 100:g} % "
                                     f"(canary {change})")
    result.machine_speed_differed = differs

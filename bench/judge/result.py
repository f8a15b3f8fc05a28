"""What a comparison gives: one ``Row`` per cell, metric and summary, and the ``Comparison`` that holds them.

Why apart: these are the judge's only output, plain data that reports/ renders (``reports.comparison``) and
``gilbench ab`` reads at each look; they decide nothing (``bench.judge.compare`` fills them in), so what an
output may show is read here without the tests. ``to_dict`` is the comparison's strict JSON (compare.json).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..data.thresholds import Threshold
from .family import ALPHA, PASS_ERROR, POWER, SUMMARIES
from .floor import Floor
from .rule import INCONCLUSIVE
from .sequential import Design


@dataclass
class Row:
    """One cell, metric and summary compared."""

    id: str
    metric: str
    verdict: str
    summary: str = ""
    base: float = math.nan
    cand: float = math.nan
    ratio: float = math.nan  # the estimated candidate / baseline (exp of the log change)
    ci_low: float = math.nan  # the bounds of the ratio at the row's level (each one-sided)
    ci_high: float = math.nan
    p_value: float = math.nan  # one-sided, in the worse direction, at the look that decided
    level: float = math.nan  # the level that look tested at
    mde: float = math.nan
    threshold: float = math.nan  # T: a change shown below it passes
    tolerance: float = math.nan  # M: a change shown above it fails
    #: the change (worse direction) this row fails with probability POWER at its last look, on this
    #: noise: above the threshold, a change of T can end inconclusive here
    resolvable: float = math.nan
    pass_level: float = math.nan  # the level of the upper bound that a pass must clear
    floor: float = 0.0  # separate runs: the run-to-run prediction bound the row's bounds were widened to
    n_base: int = 0  # processes
    n_cand: int = 0
    regression: bool = False
    note: str = ""
    pairs: int = 0  # rounds used, paired; 0 unpaired
    look: int = 0  # the look (1-based) that decided the row; 0 when no look did
    decided: bool = False
    weight: float = 0.0
    kind: str = ""  # the workload's kind (io-bound rows get no canary note)
    between_base: float = math.nan  # the between-process share of the variance of the cell's values
    between_cand: float = math.nan
    n_eff_base: float = math.nan  # effective number of independent values (Kish)
    n_eff_cand: float = math.nan

    @property
    def change(self) -> float:
        return self.ratio - 1

    @property
    def label(self) -> str:
        return f"{self.metric} ({self.summary})" if self.summary and len(SUMMARIES[self.metric]) > 1 else self.metric


def _json_safe(x: Any) -> Any:
    """JSON has no NaN or Infinity: such floats become None, recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


@dataclass
class Comparison:
    """Every row of one comparison, with what it was judged under: the environment, design or floor, canary."""

    base: str
    cand: str
    thresholds: list[Threshold]
    rows: list[Row] = field(default_factory=list)
    environment: list[tuple[str, str, str, bool]] = field(default_factory=list)  # key, base, cand, differs
    not_comparable: str = ""
    paired: bool = False
    rounds: int = 0  # the most rounds any paired row used
    family: int = 0  # rows in the family
    design: Design | None = None
    floor: Floor | None = None  # unpaired only
    machine_speed_ratio: float = math.nan  # canary time, candidate / baseline
    machine_speed_ci: tuple[float, float] = (math.nan, math.nan)
    machine_speed_p: float = math.nan
    machine_speed_spread: float = math.nan  # the canary's own A/A spread: sd of its per-round log ratios
    machine_speed_differed: bool = False  # p < ALPHA and beyond MACHINE_TOLERANCE
    machine_speed_note: str = ""
    scaled: str = ""  # the sides' --scale, when they differ

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regression]

    @property
    def inconclusive(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == INCONCLUSIVE]

    @property
    def unresolvable(self) -> list[Row]:
        """Rows whose noise, in these rounds, resolves less than their threshold: a change of T can end
        inconclusive there (the guarantee that T fails in POWER of gates does not hold for them)."""
        return [r for r in self.rows if r.resolvable > r.threshold]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, strict JSON: every NaN or infinity is None."""
        return _json_safe({
            "base": self.base,
            "cand": self.cand,
            "thresholds": [asdict(t) for t in self.thresholds],
            "not_comparable": self.not_comparable,
            "paired": self.paired,
            "rounds": self.rounds,
            "family": self.family,
            "alpha": ALPHA,
            "pass_error": PASS_ERROR,
            "power": POWER,
            "design": self.design.to_dict() if self.design else None,
            "floor": ({"runs": self.floor.runs, "source": self.floor.source, "paths": list(self.floor.paths),
                       "rows": [[c, s, f.sd, f.runs] for (c, s), f in sorted(self.floor.by_row.items())]}
                      if self.floor else None),
            "scaled": self.scaled,
            "machine_speed": {"ratio": self.machine_speed_ratio, "ci": list(self.machine_speed_ci),
                              "p": self.machine_speed_p, "spread": self.machine_speed_spread,
                              "differed": self.machine_speed_differed, "note": self.machine_speed_note},
            "environment": [list(e) for e in self.environment],
            "rows": [{**asdict(r), "label": r.label} for r in self.rows],
        })

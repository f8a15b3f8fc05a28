"""The gate's group-sequential design: at which rounds ``gilbench ab`` looks, and how much of a row's
error budget each look may spend.

Why looks: most rows of a gate are decided long before the last round (a sleep-bound cell's rounds
agree to 0.1 %), while a CPU-bound cell on a busy machine needs 30 rounds to see 5 %. Looking at a
few fixed rounds and stopping each cell as soon as every row that reads it is decided keeps the
gate short without losing power where it is needed.

Why the error stays known: a row's share of the family's ``ALPHA`` is split over the looks
(Bonferroni over looks, weights summing to 1), so the chance that a row with no change is ever
called a regression, at any look, is at most its share. The last look gets the largest weight,
where the rounds are most. A row stops early for futility (its upper bound below half its
threshold) at the same level, so a real regression of half the threshold is stopped for futility
at most as often as a look's level, and never excused by the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: where the looks fall, as shares of the most rounds, and each look's share of a row's budget
STEP_SHARE = (0.4, 0.7, 1.0)
WEIGHTS = (0.2, 0.3, 0.5)
#: below this many rounds a run has one look, at its end
MIN_SEQUENTIAL_ROUNDS = 24


@dataclass(frozen=True)
class Design:
    """The looks (round counts, ascending) and each look's share of a row's error budget."""

    looks: tuple[int, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.looks) != len(self.weights) or not self.looks:
            raise ValueError("a design needs one weight per look")
        if list(self.looks) != sorted(set(self.looks)) or self.looks[0] < 1:
            raise ValueError(f"looks must be distinct, ascending round counts, not {self.looks}")
        if abs(sum(self.weights) - 1) > 1e-9 or min(self.weights) <= 0:
            raise ValueError(f"weights must be positive and sum to 1, not {self.weights}")

    @property
    def rounds(self) -> int:
        """The most rounds a cell runs."""
        return self.looks[-1]

    def level(self, look: int, row_alpha: float) -> float:
        """The one-sided level a row with budget ``row_alpha`` tests at, at look index ``look``."""
        return row_alpha * self.weights[look]

    def to_dict(self) -> dict[str, Any]:
        return {"looks": list(self.looks), "weights": list(self.weights)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Design":
        return cls(tuple(int(x) for x in data["looks"]), tuple(float(x) for x in data["weights"]))


def design_for(rounds: int) -> Design:
    """The gate's design for at most ``rounds`` rounds: looks at 40 %, 70 % and all of them, weighted
    0.2, 0.3, 0.5; one look at the end below ``MIN_SEQUENTIAL_ROUNDS``."""
    if rounds < MIN_SEQUENTIAL_ROUNDS:
        return Design((rounds,), (1.0,))
    looks = tuple(sorted({max(1, round(rounds * s)) for s in STEP_SHARE}))
    return Design(looks, WEIGHTS if len(looks) == len(WEIGHTS) else tuple([1 / len(looks)] * len(looks)))


def single(rounds: int) -> Design:
    """One look at ``rounds``: a comparison without a sequential schedule (a fixed number of rounds)."""
    return Design((max(1, rounds),), (1.0,))

"""A comparison of two runs, shown three ways: a terminal table, Markdown for CI, and one HTML page.

Reads a ``bench.judge.result.Comparison`` (and, for the HTML charts, both run folders); runs nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import jinja2

from ..bench.judge.family import ALPHA, GUARD_PASS_ERROR, PASS_ERROR, POWER
from ..bench.judge.result import Comparison, Row
from ..bench.judge.rule import FAILED, INCONCLUSIVE
from . import figures
from .frame import load
from .outputs.html import figure_data_uri

#: for Markdown, where GitHub renders them; the HTML page colours its rows instead
VERDICT_MARKS = {"slower": "❌", "worse": "❌", "more work": "❌", "more CPU": "❌", FAILED: "❌", "faster": "✅",
                 "better": "✅", "less work": "✅", "less CPU": "✅", "no change": "·", "no regression": "·",
                 INCONCLUSIVE: "❔", "not comparable": "⚠"}


def pct(x: float, signed: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:+.1f}%" if signed else f"{x * 100:.1f}%"


def interval(row: Row) -> str:
    if math.isnan(row.ci_low):
        return "–"
    return f"[{pct(row.ci_low - 1)}, {pct(row.ci_high - 1)}]".replace("+inf%", "∞").replace("-inf%", "-∞")


def value(row: Row, x: float) -> str:
    if math.isnan(x):
        return "–"
    if row.metric == "instructions":
        return f"{x / 1e6:,.2f} M instr"
    return f"{x * 1e3:.1f} ms" if row.metric in ("time", "cpu") else f"{x:.2f}"


def _sides(base: float, cand: float, fmt) -> str:
    if math.isnan(base) and math.isnan(cand):
        return "–"
    return f"{fmt(base)}|{fmt(cand)}"


def _share(x: float) -> str:
    return "–" if math.isnan(x) else f"{x * 100:.0f}%"


def _count(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.0f}"


def _processes(row: Row) -> str:
    if row.pairs:
        return f"{row.pairs} pairs"
    return f"{row.n_base}|{row.n_cand}" if row.n_base or row.n_cand else "–"


def _zone_words(rows: list[Row]) -> str:
    found = {(r.tolerance, r.threshold) for r in rows}
    if len(found) == 1:
        tolerance, threshold = found.pop()
        return f"the tolerance {tolerance * 100:g} % nor below the threshold {threshold * 100:g} %"
    return "their tolerance nor below their threshold"


def summary(comparison: Comparison) -> str:
    """The headline: regressions, rows the rounds could not decide, and counts."""
    n = len(comparison.regressions)
    counts: dict[str, int] = {}
    for row in comparison.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    head = f"{n} regression{'s' if n != 1 else ''} beyond the thresholds" if n else "no regression beyond the thresholds"
    unsure = comparison.inconclusive
    if unsure:
        head += (f"; {len(unsure)} of {len(comparison.rows)} row{'s' if len(comparison.rows) != 1 else ''} "
                 f"undecided: neither shown above {_zone_words(unsure)}")
    return f"{head} ({detail})"


def guarantees(comparison: Comparison) -> str:
    """What the gate promises for this comparison, and the cells it cannot keep that promise for."""
    zones = sorted({(r.metric, r.tolerance, r.threshold) for r in comparison.rows if r.threshold == r.threshold})
    said = "; ".join(f"{m}: fails a change shown above {tol * 100:g} %, passes one shown below {t * 100:g} %"
                     for m, tol, t in zones) or "no rows"
    weak = sorted({r.id for r in comparison.unresolvable})
    promise = (f"no change, or a change up to the tolerance, fails at most {ALPHA:.0%} of gates; a change of the "
               f"threshold or more fails at least {POWER:.0%} of gates in every cell that resolves it")
    cells = (f"; {len(weak)} cell(s) cannot resolve their threshold in these rounds on this noise (a change of the "
             f"threshold can end inconclusive there): {', '.join(weak)}" if weak else "")
    return f"gate: {said}. Guarantees: {promise}{cells}"


def pairing(comparison: Comparison) -> str:
    if comparison.paired:
        design = comparison.design
        looks = ", ".join(map(str, design.looks)) if design else "?"
        return (f"paired by round: up to {comparison.rounds} rounds, looks at {looks} (one gilbench ab; each row "
                "tests the per-round log ratios: exact one-sided signed-rank, Hodges-Lehmann change and bounds)")
    floor = comparison.floor
    where = f"; run-to-run spread: {floor.source}" if floor else ""
    return f"unpaired: separate runs (each row: Welch t on the processes' logs){where}"


def machine_line(comparison: Comparison) -> str:
    """The canary's reading of the two sides' machine speed, with its own spread; it judges nothing."""
    ratio, (low, high), p = comparison.machine_speed_ratio, comparison.machine_speed_ci, comparison.machine_speed_p
    if math.isnan(ratio):
        return comparison.machine_speed_note
    figure = (f"canary time, candidate / baseline {pct(ratio - 1)} [{pct(low - 1)}, {pct(high - 1)}], p {p:.2g}; "
              f"its own spread {pct(comparison.machine_speed_spread, signed=False)}")
    said = "differed" if comparison.machine_speed_differed else "the same"
    return f"machine speed {said} ({figure}); shown only: the canary never withdraws a row from the gate"


def rule(comparison: Comparison) -> str:
    m = comparison.family
    return (f"rule: the {m} row{'s' if m != 1 else ''} share alpha {ALPHA:g} (min and speedup rows weight 2, the "
            "mean guard 1), split over the looks; a row is a regression when its lower bound (at its share of "
            "alpha) is above its tolerance M (default half the threshold), or when its cell crashed in the "
            f"candidate; it passes when its upper bound (at {PASS_ERROR:g}, a guard's at {GUARD_PASS_ERROR:g}) is below its threshold T; "
            "separate runs' time bounds are widened to the run-to-run prediction bound; inconclusive: neither "
            "(rule: bench/judge/compare.py)")


LEGEND = ("bounds: the lower at the row's level, the upper at the level a pass must clear; resolves: the change "
          f"that fails {POWER:.0%} of gates in these rounds on this noise; n: processes a side (pairs: rounds); between: the share of the values' variance that lies between "
          "processes; n_eff: the values' effective number of independent samples (baseline|candidate)")


def _cells(row: Row) -> list[str]:
    p = "–" if math.isnan(row.p_value) else f"{row.p_value:.2g} / {row.level:.2g}"
    return [row.id, row.label, value(row, row.base), value(row, row.cand), pct(row.change), interval(row),
            p, pct(row.resolvable, signed=False), _processes(row),
            _sides(row.between_base, row.between_cand, _share), _sides(row.n_eff_base, row.n_eff_cand, _count),
            row.verdict, row.note]


HEADER = ["cell", "metric", "baseline", "candidate", "change", "bounds", "p / level", "resolves",
          "n", "between", "n_eff", "verdict", "note"]


def explanation(comparison: Comparison) -> list[str]:
    """The lines under the table: how the rows were paired, the machine's speed, the rule."""
    return [guarantees(comparison), pairing(comparison), machine_line(comparison), rule(comparison), LEGEND]


def text(comparison: Comparison) -> str:
    """The terminal table, worst first."""
    rows = [HEADER] + [_cells(r) for r in comparison.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + ("  " + r[-1] if r[-1] else "") for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    thresholds = ", ".join(t.text for t in comparison.thresholds)
    lines += explanation(comparison)
    if comparison.not_comparable:
        lines.append(f"not comparable: {comparison.not_comparable}")
    lines.append(f"thresholds {thresholds}: {summary(comparison)}")
    return "\n".join(lines) + "\n"


def _md(text_: str) -> str:
    """Escape what Markdown or the HTML inside it would interpret."""
    out = text_.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_{}[]()#+!|~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def markdown(comparison: Comparison) -> str:
    """A summary for a CI job summary or a pull-request comment."""
    thresholds = ", ".join(f"`{t.text}`" for t in comparison.thresholds)
    lines = [
        "## gilbench comparison",
        "",
        f"**{_md(summary(comparison))}** (thresholds {thresholds})",
        "",
        f"Baseline `{_md(comparison.base)}`, candidate `{_md(comparison.cand)}`.",
        "",
    ]
    if comparison.not_comparable:
        lines += [f"> ⚠ Not comparable: {_md(comparison.not_comparable)}", ""]
    lines += ["| | " + " | ".join(HEADER) + " |", "|---" * (len(HEADER) + 1) + "|"]
    for row in comparison.rows:
        lines.append(f"| {VERDICT_MARKS.get(row.verdict, '')} | " + " | ".join(_md(c) for c in _cells(row)) + " |")
    differs = [e for e in comparison.environment if e[3]]
    if differs:
        lines += ["", "Environment differences: " + "; ".join(f"{_md(k)}: {_md(b)} → {_md(c)}" for k, b, c, _ in differs)]
    lines += [""] + [f"- {_md(line)}" for line in explanation(comparison)]
    return "\n".join(lines) + "\n"


def html(comparison: Comparison) -> str:
    """One self-contained page: the change per cell, both speedup curves, both environments."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("gilbench.reports", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    base_cells = cand_cells = None
    try:
        base_cells, cand_cells = load(comparison.base).cells, load(comparison.cand).cells
    except Exception:  # noqa: BLE001 - the comparison stands without the curves
        pass
    overlay = figures.speedup_overlay(base_cells, cand_cells) if base_cells is not None else None
    return env.get_template("compare.html.j2").render(
        c=comparison,
        summary=summary(comparison),
        header=HEADER,
        rows=[(r, _cells(r)) for r in comparison.rows],
        change_png=figure_data_uri(figures.change_figure(comparison.rows)),
        overlay_png=figure_data_uri(overlay),
        alpha=ALPHA,
        pairing=pairing(comparison),
        guarantees=guarantees(comparison),
        machine=machine_line(comparison),
        rule=rule(comparison),
        legend=LEGEND,
        names={"base": Path(comparison.base).name, "cand": Path(comparison.cand).name},
    )

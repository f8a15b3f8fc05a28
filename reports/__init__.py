"""How results are shown: reads a run folder, never runs anything.

``build(path)`` writes every registered output (report.html, results.csv, ...) into the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..bench.data.results import write_text_atomic
from .frame import load
from .outputs import all_outputs, get_output


def build(path: Path | str, names: Sequence[str] = ()) -> list[Path]:
    """Render the outputs named (default: all) from the run folder at ``path``; their paths."""
    run = load(path)
    outputs = [get_output(n) for n in names] if names else list(all_outputs().values())
    written = []
    for output in outputs:
        target = Path(path) / output.filename
        write_text_atomic(target, output().render(run))
        written.append(target)
    return written

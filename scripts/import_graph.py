"""The import graph of gilbench's four parts, as tests/test_layering.py checks it: every import counted, those
inside functions and under ``TYPE_CHECKING`` included.

    python scripts/import_graph.py      # modules, edges, cycles and room breaches; exit 1 if any

Why a script beside the test: the test says pass or fail; this shows the graph's size and what breaks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_layering import PARTS, _modules, cycles, import_graph, room_breaches  # noqa: E402


def main() -> int:
    graph = import_graph()
    found = cycles(graph)
    breaches = [b for part in PARTS for path in _modules(part) for b in room_breaches(path)]
    print(f"modules {len(graph)}, edges {sum(map(len, graph.values()))}, cycles {len(found)}, "
          f"room breaches {len(breaches)}")
    for component in found:
        print("cycle:", " ".join(component))
    for breach in breaches:
        print("breach:", breach)
    return 1 if found or breaches else 0


if __name__ == "__main__":
    raise SystemExit(main())

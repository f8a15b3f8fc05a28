"""gilbench: measure whether threads, processes, pools or subinterpreters win, for your workload.

One import name: the repository keeps its three folders ``bench/`` (how work is run and measured),
``workloads/`` (what runs) and ``reports/`` (what is shown) at its top level, and they are imported
as ``gilbench.bench``, ``gilbench.workloads`` and ``gilbench.reports``. An installed wheel holds them
inside this package; in a checkout this package's path is extended to the repository's root, so the
same names resolve there without the checkout's top level ever being put on ``sys.path`` (where a
user's own ``bench`` package would collide with it).
"""

import os as _os

__version__ = "0.2.0"

_here = _os.path.dirname(_os.path.abspath(__file__))
if not _os.path.isdir(_os.path.join(_here, "bench")):  # a checkout: bench/ is beside this folder
    __path__.append(_os.path.dirname(_here))  # type: ignore[name-defined]  # noqa: F821

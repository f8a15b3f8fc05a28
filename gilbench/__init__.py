"""gilbench: measure whether threads, processes, pools or subinterpreters win, for your workload.

One import name: the repository keeps its parts ``bench/`` (how work is run and measured),
``workloads/`` (what runs), ``reports/`` (what is shown) and ``experiments/`` at its top level, and they
are imported as ``gilbench.bench`` and so on; inside the parts imports are relative
(``from ..reports import frame``), so they resolve by path as well as at run time. An installed wheel
(or an editable install, through setuptools' package-dir mapping) holds the parts inside this package.
A bare checkout has them beside this folder: a finder maps exactly those four names there, so the
checkout's other folders (``tests``, ``scripts``) never become ``gilbench.tests`` and the checkout's top
level is never put on ``sys.path`` (where a user's own ``bench`` package would collide with it).
"""

import importlib.util as _util
import os as _os
import sys as _sys

__version__ = "0.2.0"

PARTS = ("bench", "workloads", "reports", "experiments")


class _CheckoutParts:
    """Finds ``gilbench.<part>`` in a checkout's top-level folder of that name, and nothing else.

    A meta path finder by protocol (``find_spec``), not by subclassing ``importlib.abc.MetaPathFinder``:
    importing ``importlib.abc`` imports ``importlib.resources``, ``tempfile`` and ``typing``, 9 ms of every
    gilbench process's start here (44 million instructions under an instruction counter)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201 (the finder protocol)
        prefix, _, part = fullname.partition(".")
        if prefix != __name__ or part not in PARTS:
            return None
        folder = _os.path.join(self.root, part)
        init = _os.path.join(folder, "__init__.py")
        if not _os.path.isfile(init):
            return None
        return _util.spec_from_file_location(fullname, init, submodule_search_locations=[folder])


_here = _os.path.dirname(_os.path.abspath(__file__))
if not _os.path.isdir(_os.path.join(_here, "bench")) and not any(
        isinstance(f, _CheckoutParts) for f in _sys.meta_path):  # a checkout: bench/ is beside this folder
    # first: an editable install of another checkout maps gilbench.bench too, and must not win here
    _sys.meta_path.insert(0, _CheckoutParts(_os.path.dirname(_here)))

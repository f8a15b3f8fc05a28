"""A folder that exposes the ``gilbench`` package and nothing else, for other processes' PYTHONPATH.

Interpreters under test and the sides of ``gilbench ab`` import gilbench's measuring code from this
installation. Putting the checkout's root (or, once installed, a site-packages folder) on their
PYTHONPATH would also expose the repository's top-level ``bench``/``workloads``/``reports`` folders,
which shadow a user's own packages of those names, or another Python version's compiled libraries.
A shim folder holding one package, ``gilbench``, whose parts (``PARTS``) are links, avoids both, and lets
``ab`` take ``workloads`` from a side's checkout while the other parts stay this one's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
from pathlib import Path

PARTS = ("bench", "workloads", "reports", "experiments")


def part_dirs() -> dict[str, Path]:
    """The folders this gilbench's parts are imported from (found, not imported: the reports'
    stack is heavy and the measuring side must not load it)."""
    dirs = {}
    for name in PARTS:
        spec = importlib.util.find_spec(f"gilbench.{name}")
        assert spec is not None and spec.submodule_search_locations, f"gilbench.{name} is not installed"
        dirs[name] = Path(list(spec.submodule_search_locations)[0]).resolve()
    return dirs


def _own_init() -> str:
    """The text of this gilbench's ``__init__``, which every shim copies."""
    return Path(str(importlib.util.find_spec("gilbench").origin)).read_text()


def make_shim(folder: Path, workloads_dir: Path | None = None) -> Path:
    """Write ``folder/gilbench`` (an ``__init__`` and links to the parts) and return ``folder``.

    ``workloads_dir`` replaces this installation's workloads (``ab`` measures a side's own).
    """
    dirs = part_dirs()
    if workloads_dir is not None:
        dirs["workloads"] = Path(workloads_dir).resolve()
    package = folder / "gilbench"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(_own_init())  # the same __init__ (version and all)
    for name, target in dirs.items():
        link = package / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        tmp = package / f".{name}.{os.getpid()}.{threading.get_ident()}"  # two threads of one process may race
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target, target_is_directory=True)
        os.replace(tmp, link)  # atomic: a concurrent reader sees the old link or the new one
    return folder


def shared_root(cache: Path | None = None) -> Path:
    """The shim for this installation, made once under the cache and reused."""
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gilbench" / "path"
    key = hashlib.sha256("|".join(str(p) for p in part_dirs().values()).encode()).hexdigest()[:16]
    folder = cache / key
    init = folder / "gilbench" / "__init__.py"
    # rewritten when this gilbench's __init__ changed (a version bump) as well as when missing
    if not init.is_file() or init.read_text() != _own_init() or any(
            not (folder / "gilbench" / p).is_dir() for p in PARTS):
        folder.mkdir(parents=True, exist_ok=True)
        make_shim(folder)
    return folder


def temporary_root(workloads_dir: Path | None = None) -> Path:
    """A fresh shim in a temporary folder (the caller removes it)."""
    return make_shim(Path(tempfile.mkdtemp(prefix="gilbench-path-")), workloads_dir)

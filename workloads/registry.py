"""The registry that finds every declared workload (``workloads.workload.Workload``).

A workload module declares one or more module-level ``Workload`` objects; the registry imports
every module of this package and collects them, so adding a workload is one new module.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import sys
from pathlib import Path

from .functions import Declaration, from_function, on_path, read_source
from .workload import Workload

def _modules() -> list[str]:
    """The names of this package's workload modules."""
    return [info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)])
            if not info.name.startswith("_") and info.name != "registry"]


def _discover() -> dict[str, Workload]:
    found: dict[str, Workload] = {}
    for name in _modules():
        module = importlib.import_module(f"{__package__}.{name}")
        for value in vars(module).values():
            if isinstance(value, Workload):
                if value.name in found and found[value.name] is not value:
                    raise ValueError(f"two workloads are named {value.name!r}")
                found[value.name] = value
    return dict(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, Workload]:
    return _discover()


#: workloads from users' own modules, with the spec each was loaded from
_loaded: dict[str, tuple[Workload, str]] = {}


def load_module(spec: str) -> list[Workload]:
    """Import a user's workload module (a dotted name, or a path to a .py file) and register its workloads.

    A file's folder is put on ``sys.path`` so that spawned children can import its functions too.
    Raises ValueError when the module cannot be imported or declares no Workload. A function
    workload's source (``workloads.functions``, what ``Cell.module`` carries for it) is loaded too.
    """
    if spec.startswith("{"):
        return [load_source(spec)]
    name = spec
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise ValueError(f"--workload-module {spec}: no such file")
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        name, spec = path.stem, str(path)
    elif os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a dotted name is the current directory's, as `python -m` finds it
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a user's module can fail in any way while importing
        raise ValueError(f"--workload-module {spec}: cannot import it ({type(exc).__name__}: {exc})") from None
    found = [v for v in vars(module).values() if isinstance(v, Workload)]
    if not found:
        raise ValueError(f"--workload-module {spec}: declares no Workload")
    for workload in found:
        if workload.name in _registry():
            raise ValueError(f"--workload-module {spec}: {workload.name!r} is already a built-in workload")
        _loaded[workload.name] = (workload, spec)
    return found


def register(workload: Workload, source: str) -> None:
    """Add a user's workload, with the source the measured processes load it from (``load_module``)."""
    if workload.name in _registry():
        raise ValueError(f"workload {workload.name!r} ({source}): the name of a built-in workload")
    known = _loaded.get(workload.name)
    if known and known[0] != workload:
        raise ValueError(f"two workloads are named {workload.name!r} ({known[1][:80]} and {source[:80]})")
    _loaded[workload.name] = (workload, source)


def source(name: str) -> str | None:
    """The module spec a user's workload was loaded from; None for a built-in one."""
    return _loaded[name][1] if name in _loaded else None


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[str, ...]:
    """The entry points' workloads, registered once (not cached on failure: the error comes again)."""
    from .entrypoints import declared  # only when a name is not found: a measured process never scans them

    return tuple(w.name for w in load_entry_points(declared()))


def load_function(spec: str, given: Declaration | None = None, default_name: str = "") -> Workload:
    """``from_function``, registered (``workloads.get`` finds it; ``workloads.source`` gives its source)."""
    workload, source = from_function(spec, given, default_name)
    register(workload, source)
    return workload


def load_source(source: str) -> Workload:
    """The workload a source (``from_function``'s JSON) describes, registered: what a worker does."""
    spec, given, path = read_source(source)
    if path and not on_path(path):
        sys.path.insert(0, path)
    return load_function(spec, given)


def load_entry_points(found: list[tuple[str, str, list[tuple[Workload, str]]]]) -> list[Workload]:
    """Register the workloads the installed distributions declare (``entrypoints.declared``); their list."""
    loaded = []
    for where, value, pairs in found:
        for workload, source in pairs:
            try:
                register(workload, source)
            except ValueError as exc:
                raise ValueError(f"{where}: {str(exc).removeprefix(f'workload {value!r}: ')}") from None
            loaded.append(workload)
    return loaded


def all_workloads(installed: bool = True) -> dict[str, Workload]:
    """Every declared workload, by name: the built-in ones, those of loaded modules and functions, and
    (``installed``) those of installed distributions' entry points (``workloads.entrypoints``)."""
    if installed:
        _installed()
    return {**_registry(), **{name: w for name, (w, _) in _loaded.items()}}


def get(name: str) -> Workload:
    """The workload called ``name``; a ValueError naming the accepted names otherwise.

    Entry points are loaded only for a name not found without them (a measured process never needs them).
    """
    if name in _loaded:
        return _loaded[name][0]
    if not _registry.cache_info().currsize:  # nothing discovered yet: import only the module that names it
        found = _find(name)
        if found is not None:
            return found
    registry = all_workloads(installed=name not in _registry() and name not in _loaded)
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown workload {name!r} (accepted: {', '.join(registry)}), or a function of yours "
                         "as package.module:function") from None


@functools.lru_cache(maxsize=None)
def _find(name: str) -> Workload | None:
    """The built-in workload called ``name``, importing only the modules whose source has it in quotes;
    None when none declares it so (a computed name: discovery decides).

    A measured or counted process needs one workload: importing every module imports what each of them
    needs (multiprocessing, socket, hashlib, bz2), 7 ms of start-up natively and 70 million instructions
    under an instruction counter, in every process."""
    folder = Path(__file__).parent
    for module_name in _modules():
        try:
            text = (folder / f"{module_name}.py").read_text(encoding="utf-8")
            named = f'"{name}"' in text or f"'{name}'" in text
        except (OSError, UnicodeDecodeError):
            named = True  # not a plain source file: import it to see
        if not named:
            continue
        module = importlib.import_module(f"{__package__}.{module_name}")
        for value in vars(module).values():
            if isinstance(value, Workload) and value.name == name:
                return value
    return None

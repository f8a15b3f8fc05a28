"""Finds the classes of a plugin package: every module in it, every subclass of a base it defines.

This is what makes a new backend or a new report output one new module, with nothing else edited.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Iterable, TypeVar

T = TypeVar("T")


def _modules(path: Iterable[str], skip: tuple[str, ...]) -> list[pkgutil.ModuleInfo]:
    """The plugin modules in ``path``: all but ``skip`` and the private ones."""
    return [info for info in pkgutil.iter_modules(list(path)) if info.name not in skip and not info.name.startswith("_")]


def _classes(module: object, base: type[T]) -> list[type[T]]:
    """The subclasses of ``base`` that ``module`` defines (not those it imports)."""
    return [value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, base) and value.__module__ == module.__name__]


def discover(package: str, path: Iterable[str], base: type[T], skip: tuple[str, ...] = ("base",)) -> dict[str, type[T]]:
    """{cls.name: cls} for each subclass of ``base`` defined in a module of ``package``."""
    found: dict[str, type[T]] = {}
    for info in _modules(path, skip):
        for value in _classes(importlib.import_module(f"{package}.{info.name}"), base):
            name = value.name
            if name in found:
                raise ValueError(f"two {base.__name__} classes are named {name!r}")
            found[name] = value
    return dict(sorted(found.items()))


def find(package: str, path: Iterable[str], base: type[T], name: str,
         skip: tuple[str, ...] = ("base",)) -> type[T] | None:
    """The subclass of ``base`` called ``name``, importing only the modules whose source assigns that name
    (``name = "..."``); None when none does (``discover`` then has the last word).

    A measured or counted process needs one class: importing every module of the package would import
    what each of them needs (asyncio, multiprocessing's pools, concurrent.futures), about 15 ms of
    start-up natively and 150 million instructions under an instruction counter, in every process."""
    wanted = re.compile(rf"^\s+name\s*=\s*[\"']{re.escape(name)}[\"']", re.M)
    for info in _modules(path, skip):
        folder = getattr(info.module_finder, "path", None)
        try:
            if folder and not wanted.search(Path(folder, f"{info.name}.py").read_text(encoding="utf-8")):
                continue
        except (OSError, UnicodeDecodeError):
            pass  # not a plain source file (a zip, a compiled module): import it to see
        for value in _classes(importlib.import_module(f"{package}.{info.name}"), base):
            if getattr(value, "name", None) == name:
                return value
    return None


def lookup(registry: dict[str, type[T]], name: str, what: str) -> type[T]:
    """registry[name], or a ValueError that names the accepted values."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r} (accepted: {', '.join(registry)})") from None

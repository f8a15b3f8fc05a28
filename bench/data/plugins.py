"""Finds the classes of a plugin package: every module in it, every subclass of a base it defines.

This is what makes a new backend or a new report output one new module, with nothing else edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable, TypeVar

T = TypeVar("T")


def discover(package: str, path: Iterable[str], base: type[T], skip: tuple[str, ...] = ("base",)) -> dict[str, type[T]]:
    """{cls.name: cls} for each subclass of ``base`` defined in a module of ``package``."""
    found: dict[str, type[T]] = {}
    for info in pkgutil.iter_modules(list(path)):
        if info.name in skip or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, base) and value.__module__ == module.__name__:
                name = value.name
                if name in found:
                    raise ValueError(f"two {base.__name__} classes are named {name!r}")
                found[name] = value
    return dict(sorted(found.items()))


def lookup(registry: dict[str, type[T]], name: str, what: str) -> type[T]:
    """registry[name], or a ValueError that names the accepted values."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r} (accepted: {', '.join(registry)})") from None

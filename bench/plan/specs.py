"""The workloads a user names -> registered workload names.

``--workload`` (or the config's ``workloads``) takes registered names and ``package.module:function``
specs alike: a spec is imported and wrapped here (``workloads.functions``), declared by what the
command line says (``--kind``, ``--size-param``, ``--param``) over the config's table for that spec
over the function's own ``@workload``. The result is a list of names, which is all ``expand`` needs.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ... import workloads
from ...workloads import Declaration


def parse_value(text: str) -> Any:
    """A parameter value from the command line: a whole number, a number, true/false, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """["n=1000", "mode=fast"] -> {"n": 1000, "mode": "fast"}; ValueError naming a malformed item."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--param {item!r}: expected NAME=VALUE, e.g. --param n=1000")
        params[key.strip()] = parse_value(value.strip())
    return params


def declaration(kind: str | None, size: str | None, params: Sequence[str] | None) -> Declaration:
    """What the command line declares of the module:function workloads it names (``--kind``,
    ``--size-param``, ``--param``); ValueError naming a malformed ``--param``."""
    return Declaration(kind=kind or "", size=size or "", params=parse_params(params))


def is_spec(name: str) -> bool:
    """Whether ``name`` reads as ``package.module:function``."""
    return ":" in name


def resolve(names: Sequence[str], given: Declaration | None = None,
            declared: Mapping[str, Declaration] | None = None) -> list[str]:
    """``names`` with each ``module:function`` spec loaded and replaced by its workload's name.

    ``given`` (the command line's declaration) applies to every spec, over ``declared[spec]`` (the
    config's table). Raises ValueError when a spec cannot be made a workload, or when ``given``
    declares something while no spec was named.
    """
    given = given or Declaration()
    declared = declared or {}
    known = workloads.all_workloads(installed=False)
    resolved, specs = [], 0
    for name in names:
        if name in known or not is_spec(name):
            resolved.append(name)
            continue
        specs += 1
        resolved.append(workloads.load_function(name, given.over(declared.get(name, Declaration()))).name)
    if specs == 0 and not given.empty:
        raise ValueError("--kind, --size-param and --param declare a module:function workload; name one with "
                         "--workload package.module:function")
    return resolved

"""A plain function as a workload: ``package.module:function``, declared by ``@workload`` or by the caller.

A user's project should not need a module of ``Workload`` declarations to be measured: its function
becomes one here. Its parameters are its signature's defaults; its kind and size parameter come from
the ``workload`` decorator or from the caller (the command line, the config file), which override
the decorator. What cannot be worked out is refused with the way to give it.

The measured processes must rebuild exactly the same workload: ``registry.load_function`` registers it with
a *source*, a JSON string that ``Cell.module`` carries to them (``registry.load_module`` recognises
it): the spec, the whole declaration, and the folder the function's package was imported from when
that was the current directory, so that a worker finds it whatever its working directory.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from .workload import KINDS, Workload

#: parameter values a cell can carry (JSON) and ``Workload.resolve`` can convert
SIMPLE = (bool, int, float, str)
#: the attribute ``@workload`` sets on the function
ATTRIBUTE = "__gilbench_workload__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Declaration:
    """What is said about a function workload; an empty field is "not said"."""

    kind: str = ""
    size: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    description: str = ""

    def over(self, base: "Declaration") -> "Declaration":
        """This declaration's fields where said, ``base``'s elsewhere (parameters merged by name)."""
        return Declaration(kind=self.kind or base.kind, size=self.size or base.size,
                           params={**base.params, **self.params}, name=self.name or base.name,
                           description=self.description or base.description)

    @property
    def empty(self) -> bool:
        return not (self.kind or self.size or self.params or self.name or self.description)


def workload(func: F | None = None, *, kind: str = "", size: str = "", params: Mapping[str, Any] | None = None,
             name: str = "", description: str = "") -> Any:
    """Declare a function as a workload: ``@workload(kind="cpu-bound", size="n")`` (or bare ``@workload``).

    The function is returned itself, with the declaration attached: pickled by reference, it is still
    what spawned children import. ``params`` override its defaults; ``size`` names the parameter the
    profiles scale.
    """
    if kind and kind not in KINDS:
        raise ValueError(f"@workload: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    declaration = Declaration(kind, size, dict(params or {}), name, description)

    def attach(f: F) -> F:
        setattr(f, ATTRIBUTE, declaration)
        return f

    return attach(func) if func is not None else attach


def _split(spec: str) -> tuple[str, str]:
    module, sep, attr = spec.partition(":")
    if not sep or not module.strip() or not attr.strip():
        raise ValueError(f"workload {spec!r}: expected package.module:function")
    return module.strip(), attr.strip()


def on_path(folder: str) -> bool:
    real = os.path.realpath(folder)
    return any(os.path.realpath(p or os.curdir) == real for p in sys.path)


def _import(spec: str, name: str) -> Any:
    """Import ``name`` the way ``python -m`` would from the current directory."""
    if not on_path(os.getcwd()):
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ValueError(f"workload {spec!r}: cannot import module {name!r}: no module named {exc.name!r} in "
                             f"the current directory ({os.getcwd()}) or on PYTHONPATH; run gilbench from your "
                             "project's folder") from None
        raise ValueError(f"workload {spec!r}: importing {name!r} failed ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # a user's module can fail in any way while importing
        raise ValueError(f"workload {spec!r}: importing {name!r} failed ({type(exc).__name__}: {exc})") from None


def _imported_from(module: Any) -> str | None:
    """The folder a module's top-level package was imported from, when that is the current directory."""
    top = sys.modules.get(module.__name__.split(".")[0])
    origin = getattr(top, "__file__", None)
    if not origin:
        return None
    folder = Path(origin).parent
    if Path(origin).name == "__init__.py":
        folder = folder.parent
    return str(folder) if os.path.realpath(folder) == os.path.realpath(os.getcwd()) else None


def _convert(spec: str, key: str, value: Any, default: Any) -> Any:
    """A given parameter value, as the type of the function's default where there is one."""
    if not isinstance(value, SIMPLE):
        raise ValueError(f"workload {spec!r}: parameter {key!r} must be a number, a string or a boolean, "
                         f"not {type(value).__name__}")
    if default is inspect.Parameter.empty or not isinstance(default, SIMPLE) or isinstance(value, type(default)):
        return value
    if isinstance(default, bool) and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, str):
        return str(value)
    raise ValueError(f"workload {spec!r}: parameter {key}={value!r} is not of type {type(default).__name__} like "
                     f"its default {default!r}")


def _parameters(spec: str, func: Callable[..., Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The function's parameters after the index, their defaults overridden by ``given``."""
    kinds = inspect.Parameter
    signature = inspect.signature(func)
    items = list(signature.parameters.values())
    if not items or items[0].kind not in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD, kinds.VAR_POSITIONAL):
        raise ValueError(f"workload {spec!r}: {func.__name__}{signature} must take the task's index as its first "
                         f"argument: def {func.__name__}(index, n=1000)")
    rest = items[1:]
    named = {p.name: p for p in rest if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)}
    takes_any = any(p.kind == kinds.VAR_KEYWORD for p in rest)
    for key in given:
        if key not in named and not takes_any:
            raise ValueError(f"workload {spec!r}: {func.__name__} has no parameter {key!r} "
                             f"(its parameters: {', '.join(named) or 'none besides the index'})")
    missing = [n for n, p in named.items() if p.default is kinds.empty and n not in given]
    if missing:
        raise ValueError(f"workload {spec!r}: parameter {missing[0]!r} of {func.__name__} has no default; give it "
                         f"one (def {func.__name__}(index, {missing[0]}=...)), or --param {missing[0]}=VALUE, or "
                         f"params = {{ {missing[0]} = ... }} in its [tool.gilbench.workload] table")
    params = {n: p.default for n, p in named.items() if isinstance(p.default, SIMPLE)}
    for key, value in given.items():
        params[key] = _convert(spec, key, value, named[key].default if key in named else kinds.empty)
    return params


def from_function(spec: str, given: Declaration | None = None, default_name: str = "") -> tuple[Workload, str]:
    """The workload of ``package.module:function`` and its source for the workers.

    Declarations count in this order: ``given`` (the caller's), the function's ``@workload``, then
    what its signature says. A ``module:OBJECT`` naming a ``Workload`` gives that workload, and the
    module as its source. Raises ValueError naming the spec, what is missing and how to give it.
    """
    given = given or Declaration()
    module_name, attr = _split(spec)
    module = _import(spec, module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"workload {spec!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if isinstance(obj, Workload):
        return obj, module_name
    if not inspect.isfunction(obj):
        raise ValueError(f"workload {spec!r}: {attr} is not a function (it is of type {type(obj).__name__}); give a function "
                         "taking the task's index and its parameters: def f(index, n=1000)")
    if inspect.iscoroutinefunction(obj):
        raise ValueError(f"workload {spec!r}: {attr} is a coroutine function (async def); gilbench calls a "
                         "workload as a plain function: declare a Workload with func and async_func in a module "
                         "and give that module with --workload-module")
    declared = given.over(getattr(obj, ATTRIBUTE, Declaration()))
    params = _parameters(spec, obj, declared.params)
    table = f'[tool.gilbench.workload."{spec}"]'
    if not declared.kind:
        raise ValueError(f"workload {spec!r}: no kind: is it cpu-bound or io-bound? Give --kind cpu-bound|io-bound, "
                         f'kind = "..." in {table}, or @workload(kind=...) on {attr}')
    if declared.kind not in KINDS:
        raise ValueError(f"workload {spec!r}: kind must be one of {', '.join(KINDS)}, not {declared.kind!r}")
    numeric = [k for k, v in params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    size = declared.size or (numeric[0] if len(numeric) == 1 else "")
    if not size:
        choices = f" (one of {', '.join(numeric)})" if numeric else \
            f" after giving {attr} a numeric parameter with a default, e.g. def {attr}(index, n=1000)"
        raise ValueError(f"workload {spec!r}: no size parameter (the one the profiles scale to size a task): give "
                         f'--size-param NAME{choices}, size = "NAME" in {table}, or @workload(size=...) on {attr}')
    if size not in numeric:
        raise ValueError(f"workload {spec!r}: size parameter {size!r} is not a numeric parameter of {attr} "
                         f"(numeric ones: {', '.join(numeric) or 'none'})")
    doc = (inspect.getdoc(obj) or "").strip().splitlines()
    workload = Workload(name=declared.name or default_name or spec, kind=declared.kind, func=obj, params=params,
                        size_param=size, description=declared.description or (doc[0] if doc else ""))
    source = {"function": spec, "name": workload.name, "kind": workload.kind, "size": size, "params": params,
              "description": workload.description, "path": _imported_from(module)}
    return workload, json.dumps(source, sort_keys=True)


def read_source(source: str) -> tuple[str, Declaration, str | None]:
    """A source (``from_function``'s JSON) as (spec, declaration, the folder to import it from)."""
    try:
        data = json.loads(source)
        spec, path = data["function"], data.get("path")
        given = Declaration(kind=data["kind"], size=data["size"], params=data["params"], name=data["name"],
                            description=data.get("description", ""))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a function workload's source ({exc}): {source[:200]}") from None
    return spec, given, path

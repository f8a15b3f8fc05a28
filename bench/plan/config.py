"""A project's gilbench settings: ``[tool.gilbench]`` in pyproject.toml, or a gilbench.toml.

Why a file: what a project measures (its workloads, models, thresholds) belongs to the project, so
that a developer and CI run the same benchmark with a bare ``gilbench run``. The file is the nearest
one from the current directory up to the git root; a key given on the command line overrides it.
Every key is checked when the file is read: an unknown key or a bad value is an error naming the
file, the key and what is accepted, before anything runs.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Mapping

from ...workloads import KINDS, Declaration
from ..data.thresholds import METRICS, parse_threshold

FILENAME = "gilbench.toml"
PYPROJECT = "pyproject.toml"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the key and what is accepted."""


@dataclass(frozen=True)
class Config:
    """The settings of one file; ``None`` or empty is "not set" (the command line's default applies)."""

    path: Path
    profile: str | None = None
    workloads: tuple[str, ...] = ()
    #: per-workload declarations of ``module:function`` workloads, by spec
    workload: Mapping[str, Declaration] = field(default_factory=dict)
    workload_modules: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    workers: tuple[int, ...] = ()
    cores: tuple[int, ...] = ()
    tasks: int | None = None
    scale: float | None = None
    processes: int | None = None
    values: int | None = None
    interpreters: tuple[str, ...] = ()
    timeout: float | None = None
    output: Path | None = None
    name: str | None = None
    fail_on: tuple[str, ...] = ()
    #: a workload's own gate thresholds (``fail_on`` in its ``workload`` table), by workload name or spec
    workload_fail_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def arguments(self) -> dict[str, Any]:
        """The keys set, as the parsed command-line options (argparse destinations) would hold them."""
        values: dict[str, Any] = {
            "profile": self.profile,
            # without a list, the workloads declared by a table are the ones to run
            "workload": list(self.workloads or self.workload),
            "declared": dict(self.workload),
            "workload_module": list(self.workload_modules),
            "backend": list(self.backends),
            "workers": ",".join(map(str, self.workers)) or None,
            "cores": ",".join(map(str, self.cores)) or None,
            "tasks": self.tasks,
            "scale": self.scale,
            "processes": self.processes,
            "values": self.values,
            "python": list(self.interpreters),
            "timeout": self.timeout,
            "output": self.output,
            "name": self.name,
            "fail_on": list(self.fail_on),
            "workload_fail_on": dict(self.workload_fail_on),
        }
        return {k: v for k, v in values.items() if v not in (None, [], {})}


# --- values -------------------------------------------------------------------------------------

class _Bad(Exception):
    """A value that a key does not accept; the message says what it accepts."""


def _strings(value: Any, example: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Bad(f"a list of strings, e.g. {example}")
    return tuple(v.strip() for v in value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Bad("a whole number of at least 1")
    return value


def _counts(value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in items):
        raise _Bad("a whole number of at least 1 or a list of them, e.g. [1, 2, 4]")
    return tuple(sorted(set(items)))


def _positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _Bad("a number above 0")
    return float(value)


def _choice(accepted: Collection[str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in accepted:
            raise _Bad(f"one of {', '.join(accepted)}")
        return value

    return check


def _each(accepted: Callable[[], Collection[str]], example: str) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        items = _strings(value, example)
        known = accepted()
        for item in items:
            if item not in known:
                raise _Bad(f"a list of {', '.join(known)} ({item!r} is none of them)")
        return items

    return check


def _thresholds(value: Any) -> tuple[str, ...]:
    items = _strings(value, '["time:10%", "speedup:10%"]')
    for item in items:
        try:
            parse_threshold(item)
        except ValueError:
            raise _Bad(f"a list of METRIC:PCT%[,tol=PCT%], e.g. [\"time:10%\", \"time:5%,tol=1%\"], METRIC one of "
                       f"{', '.join(METRICS)}; {item!r} is not") from None
    return items


def _run_name(value: Any) -> str:
    from ..data.results import check_run_name

    if not isinstance(value, str):
        raise _Bad("a string")
    try:
        return check_run_name(value)
    except ValueError:
        raise _Bad("letters, digits, '.', '_' and '-', starting with a letter or a digit, and not 'latest'") from None


def _folder(value: Any, home: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _Bad('a folder, e.g. "results" (relative to the config file\'s folder)')
    return home / value


def _profiles() -> Collection[str]:
    from .matrix import PROFILES

    return list(PROFILES)


def _backends() -> Collection[str]:
    from ..backends import all_backends

    return list(all_backends())


#: key -> its check (value, the file's folder) -> the value as Config holds it
KEYS: dict[str, Callable[[Any, Path], Any]] = {
    "profile": lambda v, _: _choice(_profiles())(v),
    "workloads": lambda v, _: _strings(v, '["hello-cpu", "mypkg.work:crunch"]'),
    "workload": lambda v, _: v,  # checked by _declarations (its tables have keys of their own)
    "workload_modules": lambda v, home: tuple(
        str((home / m).resolve()) if m.endswith(".py") or "/" in m else m
        for m in _strings(v, '["mypkg.benchmarks", "bench_workloads.py"]')),
    "backends": lambda v, _: _each(_backends, '["sequential", "threads", "processes"]')(v),
    "workers": lambda v, _: _counts(v),
    "cores": lambda v, _: _counts(v),
    "tasks": lambda v, _: _count(v),
    "scale": lambda v, _: _positive(v),
    "processes": lambda v, _: _count(v),
    "values": lambda v, _: _count(v),
    "interpreters": lambda v, _: _strings(v, '["3.12", "3.14t:PYTHON_GIL=0"]'),
    "timeout": lambda v, _: _positive(v),
    "output": lambda v, home: _folder(v, home),
    "name": lambda v, _: _run_name(v),
    "fail_on": lambda v, _: _thresholds(v),
}
#: the keys of a [tool.gilbench.workload."module:function"] table; a table named by a registered
#: workload (hello-cpu) holds only fail_on
WORKLOAD_KEYS = ("kind", "size", "params", "name", "description", "fail_on")


def _workload_thresholds(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    """Each workload table's own ``fail_on`` (taken out of the table), checked like the top-level key."""
    found = {}
    for spec, table in (value.items() if isinstance(value, dict) else ()):
        if isinstance(table, dict) and "fail_on" in table:
            try:
                found[spec] = _thresholds(table.pop("fail_on"))
            except _Bad as bad:
                raise ConfigError(f'{where} workload."{spec}": fail_on must be {bad}') from None
            if ":" not in spec and table:
                raise ConfigError(f'{where} workload."{spec}": a table named by a registered workload holds only '
                                  f"fail_on, not {', '.join(table)}")
    return found


def _declarations(value: Any, where: str) -> dict[str, Declaration]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} workload must be a table of tables, one per module:function workload, e.g. "
                          '[tool.gilbench.workload."mypkg.work:crunch"] with kind, size, params')
    found = {}
    for spec, table in value.items():
        at = f'{where} workload."{spec}"'
        if ":" not in spec:
            raise ConfigError(f"{at}: a workload table declares a module:function workload (package.module:function), "
                              f"not {spec!r}")
        if not isinstance(table, dict):
            raise ConfigError(f"{at} must be a table with keys {', '.join(WORKLOAD_KEYS)}")
        for key in table:
            if key not in WORKLOAD_KEYS:
                raise ConfigError(f"{at}: unknown key {key!r} (accepted: {', '.join(WORKLOAD_KEYS)})")
        for key in ("size", "name", "description"):
            if key in table and not isinstance(table[key], str):
                raise ConfigError(f"{at}: {key} must be a string, not {table[key]!r}")
        if "kind" in table and table["kind"] not in KINDS:
            raise ConfigError(f"{at}: kind must be one of {', '.join(KINDS)}, not {table['kind']!r}")
        params = table.get("params", {})
        if not isinstance(params, dict) or not all(isinstance(v, (bool, int, float, str)) for v in params.values()):
            raise ConfigError(f"{at}: params must be a table of numbers, strings or booleans, e.g. "
                              f"params = {{ n = 1000 }}, not {params!r}")
        found[spec] = Declaration(kind=table.get("kind", ""), size=table.get("size", ""), params=dict(params),
                                  name=table.get("name", ""), description=table.get("description", ""))
    return found


def _shown(path: Path) -> str:
    """The path as the user would type it: relative to the current directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse(data: Mapping[str, Any], path: Path, section: str) -> Config:
    """A Config from a file's table; ConfigError naming ``path``, ``section`` and the key otherwise."""
    where = f"{_shown(path)}:{f' {section}' if section else ''}"
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KEYS:
            raise ConfigError(f"{where} unknown key {key!r} (accepted: {', '.join(sorted(KEYS))})")
        if key == "workload":
            value = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()} \
                if isinstance(value, dict) else value
            values["workload_fail_on"] = _workload_thresholds(value, where)
            values[key] = _declarations({k: v for k, v in value.items() if ":" in k or not isinstance(v, dict) or v},
                                        where) if isinstance(value, dict) else _declarations(value, where)
            continue
        try:
            values[key] = KEYS[key](value, path.parent.resolve())
        except _Bad as bad:
            raise ConfigError(f"{where} {key} must be {bad}, not {value!r}") from None
    return Config(path=path.resolve(), **values)


# --- files --------------------------------------------------------------------------------------

def _toml_module() -> Any:
    try:
        import tomllib  # Python 3.11+

        return tomllib
    except ModuleNotFoundError:
        try:
            import tomli  # the same parser for 3.10

            return tomli
        except ModuleNotFoundError:
            return None


def _read_toml(path: Path) -> dict[str, Any]:
    toml = _toml_module()
    if toml is None:
        raise ConfigError(f"{_shown(path)}: reading it needs Python 3.11+ or the tomli package (pip install tomli)")
    try:
        return toml.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_shown(path)}: cannot read it ({exc})") from None
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"{_shown(path)}: not valid TOML ({exc})") from None


def _tool_table(data: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    tool = data.get("tool")
    if tool is None or "gilbench" not in tool:
        return None
    table = tool["gilbench"]
    if not isinstance(table, dict):
        raise ConfigError(f"{_shown(path)}: [tool.gilbench] must be a table")
    return table


#: a pyproject.toml that mentions [tool.gilbench...]: read only those (3.10 without tomli can skip the rest)
_MENTIONS = re.compile(r"^\s*\[\s*tool\s*\.\s*gilbench\s*[\].]", re.MULTILINE)


def _pyproject_table(path: Path) -> Mapping[str, Any] | None:
    """pyproject.toml's [tool.gilbench], or None when it has none."""
    if _toml_module() is None:
        try:
            if not _MENTIONS.search(path.read_text(encoding="utf-8", errors="replace")):
                return None
        except OSError:
            return None
    return _tool_table(_read_toml(path), path)


def read_config(path: Path) -> Config:
    """The config in ``path``: a pyproject.toml's [tool.gilbench], or a gilbench.toml (its top-level keys,
    or a [tool.gilbench] table and nothing else)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    if path.name == PYPROJECT:
        table = _pyproject_table(path)
        if table is None:
            raise ConfigError(f"{_shown(path)}: no [tool.gilbench] table in it")
        return parse(table, path, "[tool.gilbench]")
    data = _read_toml(path)
    table = _tool_table(data, path)
    if table is None:
        return parse(data, path, "")
    others = [k for k in data if k != "tool"] + [f"tool.{k}" for k in data["tool"] if k != "gilbench"]
    if others:
        raise ConfigError(f"{_shown(path)}: keys outside [tool.gilbench] ({', '.join(others)}): put every key in "
                          "[tool.gilbench] or every key at the top level")
    return parse(table, path, "[tool.gilbench]")


def find_config(start: Path) -> Path | None:
    """The nearest config file from ``start`` up to the git root (the folder holding .git) or /.

    A folder with both a gilbench.toml and a pyproject.toml with [tool.gilbench] is refused: which
    one counts would be a guess.
    """
    folder = start.resolve()
    while True:
        own = folder / FILENAME
        pyproject = folder / PYPROJECT
        in_pyproject = pyproject.is_file() and _pyproject_table(pyproject) is not None
        if own.is_file() and in_pyproject:
            raise ConfigError(f"{_shown(folder)}: both {FILENAME} and {PYPROJECT} [tool.gilbench] configure "
                              "gilbench; keep one (or choose with --config PATH)")
        if own.is_file():
            return own
        if in_pyproject:
            return pyproject
        if (folder / ".git").exists() or folder.parent == folder:
            return None
        folder = folder.parent


def load_config(start: Path) -> Config | None:
    """The config that applies in ``start`` (``find_config``), read; None when there is none."""
    path = find_config(start)
    return read_config(path) if path else None


def apply(config: Config | None, args: argparse.Namespace, defaults: Mapping[str, Any] | None = None,
          only: Collection[str] | None = None) -> None:
    """Fill the options the command line left unset: from ``config`` (its keys among ``only``, or all),
    then from ``defaults``. ``args.declared`` always ends up set (the workload tables, or empty)."""
    for dest, value in (config.arguments() if config else {}).items():
        if (only is None or dest in only) and getattr(args, dest, None) in (None, []):
            setattr(args, dest, value)
    for dest, value in {"declared": {}, **(defaults or {})}.items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)


def configure(args: argparse.Namespace, only: Collection[str] | None = None,
              defaults: Mapping[str, Any] | None = None) -> Config | None:
    """The config that applies to a command (``args.config``, else the nearest file; none with
    ``args.no_config``), its keys set on ``args`` where unset (``apply``); ConfigError if unusable."""
    config = None if args.no_config else read_config(args.config) if args.config else load_config(Path.cwd())
    apply(config, args, defaults, only)
    return config


def explain(config: Config, command: str = "", left_out: Collection[str] = (), why: str = "") -> str:
    """One line for the command's output: which file configured it, and which of its keys (among
    ``left_out``) ``command`` does not use, and ``why``, so that an ignored key is never a surprise."""
    unused = [key for key in left_out if getattr(config, key)]
    note = f" ({command} leaves out its {' and '.join(unused)}: {why})" if unused else ""
    return f"gilbench: config {config.path}{note}"


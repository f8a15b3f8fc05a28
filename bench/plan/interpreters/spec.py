"""What ``--python`` takes, read: a path, version or command name, and the settings for its cells; the
``Interpreter`` a spec resolves to and the error for one that resolves to none."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from ...data.records import short_name, version_tuple



#: "PYTHON_GIL=0 needs a free-threaded build (python3.14t)"
GIL_VARIABLE = "PYTHON_GIL"

class InterpreterError(ValueError):
    """A spec that names no usable interpreter, bad settings, or settings the interpreter refuses."""


@dataclass
class Interpreter:
    """One interpreter under test, with the environment settings its cells run with.

    Plain data: ``to_dict``/``from_dict`` round-trip it (a run's manifest records it); ``to_dict()`` is
    also the ``interpreter_info`` that ``Backend.unavailable`` reads.
    """

    label: str  # the normalized spec: "3.12", "3.14t:PYTHON_GIL=0", "/opt/py/bin/python3.14t"; "" = this one
    executable: str  # absolute path (not resolved: a virtual environment's python stays itself)
    settings: dict[str, str] = field(default_factory=dict)  # environment variables for its cells
    version: str = ""  # "3.14.0"
    implementation: str = "cpython"
    build: str = "gil"  # or "free-threading" (sysconfig Py_GIL_DISABLED)
    gil_enabled: bool = True  # sys._is_gil_enabled() with the settings applied (True where it does not exist)
    default_start_method: str | None = None
    start_methods: list[str] = field(default_factory=list)
    subinterpreters: bool = False  # concurrent.interpreters importable (3.14+)
    key: str = ""  # identity of executable (real path) + version + build: keys its prepared environment
    prefix: str = ""  # sys.prefix (tells a virtual environment from its base interpreter)

    @property
    def free_threaded(self) -> bool:
        return self.build == "free-threading"

    @property
    def version_info(self) -> tuple[int, ...]:
        return version_tuple(self.version)

    @property
    def name(self) -> str:
        """"3.14t" / "3.12": the short version name of the build."""
        return short_name(self.version, self.free_threaded)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interpreter:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["settings"] = dict(values.get("settings") or {})
        values["start_methods"] = list(values.get("start_methods") or [])
        return cls(**values)



_SETTINGS = re.compile(r"^(.*?)\s*:\s*((?:-X\s*)?[A-Za-z_][A-Za-z0-9_]*\s*=.*)$")
VERSION_SPEC = re.compile(r"^(?:python|py|cpython-?)?(\d+)\.(\d+)(?:\.(\d+))?([tT])?$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_X_GIL = re.compile(r"^-X\s*gil$")


def parse_settings(text: str) -> dict[str, str]:
    """"PYTHON_GIL=0,A=b" -> {"PYTHON_GIL": "0", "A": "b"}; "-X gil=0" is PYTHON_GIL=0."""
    settings: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.strip()
        if _X_GIL.match(name):
            name = GIL_VARIABLE  # -X gil=N and PYTHON_GIL=N are the same setting; the variable reaches workers
        if not eq or not _VARIABLE.match(name):
            raise InterpreterError(f"bad setting {item!r}: settings are VAR=VALUE, comma-separated "
                                   f"(e.g. 3.14t:PYTHON_GIL=0)")
        if name in settings and settings[name] != value:
            raise InterpreterError(f"setting {name} given twice ({settings[name]!r} and {value!r})")
        settings[name] = value
    if GIL_VARIABLE in settings and settings[GIL_VARIABLE] not in ("0", "1"):
        raise InterpreterError(f"PYTHON_GIL must be 0 or 1, not {settings[GIL_VARIABLE]!r}")
    return settings


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """"3.14t:PYTHON_GIL=0" -> ("3.14t", {"PYTHON_GIL": "0"}); a path or version without settings -> (it, {})."""
    spec = spec.strip()
    match = _SETTINGS.match(spec)
    if match:
        return match.group(1).strip(), parse_settings(match.group(2))
    return spec, {}


def is_path(target: str) -> bool:
    return os.sep in target or (os.altsep is not None and os.altsep in target) or target.startswith(("~", "."))


def normalize(spec: str) -> str:
    """The label of a spec: "python3.14T : PYTHON_GIL=0" -> "3.14t:PYTHON_GIL=0"; settings sorted."""
    target, settings = parse_spec(spec)
    match = VERSION_SPEC.match(target) if not is_path(target) else None
    if match:
        major, minor, micro, t = match.groups()
        target = f"{major}.{minor}" + (f".{micro}" if micro else "") + ("t" if t else "")
    elif is_path(target):
        target = os.path.expanduser(target)
    if settings:
        return target + ":" + ",".join(f"{k}={settings[k]}" for k in sorted(settings))
    return target



"""Finding the interpreter a spec names: a path, then ``python3.X[t]`` on PATH, pyenv's versions and uv's
managed pythons; ``available()`` lists what is there, for the message when nothing matches."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ...data.records import short_name, version_tuple

from .description import check_settings, describe, from_description, verify_settings
from .spec import VERSION_SPEC, Interpreter, InterpreterError, is_path, normalize, parse_spec


ADD_ONE = ("add one: pass its path (--python /path/to/python3.14), put python3.X on PATH, "
           "or install it with pyenv (pyenv install 3.14) or uv (uv python install 3.14; 3.14t for the "
           "free-threaded build)")


_PYTHON_NAME = re.compile(r"^python(\d+)\.(\d+)(t?)$")


@dataclass(frozen=True)
class _Candidate:
    source: str  # "PATH", "pyenv", "uv"
    path: str
    version: str  # "3.12" (from the name)
    free_threaded: bool


def _pyenv_root() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10)
            root = done.stdout.strip() if done.returncode == 0 else None
    path = Path(root) if root else Path.home() / ".pyenv"
    return path if (path / "versions").is_dir() else None


def _uv_root() -> Path | None:
    root = os.environ.get("UV_PYTHON_INSTALL_DIR")
    if root:
        path = Path(root)
    else:
        data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(data) / "uv" / "python"
    return path if path.is_dir() else None


def _executable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(name: str) -> tuple:
    """Sort key of a version folder name: reversed, final releases newest first, then pre-releases."""
    final = not re.search(r"\d(a|b|rc|dev)", name) and "-dev" not in name
    return (final, version_tuple(name))


def _inside(folder: str, root: Path) -> bool:
    try:
        Path(folder).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def _path_candidates() -> Iterator[_Candidate]:
    pyenv = _pyenv_root()
    seen: set[str] = set()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or folder in seen or (pyenv and _inside(folder, pyenv)):
            continue  # pyenv's shims dispatch to pyenv's versions, which are searched directly below
        seen.add(folder)
        with contextlib.suppress(OSError):
            for entry in sorted(os.listdir(folder)):
                match = _PYTHON_NAME.match(entry)
                if match and _executable_file(Path(folder) / entry):
                    yield _Candidate("PATH", str(Path(folder) / entry), f"{match[1]}.{match[2]}", bool(match[3]))


def _pyenv_candidates() -> Iterator[_Candidate]:
    root = _pyenv_root()
    if root is None:
        return
    with contextlib.suppress(OSError):
        folders = sorted((p for p in (root / "versions").iterdir() if p.is_dir() and p.name[:1].isdigit()),
                         key=lambda p: _version_key(p.name), reverse=True)
        for folder in folders:
            for exe in sorted((folder / "bin").glob("python*")):
                match = _PYTHON_NAME.match(exe.name)
                if match and _executable_file(exe):
                    yield _Candidate("pyenv", str(exe), f"{match[1]}.{match[2]}", bool(match[3]))


def _uv_candidates() -> Iterator[_Candidate]:
    root = _uv_root()
    if root is None:
        return
    with contextlib.suppress(OSError):
        folders = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("cpython-")),
                         key=lambda p: _version_key(p.name.split("-")[1]), reverse=True)
        for folder in folders:
            for exe in sorted((folder / "bin").glob("python*")):
                match = _PYTHON_NAME.match(exe.name)
                if match and _executable_file(exe):
                    yield _Candidate("uv", str(exe), f"{match[1]}.{match[2]}", bool(match[3]))


def _candidates() -> Iterator[_Candidate]:
    """Every python3.X[t] that can be found, in the order of the search: PATH, pyenv, uv."""
    yield from _path_candidates()
    yield from _pyenv_candidates()
    yield from _uv_candidates()


def available() -> list[Interpreter]:
    """Every interpreter that can be found (described, without settings), each once.

    The first one of each version and build gets the version label ("3.12", "3.14t"): it is what
    ``find`` resolves that version to; the others are labelled with their path.
    """
    found: list[Interpreter] = []
    seen: set[tuple[str, str]] = set()
    named: set[str] = set()
    places: set[tuple[str, str]] = set()
    for candidate in _candidates():
        # /bin/python3.11 and /usr/bin/python3.11 are one file in one folder; a virtual environment's python
        # links to its base interpreter from a folder of its own
        place = (os.path.realpath(candidate.path), os.path.realpath(os.path.dirname(candidate.path)))
        if place in places:
            continue
        places.add(place)
        try:
            description = describe(candidate.path)
        except InterpreterError:
            continue  # a broken or foreign binary named python3.X: not an interpreter to offer
        identity_ = (os.path.realpath(candidate.path), description.get("prefix", ""))
        if identity_ in seen:
            continue
        seen.add(identity_)
        free = description.get("build") == "free-threading"
        name = short_name(description.get("version", ""), free)
        matches_name = name == candidate.version + ("t" if candidate.free_threaded else "")
        label = name if matches_name and name not in named else candidate.path
        if label == name:
            named.add(name)
        found.append(from_description(label, description))
    return found


def _found_lines(found: list[Interpreter]) -> str:
    if not found:
        return "  (none: no python3.X on PATH, in pyenv or in uv's pythons)"
    return "\n".join(f"  {i.name:<6} {i.version:<10} {i.build:<15} {i.executable}" for i in found)


def _not_found(target: str, why: str) -> InterpreterError:
    found = available()
    return InterpreterError(f"{why}\ninterpreters found:\n{_found_lines(found)}\n{ADD_ONE}")


def _locate(target: str) -> tuple[str, dict[str, Any]]:
    """The executable a target names and its description without settings."""
    if target == "":
        return sys.executable, describe(sys.executable)
    if is_path(target) or Path(target).is_file():
        path = Path(os.path.expanduser(target))
        if not path.exists():
            raise _not_found(target, f"no such interpreter: {target}")
        if path.is_dir():
            raise _not_found(target, f"{target} is a folder, not an interpreter (give its bin/python)")
        return str(path.absolute()), describe(str(path))
    match = VERSION_SPEC.match(target)
    if not match:
        path = shutil.which(target)
        if path is None:
            raise _not_found(target, f"no interpreter {target!r}: not a path, a version (3.12, 3.14t) or a "
                                     "command on PATH")
        return os.path.abspath(path), describe(path)
    major, minor, micro, t = match.groups()
    version, free = f"{major}.{minor}", bool(t)
    wanted = version + (f".{micro}" if micro else "")
    build = "free-threading" if free else "gil"
    skipped: list[str] = []
    for candidate in _candidates():
        if candidate.version != version or candidate.free_threaded != free:
            continue
        try:
            description = describe(candidate.path)
        except InterpreterError as exc:
            skipped.append(str(exc))
            continue
        got = description.get("version", "")
        if description.get("build") != build:
            skipped.append(f"{candidate.path}: a {description.get('build')} build, not {build}")
        elif micro and version_tuple(got)[:3] != (int(major), int(minor), int(micro)):
            skipped.append(f"{candidate.path}: version {got}, not {wanted}")
        else:
            return candidate.path, description
    looked = (f"looked for python{version}{'t' if free else ''} on PATH, in pyenv's versions and in uv's "
              "pythons" + "".join(f"\n  skipped {s}" for s in skipped))
    kind = " (free-threaded)" if free else ""
    raise _not_found(target, f"no Python {wanted}{kind} found: {looked}")


def find(spec: str) -> Interpreter:
    """The interpreter a spec names, described with its settings applied.

    Raises InterpreterError when nothing matches (listing what was found and how to add one), when the
    settings are malformed, or when the interpreter refuses them (PYTHON_GIL=0 on a GIL build).
    """
    target, settings = parse_spec(spec)
    label = normalize(spec)
    executable, description = _locate(target)
    check_settings(description, settings)
    if settings:
        description = describe(executable, settings)
        verify_settings(description, settings)
    return from_description(label, description)



"""The interpreters under test: found from a spec, described by themselves, prepared once.

A spec is what ``--python`` takes: a path (``/opt/py/bin/python3.14t``), a version (``3.12``,
``3.14t`` for the free-threaded build, ``3.12.1``), or a command name (``python3.12``), optionally
followed by environment settings for the cells (``3.14t:PYTHON_GIL=0``, ``3.13:A=1,B=2``). The
interpreter gilbench itself runs on has the label ``""``.

- :func:`find` resolves a spec (an existing path; then ``python3.X[t]`` on PATH, pyenv's versions,
  uv's managed pythons) and describes the interpreter by running a small script in it
  (:func:`describe`): version, build (``Py_GIL_DISABLED``), whether the GIL is on with the settings
  applied, start methods, subinterpreters. It refuses ``PYTHON_GIL=0`` on a GIL build and checks that
  a requested ``PYTHON_GIL`` is what the interpreter reports.
- :func:`prepare` gives an interpreter what a cell needs: pyperf and psutil (the interpreter itself
  when it has them, else a virtual environment made once per interpreter identity under
  ``~/.cache/gilbench/envs`` and reused) and ``PYTHONPATH`` at this checkout, so that it runs
  gilbench's measuring side (``bench.measure.cell``, ``bench.backends``, ``workloads``) from here and never
  needs the report stack. Where that cannot be done the reason is returned and the caller skips the
  interpreter's cells.

This module uses the standard library only (it runs where the harness runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Mapping

from .importroot import shared_root
from ..data.records import short_name, version_tuple

#: where prepared environments live, one folder per interpreter identity (``Interpreter.key``)
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gilbench" / "envs"
#: the oldest interpreter gilbench's measuring side runs on
MINIMUM = (3, 10)
#: what a cell needs in the interpreter under test, besides this checkout: module -> what pip installs
REQUIREMENTS = {"pyperf": "pyperf", "psutil": "psutil"}
#: what a cell imports from this checkout (checked in every prepared interpreter)
MEASURING_SIDE = ("gilbench.bench.measure.cell", "gilbench.bench.backends", "gilbench.workloads")
#: written last into a prepared environment: an environment without it is half-made and remade
MARKER = ".gilbench-ready"
DESCRIBE_TIMEOUT = 60.0
#: the working directory of the commands run in an interpreter under test: nothing there shadows a module
NEUTRAL_CWD = os.path.abspath(os.sep)
#: "PYTHON_GIL=0 needs a free-threaded build (python3.14t)"
GIL_VARIABLE = "PYTHON_GIL"

ADD_ONE = ("add one: pass its path (--python /path/to/python3.14), put python3.X on PATH, "
           "or install it with pyenv (pyenv install 3.14) or uv (uv python install 3.14; 3.14t for the "
           "free-threaded build)")


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


@dataclass
class Prepared:
    """How to run an interpreter's cells: ``python`` with ``env`` added to the environment.

    ``python`` is None and ``reason`` says why when the interpreter cannot run cells (skip them).
    """

    python: str | None
    env: dict[str, str] = field(default_factory=dict)  # the settings and PYTHONPATH (this checkout first)
    reason: str = ""  # "" when usable
    environment: str | None = None  # the cached environment's folder; None when the interpreter runs as is

    @property
    def ok(self) -> bool:
        return self.python is not None and not self.reason


# --- specs -------------------------------------------------------------------------------------

_SETTINGS = re.compile(r"^(.*?)\s*:\s*((?:-X\s*)?[A-Za-z_][A-Za-z0-9_]*\s*=.*)$")
_VERSION = re.compile(r"^(?:python|py|cpython-?)?(\d+)\.(\d+)(?:\.(\d+))?([tT])?$")
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


def _is_path(target: str) -> bool:
    return os.sep in target or (os.altsep is not None and os.altsep in target) or target.startswith(("~", "."))


def normalize(spec: str) -> str:
    """The label of a spec: "python3.14T : PYTHON_GIL=0" -> "3.14t:PYTHON_GIL=0"; settings sorted."""
    target, settings = parse_spec(spec)
    match = _VERSION.match(target) if not _is_path(target) else None
    if match:
        major, minor, micro, t = match.groups()
        target = f"{major}.{minor}" + (f".{micro}" if micro else "") + ("t" if t else "")
    elif _is_path(target):
        target = os.path.expanduser(target)
    if settings:
        return target + ":" + ",".join(f"{k}={settings[k]}" for k in sorted(settings))
    return target


# --- describing --------------------------------------------------------------------------------

#: runs in the interpreter under test: standard library only, and syntax old interpreters still read
#: (so that a too-old one is described, then refused with its version, not with a syntax error)
DESCRIBE_SCRIPT = r"""
import sys
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
check = getattr(sys, "_is_gil_enabled", None)
out = {"gil_enabled": bool(check()) if check is not None else True}
import json, platform, sysconfig
out["version"] = platform.python_version()
try:
    out["implementation"] = sys.implementation.name
except AttributeError:
    out["implementation"] = platform.python_implementation().lower()
out["build"] = "free-threading" if sysconfig.get_config_var("Py_GIL_DISABLED") else "gil"
out["prefix"] = sys.prefix
try:
    import multiprocessing
    out["start_methods"] = list(multiprocessing.get_all_start_methods())
    out["default_start_method"] = multiprocessing.get_start_method()
except Exception:
    out["start_methods"] = []
    out["default_start_method"] = None
try:
    import concurrent.interpreters
    out["subinterpreters"] = True
except Exception:
    out["subinterpreters"] = False
if check is not None and not out["gil_enabled"] and check():
    out["gil_reenabled_by"] = "the standard library modules above"
sys.stdout.write("GILBENCH-DESCRIBE " + json.dumps(out) + "\n")
"""


def identity(executable: str, version: str, build: str) -> str:
    """A stable key of an interpreter: its executable's real path, version and build."""
    text = "\0".join([os.path.realpath(executable), version, build])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def describe(executable: str, settings: Mapping[str, str] | None = None,
             timeout: float = DESCRIBE_TIMEOUT) -> dict[str, Any]:
    """Run the description script in ``executable`` with ``settings`` in its environment.

    Returns the description: executable (absolute), settings, version, implementation, build,
    gil_enabled, default_start_method, start_methods, subinterpreters, prefix, key. Raises
    InterpreterError with the reason when the interpreter does not run or answer.
    """
    executable = os.path.abspath(os.path.expanduser(executable))
    settings = dict(settings or {})
    env = {**os.environ, **settings}
    where = executable + "".join(f" with {k}={v}" for k, v in settings.items())
    try:
        done = subprocess.run([executable, "-c", DESCRIBE_SCRIPT], capture_output=True, text=True, env=env,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=NEUTRAL_CWD)
    except subprocess.TimeoutExpired:
        raise InterpreterError(f"{where}: did not describe itself within {timeout:g} s") from None
    except OSError as exc:
        raise InterpreterError(f"{where}: cannot be run ({exc.strerror or exc})") from None
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("GILBENCH-DESCRIBE ")), None)
    if done.returncode or line is None:
        raise InterpreterError(f"{where}: does not start as a Python interpreter "
                               f"(exit status {done.returncode}: {_last_line(done.stderr or done.stdout)})")
    try:
        data = json.loads(line.split(" ", 1)[1])
    except ValueError:
        raise InterpreterError(f"{where}: answered with unreadable JSON: {line[:200]!r}") from None
    data.pop("gil_reenabled_by", None)
    data.update(executable=executable, settings=settings,
                key=identity(executable, data.get("version", ""), data.get("build", "gil")))
    return data


def _interpreter(label: str, description: Mapping[str, Any]) -> Interpreter:
    return Interpreter.from_dict({**description, "label": label})


def current() -> Interpreter:
    """The interpreter gilbench runs on (label "")."""
    return _interpreter("", describe(sys.executable))


# --- finding -----------------------------------------------------------------------------------

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
        found.append(_interpreter(label, description))
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
    if _is_path(target) or Path(target).is_file():
        path = Path(os.path.expanduser(target))
        if not path.exists():
            raise _not_found(target, f"no such interpreter: {target}")
        if path.is_dir():
            raise _not_found(target, f"{target} is a folder, not an interpreter (give its bin/python)")
        return str(path.absolute()), describe(str(path))
    match = _VERSION.match(target)
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


def check_settings(description: Mapping[str, Any], settings: Mapping[str, str]) -> None:
    """Refuse settings the interpreter cannot honour before running it with them."""
    gil = settings.get(GIL_VARIABLE)
    if gil == "0" and description.get("build") != "free-threading":
        version = description.get("version", "3.14")
        name = short_name(version, True) if version_tuple(version) >= (3, 13) else "3.14t"
        raise InterpreterError(f"PYTHON_GIL=0 needs a free-threaded build (python{name}); "
                               f"{description.get('executable')} is a GIL build")


def verify_settings(description: Mapping[str, Any], settings: Mapping[str, str]) -> None:
    """After describing with the settings: the GIL is in the state PYTHON_GIL asked for."""
    gil = settings.get(GIL_VARIABLE)
    if gil is None:
        return
    want = gil == "1"
    if bool(description.get("gil_enabled", True)) != want:
        state = "enabled" if description.get("gil_enabled", True) else "disabled"
        raise InterpreterError(f"PYTHON_GIL={gil} was asked, but {description.get('executable')} reports the GIL "
                               f"{state} (sys._is_gil_enabled() is {bool(description.get('gil_enabled', True))})")


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
    return _interpreter(label, description)


# --- preparing ---------------------------------------------------------------------------------

def cell_env(interp: Interpreter) -> dict[str, str]:
    """What a cell's process needs added to the environment: the settings, and a folder exposing only
    this gilbench first on PYTHONPATH (then whatever PYTHONPATH was already set)."""
    path = os.pathsep.join(filter(None, [str(shared_root()), os.environ.get("PYTHONPATH", "")]))
    return {**interp.settings, "PYTHONPATH": path}


def _venv_python(folder: Path) -> Path:
    if os.name == "nt":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def _run(command: list[str], timeout: float, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """(exit status, last line of its output); 124 when it ran past ``timeout``, 127 when it did not start."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env=dict(env) if env is not None else None, cwd=NEUTRAL_CWD)
    except subprocess.TimeoutExpired:
        return 124, f"took longer than {timeout:g} s"
    except OSError as exc:
        return 127, str(exc.strerror or exc)
    return done.returncode, _last_line(done.stderr if done.returncode else done.stdout)


def _imports(python: str, modules: str, env: Mapping[str, str], timeout: float = 60) -> tuple[bool, str]:
    rc, last = _run([python, "-c", f"import {modules}"], timeout, {**os.environ, **env})
    return rc == 0, last


def _environment_name(interp: Interpreter) -> str:
    return f"{interp.implementation}-{interp.version}{'t' if interp.free_threaded else ''}-{interp.key}"


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive lock on ``path`` (a lock file) between processes; waits at most ``timeout`` s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, the marker still tells a half-made environment
            yield
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} stayed locked for {timeout:g} s (another gilbench preparing it?)")
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _pin(name: str) -> str:
    """``pyperf==<this harness's version>`` so that workers and harness agree; the bare name otherwise."""
    try:
        from importlib.metadata import version

        return f"{name}=={version(name)}" if name == "pyperf" else name
    except Exception:  # noqa: BLE001 - not installed here, or no metadata: take what the index has
        return name


def _make_environment(interp: Interpreter, folder: Path, timeout: float) -> str:
    """Make the virtual environment in ``folder`` with the requirements; "" or the reason it failed."""
    shutil.rmtree(folder, ignore_errors=True)
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", GIL_VARIABLE)}
    python = str(_venv_python(folder))
    packages = [_pin(requirement) for requirement in REQUIREMENTS.values()]
    rc, last = _run([interp.executable, "-m", "venv", str(folder)], timeout, base_env)
    if rc == 0:
        install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages]
    else:
        # no ensurepip (Debian's python3.X without python3.X-venv): an environment without pip, filled by
        # this harness's pip (pip --python, 22.3+)
        first = last
        shutil.rmtree(folder, ignore_errors=True)
        rc, last = _run([interp.executable, "-m", "venv", "--without-pip", str(folder)], timeout, base_env)
        if rc:
            return f"cannot make a virtual environment with {interp.executable} -m venv ({first})"
        install = [sys.executable, "-m", "pip", "--python", python, "install", "-q",
                   "--disable-pip-version-check", *packages]
    rc, last = _run(install, timeout, base_env)
    if rc:
        what = "timed out" if rc == 124 else "failed"
        return f"installing {', '.join(packages)} into {folder} {what} ({last})"
    ok, last = _imports(python, ", ".join(REQUIREMENTS), {})
    if not ok:
        return f"the environment {folder} was made but cannot import {', '.join(REQUIREMENTS)} ({last})"
    marker = folder / MARKER
    partial = marker.with_suffix(".partial")
    partial.write_text(json.dumps({"interpreter": interp.to_dict(), "packages": packages,
                                   "made": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1) + "\n")
    os.replace(partial, marker)
    return ""


def prepare(interp: Interpreter, cache_root: Path | str | None = None, *, create: bool = True,
            timeout: float = 600) -> Prepared:
    """What ``interp``'s cells run with: the interpreter itself where it imports pyperf and psutil, else
    a cached virtual environment (made once per ``interp.key`` under ``cache_root``, reused after).

    ``create=False`` only looks (nothing is made: the reason says it is not prepared yet). ``timeout``
    bounds each step of making one (venv, pip). Never raises for an interpreter that cannot be
    prepared: returns ``Prepared(python=None, reason=...)`` and the caller skips its cells.
    """
    env = cell_env(interp)
    if interp.version_info[:2] < MINIMUM:
        return Prepared(None, env, f"Python {interp.version} is too old: gilbench's measuring side needs "
                                   f"{'.'.join(map(str, MINIMUM))}+")
    ok, _ = _imports(interp.executable, ", ".join(REQUIREMENTS), env)
    if ok:
        return _checked(Prepared(interp.executable, env), interp)
    root = Path(cache_root).expanduser() if cache_root is not None else CACHE_ROOT
    folder = root / _environment_name(interp)
    python = str(_venv_python(folder))

    def usable() -> bool:
        return (folder / MARKER).is_file() and _imports(python, ", ".join(REQUIREMENTS), env)[0]

    if usable():
        return _checked(Prepared(python, env, environment=str(folder)), interp)
    if not create:
        return Prepared(None, env, f"not prepared yet: {interp.executable} lacks {' or '.join(REQUIREMENTS)} "
                                   f"and {folder} is not made (gilbench interpreters --python ... --prepare)")
    try:
        with _locked(root / f"{folder.name}.lock", timeout):
            if usable():  # another gilbench made it while this one waited
                return _checked(Prepared(python, env, environment=str(folder)), interp)
            reason = _make_environment(interp, folder, timeout)
            if reason:
                shutil.rmtree(folder, ignore_errors=True)  # under the lock: never another run's folder
    except (OSError, TimeoutError) as exc:
        reason = f"cannot prepare an environment in {folder}: {exc}"
    if reason:
        return Prepared(None, env, reason)
    return _checked(Prepared(python, env, environment=str(folder)), interp)


def _checked(prepared: Prepared, interp: Interpreter) -> Prepared:
    """The measuring side must import there, from this checkout."""
    assert prepared.python is not None
    ok, last = _imports(prepared.python, ", ".join(MEASURING_SIDE), prepared.env)
    if ok:
        return prepared
    return Prepared(None, prepared.env, f"gilbench's measuring side does not import on Python {interp.version} "
                                        f"({last})", prepared.environment)

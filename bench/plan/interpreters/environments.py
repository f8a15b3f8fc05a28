"""An interpreter prepared for cells: pyperf and psutil (its own, or a virtual environment made once per
interpreter identity and reused) and ``PYTHONPATH`` at this checkout's measuring side."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from ..importroot import shared_root

from .description import NEUTRAL_CWD, last_line
from .spec import GIL_VARIABLE, Interpreter


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
    return done.returncode, last_line(done.stderr if done.returncode else done.stdout)


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


#: pip's ``--python`` (install into another interpreter's environment) came with pip 22.3
PIP_PYTHON_OPTION = (22, 3)


def _harness_pip() -> bool:
    """Whether this harness's own pip can install into another interpreter's environment (``--python``)."""
    try:
        from pip import __version__
    except ImportError:
        return False
    try:
        return tuple(int(part) for part in __version__.split(".")[:2]) >= PIP_PYTHON_OPTION
    except ValueError:
        return False


def _make_environment(interp: Interpreter, folder: Path, timeout: float) -> str:
    """Make the virtual environment in ``folder`` with the requirements; "" or the reason it failed.

    Where this harness has pip 22.3+, the environment is made without pip and filled by this pip
    (``pip --python``): bootstrapping pip into it (ensurepip) took 2.3 of its 4 s here. Else, and for an
    interpreter whose venv cannot be made without pip, by its own ensurepip."""
    shutil.rmtree(folder, ignore_errors=True)
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", GIL_VARIABLE)}
    python = str(_venv_python(folder))
    packages = [_pin(requirement) for requirement in REQUIREMENTS.values()]
    harness_pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check"]
    own_pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    ways = [(["--without-pip"], harness_pip), ([], own_pip)] if _harness_pip() else [([], own_pip)]
    # no ensurepip (Debian's python3.X without python3.X-venv) fails the second way: the first needs none
    failed = []
    for options, install in ways:
        rc, last = _run([interp.executable, "-m", "venv", *options, str(folder)], timeout, base_env)
        if rc == 0:
            break
        failed.append(last)
        shutil.rmtree(folder, ignore_errors=True)
    else:
        return f"cannot make a virtual environment with {interp.executable} -m venv ({failed[0]})"
    rc, last = _run([*install, *packages], timeout, base_env)
    loose = [p.split("==")[0] for p in packages]
    if rc and loose != packages and "matching distribution" in last:
        # this harness's pyperf needs a newer Python than this one (pyperf 2.11: 3.11+): the newest that
        # installs here instead (pyperf reads its results files across its versions)
        packages = loose
        rc, last = _run([*install, *packages], timeout, base_env)
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

"""An interpreter described by itself: a small script run in it (version, build, GIL, start methods), and
settings checked against what it reports. The interpreter gilbench runs on is ``current()``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any, Mapping

from ...data.records import short_name, version_tuple

from .spec import GIL_VARIABLE, Interpreter, InterpreterError


DESCRIBE_TIMEOUT = 60.0
#: the working directory of the commands run in an interpreter under test: nothing there shadows a module
NEUTRAL_CWD = os.path.abspath(os.sep)
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


def last_line(text: str) -> str:
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
                               f"(exit status {done.returncode}: {last_line(done.stderr or done.stdout)})")
    try:
        data = json.loads(line.split(" ", 1)[1])
    except ValueError:
        raise InterpreterError(f"{where}: answered with unreadable JSON: {line[:200]!r}") from None
    data.pop("gil_reenabled_by", None)
    data.update(executable=executable, settings=settings,
                key=identity(executable, data.get("version", ""), data.get("build", "gil")))
    return data


def from_description(label: str, description: Mapping[str, Any]) -> Interpreter:
    return Interpreter.from_dict({**description, "label": label})


def current() -> Interpreter:
    """The interpreter gilbench runs on (label "")."""
    return from_description("", describe(sys.executable))



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

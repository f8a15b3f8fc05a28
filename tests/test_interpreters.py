"""bench.plan.interpreters: finding, describing, refusing settings and preparing interpreters under test.

Two kinds of tests: fast ones on a fake file system (dummy ``python3.X`` files on a temporary PATH,
pyenv and uv folders) with ``describe`` replaced by recorded descriptions
(tests/fixtures/interpreters/: a real CPython 3.14 description and a free-threaded copy of it, since
no free-threaded build can be had here), and live ones on the interpreters this machine has, each
skipping with its reason where that interpreter is absent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import importlib.util
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from gilbench.bench import cli
from gilbench.bench.plan import interpreters as interp
from gilbench.bench.plan.importroot import shared_root
from gilbench.bench.plan.interpreters import Interpreter, InterpreterError, discovery, environments
from gilbench.bench.data.records import short_name, version_tuple

FIXTURES = Path(__file__).parent / "fixtures" / "interpreters"
#: where ../shared/tools/python3.14.sh installs CPython 3.14 on the project's machines
PYTHON314_DEFAULT = "/opt/gilbench-python/3.14/usr/bin/python3.14"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- a fake file system of interpreters -------------------------------------------------------

def dummy(path: Path) -> Path:
    """An executable file named like an interpreter (it only exits 1: describe is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(0o755)
    return path


def fake_describe(versions: dict[str, str] | None = None, gil_ignores_setting: bool = False):
    """A describe() answering from the recorded 3.14 descriptions, by the file's name: pythonX.Y[t]
    gets version ``versions[name]`` (default X.Y.0) and the free-threaded description for a ``t`` name.
    PYTHON_GIL acts as CPython's does (a GIL build 3.13+ dies on PYTHON_GIL=0)."""
    gil, free = recorded("cpython-3.14"), recorded("cpython-3.14t")

    def describe(executable, settings=None, timeout=60.0):
        name = Path(executable).name
        stem = name[len("python"):]
        description = dict(free if stem.endswith("t") else gil)
        folder = re.match(r"^(\d+\.\d+\.\d+)", Path(executable).parent.parent.name)  # pyenv's 3.13.1/bin
        version = (versions or {}).get(name) or (folder[1] if folder else stem.rstrip("t") + ".0")
        description.update(version=version, executable=os.path.abspath(executable), settings=dict(settings or {}),
                           prefix=str(Path(executable).parent.parent))
        setting = (settings or {}).get("PYTHON_GIL")
        if description["build"] == "free-threading":
            description["gil_enabled"] = setting == "1" or (gil_ignores_setting and setting is not None)
        elif setting == "0":
            raise InterpreterError(f"{executable} with PYTHON_GIL=0: does not start as a Python interpreter (exit "
                                   "status 1: Fatal Python error: config_read_gil: Disabling the GIL is not "
                                   "supported by this build)")
        description["key"] = interp.identity(executable, version, description["build"])
        return description

    return describe


@pytest.fixture
def fake_machine(tmp_path, monkeypatch):
    """An empty PATH, pyenv root and uv folder under tmp_path, and describe() from the recordings."""
    bin_, pyenv, uv = tmp_path / "bin", tmp_path / "pyenv", tmp_path / "uv"
    for folder in (bin_, pyenv / "versions", pyenv / "shims", uv):
        folder.mkdir(parents=True)
    monkeypatch.setenv("PATH", os.pathsep.join([str(pyenv / "shims"), str(bin_)]))
    monkeypatch.setenv("PYENV_ROOT", str(pyenv))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(uv))
    monkeypatch.setattr(discovery, "describe", fake_describe())
    return tmp_path


# --- specs and settings ------------------------------------------------------------------------

@pytest.mark.parametrize("spec, target, settings, label", [
    ("3.12", "3.12", {}, "3.12"),
    ("3.14t", "3.14t", {}, "3.14t"),
    ("python3.14T", "python3.14T", {}, "3.14t"),
    ("3.12.1", "3.12.1", {}, "3.12.1"),
    ("3.14t:PYTHON_GIL=0", "3.14t", {"PYTHON_GIL": "0"}, "3.14t:PYTHON_GIL=0"),
    ("3.14t : PYTHON_GIL=1", "3.14t", {"PYTHON_GIL": "1"}, "3.14t:PYTHON_GIL=1"),
    ("3.14t:-X gil=0", "3.14t", {"PYTHON_GIL": "0"}, "3.14t:PYTHON_GIL=0"),
    ("3.13:B=2, A=1", "3.13", {"B": "2", "A": "1"}, "3.13:A=1,B=2"),
    ("/opt/py/bin/python3.14t:PYTHON_GIL=0", "/opt/py/bin/python3.14t", {"PYTHON_GIL": "0"},
     "/opt/py/bin/python3.14t:PYTHON_GIL=0"),
    ("/opt/py:3/bin/python3", "/opt/py:3/bin/python3", {}, "/opt/py:3/bin/python3"),
    (":PYTHON_GIL=1", "", {"PYTHON_GIL": "1"}, ":PYTHON_GIL=1"),
])
def test_specs_parse_into_target_and_settings(spec, target, settings, label):
    assert interp.parse_spec(spec) == (target, settings)
    assert interp.normalize(spec) == label


@pytest.mark.parametrize("spec, message", [
    ("3.14t:PYTHON_GIL=2", "PYTHON_GIL must be 0 or 1, not '2'"),
    ("3.14t:PYTHON_GIL=0,PYTHON_GIL=1", "setting PYTHON_GIL given twice"),
    ("3.14t:A=1,oops", "bad setting 'oops': settings are VAR=VALUE"),
])
def test_bad_settings_are_refused(spec, message):
    with pytest.raises(InterpreterError, match=message):
        interp.parse_spec(spec)


def test_an_interpreter_round_trips_as_plain_data():
    description = recorded("cpython-3.14t")
    one = Interpreter.from_dict({**description, "label": "3.14t:PYTHON_GIL=0", "someday": "a new field"})
    assert Interpreter.from_dict(json.loads(json.dumps(one.to_dict()))) == one
    assert one.free_threaded and one.name == "3.14t" and one.version_info[:2] == (3, 14)
    assert not one.gil_enabled and one.subinterpreters


def test_the_recordings_have_the_shape_describe_gives():
    live = interp.describe(sys.executable)
    for name in ("cpython-3.14", "cpython-3.14t"):
        assert set(recorded(name)) == set(live), name
    free = recorded("cpython-3.14t")
    assert free["build"] == "free-threading" and free["gil_enabled"] is False
    assert recorded("cpython-3.14")["build"] == "gil"


# --- finding (fake machine) --------------------------------------------------------------------

def test_a_free_threaded_build_is_found_by_version_on_path(fake_machine):
    exe = dummy(fake_machine / "bin" / "python3.14t")
    found = interp.find("3.14t")
    assert (found.label, found.executable) == ("3.14t", str(exe))
    assert (found.build, found.gil_enabled) == ("free-threading", False)
    assert found.default_start_method == "forkserver" and found.subinterpreters


def test_python_gil_0_is_accepted_on_a_free_threaded_build(fake_machine):
    exe = dummy(fake_machine / "opt" / "py" / "bin" / "python3.14t")
    off = interp.find(f"{exe}:PYTHON_GIL=0")
    on = interp.find(f"{exe}:PYTHON_GIL=1")
    assert (off.label, off.settings, off.gil_enabled) == (f"{exe}:PYTHON_GIL=0", {"PYTHON_GIL": "0"}, False)
    assert (on.settings, on.gil_enabled) == ({"PYTHON_GIL": "1"}, True)
    assert off.key == on.key  # one binary: one prepared environment for both settings


def test_python_gil_0_is_refused_on_a_gil_build_before_running_it(fake_machine):
    exe = dummy(fake_machine / "bin" / "python3.14")
    with pytest.raises(InterpreterError) as refused:
        interp.find("3.14:PYTHON_GIL=0")
    assert str(refused.value) == f"PYTHON_GIL=0 needs a free-threaded build (python3.14t); {exe} is a GIL build"


def test_a_gil_state_other_than_asked_is_an_error(fake_machine, monkeypatch):
    """e.g. an extension imported at startup turned the GIL back on"""
    monkeypatch.setattr(discovery, "describe", fake_describe(gil_ignores_setting=True))
    dummy(fake_machine / "bin" / "python3.14t")
    with pytest.raises(InterpreterError, match=r"PYTHON_GIL=0 was asked, but .*python3.14t reports the GIL enabled"):
        interp.find("3.14t:PYTHON_GIL=0")


def test_the_search_order_is_path_then_pyenv_then_uv(fake_machine):
    pyenv = fake_machine / "pyenv" / "versions"
    dummy(fake_machine / "pyenv" / "shims" / "python3.13")  # pyenv's shim: skipped, its versions are searched
    old = dummy(pyenv / "3.13.0" / "bin" / "python3.13")
    new = dummy(pyenv / "3.13.1" / "bin" / "python3.13")
    dummy(pyenv / "3.13.2rc1" / "bin" / "python3.13")
    uv_free = dummy(fake_machine / "uv" / "cpython-3.14.0+freethreaded-linux-x86_64-gnu" / "bin" / "python3.14t")
    pyenv_free = dummy(pyenv / "3.14.0t" / "bin" / "python3.14t")
    assert interp.find("3.13").executable == str(new)  # the newest final release
    assert interp.find("3.13.0").executable == str(old)
    assert interp.find("3.14t").executable == str(pyenv_free)  # pyenv before uv
    pyenv_free.unlink()
    assert interp.find("3.14t").executable == str(uv_free)
    on_path = dummy(fake_machine / "bin" / "python3.13")
    assert interp.find("3.13").executable == str(on_path)  # PATH first
    assert interp.find("python3.13").executable == str(on_path)


def test_a_build_other_than_asked_is_skipped(fake_machine, monkeypatch):
    """python3.14t that turns out to be a GIL build does not answer 3.14t"""
    dummy(fake_machine / "bin" / "python3.14t")
    gil = fake_describe()

    def lying(executable, settings=None, timeout=60.0):
        return {**gil(executable, settings), "build": "gil", "gil_enabled": True}

    monkeypatch.setattr(discovery, "describe", lying)
    with pytest.raises(InterpreterError, match=r"skipped .*python3.14t: a gil build, not free-threading"):
        interp.find("3.14t")


def test_nothing_found_lists_what_was_found_and_how_to_add_one(fake_machine):
    free = dummy(fake_machine / "bin" / "python3.14t")
    pyenv = dummy(fake_machine / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12")
    with pytest.raises(InterpreterError) as missing:
        interp.find("3.15")
    text = str(missing.value)
    assert text.startswith("no Python 3.15 found: looked for python3.15 on PATH, in pyenv's versions")
    assert re.search(rf"\n  3\.14t +3\.14\.0 +free-threading +{re.escape(str(free))}\n", text)
    assert re.search(rf"\n  3\.12 +3\.12\.1 +gil +{re.escape(str(pyenv))}\n", text)
    assert "pyenv install" in text and "uv python install" in text and "--python /path/to/python" in text
    with pytest.raises(InterpreterError, match=r"no such interpreter: /nowhere/python3.14t\ninterpreters found:"):
        interp.find("/nowhere/python3.14t:PYTHON_GIL=0")


def test_available_labels_each_version_once(fake_machine):
    first = dummy(fake_machine / "bin" / "python3.13")
    second = dummy(fake_machine / "pyenv" / "versions" / "3.13.1" / "bin" / "python3.13")
    free = dummy(fake_machine / "pyenv" / "versions" / "3.14.0t" / "bin" / "python3.14t")
    labels = {i.executable: i.label for i in interp.available()}
    assert labels == {str(first): "3.13", str(second): str(second), str(free): "3.14t"}


def test_the_cli_describes_a_recorded_free_threaded_build(fake_machine, capsys):
    exe = dummy(fake_machine / "bin" / "python3.14t")
    assert cli.main(["interpreters", "--python", "3.14t:PYTHON_GIL=0"]) == 0
    out = capsys.readouterr().out
    assert "--python 3.14t:PYTHON_GIL=0: cpython 3.14.0, free-threading build, GIL disabled with PYTHON_GIL=0" in out
    assert f"path:            {exe}" in out
    assert "start methods:   forkserver, fork, spawn (default forkserver)" in out
    assert "environment:     not prepared: not prepared yet" in out


# --- live: the interpreters this machine has ---------------------------------------------------

def live(spec: str) -> Interpreter:
    try:
        return interp.find(spec)
    except InterpreterError as exc:
        pytest.skip(f"no Python {spec} here: {str(exc).splitlines()[0]}")


def python314() -> Interpreter:
    path = os.environ.get("GILBENCH_TEST_PYTHON314") or PYTHON314_DEFAULT
    if Path(path).is_file():
        return interp.find(path)
    return live("3.14")


def test_live_find_by_version_and_by_path():
    by_version = live("3.12")
    assert by_version.label == "3.12" and by_version.version.startswith("3.12.")
    assert (by_version.build, by_version.gil_enabled, by_version.subinterpreters) == ("gil", True, False)
    assert "fork" in by_version.start_methods and by_version.default_start_method == "fork"
    by_path = interp.find(by_version.executable)
    assert by_path.label == by_version.executable and by_path.key == by_version.key


def test_live_this_interpreter_has_the_empty_label():
    this = interp.current()
    assert this.label == "" and this.executable == os.path.abspath(sys.executable)
    assert this.version_info[:3] == tuple(sys.version_info[:3])


def test_live_3_14_describes_itself():
    one = python314()
    assert one.version_info[:2] == (3, 14)
    assert one.subinterpreters and one.default_start_method == "forkserver"
    assert one.build == "gil" and one.gil_enabled


def test_live_nothing_found_lists_the_real_interpreters():
    found = interp.available()
    if not found:
        pytest.skip("no python3.X on PATH, in pyenv or in uv here")
    with pytest.raises(InterpreterError) as missing:
        interp.find("3.99t")
    for one in found:
        assert one.executable in str(missing.value)


def test_live_python_gil_0_is_refused_on_a_gil_build():
    """This interpreter (a GIL build wherever the tests run on one); and 3.13+, which would die on it."""
    gil_builds = [sys.executable] if interp.current().build == "gil" else []
    for spec in ("3.13", "3.14"):
        with contextlib.suppress(InterpreterError):
            gil_builds.append(interp.find(spec).executable)
    if not gil_builds:
        pytest.skip("no GIL build here")
    for exe in gil_builds:
        version = interp.describe(exe)["version"]
        name = short_name(version, True) if version_tuple(version) >= (3, 13) else "3.14t"
        with pytest.raises(InterpreterError) as refused:
            interp.find(f"{exe}:PYTHON_GIL=0")
        assert str(refused.value) == f"PYTHON_GIL=0 needs a free-threaded build (python{name}); {exe} is a GIL build"
        assert interp.find(f"{exe}:PYTHON_GIL=1").gil_enabled  # accepted: the GIL is on, as asked


def test_live_cli_lists_and_refuses():
    env = {**os.environ, "PYTHONPATH": str(shared_root())}
    done = subprocess.run([sys.executable, "-m", "gilbench", "interpreters"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=shared_root())
    assert done.returncode == 0, done.stderr
    assert "(this one)" in done.stdout and sys.executable in done.stdout
    for spec, message in (("3.99", "no Python 3.99 found"),
                          (f"{sys.executable}:PYTHON_GIL=0", "PYTHON_GIL=0 needs a free-threaded build")):
        done = subprocess.run([sys.executable, "-m", "gilbench", "interpreters", "--python", spec], capture_output=True,
                              text=True, env=env, timeout=120, cwd=shared_root())
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


# --- preparing ---------------------------------------------------------------------------------

def test_an_interpreter_with_pyperf_runs_as_is():
    prepared = interp.prepare(interp.current())
    assert prepared.ok and prepared.python == os.path.abspath(sys.executable) and prepared.environment is None
    first = Path(prepared.env["PYTHONPATH"].split(os.pathsep)[0])
    assert first == shared_root() and sorted(p.name for p in first.iterdir()) == ["gilbench"]


def test_settings_reach_the_cells_environment():
    one = Interpreter.from_dict({**recorded("cpython-3.14t"), "label": "3.14t:PYTHON_GIL=0",
                                 "settings": {"PYTHON_GIL": "0"}})
    assert interp.cell_env(one)["PYTHON_GIL"] == "0"


def test_too_old_an_interpreter_is_skipped_with_the_reason(tmp_path):
    old = Interpreter.from_dict({**recorded("cpython-3.14"), "version": "3.9.18", "label": "3.9"})
    prepared = interp.prepare(old, tmp_path)
    assert not prepared.ok and prepared.python is None
    assert prepared.reason == "Python 3.9.18 is too old: gilbench's measuring side needs 3.10+"
    assert not any(tmp_path.iterdir())


def probe_wheel(folder: Path) -> Path:
    """A pure-Python wheel built by hand: pip installs it without any network."""
    files = {
        "gilbench_probe.py": "VALUE = 1\n",
        "gilbench_probe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: gilbench-probe\nVersion: 1.0\n",
        "gilbench_probe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                              "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("gilbench_probe-1.0.dist-info/RECORD,,")
    wheel = folder / "gilbench_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("gilbench_probe-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.mark.slow
def test_an_environment_is_made_once_reused_and_remade_when_broken(tmp_path, monkeypatch):
    """The real steps (venv, pip, marker, lock) with a requirement this interpreter lacks: a local wheel."""
    monkeypatch.setattr(environments, "REQUIREMENTS", {"gilbench_probe": str(probe_wheel(tmp_path))})
    monkeypatch.setattr(environments, "MEASURING_SIDE", ("gilbench.bench",))
    made = []
    real_make = environments._make_environment

    def counting(*args, **kwargs):
        made.append(time.monotonic())
        return real_make(*args, **kwargs)

    monkeypatch.setattr(environments, "_make_environment", counting)
    one = interp.current()
    cache = tmp_path / "envs"
    results: list = [None, None]

    def run(i):
        results[i] = interp.prepare(one, cache, timeout=240)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]  # two runs at once: one makes it
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first, second = results
    if not first.ok and "took longer" in first.reason:
        pytest.skip(f"making a virtual environment is too slow here: {first.reason}")
    assert first.ok, first.reason
    assert second.ok and second.python == first.python and len(made) == 1
    folder = Path(first.environment)
    assert folder.parent == cache and one.key in folder.name and Path(first.python).is_relative_to(folder)
    marker = folder / interp.MARKER
    stamp = marker.stat().st_mtime_ns
    assert json.loads(marker.read_text())["interpreter"]["key"] == one.key

    again = interp.prepare(one, cache)  # reused: nothing made
    assert again.ok and again.python == first.python and len(made) == 1 and marker.stat().st_mtime_ns == stamp

    marker.unlink()  # half-made (the marker is written last): remade
    remade = interp.prepare(one, cache, timeout=240)
    assert remade.ok and len(made) == 2 and marker.is_file()

    Path(remade.python).unlink()  # broken: not taken as prepared
    looked = interp.prepare(one, cache, create=False)
    assert not looked.ok and looked.reason.startswith("not prepared yet") and len(made) == 2


@pytest.mark.slow
@pytest.mark.parametrize("harness_pip, ensurepip, expected", [
    (True, True, [["venv", "--without-pip"], ["pip", "--python"]]),  # this pip fills it: no ensurepip
    (False, True, [["venv"], ["own pip"]]),  # a harness without pip 22.3+: the environment's own pip
    (False, False, [["venv"]]),  # neither: the reason is the venv's
])
def test_an_environment_is_filled_by_this_harness_pip_where_it_can(tmp_path, monkeypatch, harness_pip, ensurepip,
                                                                   expected):
    steps = []

    def fake_run(command, timeout, env=None):
        if command[1:3] == ["-m", "venv"]:
            steps.append(["venv", *command[3:-1]])
            if "--without-pip" not in command and not ensurepip:
                return 1, "ensurepip is not available"
            Path(command[-1]).mkdir(parents=True)
            return 0, ""
        steps.append(["pip", "--python"] if "--python" in command else ["own pip"])
        assert command[0] == (sys.executable if "--python" in command else str(environments._venv_python(folder)))
        return 0, ""

    folder = tmp_path / "env"
    monkeypatch.setattr(environments, "_run", fake_run)
    monkeypatch.setattr(environments, "_harness_pip", lambda: harness_pip)
    monkeypatch.setattr(environments, "_imports", lambda *args, **kwargs: (True, ""))
    reason = environments._make_environment(interp.current(), folder, 60)
    assert steps == expected
    if ensurepip or harness_pip:
        assert reason == "" and (folder / interp.MARKER).is_file()
    else:
        assert reason.startswith("cannot make a virtual environment") and "ensurepip is not available" in reason


def test_a_pyperf_too_new_for_the_interpreter_gives_way_to_the_newest_that_installs_there(tmp_path, monkeypatch):
    installs = []

    def fake_run(command, timeout, env=None):
        if command[1:3] == ["-m", "venv"]:
            Path(command[-1]).mkdir(parents=True)
            return 0, ""
        wanted = command[command.index("install") + 1:]
        installs.append([w for w in wanted if not w.startswith("-")])
        if any(w.startswith("pyperf==") for w in wanted):  # pyperf 2.11 on Python 3.10: Requires-Python >=3.11
            return 1, "ERROR: No matching distribution found for pyperf==2.11.0"
        return 0, ""

    folder = tmp_path / "env"
    monkeypatch.setattr(environments, "_run", fake_run)
    monkeypatch.setattr(environments, "_pin", lambda name: "pyperf==2.11.0" if name == "pyperf" else name)
    monkeypatch.setattr(environments, "_imports", lambda *args, **kwargs: (True, ""))
    assert environments._make_environment(interp.current(), folder, 60) == ""
    assert installs == [["pyperf==2.11.0", "psutil"], ["pyperf", "psutil"]]
    assert json.loads((folder / interp.MARKER).read_text())["packages"] == ["pyperf", "psutil"]


def test_pip_22_3_and_later_fill_another_interpreters_environment(monkeypatch):
    import pip

    for version, fills in (("22.2.2", False), ("22.3", True), ("23.2.1", True), ("24.1.dev0", True), ("x", False)):
        monkeypatch.setattr(pip, "__version__", version)
        assert environments._harness_pip() is fills, version


def test_an_environment_that_cannot_be_made_gives_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(environments, "REQUIREMENTS", {"gilbench_probe": str(tmp_path / "missing-1.0-py3-none-any.whl")})
    prepared = interp.prepare(interp.current(), tmp_path / "envs", timeout=240)
    if "took longer" in prepared.reason:
        pytest.skip(f"making a virtual environment is too slow here: {prepared.reason}")
    assert not prepared.ok and prepared.python is None
    assert prepared.reason.startswith("installing ") and " failed (" in prepared.reason
    assert not any(p.is_dir() for p in (tmp_path / "envs").iterdir())  # the half-made folder is gone


@pytest.mark.slow
def test_live_an_interpreter_without_pyperf_gets_an_environment(tmp_path):
    """One real interpreter, with the real requirements: pip may need the network and be slow (skips then)."""
    candidates = []
    with contextlib.suppress(InterpreterError):
        candidates.append(python314())
    for spec in ("3.13", "3.12"):
        with contextlib.suppress(InterpreterError):
            candidates.append(interp.find(spec))
    bare = [c for c in candidates if not environments._imports(c.executable, "pyperf, psutil", {})[0]]
    if not bare:
        pytest.skip("no interpreter without pyperf here (3.14, 3.13, 3.12)")
    one = bare[0]
    prepared = interp.prepare(one, tmp_path, timeout=180)
    if not prepared.ok and any(s in prepared.reason for s in ("took longer", "No matching distribution",
                                                               "Could not find a version", "connection",
                                                               "Network is unreachable")):
        pytest.skip(f"cannot install pyperf and psutil for Python {one.version} here: {prepared.reason}")
    assert prepared.ok, prepared.reason
    assert prepared.environment and Path(prepared.python).is_relative_to(Path(prepared.environment))
    done = subprocess.run([prepared.python, "-c", "import sys, gilbench.bench.measure.cell; print(sys.version_info[:2])"],
                          capture_output=True, text=True, env={**os.environ, **prepared.env}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(one.version_info[:2])


def test_the_shared_shim_follows_a_changed_gilbench_init(tmp_path):
    """A version bump changes gilbench/__init__.py; the reused shim must not keep the old one."""
    folder = shared_root(cache=tmp_path)
    init = folder / "gilbench" / "__init__.py"
    init.write_text('__version__ = "0.0.1"  # a stale copy\n')
    assert shared_root(cache=tmp_path) == folder
    assert init.read_text() == Path(str(importlib.util.find_spec("gilbench").origin)).read_text()

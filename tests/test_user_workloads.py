"""A user's own project: its functions as workloads (options, @workload, entry points), measured in workers
whose ``import bench`` is the user's package, not gilbench's."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from gilbench.workloads import Declaration, registry
from gilbench.workloads.functions import from_function, workload
from gilbench.workloads.registry import load_source

MARKER = "the user's own bench"

WORK = '''
import os

import bench  # the user's package: gilbench must never shadow it
from gilbench.workloads import workload


def crunch(index, n=20000, log=""):
    """Sum of squares."""
    total = sum(i * i for i in range(n))
    if log:
        with open(log, "a") as out:
            out.write(f"{os.getpid()}|{bench.MARKER}|{bench.__file__}\\n")
    return total


@workload(kind="cpu-bound")
def declared(index, n=20000):
    return sum(range(n)) and bench.MARKER


def two_sizes(index, n=1, m=2):
    return n + m


NOT_A_FUNCTION = 3
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: its own ``bench`` package (gilbench's old top-level name) and ``mypkg.work``."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)  # the config search stops here
    (root / "bench").mkdir()
    (root / "bench" / "__init__.py").write_text(f"MARKER = {MARKER!r}\n")
    (root / "mypkg").mkdir()
    (root / "mypkg" / "__init__.py").write_text("")
    (root / "mypkg" / "work.py").write_text(WORK)
    return root


def cli(*args: str, cwd: Path, env: dict | None = None, script: bool = False) -> subprocess.CompletedProcess[str]:
    """gilbench as a user runs it in ``cwd``: the console script (``script``) or ``python -m gilbench``."""
    console = Path(sys.executable).parent / "gilbench"
    command = [str(console)] if script and console.exists() else [sys.executable, "-m", "gilbench"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


def cells(run: Path) -> list[dict]:
    return json.loads((run / "manifest.json").read_text())["cells"]


@pytest.mark.slow
def test_function_spec_with_options_runs_in_spawned_children_with_the_users_bench(project: Path) -> None:
    log = project / "calls.log"
    done = cli("run", "--profile", "smoke", "--workload", "mypkg.work:crunch", "--kind", "cpu-bound",
               "--size-param", "n", "--param", f"log={log}", "--backend", "sequential,processes-spawn",
               "--workers", "2", "--no-report", "--no-sampler", "--no-experiments", "--output", "results", cwd=project,
               script=True)
    assert done.returncode == 0, done.stderr
    run = (project / "results" / "latest").resolve()
    assert [(c["backend"], c["status"]) for c in cells(run)] == [("sequential", "ok"), ("processes-spawn", "ok")]
    source = json.loads(cells(run)[0]["module"])
    assert source["function"] == "mypkg.work:crunch" and source["kind"] == "cpu-bound" and source["size"] == "n"
    assert cells(run)[0]["params"] == {"n": 2000, "log": str(log)}  # the smoke profile's tenth of the default
    calls = [line.split("|") for line in log.read_text().splitlines()]
    # every call, in the measured processes and in their spawned children, saw the user's bench
    assert calls and all(marker == MARKER and Path(path) == project / "bench" / "__init__.py"
                         for _, marker, path in calls)
    assert len({pid for pid, _, _ in calls}) > 3  # the probe, the workers and the spawned children


@pytest.mark.slow
def test_decorated_function_needs_no_options_and_runs_under_forkserver(project: Path) -> None:
    done = cli("run", "--profile", "smoke", "--workload", "mypkg.work:declared", "--backend", "processes-forkserver",
               "--workers", "2", "--no-report", "--no-sampler", "--no-experiments", "--output", "results", cwd=project)
    assert done.returncode == 0, done.stderr
    (cell,) = cells((project / "results" / "latest").resolve())
    assert cell["status"] == "ok" and cell["kind"] == "cpu-bound"
    assert cell["workload"] == "mypkg.work:declared" and cell["params"] == {"n": 2000}  # its only number: the size


@pytest.mark.parametrize("args, message", [
    (["mypkg.work:crunch"], "workload 'mypkg.work:crunch': no kind: is it cpu-bound or io-bound? Give --kind"),
    (["mypkg.nothere:f", "--kind", "cpu-bound"], "cannot import module 'mypkg.nothere'"),
    (["mypkg.work:NOT_A_FUNCTION"], "NOT_A_FUNCTION is not a function (it is of type int)"),
    (["mypkg.work:missing"], "module 'mypkg.work' has no attribute 'missing'"),
    (["mypkg.work:two_sizes", "--kind", "cpu-bound"], "no size parameter (the one the profiles scale to size a "
                                                      "task): give --size-param NAME (one of n, m)"),
    (["mypkg.work:crunch", "--kind", "cpu-bound", "--param", "q=1"], "crunch has no parameter 'q'"),
    (["hello-cpu", "--kind", "cpu-bound"], "--kind, --size-param and --param declare a module:function workload"),
])
def test_refusals_are_one_line_and_exit_2(project: Path, args: list[str], message: str) -> None:
    done = cli("run", "--profile", "smoke", "--output", "results", "--workload", *args, cwd=project)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (project / "results").exists()


# --- in process: the function -> Workload rules -------------------------------------------------

@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a uniquely named module in tmp_path (the current directory) and give its name; the
    registry and sys.modules are as before afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(registry, "_loaded", dict(registry._loaded))
    names = []

    def write(text: str) -> str:
        name = f"userwork_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_signature_defaults_are_the_params_and_the_only_number_is_the_size(module) -> None:
    name = module('''
        def task(index, rounds=3, label="x", *, fast=False):
            """Do rounds."""
            return index * rounds
    ''')
    w, source = from_function(f"{name}:task", Declaration(kind="io-bound"))
    assert (w.name, w.kind, dict(w.params), w.size_param) == (f"{name}:task", "io-bound",
                                                              {"rounds": 3, "label": "x", "fast": False}, "rounds")
    assert w.description == "Do rounds." and w.resolve(scale=2) == {"rounds": 6, "label": "x", "fast": False}
    assert pickle.loads(pickle.dumps(w.task({"rounds": 2, "label": "y", "fast": True})))(5) == 10
    # what a worker rebuilds from the source is the same workload, registered under its name
    assert load_source(source) == w and registry.source(w.name) == source


def test_the_callers_declaration_overrides_the_decorators(module) -> None:
    name = module('''
        from gilbench.workloads import workload

        @workload(kind="cpu-bound", size="n", params={"n": 5}, name="mine")
        def task(index, n=1, m=2.0):
            return n
    ''')
    w, _ = from_function(f"{name}:task")
    assert (w.name, w.kind, w.size_param, dict(w.params)) == ("mine", "cpu-bound", "n", {"n": 5, "m": 2.0})
    w, _ = from_function(f"{name}:task", Declaration(kind="io-bound", size="m", params={"m": 3}))
    assert (w.kind, w.size_param, dict(w.params)) == ("io-bound", "m", {"n": 5, "m": 3.0})


@pytest.mark.parametrize("body, given, message", [
    ("def task(index, n):\n    return n", Declaration(kind="cpu-bound"), "parameter 'n' of task has no default"),
    ("def task(*, n=1):\n    return n", Declaration(kind="cpu-bound"), "must take the task's index"),
    ("async def task(index, n=1):\n    return n", Declaration(kind="cpu-bound"), "is a coroutine function"),
    ("def task(index, label='x'):\n    return 1", Declaration(kind="cpu-bound"), "after giving task a numeric"),
    ("def task(index, n=1):\n    return n", Declaration(kind="cpu-bound", size="label"), "not a numeric parameter"),
    ("def task(index, n=1):\n    return n", Declaration(kind="gpu-bound"), "kind must be one of io-bound, cpu-bound"),
    ("def task(index, n=1):\n    return n", Declaration(kind="cpu-bound", params={"n": "many"}),
     "parameter n='many' is not of type int like its default 1"),
])
def test_what_cannot_be_worked_out_is_refused(module, body: str, given: Declaration, message: str) -> None:
    name = module(body)
    with pytest.raises(ValueError) as refused:
        from_function(f"{name}:task", given)
    assert message in str(refused.value) and f"{name}:task" in str(refused.value)


def test_the_decorator_returns_the_function_itself() -> None:
    def task(index: int, n: int = 1) -> int:
        return n

    assert workload(kind="cpu-bound")(task) is task and workload(task) is task
    with pytest.raises(ValueError, match="kind must be one of"):
        workload(kind="fast")


# --- entry points -------------------------------------------------------------------------------

def distribution(site: Path, name: str, entries: str, files: dict[str, str]) -> Path:
    """An installed distribution without pip: a .dist-info folder on a sys.path entry (importlib.metadata
    finds it there) and its modules beside it."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[gilbench.workloads]\n{entries}\n")
    for file, text in files.items():
        (site / file).write_text(textwrap.dedent(text))
    return site


@pytest.mark.slow
def test_entry_point_workloads_are_listed_and_measured(tmp_path: Path) -> None:
    site = distribution(tmp_path / "site", "epdist", "mods = ep_workloads\nspin = ep_funcs:spin", {
        "ep_workloads.py": '''
            from gilbench.workloads import Workload

            def loop(index, units=2000):
                return sum(range(units))

            LOOP = Workload(name="ep-loop", kind="cpu-bound", func=loop, params={"units": 2000}, size_param="units")
        ''',
        "ep_funcs.py": '''
            from gilbench.workloads import workload

            @workload(kind="cpu-bound", size="n")
            def spin(index, n=3000):
                return sum(range(n))
        ''',
    })
    (tmp_path / ".git").mkdir()
    env = {"PYTHONPATH": str(site)}
    listed = cli("list", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "ep-loop" in listed.stdout and "spin " in listed.stdout, listed.stderr
    done = cli("run", "--profile", "smoke", "--workload", "ep-loop,spin", "--backend", "processes", "--workers", "2",
               "--no-report", "--no-sampler", "--no-experiments", "--output", "results", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    run = cells((tmp_path / "results" / "latest").resolve())
    assert [(c["workload"], c["status"]) for c in run] == [("ep-loop", "ok"), ("spin", "ok")]
    assert run[0]["module"] == "ep_workloads" and json.loads(run[1]["module"])["function"] == "ep_funcs:spin"


def test_a_broken_entry_point_is_a_usage_error_naming_its_distribution(tmp_path: Path) -> None:
    site = distribution(tmp_path / "site", "brokendist", "bad = nosuchmodule_xyz", {})
    env = {"PYTHONPATH": str(site)}
    for args in (["list"], ["run", "--workload", "nope", "--output", str(tmp_path / "r")]):
        done = cli(*args, cwd=tmp_path, env=env)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert ("entry point 'bad = nosuchmodule_xyz' (group gilbench.workloads) of distribution 'brokendist': "
                "cannot import 'nosuchmodule_xyz'") in done.stderr

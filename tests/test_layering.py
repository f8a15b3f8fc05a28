"""The layering the architecture promises, held by reading the source (and one child interpreter).

workloads/ (what runs) knows nothing of bench/ or reports/; a measured process never loads the
reports' stack; reports/ only reads data and never starts a process; inside gilbench's parts every
import of another part is relative and resolves by path, so an editor can follow it without running
anything; pyproject lists every package folder. Inside bench/, each room imports only what its rule allows
(``ROOMS``), counting imports inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("bench", "workloads", "reports", "experiments")


def _modules(part: str) -> list[Path]:
    return sorted(p for p in (ROOT / part).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path, source: str | None = None) -> list[tuple[ast.ImportFrom | ast.Import, str]]:
    """Every import in a file (or in ``source``, read as if it were that file) with the absolute dotted name
    it means (relative ones resolved by path)."""
    return _parsed(path, source)[1]


def _parsed(path: Path, source: str | None = None) -> tuple[ast.Module, list[tuple[ast.ImportFrom | ast.Import, str]]]:
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = ["gilbench", *rel[:-1]]
    found = []
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node, name))
            found += [(node, f"{name}.{alias.name}") for alias in node.names]  # `from .. import bench`
    return tree, found


def test_parts_import_each_other_relatively_and_every_relative_import_resolves_by_path() -> None:
    absolute, unresolved = [], []
    for part in PARTS:
        for path in _modules(part):
            for node, name in _imports(path):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if isinstance(node, ast.ImportFrom) and node.level == 0 and name.startswith("gilbench."):
                    absolute.append(f"{where} {name}")
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level:
                    folder = path.parent
                    for _ in range(node.level - 1):
                        folder = folder.parent
                    target = folder.joinpath(*(node.module or "").split(".")) if node.module else folder
                    ok = target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()
                    if folder == ROOT and not node.module:  # `from .. import workloads`: each name a part
                        ok = all((ROOT / a.name / "__init__.py").is_file() or a.name == "__version__"
                                 for a in node.names)
                    if not ok:
                        unresolved.append(f"{path.relative_to(ROOT)}:{node.lineno} level {node.level} "
                                          f"{node.module}")
    assert not absolute, "absolute gilbench imports inside the parts (make them relative):\n" + "\n".join(absolute)
    assert not unresolved, "relative imports that do not resolve by path:\n" + "\n".join(unresolved)


def test_workloads_import_nothing_of_the_rest_of_gilbench() -> None:
    bad = [f"{p.relative_to(ROOT)}:{node.lineno} {name}" for p in _modules("workloads")
           for node, name in _imports(p)
           if any(name == f"gilbench.{other}" or name.startswith(f"gilbench.{other}.")
                  for other in ("bench", "reports", "experiments"))]
    assert not bad, "workloads/ must know nothing of bench/, reports/ or experiments/:\n" + "\n".join(bad)


#: every module's room, by the longest path prefix that holds it: (the gilbench modules it may import, by prefix;
#: the outside top-level modules it may import besides the standard library, None: any). The data room reads
#: nothing of gilbench but itself; the judge reads data only, so that the gate's rule can be read and tested
#: without planning, measuring or reports/; planning never imports measuring; reports/ read data and verdicts,
#: never planning or measuring; the app (bench/'s top level: cli, commands, ab) may import anything.
ROOMS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "bench/data": (("gilbench.bench.data",), ("pyperf",)),  # + LAZY inside functions
    "bench/judge": (("gilbench.bench.judge", "gilbench.bench.data"), ("pyperf",)),
    "bench/plan": (("gilbench.bench.plan", "gilbench.bench.data", "gilbench.bench.backends", "gilbench.workloads",
                    "gilbench.experiments"), None),
    "bench/measure": (("gilbench.bench.measure", "gilbench.bench.plan", "gilbench.bench.data",
                       "gilbench.bench.backends", "gilbench.workloads", "gilbench.experiments"), None),
    "bench/backends": (("gilbench.bench.backends", "gilbench.bench.data"), None),
    "bench": (("gilbench.bench", "gilbench.reports", "gilbench.workloads", "gilbench.experiments"), None),
    "reports": (("gilbench.reports", "gilbench.bench.data", "gilbench.bench.judge", "gilbench.experiments"), None),
    "experiments": (("gilbench.experiments", "gilbench.bench.data", "gilbench.bench.measure.gil", "gilbench.workloads",
                     "gilbench.reports.sections"), None),
    "workloads": (("gilbench.workloads",), None),
}

#: outside modules the data room and the judge may import inside a function only: the statistics that need them
#: (bootstrap, t quantiles) load them when called, so that nothing reading a record or a run folder loads them
LAZY = ("numpy", "scipy")


def _at_import(tree: ast.Module) -> set[int]:
    """The ids of the import statements a module runs when it is imported (not inside a function or class, nor
    under ``if TYPE_CHECKING:``, which never runs)."""
    found, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.add(id(node))
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            todo += node.orelse
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            todo += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                     *[n for h in getattr(node, "handlers", []) for n in h.body]]
    return found


def room_of(path: Path) -> str:
    """The room of the module at ``path``: the longest ``ROOMS`` prefix that holds it."""
    rel = path.relative_to(ROOT).as_posix()
    return max((r for r in ROOMS if rel.startswith(r + "/")), key=len)


def room_breaches(path: Path, room: str | None = None, source: str | None = None) -> list[str]:
    """The imports of the module at ``path`` (or of ``source`` read as that module) that its room's rule does
    not allow, as "file:line name". ``from X import a``: allowed when X is, or when every X.a is (``from ..
    import stats``); the package ``gilbench`` itself only for its ``__version__``."""
    ours, outside = ROOMS[room or room_of(path)]

    def allowed(name: str) -> bool:
        if name == "gilbench.__version__":
            return True
        if name == "gilbench" or name.startswith("gilbench."):
            return any(name == p or name.startswith(p + ".") for p in ours)
        top = name.split(".")[0]
        return outside is None or top in sys.stdlib_module_names or top in outside

    names: dict[int, tuple[ast.AST, list[str]]] = {}
    tree, found_imports = _parsed(path, source)
    for node, name in found_imports:
        names.setdefault(id(node), (node, []))[1].append(name)
    lazy_ok = (room or room_of(path)) in ("bench/data", "bench/judge")
    at_import = _at_import(tree)
    bad = []
    for node, found in names.values():
        if isinstance(node, ast.ImportFrom):
            module, members = found[0], found[1:]
            wrong = [] if allowed(module) else [m for m in members if not allowed(m)]
        else:
            wrong = [n for n in found if not allowed(n)]
        if lazy_ok and id(node) not in at_import:
            wrong = [n for n in wrong if n.split(".")[0] not in LAZY]
        bad += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in wrong]
    return bad


def test_every_module_of_the_parts_has_a_room_and_imports_only_what_its_rule_allows() -> None:
    modules = [path for part in PARTS for path in _modules(part)]
    assert {room_of(path) for path in modules} == set(ROOMS), "a room holds no module"
    bad = [breach for path in modules for breach in room_breaches(path)]
    assert not bad, "imports that the rooms' rules (ROOMS) do not allow:\n" + "\n".join(bad)


@pytest.mark.parametrize("room, source", [
    ("bench/judge", "def f():\n    from ..measure.runner import execute\n"),  # measuring, inside a function
    ("bench/judge", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..plan.matrix import Plan\n"),
    ("bench/judge", "from .. import plan\n"),
    ("bench/judge", "from ..plan import config\nfrom ..data import stats\n"),  # planning, beside an allowed name
    ("bench/judge", "from ...reports import comparison\n"),
    ("bench/judge", "import gilbench.bench.ab\n"),
    ("bench/judge", "import numpy\n"),
    ("bench/data", "from ..judge.tests import welch\n"),
    ("bench/data", "from .. import judge\n"),
    ("bench/data", "from ... import workloads\n"),
    ("bench/data", "import numpy\n"),  # numpy at import: only inside a function
    ("bench/plan", "def f():\n    from ..measure.probe import probe\n"),
    ("bench/plan", "from ..judge.compare import compare\n"),
    ("bench/measure", "from ...reports import build\n"),
    ("bench/measure", "from .. import commands\n"),
    ("bench/backends", "from ..plan.matrix import Plan\n"),
    ("reports", "from ..bench.plan.matrix import Plan\n"),
    ("reports", "def f():\n    from ..bench.measure.schedule import execute\n"),
    ("reports", "from ..bench import plugins, cli\n"),
    ("reports", "from .. import workloads\n"),
    ("experiments", "from ..bench.measure.schedule import execute\n"),
    ("experiments", "from ..reports import frame\n"),
    ("workloads", "from ..bench.data import cells\n"),
], ids=lambda x: x.replace("\n", " ")[:40] if isinstance(x, str) else x)
def test_the_room_check_fails_on_an_injected_import(room: str, source: str) -> None:
    assert room_breaches(ROOT / room / "_injected.py", None, source), source


def test_the_room_check_passes_what_the_rule_allows() -> None:
    source = ("from __future__ import annotations\nimport math, os.path\nimport pyperf\nfrom ..data import query, stats\n"
              "from ..data.thresholds import METRICS\nfrom . import rule\nfrom .sides import RunSide\n"
              "def f():\n    from ..data.failure import Failure\n")
    assert room_breaches(ROOT / "bench/judge/_injected.py", None, source) == []
    assert room_breaches(ROOT / "bench/data/_injected.py", None, "import re\nfrom .thresholds import METRICS\n"
                         "def f():\n    import numpy\n") == []
    assert room_breaches(ROOT / "bench/measure/_injected.py", None, "from ... import __version__\nfrom ..plan import matrix\n") == []
    assert room_breaches(ROOT / "bench/_injected.py", None, "from ..reports import build\nfrom .measure import runner\n") == []


def import_graph(extra: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """module -> the gilbench modules it imports (each ``from X import a`` counts X.a where that is a module,
    else X), over the four parts, every import counted: inside functions and under ``TYPE_CHECKING`` too."""
    paths = {".".join(["gilbench", *p.relative_to(ROOT).with_suffix("").parts]).removesuffix(".__init__"): p
             for part in PARTS for p in _modules(part)}
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for module, path in paths.items():
        for node, name in _imports(path):
            if isinstance(node, ast.ImportFrom) and name not in paths and name.rsplit(".", 1)[0] in paths:
                name = name.rsplit(".", 1)[0]  # `from .x import Name`: the module x
            while name and name not in paths and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in paths and name != module:
                graph[module].add(name)
    for module, targets in (extra or {}).items():
        graph.setdefault(module, set()).update(targets)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_cycle_between_modules() -> None:
    graph = import_graph()
    assert sum(map(len, graph.values())) > 300, "the graph lost its edges"
    assert cycles(graph) == [], "modules that import each other, directly or through others"


def test_the_cycle_check_fails_on_an_injected_import() -> None:
    """data.cells -> measure.runner closes a loop (the runner imports the cells)."""
    found = cycles(import_graph({"gilbench.bench.data.cells": {"gilbench.bench.measure.run"}}))
    assert any({"gilbench.bench.data.cells", "gilbench.bench.measure.run"} <= set(c) for c in found)


STARTS_PROCESSES = {"subprocess", "multiprocessing", "concurrent.futures", "pty"}
OS_STARTERS = {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "spawnv", "spawnl",
               "execv", "execvp", "execve", "startfile"}


def test_reports_never_start_a_process() -> None:
    bad = []
    for path in _modules("reports"):
        tree = ast.parse(path.read_text())
        for node, name in _imports(path):
            if name.split(".")[0] in {m.split(".")[0] for m in STARTS_PROCESSES} or name in STARTS_PROCESSES:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
            for part in ("bench.measure", "bench.plan", "bench.ab", "bench.commands", "bench.cli"):
                if name == f"gilbench.{part}" or name.startswith(f"gilbench.{part}."):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}, which starts processes")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                    and (node.attr in OS_STARTERS or node.attr.startswith(("spawn", "exec")))):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} calls os.{node.attr}")
    assert not bad, "reports/ only reads run data:\n" + "\n".join(bad)


def test_a_measured_process_never_loads_the_reports_stack() -> None:
    """What a pyperf worker imports (the cell, every backend, every workload, the canary) stays light."""
    code = (
        "import sys\n"
        "import gilbench.bench.measure.cell, gilbench.bench.measure.canary, gilbench.bench.measure.gil\n"
        "from gilbench.bench.backends import all_backends\n"
        "from gilbench.workloads import registry\n"
        "all_backends(); registry.all_workloads()\n"
        "import pkgutil, importlib, gilbench.workloads as w\n"
        "[importlib.import_module(f'gilbench.workloads.{m.name}') for m in pkgutil.iter_modules(w.__path__)]\n"
        "heavy = sorted(m for m in ('pandas', 'matplotlib', 'scipy', 'jinja2', 'gilbench.reports') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"a measured process loaded {done.stdout.strip()}"


def test_pyproject_lists_every_package_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {"gilbench"}
    for part in PARTS:
        for init in (ROOT / part).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            on_disk.add(".".join(["gilbench", *init.parent.relative_to(ROOT).parts]))
    assert on_disk == listed, f"pyproject.toml's packages differ from the folders: {on_disk ^ listed}"
    assert {f"gilbench.{p}": p for p in PARTS} == config["package-dir"]


def test_a_checkout_exposes_only_gilbenchs_parts() -> None:
    """`gilbench.tests` or `gilbench.scripts` must not import from a checkout."""
    code = ("import importlib.util as u\n"
            "print(u.find_spec('gilbench.bench') is not None, u.find_spec('gilbench.tests'),"
            " u.find_spec('gilbench.scripts'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.split() == ["True", "None", "None"], done.stdout + done.stderr


if sys.version_info < (3, 11):  # tomllib
    pytestmark = pytest.mark.skip("tomllib needs Python 3.11")


def test_another_checkout_on_pythonpath_imports_its_own_parts(tmp_path) -> None:
    """ab's sides and --dirs copies put a checkout first on PYTHONPATH; an editable install of this one
    must not hand out this checkout's parts instead."""
    import os
    import shutil

    copy = tmp_path / "checkout"
    for part in ("gilbench", *PARTS):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    code = "import gilbench.bench.measure.gil as g, gilbench.workloads as w; print(g.__file__); print(w.__file__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(copy)})
    assert done.returncode == 0, done.stderr
    assert all(line.startswith(str(copy)) for line in done.stdout.split()), done.stdout
